//! History and audit-trail behaviour through the binary on the real registry (plain OCI
//! listings: names only, no push times), each case one that the first release got wrong.

use crate::support::World;

const CLOUD: &str = "cloud-api";
const CHAT: &str = "private-chat";
const SHA1: &str = "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182";
const SHA2: &str = "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d";

fn cloud_build(w: &World, seed: &str, sha: &str) -> tagcore::Digest {
    let d = w.push_image(CLOUD, seed);
    w.sign_cloud_at(CLOUD, &d, sha, 0);
    d
}

/// The bodies of the release requests GitHub received (creates and edits), in order.
fn release_bodies(w: &World) -> Vec<serde_json::Value> {
    w.github_requests()
        .into_iter()
        .filter(|(m, p, _)| (m == "POST" || m == "PATCH") && p.contains("/releases"))
        .map(|(_, _, b)| b)
        .collect()
}

#[test]
fn same_day_promotions_without_push_times_roll_back_to_the_earlier_one() {
    // P1 at 08:41 and P2 at 17:02 the same day, by digest; the registry lists names only.
    let w = World::new("cloud-api.toml");
    let p1 = cloud_build(&w, "p1", SHA1);
    let p2 = cloud_build(&w, "p2", SHA2);
    for (d, at) in [(&p1, "2026-03-11T08:41:00Z"), (&p2, "2026-03-11T17:02:00Z")] {
        let r = w.tagcli(&["--now", at, "promote", d.as_str()]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    assert_eq!(w.tag(CLOUD, "prod"), Some(p2.clone()));
    let r = w.tagcli(&[
        "--now",
        "2026-03-12T09:00:00Z",
        "--output",
        "json",
        "rollback",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["images"][0]["digest"], p1.as_str());
    assert_eq!(w.tag(CLOUD, "prod"), Some(p1));
    assert!(
        w.tags(CLOUD)
            .contains(&"prod-rollback-20260312-090000-from-20260311-dac1007".to_owned()),
        "{:?}",
        w.tags(CLOUD)
    );
}

#[test]
fn a_same_day_rerun_keeps_the_previous_digest_of_its_release() {
    let w = World::new("cloud-api.toml");
    let d0 = cloud_build(&w, "d0", SHA1);
    let d1 = cloud_build(&w, "d1", SHA2);
    assert_eq!(
        w.tagcli(&["--now", "2026-06-01T10:00:00Z", "promote", d0.as_str()])
            .code,
        0
    );
    assert_eq!(
        w.tagcli(&["--now", "2026-06-02T10:00:00Z", "promote", d1.as_str()])
            .code,
        0
    );
    let output = w.dir.path().join("github_output");
    let r = w.tagcli_env(
        &[
            "--now",
            "2026-06-02T10:30:00Z",
            "--output",
            "json",
            "promote",
            d1.as_str(),
        ],
        &[("GITHUB_OUTPUT", output.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["images"][0]["previous_digest"], d0.as_str());
    assert_eq!(r.json()["stamp"], "prod-20260602-851f2cc");
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains(&format!("previous_digest={d0}")), "{outputs}");
    let last = release_bodies(&w).pop().unwrap();
    let notes = last["body"].as_str().unwrap();
    assert!(
        notes.contains(d0.as_str()),
        "the re-run's notes still name D0: {notes}"
    );
}

fn chat_release(w: &World, version: &str, sha: &str) -> tagcore::Digest {
    let d = w.push_image(CHAT, version);
    w.sign(
        CHAT,
        &d,
        "nearai/chat-api",
        "build.yml",
        &format!("refs/tags/v{version}"),
        sha,
    );
    w.set_tag(CHAT, version, &d);
    d
}

#[test]
fn a_second_rollback_to_the_same_version_leaves_its_own_record() {
    let w = World::new("chat-api.toml");
    let v12 = chat_release(&w, "0.2.12", SHA1);
    let v13 = chat_release(&w, "0.2.13", SHA2);
    let promote = |at: &str, v: &str| {
        let r = w.tagcli(&["--now", at, "promote", v, "--confirm", "promote"]);
        assert_eq!(r.code, 0, "{r:?}");
    };
    let rollback = |at: &str| {
        let r = w.tagcli(&[
            "--now",
            at,
            "--output",
            "json",
            "rollback",
            "0.2.12",
            "--confirm",
            "ROLLBACK",
        ]);
        assert_eq!(r.code, 0, "{r:?}");
        r.json()
    };
    promote("2026-06-01T10:00:00Z", "0.2.12");
    promote("2026-06-02T10:00:00Z", "0.2.13");
    let first = rollback("2026-06-03T12:00:00Z");
    promote("2026-06-03T12:20:00Z", "0.2.13");
    assert_eq!(w.tag(CHAT, "prod"), Some(v13.clone()));
    let second = rollback("2026-06-03T12:40:00Z");
    assert_eq!(w.tag(CHAT, "prod"), Some(v12));
    assert_eq!(first["stamp"], "prod-rollback-20260603-120000-from-0.2.12");
    assert_eq!(second["stamp"], "prod-rollback-20260603-124000-from-0.2.12");
    assert_eq!(second["images"][0]["previous_digest"], v13.as_str());
    let tags = w.tags(CHAT);
    for audit in [
        "prod-rollback-20260603-120000-from-0.2.12",
        "prod-rollback-20260603-124000-from-0.2.12",
    ] {
        assert!(tags.contains(&audit.to_owned()), "{tags:?}");
    }
    let rollback_releases: Vec<String> = release_bodies(&w)
        .iter()
        .filter_map(|b| b["tag_name"].as_str().map(str::to_owned))
        .filter(|t| t.starts_with("prod-rollback-"))
        .collect();
    assert_eq!(
        rollback_releases,
        [
            "prod-rollback-20260603-120000-from-0.2.12",
            "prod-rollback-20260603-124000-from-0.2.12"
        ]
    );
}

#[test]
fn bad_inputs_are_refused_before_any_request() {
    // Every refusal names the input; the registry's own access log shows no request at all.
    let w = World::new("cloud-api.toml");
    let before = w.registry.settled_requests().len();
    let hex = "0123456789abcdef".repeat(4);
    let short = format!("sha256:{}", &hex[..63]);
    let cases: [(&[&str], &str); 6] = [
        (&["promote", "sha256:ABC"], "contains 'A'"),
        (&["promote", &hex], "lacks the `sha256:` prefix"),
        (&["promote", &short], "has 63 hex characters; expected exactly 64"),
        (&["retag", "staging", "prod"], "target: prod is protected"),
        (
            &["retag", "lat est", "dev"],
            "source: tag \"lat est\" contains ' '",
        ),
        (
            &["retag", "staging", "prod-rollback-x"],
            "prod-rollback-x is protected",
        ),
    ];
    for (args, expected) in cases {
        let r = w.tagcli(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(expected), "{args:?}: {r:?}");
    }
    assert_eq!(w.registry.settled_requests().len(), before, "a request was made");
}
