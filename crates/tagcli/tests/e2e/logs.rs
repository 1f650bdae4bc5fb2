//! The log on stderr: `-vv` shows every HTTP request a run makes, `-v` the credential source
//! and `--quiet` nothing; stdout keeps the result alone, and no log shows a secret (every run
//! is scanned by `support`).

use crate::support::World;

const IMAGE: &str = "cloud-api";
const SHA1: &str = "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182";

/// Returns the value of `key=` in a log line (up to the next space).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    line[start..].split(' ').next()
}

/// Returns `METHOD /path` of every HTTP request logged to the test registry, in order.
fn logged_registry_requests(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("registry_hub::http: HTTP request"))
        .filter_map(|l| {
            let url = field(l, "url")?;
            let path = url.strip_prefix("http://[registry]")?;
            Some(format!("{} {path}", field(l, "method")?))
        })
        .collect()
}

#[test]
fn a_promote_at_vv_logs_every_registry_request_the_registry_saw() {
    let w = World::new("cloud-api.toml");
    let d = w.push_image(IMAGE, "one");
    w.sign_cloud_at(IMAGE, &d, SHA1, 0);
    w.set_tag(IMAGE, "staging", &d);
    w.github_ok();
    let before = w.registry.settled_requests().len();
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "-vv", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    // The registry's access log: `GET /v2/…?n=… HTTP/1.1`; the log shows no query.
    let mut seen: Vec<String> = w.registry.settled_requests()[before..]
        .iter()
        .map(|l| {
            let line = l.trim_end_matches(" HTTP/1.1");
            line.split('?').next().unwrap_or(line).to_owned()
        })
        .collect();
    let mut logged = logged_registry_requests(&r.stderr);
    assert!(
        logged.len() >= 10,
        "a promote reads, writes and reads back: {}",
        r.stderr
    );
    seen.sort();
    logged.sort();
    assert_eq!(logged, seen, "every request, once each:\n{}", r.stderr);
    // Each line has the status and the time; token requests and GitHub's API are logged too.
    let first = r.stderr.lines().find(|l| l.contains("HTTP request")).unwrap();
    assert!(
        field(first, "status").is_some() && field(first, "ms").is_some(),
        "{first}"
    );
    assert!(
        r.stderr.contains("tagcli::github: HTTP request method=POST"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("registry credentials"), "{}", r.stderr);
    assert_eq!(w.tag(IMAGE, "prod"), Some(d));
    // Stdout is the result alone.
    assert!(r.stdout.starts_with("promote cloud-api: done"), "{}", r.stdout);
}

#[test]
fn v_names_the_credential_source_and_quiet_logs_nothing() {
    let w = World::new("cloud-api.toml");
    let r = w.tagcli(&["-v", "status"]);
    assert_eq!(r.code, 0, "{r:?}");
    let source = r
        .stderr
        .lines()
        .find(|l| l.contains("registry credentials"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(field(source, "kind"), Some("\"basic\""), "{source}");
    assert!(source.contains("explicit"), "{source}");
    assert!(
        !r.stderr.contains("HTTP request"),
        "-v leaves out the requests: {}",
        r.stderr
    );
    let r = w.tagcli(&["--quiet", "-v", "status"]);
    assert_eq!(r.code, 2, "--quiet and -v conflict: {r:?}");
    let r = w.tagcli(&["--quiet", "status"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let r = w.tagcli_env(&["status"], &[("RUST_LOG", "registry_hub=debug")]);
    assert!(
        r.stderr.contains("HTTP request"),
        "RUST_LOG overrides: {}",
        r.stderr
    );
}

#[test]
fn the_hub_rate_limit_remaining_is_in_the_json_and_at_v() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::with_hub("cloud-api.toml");
    let d = w.push_image(IMAGE, "one");
    w.set_tag(IMAGE, "prod-20260624-dac1007", &d);
    w.set_tag(IMAGE, "prod", &d);
    w.rt.block_on(
        Mock::given(method("POST"))
            .and(path("/v2/auth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "hub.jwt.token"})),
            )
            .mount(&w.github),
    );
    let results = serde_json::json!([
        {"name": "prod", "digest": d.as_str(), "tag_last_pushed": "2026-06-24T10:00:00Z"},
        {"name": "prod-20260624-dac1007", "digest": d.as_str(), "tag_last_pushed": "2026-06-24T10:00:00Z"},
    ]);
    w.rt.block_on(
        Mock::given(method("GET"))
            .and(path("/v2/namespaces/nearai/repositories/cloud-api/tags"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-ratelimit-limit", "180")
                    .insert_header("x-ratelimit-remaining", "76")
                    .insert_header("x-ratelimit-reset", "1782900000")
                    .set_body_json(
                        serde_json::json!({"count": 2, "next": null, "previous": null, "results": results}),
                    ),
            )
            .mount(&w.github),
    );
    let r = w.tagcli(&["--output", "json", "-v", "history"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(
        v["rate_limit"]["hub_api"],
        serde_json::json!({"limit": "180", "remaining": "76", "reset": "1782900000"}),
        "{v}"
    );
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("rate limit") && l.contains("Hub API"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert_eq!(field(line, "remaining"), Some("\"76\""), "{line}");
}
