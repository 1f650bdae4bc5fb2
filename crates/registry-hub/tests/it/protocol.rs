//! Protocol details on wiremock or a hand-written loopback server: multi-tag push, identity
//! tokens, Basic credentials from a Docker config directory, connection reuse, JWT renewal.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use registry_hub::manifest::OCI_MANIFEST;
use registry_hub::{CredentialStore, Credentials, DockerConfig, HubClient, HubConfig, RetryPolicy, Secret};
use tagcore::{Digest, Manifest, Registry, RegistryErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{remote, repo, tag};

fn manifest() -> Manifest {
    Manifest::new(
        OCI_MANIFEST,
        br#"{"schemaVersion":2,"config":{},"layers":[]}"#.to_vec(),
    )
}

#[tokio::test]
async fn multi_tag_push_is_one_put_where_the_registry_echoes_oci_tag() {
    let server = MockServer::start().await;
    let m = manifest();
    Mock::given(method("PUT"))
        .and(path(format!("/v2/team/app/manifests/{}", m.digest())))
        .and(query_param("tag", "a"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("docker-content-digest", m.digest().as_str())
                .append_header("oci-tag", "a")
                .append_header("oci-tag", "b, c"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let r = remote(CredentialStore::new());
    let repository = repo(&server.address().to_string(), "team/app");
    let d = r
        .put_manifest_tags(&repository, &[tag("a"), tag("b"), tag("c")], &m)
        .await
        .unwrap();
    assert_eq!(d, m.digest());
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "no per-tag PUT needed");
    assert_eq!(reqs[0].url.query(), Some("tag=a&tag=b&tag=c"));
}

#[tokio::test]
async fn identity_tokens_are_exchanged_with_an_oauth2_post_for_the_exact_scope() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let d = Digest::of(b"z");
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=idt-123"))
        .and(body_string_contains("scope=repository%3Ateam%2Fapp%3Apull&"))
        .and(body_string_contains("service=svc"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "at-1", "expires_in": 300})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(200).insert_header("docker-content-digest", d.as_str()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!(r#"Bearer realm="{uri}/token",service="svc""#).as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let host = server.address().to_string();
    let r = remote(CredentialStore::new().with(&host, Credentials::IdentityToken(Secret::new("idt-123"))));
    let repository = repo(&host, "team/app");
    assert_eq!(
        r.resolve_tag(&repository, &tag("x")).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        r.resolve_tag(&repository, &tag("y")).await.unwrap(),
        Some(d),
        "token cached"
    );
}

#[tokio::test]
async fn basic_credentials_come_from_a_docker_config_directory() {
    let server = MockServer::start().await;
    let host = server.address().to_string();
    let dir = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("bob:from-config");
    std::fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"auths":{{"http://{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let expected = format!("Basic {auth}");
    let d = Digest::of(b"w");
    Mock::given(method("HEAD"))
        .and(header("authorization", expected.as_str()))
        .respond_with(ResponseTemplate::new(200).insert_header("docker-content-digest", d.as_str()))
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", r#"Basic realm="r""#))
        .mount(&server)
        .await;
    let config = DockerConfig::load_dir(dir.path()).unwrap();
    let r = remote(CredentialStore::new().with_docker_config(config));
    assert_eq!(
        r.resolve_tag(&repo(&host, "team/app"), &tag("x")).await.unwrap(),
        Some(d)
    );
    // No config file: anonymous, and the 401 stays Unauthorized.
    let empty = DockerConfig::load_dir(&dir.path().join("absent")).unwrap();
    let err = remote(CredentialStore::new().with_docker_config(empty))
        .resolve_tag(&repo(&host, "team/app"), &tag("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Unauthorized, "{err}");
}

#[tokio::test]
async fn one_connection_serves_many_requests() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let d = Digest::of(b"v").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let d = d.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nDocker-Content-Digest: {d}\r\nContent-Length: 0\r\n\r\n"
                        );
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let r = remote(CredentialStore::new());
    let repository = repo(&addr, "team/app");
    for i in 0..5 {
        r.resolve_tag(&repository, &tag(&format!("t{i}")))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "keep-alive: one TCP connection for 5 requests"
    );
}

#[tokio::test]
async fn a_short_lived_hub_jwt_is_renewed_a_long_lived_one_is_reused() {
    for (lifetime, logins) in [(30u64, 2u64), (600, 1)] {
        let server = MockServer::start().await;
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + lifetime;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = format!("{}.{}.s", e.encode("{}"), e.encode(format!(r#"{{"exp":{exp}}}"#)));
        Mock::given(method("POST"))
            .and(path("/v2/auth/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": jwt})))
            .expect(logins)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"results": []})))
            .expect(2)
            .mount(&server)
            .await;
        let hub = HubClient::new(HubConfig {
            base_url: server.uri(),
            credentials: Credentials::basic("team", "pat"),
            retry: RetryPolicy::fast(),
            ..HubConfig::default()
        })
        .unwrap();
        hub.list_tags("team", "app").await.unwrap();
        hub.list_tags("team", "app").await.unwrap();
    }
}

#[tokio::test]
async fn referrers_are_read_when_offered_and_none_when_not() {
    let server = MockServer::start().await;
    let subject = Digest::of(b"subject");
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": registry_hub::manifest::OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": Digest::of(b"sig").as_str(), "size": 3,
         "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]});
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/referrers/{subject}")))
        .and(header("accept", registry_hub::manifest::OCI_INDEX))
        .respond_with(ResponseTemplate::new(200).set_body_json(index.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/html/referrers/{subject}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html/>"))
        .mount(&server)
        .await;
    let r = remote(CredentialStore::new());
    let host = server.address().to_string();
    let got = r
        .fetch_referrers(&repo(&host, "team/app"), &subject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.media_type, registry_hub::manifest::OCI_INDEX);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&got.bytes).unwrap(),
        index
    );
    assert!(
        r.fetch_referrers(&repo(&host, "team/none"), &subject)
            .await
            .unwrap()
            .is_none(),
        "404 → None"
    );
    let err = r
        .fetch_referrers(&repo(&host, "team/html"), &subject)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_budget() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept, read nothing, answer nothing
        }
    });
    let r = registry_hub::RemoteRegistry::new(registry_hub::OciConfig {
        request_timeout: std::time::Duration::from_millis(150),
        retry: RetryPolicy::fast(),
        ..registry_hub::OciConfig::default()
    })
    .unwrap();
    let started = std::time::Instant::now();
    let err = r
        .resolve_tag(&repo(&addr, "team/app"), &tag("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Transient, "{err}");
    assert!(
        err.message.contains("timed out") && err.message.contains("after 4 attempts"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_registry_refusing_the_multi_tag_query_gets_one_put_per_tag() {
    let server = MockServer::start().await;
    let m = manifest();
    Mock::given(method("PUT"))
        .and(path(format!("/v2/team/app/manifests/{}", m.digest())))
        .respond_with(ResponseTemplate::new(400).set_body_string(r#"{"errors":[{"code":"UNSUPPORTED"}]}"#))
        .expect(1)
        .mount(&server)
        .await;
    for t in ["a", "b"] {
        Mock::given(method("PUT"))
            .and(path(format!("/v2/team/app/manifests/{t}")))
            .respond_with(
                ResponseTemplate::new(201).insert_header("docker-content-digest", m.digest().as_str()),
            )
            .expect(2)
            .mount(&server)
            .await;
    }
    let repository = repo(&server.address().to_string(), "team/app");
    let r = remote(CredentialStore::new());
    r.put_manifest_tags(&repository, &[tag("a"), tag("b")], &m)
        .await
        .unwrap();
    // Learnt: the second call does not try again.
    r.put_manifest_tags(&repository, &[tag("a"), tag("b")], &m)
        .await
        .unwrap();
}

#[tokio::test]
async fn multi_tag_push_can_be_switched_off() {
    let server = MockServer::start().await;
    let m = manifest();
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).insert_header("docker-content-digest", m.digest().as_str()))
        .expect(2)
        .mount(&server)
        .await;
    let r = registry_hub::RemoteRegistry::new(registry_hub::OciConfig {
        try_multi_tag_push: false,
        ..registry_hub::OciConfig::default()
    })
    .unwrap();
    let repository = repo(&server.address().to_string(), "team/app");
    r.put_manifest_tags(&repository, &[tag("a"), tag("b")], &m)
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().all(|q| q.url.query().is_none()), "no ?tag= attempt");
}
