//! Docker Hub's Hub API (on wiremock) in front of the real registry: push times decide the
//! order of same-day releases, and an endless listing is bounded and reported.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::World;

const IMAGE: &str = "cloud-api";

fn login(w: &World) {
    w.rt.block_on(
        Mock::given(method("POST"))
            .and(path("/v2/auth/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "hub.jwt.token"})))
            .mount(&w.github),
    );
}

fn listing(w: &World, results: serde_json::Value, next: Option<String>) {
    w.rt.block_on(
        Mock::given(method("GET"))
            .and(path("/v2/namespaces/nearai/repositories/cloud-api/tags"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "count": results.as_array().map_or(0, Vec::len),
                "next": next,
                "previous": null,
                "results": results,
            })))
            .mount(&w.github),
    );
}

/// docs/behaviour.md#regression-cases: `prod-20260624-970361d`@D1 pushed 10:05Z, `prod-20260624-851f2cc`@D2 pushed 14:53Z,
/// `prod-20260625-a2fad42`@D3 = prod → the automatic rollback targets `prod-20260624-851f2cc`.
fn same_day_world(hub: bool) -> (World, [tagcore::Digest; 3]) {
    let w = if hub {
        World::with_hub("cloud-api.toml")
    } else {
        World::new("cloud-api.toml")
    };
    let d: [tagcore::Digest; 3] = ["d1", "d2", "d3"].map(|s| {
        let d = w.push_image(IMAGE, s);
        w.sign_cloud_at(IMAGE, &d, &"a".repeat(40), 0);
        d
    });
    for (tag, digest) in [
        ("prod-20260624-970361d", &d[0]),
        ("prod-20260624-851f2cc", &d[1]),
        ("prod-20260625-a2fad42", &d[2]),
        ("prod", &d[2]),
    ] {
        w.set_tag(IMAGE, tag, digest);
    }
    if hub {
        login(&w);
        listing(
            &w,
            json!([
                {"name": "prod", "digest": d[2].as_str(), "tag_last_pushed": "2026-06-25T09:00:00.123456Z", "last_updated": "2026-06-25T09:00:00Z"},
                {"name": "prod-20260625-a2fad42", "digest": d[2].as_str(), "tag_last_pushed": "2026-06-25T09:00:00Z"},
                {"name": "prod-20260624-851f2cc", "digest": d[1].as_str(), "tag_last_pushed": "2026-06-24T14:53:00Z"},
                {"name": "prod-20260624-970361d", "digest": d[0].as_str(), "last_updated": "2026-06-24T10:05:00Z"},
                {"name": format!("sha256-{}.sig", d[2].hex()), "digest": null, "images": {"oddly": "an object"}},
            ]),
            None,
        );
    }
    (w, d)
}

#[test]
fn same_day_stamps_are_ordered_by_hub_push_times() {
    let (w, d) = same_day_world(true);
    let r = w.tagcli(&[
        "--now",
        "2026-06-26T10:00:00Z",
        "rollback",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d[1].clone()));
    assert_eq!(
        w.tag(IMAGE, "prod-rollback-20260626-100000-from-20260624-851f2cc"),
        Some(d[1].clone())
    );
    let logins: Vec<_> = w
        .github_requests()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p == "/v2/auth/token")
        .collect();
    assert_eq!(logins[0].2["identifier"], crate::support::USER);
}

#[test]
fn the_same_stamps_without_push_times_are_refused_not_guessed() {
    let (w, d) = same_day_world(false);
    let r = w.tagcli(&[
        "--now",
        "2026-06-26T10:00:00Z",
        "rollback",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("refused (history)"), "{}", r.stderr);
    assert!(
        r.stderr.contains("prod-20260624-851f2cc") && r.stderr.contains("prod-20260624-970361d"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("name a target explicitly"), "{}", r.stderr);
    assert_eq!(w.tag(IMAGE, "prod"), Some(d[2].clone()));
}

#[test]
fn an_endless_hub_listing_is_bounded_reported_and_never_guessed_from() {
    let w = World::with_hub("cloud-api.toml");
    let d = w.push_image(IMAGE, "one");
    w.set_tag(IMAGE, "prod", &d);
    login(&w);
    // Every page points at a next page, forever.
    let next = format!(
        "{}/v2/namespaces/nearai/repositories/cloud-api/tags?page=2&page_size=100",
        w.github.uri()
    );
    listing(
        &w,
        json!([{"name": "prod", "digest": d.as_str(), "tag_last_pushed": "2026-06-25T09:00:00Z"}]),
        Some(next),
    );
    let r = w.tagcli(&["history"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("warning: tag listing of [registry]/nearai/cloud-api is incomplete"),
        "{}",
        r.stdout
    );
    let r = w.tagcli(&["rollback", "--confirm", "ROLLBACK"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("is incomplete, so the previous release cannot be known"),
        "{}",
        r.stderr
    );
    let pages = w
        .github_requests()
        .into_iter()
        .filter(|(m, p, _)| m == "GET" && p.ends_with("/tags"))
        .count();
    assert!(
        pages <= 2 * 3,
        "the page cap (3) bounds every listing: {pages} pages read"
    );
}
