//! Paths the first release never ran through the binary on the real registry: a successful
//! retag, a key-based policy end to end (with the commit taken from a staging stamp), and exit 3
//! from a failed deploy dispatch.

use cosign_verify::testing::KeyPair;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::support::World;

const IMAGE: &str = "cloud-api";
const SHA: &str = "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182";

/// Replaces the `[verify]` section of the world's policy with `section`.
fn set_verify(w: &World, section: &str) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    let start = text.find("[verify]").unwrap();
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |i| start + 1 + i + 1);
    let text = format!("{}{section}\n{}", &text[..start], &text[end..]);
    std::fs::write(&w.config, text).unwrap();
}

#[test]
fn retag_copies_a_tag_or_a_digest_and_is_idempotent() {
    let w = World::new("cloud-api.toml");
    let d = w.push_image(IMAGE, "qa");
    w.set_tag(IMAGE, "dev", &d);
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "retag", "dev", "qa"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "qa"), Some(d.clone()));
    // Again: nothing to do, nothing written.
    let puts = w.manifest_puts();
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T10:05:00Z",
        "--output",
        "json",
        "retag",
        "dev",
        "qa",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["result"], "noop");
    assert_eq!(w.manifest_puts(), puts);
    // From a digest, too.
    let r = w.tagcli(&["--now", "2026-07-09T10:06:00Z", "retag", d.as_str(), "qa2"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "qa2"), Some(d));
}

#[test]
fn a_key_based_policy_promotes_with_the_commit_of_its_staging_stamp() {
    let w = World::new("cloud-api.toml");
    let key = KeyPair::generate();
    std::fs::write(w.dir.path().join("cosign.pub"), key.public_key_pem()).unwrap();
    set_verify(&w, "[verify]\nkey = \"cosign.pub\"\n");
    let d = w.push_image(IMAGE, "keyed");
    w.sign_with_key(IMAGE, &d, &key);
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T08:00:00Z",
        "publish",
        "--digest",
        d.as_str(),
        "--commit",
        SHA,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "--output", "json", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    // No certificate and no revision label: the staging stamp names the commit.
    assert_eq!(v["stamp"], "prod-20260709-dac1007");
    assert_eq!(
        (&v["source_commit"]["source"], &v["source_commit"]["stamp"]),
        (&"staging_stamp".into(), &"staging-20260709-dac1007".into())
    );
    assert!(v["images"][0]["verification"]["key"].is_string(), "{v}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d.clone()));
    // An image signed by another key is refused, and prod stays.
    let other = KeyPair::generate();
    let e = w.push_image(IMAGE, "other-key");
    w.sign_with_key(IMAGE, &e, &other);
    let r = w.tagcli(&["--now", "2026-07-09T11:00:00Z", "promote", e.as_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d));
}

#[test]
fn a_failed_prod_redeploy_is_exit_3_and_the_rerun_sends_it() {
    let w = World::new("cloud-api.toml");
    let build = |seed: &str, sha: &str| {
        let d = w.push_image(IMAGE, seed);
        w.sign_cloud_at(IMAGE, &d, sha, 0);
        d
    };
    let d1 = build("one", SHA);
    let d2 = build("two", "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d");
    for (d, at) in [(&d1, "2026-07-08T10:00:00Z"), (&d2, "2026-07-09T10:00:00Z")] {
        assert_eq!(w.tagcli(&["--now", at, "promote", d.as_str()]).code, 0);
    }
    // The release service works; the workflow dispatch answers 500.
    w.rt.block_on(async {
        w.github.reset().await;
        Mock::given(method("GET"))
            .and(path_regex("/releases/tags/"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&w.github)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("/releases$"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(serde_json::json!({"id": 1, "html_url": "https://github.example/r"})),
            )
            .mount(&w.github)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("dispatches$"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&w.github)
            .await;
    });
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T12:00:00Z",
        "rollback",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("These tags moved"), "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));
    // The dispatch works again: the re-run finds prod in place and sends it.
    w.github_ok();
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T12:10:00Z",
        "rollback",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let sent = w
        .github_requests()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/dispatches"))
        .count();
    assert_eq!(sent, 1);
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1));
}

#[test]
fn a_downgrade_is_refused_without_allow_older_and_prod_stays() {
    // Real keyless signatures logged 5 minutes apart; staging is re-pointed at the older build.
    let w = World::new("cloud-api.toml");
    let older = w.push_image(IMAGE, "older");
    w.sign_cloud_at(IMAGE, &older, SHA, 0);
    let newer = w.push_image(IMAGE, "newer");
    w.sign_cloud_at(IMAGE, &newer, "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d", 300);
    assert_eq!(
        w.tagcli(&["--now", "2026-07-08T10:00:00Z", "promote", newer.as_str()])
            .code,
        0
    );
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote", older.as_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("is a downgrade; pass --allow-older"), "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(newer));
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T10:05:00Z",
        "promote",
        older.as_str(),
        "--allow-older",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(older));
}
