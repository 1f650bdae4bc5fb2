//! Docker Hub's Hub API on wiremock; response shapes from Docker's documentation.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use registry_hub::{
    Credentials, HubClient, HubConfig, HubListOptions, OciConfig, RemoteRegistry, RetryPolicy,
};
use tagcore::{Registry, RegistryErrorKind};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{repo, tag};

const TAGS: &str = "/v2/namespaces/team/repositories/app/tags";

fn jwt(exp_in: u64) -> String {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + exp_in;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        e.encode(r#"{"alg":"RS256"}"#),
        e.encode(format!(r#"{{"exp":{exp}}}"#))
    )
}

fn client(server: &MockServer, credentials: Credentials) -> HubClient {
    HubClient::new(HubConfig {
        base_url: server.uri(),
        credentials,
        retry: RetryPolicy::fast(),
        max_pages: 50,
        ..HubConfig::default()
    })
    .unwrap()
}

fn tag_item(name: &str, i: usize) -> serde_json::Value {
    serde_json::json!({
        "creator": 1, "id": i, "images": [{"architecture": "amd64", "digest": format!("sha256:{:064x}", i + 1000)}],
        "last_updated": "2026-06-25T00:00:00.000000Z", "last_updater": 1, "last_updater_username": "ci",
        "name": name, "repository": 2, "full_size": 10, "v2": true, "tag_status": "active",
        "tag_last_pulled": "2026-06-26T00:00:00Z", "tag_last_pushed": format!("2026-06-24T10:{:02}:00Z", i % 60),
        "media_type": "application/vnd.oci.image.index.v1+json", "content_type": "image",
        "digest": format!("sha256:{i:064x}"),
    })
}

async fn mount_login(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .and(body_json(
            serde_json::json!({"identifier": "team", "secret": "dckr_pat_SECRET"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": token})))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn logs_in_once_and_follows_next_over_many_pages() {
    let server = MockServer::start().await;
    let token = jwt(600);
    mount_login(&server, &token, 1).await;
    let pages = 12;
    for p in 1..=pages {
        let items: Vec<_> = (0..100)
            .map(|i| tag_item(&format!("t{p}-{i}"), p * 100 + i))
            .collect();
        let next = (p < pages).then(|| format!("{}{TAGS}?page={}&page_size=100", server.uri(), p + 1));
        let body =
            serde_json::json!({"count": pages * 100, "next": next, "previous": null, "results": items});
        let m = Mock::given(method("GET"))
            .and(path(TAGS))
            .and(query_param("page_size", "100"))
            .and(header("authorization", format!("Bearer {token}").as_str()));
        let m = if p == 1 {
            m.and(query_param_is_missing("page"))
        } else {
            m.and(query_param("page", p.to_string()))
        };
        m.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let hub = client(&server, Credentials::basic("team", "dckr_pat_SECRET"));
    let listing = hub.list_tags("team", "app").await.unwrap();
    assert_eq!(listing.tags.len(), 1200);
    assert_eq!(listing.truncated, None);
    let first = &listing.tags[0];
    assert_eq!(first.tag.as_str(), "t1-0");
    assert_eq!(
        first.pushed,
        Some("2026-06-24T10:40:00Z".parse().unwrap()),
        "tag_last_pushed wins"
    );
    assert_eq!(
        first.digest,
        Some(format!("sha256:{:064x}", 100).parse().unwrap())
    );
}

#[tokio::test]
async fn a_next_that_never_ends_is_bounded_and_reported() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(move |req: &Request| {
            let page: u64 = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1);
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "next": format!("{uri}{TAGS}?page={}&page_size=100", page + 1),
                "results": [tag_item(&format!("p{page}"), page as usize)],
            }))
        })
        .expect(7)
        .mount(&server)
        .await;
    let hub = client(&server, Credentials::Anonymous);
    let opts = HubListOptions {
        max_pages: Some(7),
        ..HubListOptions::default()
    };
    let listing = hub.list_tags_with("team", "app", &opts).await.unwrap();
    assert_eq!(listing.tags.len(), 7);
    let reason = listing.truncated.expect("never silent");
    assert!(reason.contains("stopped after 7 pages (page cap)"), "{reason}");
}

#[tokio::test]
async fn a_next_that_repeats_or_leaves_the_host_is_reported() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path(TAGS))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "next": format!("{uri}{TAGS}?page=2"), "results": [tag_item("a", 1)]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "next": format!("{uri}{TAGS}?page=2"), "results": [tag_item("b", 2)]})))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server, Credentials::Anonymous)
        .list_tags("team", "app")
        .await
        .unwrap();
    assert_eq!(listing.tags.len(), 2);
    assert!(listing.truncated.unwrap().contains("repeats"));

    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "next": "https://elsewhere.invalid/v2/x?page=2", "results": [tag_item("a", 1)]})))
        .expect(1)
        .mount(&other)
        .await;
    let listing = client(&other, Credentials::Anonymous)
        .list_tags("team", "app")
        .await
        .unwrap();
    assert!(listing.truncated.unwrap().contains("another host"));
}

#[tokio::test]
async fn stops_early_when_the_caller_has_enough() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "next": format!("{uri}{TAGS}?page=2"),
                "results": [tag_item("prod-20260625-a2fad42", 1), tag_item("prod-20260624-851f2cc", 2)],
            }))
        })
        .expect(1)
        .mount(&server)
        .await;
    let opts = HubListOptions {
        stop_when: Some(Arc::new(|l: &tagcore::TagListing| {
            l.tags
                .iter()
                .filter(|t| t.tag.as_str().starts_with("prod-"))
                .count()
                >= 2
        })),
        ..HubListOptions::default()
    };
    let listing = client(&server, Credentials::Anonymous)
        .list_tags_with("team", "app", &opts)
        .await
        .unwrap();
    assert_eq!(listing.tags.len(), 2);
    assert!(listing.truncated.unwrap().contains("caller's request"));
}

#[tokio::test]
async fn keeps_401_403_404_429_and_5xx_distinct() {
    // 401 at login.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"detail":"bad dckr_pat_SECRET"}"#))
        .mount(&server)
        .await;
    let err = client(&server, Credentials::basic("team", "dckr_pat_SECRET"))
        .list_tags("team", "app")
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains("dckr_pat_SECRET"));

    for (status, kind, hint) in [
        (403, RegistryErrorKind::Forbidden, "permission"),
        (404, RegistryErrorKind::NotFound, "private"),
        (500, RegistryErrorKind::Transient, "HTTP 500"),
        (502, RegistryErrorKind::Transient, "HTTP 502"),
    ] {
        let server = MockServer::start().await;
        mount_login(&server, &jwt(600), 1).await;
        let expected_calls = if status >= 500 { 4 } else { 1 };
        Mock::given(method("GET"))
            .and(path(TAGS))
            .respond_with(ResponseTemplate::new(status))
            .expect(expected_calls)
            .mount(&server)
            .await;
        let err = client(&server, Credentials::basic("team", "dckr_pat_SECRET"))
            .list_tags("team", "app")
            .await
            .unwrap_err();
        assert_eq!(err.kind, kind, "{status}: {err}");
        assert!(
            err.to_string().contains(hint) && err.to_string().contains("team/app"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn waits_for_x_retry_after_then_succeeds_or_gives_up_when_too_far() {
    let server = MockServer::start().await;
    let soon = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 1;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(ResponseTemplate::new(429).insert_header("x-retry-after", soon.to_string().as_str()))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-remaining", "179")
                .set_body_json(serde_json::json!({"next": null, "results": [tag_item("prod", 1)]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let hub = client(&server, Credentials::Anonymous);
    let listing = hub.list_tags("team", "app").await.unwrap();
    assert_eq!(listing.tags.len(), 1);
    assert_eq!(hub.last_rate_limit().unwrap().remaining_count(), Some(179));

    let server = MockServer::start().await;
    let far = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(ResponseTemplate::new(429).insert_header("x-retry-after", far.to_string().as_str()))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client(&server, Credentials::Anonymous)
        .list_tags("team", "app")
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::RateLimited, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "does not sleep past the budget"
    );
}

#[tokio::test]
async fn parses_missing_and_oddly_typed_fields() {
    let server = MockServer::start().await;
    let body = serde_json::json!({
        "count": "many",
        "next": 42,
        "results": [
            {"name": "prod", "images": {"digest": "sha256:x"}, "tag_last_pushed": null, "last_updated": "2026-06-24T14:53:00Z"},
            {"name": "staging", "digest": null, "images": null, "last_updated": 17},
            {"name": "sha256-0000000000000000000000000000000000000000000000000000000000000000.sig"},
            {"name": "-bad"},
            {"name": ["array"]},
            {},
            "garbage",
            {"name": "v1", "digest": "sha256:ABC", "tag_last_pushed": "yesterday"},
        ],
    });
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client(&server, Credentials::Anonymous)
        .list_tags("team", "app")
        .await
        .unwrap();
    let names: Vec<_> = listing.tags.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(
        names,
        [
            "prod",
            "staging",
            "sha256-0000000000000000000000000000000000000000000000000000000000000000.sig",
            "v1"
        ]
    );
    assert_eq!(
        listing.tags[0].pushed,
        Some("2026-06-24T14:53:00Z".parse().unwrap())
    );
    assert!(
        listing.tags[1..]
            .iter()
            .all(|t| t.pushed.is_none() && t.digest.is_none())
    );
    assert!(
        listing.skipped_invalid.contains(&"-bad".to_owned()),
        "{:?}",
        listing.skipped_invalid
    );
    assert_eq!(listing.skipped_invalid.len(), 4, "{:?}", listing.skipped_invalid);
    assert_eq!(listing.truncated, None);

    // A page without `results` is a protocol error, not an empty listing.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let err = client(&server, Credentials::Anonymous)
        .list_tags("team", "app")
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn renews_the_login_after_a_401_and_deletes_tags_by_name() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(600), 2).await;
    Mock::given(method("DELETE"))
        .and(path(format!("{TAGS}/old")))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{TAGS}/old")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{TAGS}/gone")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let hub = client(&server, Credentials::basic("team", "dckr_pat_SECRET"));
    hub.delete_tag("team", "app", &tag("old")).await.unwrap();
    let err = hub.delete_tag("team", "app", &tag("gone")).await.unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::NotFound);
    assert!(err.message.contains("team/app:gone"), "{err}");
}

#[tokio::test]
async fn remote_registry_lists_docker_io_through_the_hub_api() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TAGS))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "next": null, "results": [tag_item("prod-20260624-851f2cc", 3)]})))
        .expect(1)
        .mount(&server)
        .await;
    let registry =
        RemoteRegistry::with_hub(OciConfig::default(), client(&server, Credentials::Anonymous)).unwrap();
    let listing = registry
        .list_tags(&repo("index.docker.io", "team/app"))
        .await
        .unwrap();
    assert_eq!(listing.tags.len(), 1);
    assert!(listing.tags[0].pushed.is_some() && listing.tags[0].digest.is_some());
    assert!(
        HubClient::new(HubConfig {
            base_url: "http://hub.example.com".into(),
            ..HubConfig::default()
        })
        .is_err(),
        "plain HTTP off loopback"
    );
}
