//! Hostile servers: absurd waits, cross-host redirects of secret bodies, endless bodies and
//! listings, error pages that echo credentials or carry workflow commands.
//!
//! The registry itself never sends `Retry-After`, so the wait tests emulate its 429 on wiremock;
//! everything the real registry can do is tested against it.

use std::time::{Duration, Instant};

use registry_hub::{CredentialStore, Credentials, HubClient, HubConfig, RetryPolicy};
use tagcore::{Registry, RegistryErrorKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{remote, repo, tag};

const U64_MAX: &str = "18446744073709551615";

fn hub(server: &MockServer, credentials: Credentials) -> HubClient {
    HubClient::new(HubConfig {
        base_url: server.uri(),
        credentials,
        retry: RetryPolicy::fast(),
        ..HubConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn retry_after_of_u64_max_ends_as_rate_limited_without_waiting_or_panicking() {
    for header in ["retry-after", "x-retry-after"] {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(429).insert_header(header, U64_MAX))
            .mount(&server)
            .await;
        let started = Instant::now();
        let err = remote(CredentialStore::new())
            .resolve_tag(&repo(&server.address().to_string(), "team/app"), &tag("prod"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::RateLimited, "{header}: {err}");
        assert!(started.elapsed() < Duration::from_secs(2), "{header}: waited");
    }
}

#[tokio::test]
async fn hub_x_retry_after_of_u64_max_ends_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("x-retry-after", U64_MAX))
        .mount(&server)
        .await;
    let err = hub(&server, Credentials::Anonymous)
        .list_tags("team", "app")
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::RateLimited, "{err}");
}

#[tokio::test]
async fn a_hub_jwt_expiring_at_u64_max_is_used_without_panicking() {
    use base64::Engine as _;
    let server = MockServer::start().await;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwt = format!(
        "{}.{}.sig",
        e.encode(r#"{"alg":"RS256"}"#),
        e.encode(format!(r#"{{"exp":{U64_MAX}}}"#))
    );
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": jwt})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/namespaces/team/repositories/app/tags"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"count": 0, "next": null, "results": []})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let client = hub(&server, Credentials::basic("team", "dckr_pat_SECRET"));
    for _ in 0..2 {
        client.list_tags("team", "app").await.unwrap();
    }
}

#[test]
fn a_hub_api_on_a_name_starting_with_127_or_behind_userinfo_is_not_loopback() {
    for url in [
        "http://127.0.0.1.collector.example",
        "http://127.0.0.1@collector.example",
        "http://127.evil.example:8080/",
    ] {
        let err = HubClient::new(HubConfig {
            base_url: url.into(),
            ..HubConfig::default()
        })
        .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::InvalidInput, "{url}: {err}");
    }
    for url in ["http://127.0.0.2:9", "http://[::1]:9"] {
        HubClient::new(HubConfig {
            base_url: url.into(),
            ..HubConfig::default()
        })
        .unwrap();
    }
}

/// A registry (emulated: its 401 challenge) whose token realm is plain HTTP on a DNS name that
/// starts with `127.`: the credentials must not be sent there (the `.invalid` name never
/// resolves, so the old code failed with a connection error after trying).
#[tokio::test]
async fn a_plain_http_realm_on_a_name_starting_with_127_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            r#"Bearer realm="http://127.0.0.1.tagcli.invalid/token",service="svc""#,
        ))
        .mount(&server)
        .await;
    let host = server.address().to_string();
    let err = remote(CredentialStore::new().with(&host, Credentials::basic("u", "pw")))
        .resolve_tag(&repo(&host, "team/app"), &tag("prod"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("not HTTPS"), "{err}");
}

/// `allow_insecure` never relaxes the realm rule: a plain-HTTP realm on another host than the
/// registry (here `0.0.0.0`, which the kernel routes to the local token server) never receives
/// the Basic credentials.
#[tokio::test]
async fn allow_insecure_never_sends_basic_credentials_to_a_plain_http_realm_on_another_host() {
    let tokens = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "t"})))
        .mount(&tokens)
        .await;
    let registry = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(
            ResponseTemplate::new(401).insert_header(
                "www-authenticate",
                format!(
                    r#"Bearer realm="http://0.0.0.0:{}/token",service="svc""#,
                    tokens.address().port()
                )
                .as_str(),
            ),
        )
        .mount(&registry)
        .await;
    let host = registry.address().to_string();
    let client = registry_hub::RemoteRegistry::new(registry_hub::OciConfig {
        credentials: CredentialStore::new().with(&host, Credentials::basic("u", "pw")),
        allow_insecure: true,
        retry: RetryPolicy::none(),
        ..registry_hub::OciConfig::default()
    })
    .unwrap();
    let err = client
        .resolve_tag(&repo(&host, "team/app"), &tag("prod"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("not HTTPS"), "{err}");
    assert!(
        tokens.received_requests().await.unwrap().is_empty(),
        "credentials sent in clear"
    );
}

/// Returns a server that records everything and answers 200 with a token, and a server that
/// redirects every request there with `status` (307 or 308 keep the method and the body).
async fn redirect_to_another_host(status: u16) -> (MockServer, MockServer) {
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "t", "access_token": "t"})),
        )
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("location", format!("{}/stolen", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    (server, elsewhere)
}

async fn bodies(server: &MockServer) -> String {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_refresh_token_never_follows_a_307_or_308_to_another_host() {
    for status in [307, 308] {
        let (tokens, elsewhere) = redirect_to_another_host(status).await;
        let registry = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(401).insert_header(
                "www-authenticate",
                format!(r#"Bearer realm="{}/token",service="svc""#, tokens.uri()).as_str(),
            ))
            .mount(&registry)
            .await;
        let host = registry.address().to_string();
        let refresh = "refresh-TOKEN-never-elsewhere";
        let client = remote(CredentialStore::new().with(
            &host,
            Credentials::IdentityToken(registry_hub::Secret::new(refresh)),
        ));
        let err = client
            .resolve_tag(&repo(&host, "team/app"), &tag("prod"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{status}: {err}");
        assert!(
            !bodies(&elsewhere).await.contains(refresh),
            "{status}: the refresh token followed"
        );
        assert!(
            bodies(&tokens).await.contains(refresh),
            "{status}: the realm was asked"
        );
    }
}

#[tokio::test]
async fn a_hub_password_never_follows_a_307_or_308_to_another_host() {
    for status in [307, 308] {
        let (server, elsewhere) = redirect_to_another_host(status).await;
        let err = hub(&server, Credentials::basic("team", "dckr_pat_NEVER_ELSEWHERE"))
            .list_tags("team", "app")
            .await
            .unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{status}: {err}");
        assert!(
            !bodies(&elsewhere).await.contains("dckr_pat_NEVER_ELSEWHERE"),
            "{status}: the password followed"
        );
    }
}

/// A proxy in front of the registry (emulated) that reflects the request's `Authorization` in
/// its error page: the credentials never reach the error message.
#[tokio::test]
async fn an_error_page_echoing_the_authorization_header_is_redacted() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:pa55-echoed");
    for (status, body) in [
        (
            400,
            format!("<html><pre>GET /v2/ HTTP/1.1\nAuthorization: Basic {basic}\n</pre></html>"),
        ),
        (
            403,
            format!(
                r#"{{"errors":[{{"code":"DENIED","message":"header Authorization: Basic {basic} refused"}}]}}"#
            ),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(wiremock::matchers::header_exists("authorization"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", r#"Basic realm="r""#))
            .mount(&server)
            .await;
        let host = server.address().to_string();
        let err = remote(CredentialStore::new().with(&host, Credentials::basic("alice", "pa55-echoed")))
            .fetch_manifest(&repo(&host, "team/app"), &tagcore::Digest::of(b"x"))
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains(&basic) && !text.contains("pa55-echoed"),
            "{status}: {text}"
        );
        assert!(text.contains("Basic ***"), "{status}: {text}");
    }
}

/// A page that echoes a credential bare (without `Basic`/`Bearer` before it): every credential
/// the client holds for that registry is removed from the message.
#[tokio::test]
async fn an_error_page_echoing_a_bare_credential_is_redacted() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "opaque-registry-token-123"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header_exists("authorization"))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"errors":[{"code":"DENIED","message":"token=opaque-registry-token-123 password pa55-raw-echo"}]}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!(r#"Bearer realm="{uri}/token",service="svc""#).as_str(),
        ))
        .mount(&server)
        .await;
    let host = server.address().to_string();
    let err = remote(CredentialStore::new().with(&host, Credentials::basic("alice", "pa55-raw-echo")))
        .fetch_manifest(&repo(&host, "team/app"), &tagcore::Digest::of(b"x"))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("opaque-registry-token-123") && !text.contains("pa55-raw-echo"),
        "{text}"
    );
    assert!(text.contains("token=*** password ***"), "{text}");
}

#[tokio::test]
async fn a_hub_error_page_echoing_the_password_or_the_jwt_is_redacted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "hub-jwt-opaque-42"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string("forbidden for hub-jwt-opaque-42 (secret dckr_pat_ECHOED)"),
        )
        .mount(&server)
        .await;
    let err = hub(&server, Credentials::basic("team", "dckr_pat_ECHOED"))
        .list_tags("team", "app")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("hub-jwt-opaque-42") && !text.contains("dckr_pat_ECHOED"),
        "{text}"
    );
}
