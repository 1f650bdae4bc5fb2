//! A Docker Hub API outage (503 on every tag page) in front of the real registry: promote
//! falls back to the registry's own listing and says so in text and JSON output.

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::World;

const IMAGE: &str = "cloud-api";

#[test]
fn a_hub_api_outage_falls_back_to_the_registry_listing_and_the_output_says_so() {
    let w = World::with_hub("cloud-api.toml");
    let d = w.push_image(IMAGE, "one");
    w.sign_cloud_at(IMAGE, &d, &"a".repeat(40), 0);
    w.set_tag(IMAGE, "staging", &d);
    w.rt.block_on(async {
        Mock::given(method("POST"))
            .and(path("/v2/auth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "hub.jwt.token"})),
            )
            .mount(&w.github)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/namespaces/nearai/repositories/cloud-api/tags"))
            .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
            .mount(&w.github)
            .await;
    });
    let flag = "tag listing of [registry]/nearai/cloud-api is degraded: the Docker Hub API is unavailable";
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote", "--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(flag), "{}", r.stdout);
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "--output", "json", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["result"], "done", "{v:#}");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().contains(flag)),
        "{v:#}"
    );
    assert_eq!(w.tag(IMAGE, "prod"), Some(d));
}
