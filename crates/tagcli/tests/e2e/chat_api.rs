use crate::support::World;

const IMAGE: &str = "private-chat";
const SHA: &str = "970361d0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d";

fn release(w: &World, version: &str) -> tagcore::Digest {
    let d = w.push_image(IMAGE, version);
    w.sign(
        IMAGE,
        &d,
        "nearai/chat-api",
        "build.yml",
        &format!("refs/tags/v{version}"),
        SHA,
    );
    w.set_tag(IMAGE, version, &d);
    d
}

#[test]
fn versions_with_and_without_v_promote_the_same_image() {
    let w = World::new("chat-api.toml");
    let d = release(&w, "0.2.13");
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T10:00:00Z",
        "promote",
        "v0.2.13",
        "--confirm",
        "promote",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d.clone()));
    assert!(
        !w.tags(IMAGE).iter().any(|t| t.starts_with("prod-")),
        "chat-api writes no prod stamp"
    );
    let post = w
        .github_requests()
        .into_iter()
        .find(|(m, _, _)| m == "POST")
        .unwrap();
    assert_eq!(post.2["tag_name"], "v0.2.13");
    // The same version without `v`: the same image, already in prod, nothing written.
    let puts = w.manifest_puts();
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T11:00:00Z",
        "--output",
        "json",
        "promote",
        "0.2.13",
        "--confirm",
        "promote",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["images"][0]["digest"], d.as_str());
    assert_eq!(w.manifest_puts(), puts);
}

#[test]
fn patch_versions_staging_and_confirm() {
    let w = World::new("chat-api.toml");
    let d = release(&w, "0.2.13-p1");
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote", "v0.2.13-p1"]);
    assert_eq!(r.code, 2, "confirm is required: {r:?}");
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T10:00:00Z",
        "promote",
        "v0.2.13-p1",
        "--confirm",
        "promote",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d));
    let r = w.tagcli(&["promote", "staging", "--confirm", "promote"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr,
        "promote: refused (input), nothing changed: source: \"staging\" is not accepted by this policy; expected a version (v0.2.13)\n"
    );
    // Rollback needs an explicit version.
    let r = w.tagcli(&["rollback", "--confirm", "ROLLBACK"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("automatic rollback is off"), "{r:?}");
}
