use crate::support::World;

const MGR: &str = "compose-manager";
const LAUNCHER: &str = "compose-manager-launcher";
const SHA1: &str = "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";
const SHA2: &str = "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d";

fn build(w: &World, seed: &str, sha: &str) -> (tagcore::Digest, tagcore::Digest) {
    let m = w.push_image(MGR, &format!("mgr {seed}"));
    let l = w.push_image(LAUNCHER, &format!("launcher {seed}"));
    for (name, d) in [(MGR, &m), (LAUNCHER, &l)] {
        w.sign(
            name,
            d,
            "nearai/compose-manager",
            "build.yml",
            "refs/heads/master",
            sha,
        );
        w.set_tag(name, "staging", d);
    }
    (m, l)
}

#[test]
fn the_unit_shares_the_primary_stamp_and_rolls_back_together() {
    let w = World::new("compose-manager.toml");
    let (m1, l1) = build(&w, "1", SHA1);
    // The primary has a staging stamp, the launcher none.
    w.set_tag(MGR, "staging-20260708-a2fad42", &m1);
    let r = w.tagcli(&["--now", "2026-07-08T10:00:00Z", "promote", "--confirm", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("has no staging stamp"), "{}", r.stdout);
    for (name, d) in [(MGR, &m1), (LAUNCHER, &l1)] {
        assert_eq!(w.tag(name, "prod-20260708-a2fad42").as_ref(), Some(d), "{name}");
        assert_eq!(
            w.tag(name, "latest").as_ref(),
            Some(d),
            "{name}: latest is the production channel"
        );
    }
    let (m2, l2) = build(&w, "2", SHA2);
    assert_eq!(
        w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote", "--confirm", "promote"])
            .code,
        0
    );
    assert_eq!(w.tag(LAUNCHER, "latest"), Some(l2));
    assert_eq!(w.tag(MGR, "latest"), Some(m2));
    let r = w.tagcli(&[
        "--now",
        "2026-07-10T10:00:00Z",
        "rollback",
        "prod-20260708-a2fad42",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    insta::assert_snapshot!("compose_rollback_text", r.stdout);
    for (name, d) in [(MGR, &m1), (LAUNCHER, &l1)] {
        assert_eq!(w.tag(name, "prod").as_ref(), Some(d), "{name}");
        assert_eq!(w.tag(name, "latest").as_ref(), Some(d), "{name}");
    }
}

#[test]
fn a_launcher_without_staging_fails_the_unit_before_any_write() {
    let w = World::new("compose-manager.toml");
    let m = w.push_image(MGR, "mgr");
    w.sign(
        MGR,
        &m,
        "nearai/compose-manager",
        "build.yml",
        "refs/heads/master",
        SHA1,
    );
    w.set_tag(MGR, "staging", &m);
    let puts = w.manifest_puts();
    let r = w.tagcli(&["--now", "2026-07-08T10:00:00Z", "promote", "--confirm", "promote"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("nearai/compose-manager-launcher:staging does not exist"),
        "{r:?}"
    );
    assert_eq!(w.manifest_puts(), puts);
}

const DASHBOARD: &str = "compose-manager-dashboard";

#[test]
fn publish_moves_the_unsigned_dashboard_without_a_stamp_and_promote_leaves_it_alone() {
    let w = World::new("compose-manager.toml");
    let m = w.push_image(MGR, "mgr 1");
    let l = w.push_image(LAUNCHER, "launcher 1");
    let d = w.push_image(DASHBOARD, "dashboard 1");
    for (name, digest) in [(MGR, &m), (LAUNCHER, &l)] {
        w.sign(
            name,
            digest,
            "nearai/compose-manager",
            "build.yml",
            "refs/heads/master",
            SHA1,
        );
    }
    let digests = [
        format!("{MGR}={m}"),
        format!("{LAUNCHER}={l}"),
        format!("{DASHBOARD}={d}"),
    ];
    let mut args = vec!["--now", "2026-07-09T08:00:00Z", "publish", "--commit", SHA1];
    for x in &digests {
        args.extend(["--digest", x.as_str()]);
    }
    let r = w.tagcli(&args);
    assert_eq!(r.code, 0, "{r:?}");
    for (name, digest) in [(MGR, &m), (LAUNCHER, &l), (DASHBOARD, &d)] {
        assert_eq!(w.tag(name, "staging").as_ref(), Some(digest), "{name}");
    }
    assert_eq!(w.tag(MGR, "staging-20260709-a2fad42"), Some(m.clone()));
    assert_eq!(
        w.tag(DASHBOARD, "staging-20260709-a2fad42"),
        None,
        "no stamp for the dashboard"
    );
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote", "--confirm", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(MGR, "prod"), Some(m));
    assert_eq!(w.tag(LAUNCHER, "latest"), Some(l));
    assert_eq!(
        w.tags(DASHBOARD),
        ["staging"],
        "promote never touches the dashboard"
    );
}
