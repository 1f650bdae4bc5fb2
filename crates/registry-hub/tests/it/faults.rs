//! Fault injection: 5xx then success, 429 with `Retry-After`, dropped connections, lying digests.

use std::time::{Duration, Instant};

use registry_hub::CredentialStore;
use registry_hub::manifest::OCI_MANIFEST;
use tagcore::{Digest, Manifest, Registry, RegistryErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{remote, repo, tag};

fn manifest() -> Manifest {
    Manifest::new(OCI_MANIFEST, br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.to_vec())
}

fn host(server: &MockServer) -> String {
    server.address().to_string()
}

#[tokio::test]
async fn a_put_answered_500_twice_then_201_succeeds() {
    let server = MockServer::start().await;
    let m = manifest();
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/manifests/prod"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/manifests/prod"))
        .respond_with(ResponseTemplate::new(201).insert_header("docker-content-digest", m.digest().as_str()))
        .expect(1)
        .mount(&server)
        .await;
    let r = remote(CredentialStore::new());
    let d = r
        .put_manifest(&repo(&host(&server), "team/app"), &tag("prod"), &m)
        .await
        .unwrap();
    assert_eq!(d, m.digest());
    let puts = server.received_requests().await.unwrap();
    assert!(
        puts.iter()
            .all(|p| p.body == m.bytes && p.headers.get("content-type").unwrap() == OCI_MANIFEST)
    );
}

#[tokio::test]
async fn persistent_5xx_ends_as_transient_naming_the_tag() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    let err = remote(CredentialStore::new())
        .resolve_tag(&repo(&host(&server), "team/app"), &tag("staging"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Transient);
    assert!(
        err.message.contains("team/app:staging") && err.message.contains("503"),
        "{err}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured() {
    let server = MockServer::start().await;
    let d = Digest::of(b"x");
    Mock::given(method("HEAD"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .insert_header("ratelimit-remaining", "0;w=21600"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("docker-content-digest", d.as_str())
                .insert_header("ratelimit-remaining", "99;w=21600"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let r = remote(CredentialStore::new());
    let started = Instant::now();
    let got = r
        .resolve_tag(&repo(&host(&server), "team/app"), &tag("staging"))
        .await
        .unwrap();
    assert_eq!(got, Some(d));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(r.last_rate_limit().unwrap().remaining_count(), Some(99));
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let d = Digest::of(b"y");
    let digest = d.to_string();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            n += 1;
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            if n == 1 {
                drop(sock); // close without answering
                continue;
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\nDocker-Content-Digest: {digest}\r\nContent-Type: {OCI_MANIFEST}\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    let got = remote(CredentialStore::new())
        .resolve_tag(&repo(&addr, "team/app"), &tag("staging"))
        .await
        .unwrap();
    assert_eq!(got, Some(d));
}

#[tokio::test]
async fn a_put_whose_reported_digest_differs_is_refused() {
    let server = MockServer::start().await;
    let m = manifest();
    let other = Digest::of(b"something else");
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).insert_header("docker-content-digest", other.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    let err = remote(CredentialStore::new())
        .put_manifest(&repo(&host(&server), "team/app"), &tag("prod"), &m)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse);
    assert!(
        err.message.contains(other.as_str()) && err.message.contains(m.digest().as_str()),
        "{err}"
    );
    assert!(err.message.contains("team/app:prod"), "{err}");
}

#[tokio::test]
async fn a_manifest_whose_bytes_do_not_match_the_digest_is_refused() {
    let server = MockServer::start().await;
    let asked = Digest::of(b"the real one");
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", OCI_MANIFEST)
                .set_body_bytes(b"{}".to_vec()),
        )
        .mount(&server)
        .await;
    let err = remote(CredentialStore::new())
        .fetch_manifest(&repo(&host(&server), "team/app"), &asked)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains(asked.as_str()), "{err}");
}

#[tokio::test]
async fn link_pagination_is_followed_and_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .and(wiremock::matchers::query_param("last", "b"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"name": "team/app", "tags": ["c", "a"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .and(wiremock::matchers::query_param_is_missing("last"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", r#"</v2/team/app/tags/list?n=2&last=b>; rel="next""#)
                .set_body_json(serde_json::json!({"name": "team/app", "tags": ["b", "a", "bad tag"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let listing = remote(CredentialStore::new())
        .list_tags(&repo(&host(&server), "team/app"))
        .await
        .unwrap();
    let names: Vec<_> = listing.tags.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(names, ["b", "a", "c"], "duplicates across pages dropped");
    assert_eq!(listing.skipped_invalid, ["bad tag"]);
    assert_eq!(listing.truncated, None);

    // A registry that ignores `last` and keeps announcing the same page.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", r#"</v2/team/app/tags/list?n=2&last=b>; rel="next""#)
                .set_body_json(serde_json::json!({"tags": ["a", "b"]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let listing = remote(CredentialStore::new())
        .list_tags(&repo(&host(&server), "team/app"))
        .await
        .unwrap();
    assert_eq!(listing.tags.len(), 2);
    assert!(listing.truncated.is_some());
}

#[tokio::test]
async fn a_redirect_loop_is_refused_without_retries() {
    let server = MockServer::start().await;
    let url = format!("{}/v2/team/app/manifests/prod", server.uri());
    Mock::given(method("HEAD"))
        .and(path("/v2/team/app/manifests/prod"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", url.as_str()))
        .mount(&server)
        .await;
    let err = remote(CredentialStore::new())
        .resolve_tag(&repo(&host(&server), "team/app"), &tag("prod"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("refused a redirect"), "{err}");
    // One first request plus 5 followed redirects, and no retry of the whole chain.
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
}
