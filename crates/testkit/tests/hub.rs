//! The Hub API emulation: Docker Hub's page shape, newest-first order, `name=` as a substring
//! filter, absolute `next`/`previous` links, 100,000 lazily generated tags, login, outages.

use std::time::Duration;

use serde_json::Value;
use testkit::{HubOutage, HubRepo, HubServer, HubTag};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn get(url: &str) -> (u16, Value) {
    rt().block_on(async {
        let resp = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
            .get(url)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

fn world() -> HubServer {
    let newest = 1_782_378_300; // 2026-06-25T09:05:00Z
    let repo = HubRepo::new(
        "team",
        "app",
        vec![
            HubTag::new("prod", &format!("sha256:{}", "d".repeat(64)), newest + 10),
            HubTag::new(
                "prod-20260625-a2fad42",
                &format!("sha256:{}", "d".repeat(64)),
                newest + 5,
            ),
            HubTag::new(
                "prod-20260101-0000000",
                &format!("sha256:{}", "e".repeat(64)),
                newest - 60 * 99_990,
            ),
        ],
    )
    .with_synthetic(100_000, newest, 60);
    HubServer::start(vec![repo])
}

#[test]
fn pages_newest_first_with_docker_hub_shape_and_absolute_links() {
    let hub = world();
    let base = hub.base_url();
    let (status, page) = get(&format!(
        "{base}/v2/namespaces/team/repositories/app/tags?page_size=100"
    ));
    assert_eq!(status, 200);
    assert_eq!(page["count"], 100_003);
    assert_eq!(page["previous"], Value::Null);
    let next = page["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!("{base}/v2/namespaces/team/repositories/app/tags?page_size=100&page=2")
    );
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    assert_eq!(results[0]["name"], "prod");
    assert_eq!(results[0]["tag_last_pushed"], "2026-06-25T09:05:10.000000Z");
    assert_eq!(results[1]["name"], "prod-20260625-a2fad42");
    assert_eq!(results[2]["name"], "build-0");
    assert_eq!(results[2]["digest"], format!("sha256:{:064x}", 0));
    assert_eq!(results[2]["images"][0]["architecture"], "amd64");
    let (_, second) = get(next);
    assert_eq!(second["results"][0]["name"], "build-98");
    assert_eq!(
        second["previous"],
        format!("{base}/v2/namespaces/team/repositories/app/tags?page_size=100&page=1")
    );
    // The last page, and one past it.
    let (_, last) = get(&format!(
        "{base}/v2/namespaces/team/repositories/app/tags?page_size=100&page=1001"
    ));
    assert_eq!(last["next"], Value::Null);
    let names: Vec<_> = last["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"build-99999".to_owned()), "{names:?}");
    let (past, _) = get(&format!(
        "{base}/v2/namespaces/team/repositories/app/tags?page_size=100&page=1002"
    ));
    assert_eq!(past, 404);
    assert_eq!(hub.tag_pages(), 4);
}

#[test]
fn name_filters_by_substring_on_both_paths_unless_ignored() {
    let hub = world();
    let base = hub.base_url();
    for path in [
        "/v2/namespaces/team/repositories/app/tags",
        "/v2/repositories/team/app/tags",
    ] {
        let (_, page) = get(&format!(
            "{base}{path}?page_size=100&ordering=last_updated&name=prod-"
        ));
        assert_eq!(page["count"], 2);
        assert_eq!(page["results"][0]["name"], "prod-20260625-a2fad42");
        assert_eq!(page["results"][1]["name"], "prod-20260101-0000000");
        assert_eq!(page["next"], Value::Null);
    }
    assert_eq!(hub.requests()[1].param("name"), Some("prod-"));
    hub.set_ignore_name_filter(true);
    let (_, page) = get(&format!(
        "{base}/v2/repositories/team/app/tags?page_size=5&name=prod-"
    ));
    assert_eq!(page["count"], 100_003);
    assert!(
        page["next"].as_str().unwrap().contains("name=prod-&page=2"),
        "{}",
        page["next"]
    );
}

#[test]
fn answers_unknown_repositories_logins_and_outages() {
    let hub = world();
    let base = hub.base_url();
    assert_eq!(
        get(&format!("{base}/v2/namespaces/team/repositories/nope/tags")).0,
        404
    );
    assert_eq!(
        get(&format!(
            "{base}/v2/namespaces/team/repositories/app/tags?page_size=x"
        ))
        .0,
        400
    );
    let token = rt().block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/v2/auth/token"))
            .json(&serde_json::json!({"identifier": "team", "secret": "pat"}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    assert_eq!(token["access_token"].as_str().unwrap().split('.').count(), 3);
    hub.set_outage(Some(HubOutage::Status(503)));
    assert_eq!(
        get(&format!("{base}/v2/namespaces/team/repositories/app/tags")).0,
        503
    );
    hub.set_outage(Some(HubOutage::Close));
    let closed = rt().block_on(reqwest::get(format!(
        "{base}/v2/namespaces/team/repositories/app/tags"
    )));
    assert!(closed.is_err());
    hub.set_outage(None);
    assert_eq!(
        get(&format!("{base}/v2/namespaces/team/repositories/app/tags")).0,
        200
    );
    let statuses: Vec<_> = hub.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [Some(404), Some(400), Some(200), Some(503), None, Some(200)]
    );
}
