//! Bounded listings: the total size and time of a tag listing are capped (registry and Hub),
//! and the stop is reported in `truncated`, never silent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use registry_hub::{CredentialStore, HubClient, HubConfig, OciConfig, RemoteRegistry, RetryPolicy};
use tagcore::Registry as _;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{remote, repo};

/// Serves `pages` distinct pages of about 1 MiB each (about 10,000 new 100-character tags per
/// page), as a registry's `/tags/list` with `Link` or as Hub's paginated JSON with `next`.
struct BigPages {
    pages: usize,
    served: Arc<AtomicUsize>,
    hub: bool,
    base: String,
}

impl Respond for BigPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page: usize = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let names: Vec<String> = (0..10_000)
            .map(|i| format!("p{page}-{i}-{}", "x".repeat(88)))
            .collect();
        let next = (page < self.pages).then(|| format!("{}?page={}", self.base, page + 1));
        self.served.fetch_add(1, Ordering::SeqCst);
        if self.hub {
            let results: Vec<_> = names.iter().map(|n| serde_json::json!({"name": n})).collect();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"next": next, "results": results}))
        } else {
            let t = ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"name": "team/app", "tags": names}));
            match next {
                Some(n) => t.insert_header("link", format!("<{n}>; rel=\"next\"").as_str()),
                None => t,
            }
        }
    }
}

async fn big_pages(hub: bool, path: &str) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let served = Arc::new(AtomicUsize::new(0));
    Mock::given(wiremock::matchers::path(path))
        .respond_with(BigPages {
            pages: 48,
            served: Arc::clone(&served),
            hub,
            base: format!("{}{path}", server.uri()),
        })
        .mount(&server)
        .await;
    (server, served)
}

/// 48 pages of 1 MiB pass the default total of 32 MiB: the listing stops and says so (the
/// registry cannot be made to send this, so its `/tags/list` is emulated).
#[tokio::test]
async fn a_registry_listing_stops_at_the_default_total_size() {
    let (server, served) = big_pages(false, "/v2/team/app/tags/list").await;
    let listing = remote(CredentialStore::new())
        .list_tags(&repo(&server.address().to_string(), "team/app"))
        .await
        .unwrap();
    let why = listing.truncated.expect("a truncated listing");
    assert!(why.contains("bytes"), "{why}");
    assert!(
        served.load(Ordering::SeqCst) <= 34,
        "{} pages read",
        served.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_hub_listing_stops_at_the_default_total_size() {
    let path = "/v2/namespaces/team/repositories/app/tags";
    let (server, served) = big_pages(true, path).await;
    let listing = HubClient::new(HubConfig {
        base_url: server.uri(),
        retry: RetryPolicy::fast(),
        ..HubConfig::default()
    })
    .unwrap()
    .list_tags("team", "app")
    .await
    .unwrap();
    let why = listing.truncated.expect("a truncated listing");
    assert!(why.contains("bytes"), "{why}");
    assert!(
        served.load(Ordering::SeqCst) <= 34,
        "{} pages read",
        served.load(Ordering::SeqCst)
    );
}

/// Smaller caps stop sooner: the size cap after the page that passes it, the time cap after the
/// first page. (distribution 2.8.2 answers `/tags/list` in one page whatever `n` says, so the
/// pagination is emulated.)
#[tokio::test]
async fn the_size_and_time_caps_are_settings() {
    let (server, served) = big_pages(false, "/v2/team/app/tags/list").await;
    let capped = |bytes: u64, time: Duration| {
        RemoteRegistry::new(OciConfig {
            max_listing_bytes: bytes,
            max_listing_time: time,
            retry: RetryPolicy::fast(),
            ..OciConfig::default()
        })
        .unwrap()
    };
    let r = repo(&server.address().to_string(), "team/app");
    let by_size = capped(3 << 19, Duration::from_secs(60))
        .list_tags(&r)
        .await
        .unwrap();
    assert_eq!(served.swap(0, Ordering::SeqCst), 2);
    assert_eq!(by_size.tags.len(), 20_000);
    assert!(
        by_size.truncated.as_deref().is_some_and(|t| t.contains("bytes")),
        "{:?}",
        by_size.truncated
    );
    let by_time = capped(1 << 30, Duration::ZERO).list_tags(&r).await.unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 1);
    assert!(
        by_time.truncated.as_deref().is_some_and(|t| t.contains("time")),
        "{:?}",
        by_time.truncated
    );
}
