//! No secret (password, token, JWT) appears in any Debug or Display output.

use registry_hub::{
    CredentialStore, Credentials, DockerConfig, HubClient, HubConfig, OciConfig, RemoteRegistry, RetryPolicy,
    Secret,
};
use tagcore::{Registry, RegistryErrorKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{repo, tag};

const PASSWORD: &str = "pa55-W0RD-never-shown";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.registry-TOKEN-never-shown.sig";
const IDENTITY: &str = "identity-TOKEN-never-shown";

fn assert_clean(text: &str) {
    for secret in [PASSWORD, TOKEN, IDENTITY, "registry-TOKEN"] {
        assert!(!text.contains(secret), "secret {secret:?} leaked in: {text}");
    }
}

#[tokio::test]
async fn credentials_configs_clients_and_errors_never_show_secrets() {
    let server = MockServer::start().await;
    let host = server.address().to_string();
    let uri = server.uri();
    // Bearer flow: the token endpoint hands out TOKEN; the registry then refuses with 403.
    Mock::given(method("HEAD"))
        .and(wiremock::matchers::header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string(r#"{"errors":[{"code":"DENIED","message":"denied"}]}"#.to_string()),
        )
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!(r#"Bearer realm="{uri}/token",service="svc""#).as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": TOKEN, "expires_in": 300})),
        )
        .mount(&server)
        .await;

    let docker = DockerConfig::parse(
        format!(r#"{{"auths":{{"ghcr.io":{{"identitytoken":"{IDENTITY}"}},"quay.io":{{"username":"u","password":"{PASSWORD}"}}}}}}"#)
            .as_bytes(),
    )
    .unwrap();
    let store = CredentialStore::new()
        .with(&host, Credentials::basic("alice", PASSWORD))
        .with("docker.io", Credentials::BearerToken(Secret::new(TOKEN)))
        .with_docker_config(docker.clone());
    let config = OciConfig {
        credentials: store.clone(),
        retry: RetryPolicy::fast(),
        ..OciConfig::default()
    };
    let r = RemoteRegistry::new(config.clone()).unwrap();
    let err = r
        .resolve_tag(&repo(&host, "team/app"), &tag("prod"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Forbidden, "{err}");

    let hub = HubClient::new(HubConfig {
        base_url: uri.clone(),
        credentials: Credentials::basic("alice", PASSWORD),
        ..HubConfig::default()
    })
    .unwrap();
    let hub_err = hub.list_tags("team", "app").await.unwrap_err();

    let mut text = String::new();
    for piece in [
        format!("{:?}", Credentials::basic("alice", PASSWORD)),
        format!("{:#?}", Credentials::IdentityToken(Secret::new(IDENTITY))),
        format!("{:?} {}", Secret::new(TOKEN), Secret::new(TOKEN)),
        format!("{store:?} {docker:?} {config:?} {config:#?}"),
        format!("{r:?} {hub:?} {hub:#?}"),
        format!("{err} {err:?} {err:#?}"),
        format!("{hub_err} {hub_err:?}"),
        format!("{:?}", std::error::Error::source(&err)),
    ] {
        text.push_str(&piece);
    }
    assert_clean(&text);
    assert!(text.contains("alice"), "user names are fine to show");
    // The token was really obtained and sent (so the check above means something).
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().any(|r| {
        r.headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap().contains(TOKEN))
    }));
}
