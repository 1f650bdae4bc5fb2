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

#[test]
fn a_push_build_moves_latest_and_sends_the_staging_deploy_to_the_playbooks() {
    let w = World::new("chat-api.toml");
    let d = w.push_image(IMAGE, "main build");
    let publish = |extra: &[&str]| {
        let mut args = vec!["--now", "2026-07-09T08:00:00Z", "publish", "--digest", d.as_str()];
        args.extend_from_slice(extra);
        w.tagcli_env(&args, &[("GITHUB_SHA", SHA)])
    };
    // A manual dispatch on main: the workflow passes --dispatch=false; :latest moves, no deploy.
    let r = publish(&["--dispatch=false"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "latest"), Some(d.clone()));
    assert_eq!(w.tag(IMAGE, "staging"), Some(d.clone()));
    assert!(w.github_requests().is_empty());
    // A push: the same publish again sends the deploy, with no payload.
    let r = publish(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    let gh = w.github_requests();
    assert_eq!(gh.len(), 1, "{gh:?}");
    assert_eq!(gh[0].1, "/repos/nearai/cvm-ansible-playbooks/dispatches");
    assert_eq!(gh[0].2, serde_json::json!({"event_type": "deploy-chat-api-stg"}));
}
