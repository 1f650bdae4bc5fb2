//! The example build pipelines' publish steps (`examples/workflows/*/build.yml`) through the
//! action's script: each publishes `--from` the OCI archive its build job handed over (written
//! here by skopeo), and the action's `from` input itself.

use crate::from::{archive_digest, skopeo_copy};
use crate::support::World;
use crate::workflows::{IMAGE, Step, root, run};

/// Writes a build's OCI archive at `rel` (under the directory the steps run in) as skopeo writes
/// it, of an image pushed to a repository outside the unit (`build-<seed>`), so that the
/// publish step has to push it; returns the archive's digest (the pushed one).
fn build_archive(w: &World, seed: &str, rel: &str) -> tagcore::Digest {
    let repo = format!("build-{seed}");
    let d = w.push_image(&repo, seed);
    let path = w.dir.path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let dest = format!("oci-archive:{}", path.display());
    skopeo_copy(w, &format!("{repo}@{d}"), &dest, false);
    assert_eq!(archive_digest(&path), d, "skopeo kept the digest");
    d
}

/// Asserts that `d` is a manifest of `image`'s repository (pushed there by publish).
fn assert_pushed(w: &World, image: &str, d: &tagcore::Digest) {
    assert_eq!(w.manifest(image, d).digest(), *d, "{image}@{d}");
}

#[test]
fn cloud_api_build_publishes_its_archive_to_staging_and_sends_the_staging_deploy() {
    let w = World::new("cloud-api.toml");
    // The build job's `oci.tar`, handed to the staging job as an artifact.
    let d = build_archive(&w, "one", "oci.tar");
    let o = |s: &Step, k: &str| s.outputs.get(k).cloned().unwrap_or_default();
    let values = [("inputs.force_staging == true", "false")];
    // Tuesday: frozen; the archive is pushed by digest, nothing moves, no deploy.
    let frozen = run(
        &w,
        "cloud-api/build.yml",
        "publish",
        &values,
        "2026-07-07T12:00:00Z",
    );
    assert_eq!(frozen.code, 0, "{}", frozen.stderr);
    assert_eq!(o(&frozen, "moved"), "false");
    assert_eq!(w.tag(IMAGE, "staging"), None);
    assert_pushed(&w, IMAGE, &d);
    // Thursday: staging, its stamp (the commit is GITHUB_SHA) and `latest` move; the staging
    // deploy goes to the playbooks with no payload.
    let published = run(
        &w,
        "cloud-api/build.yml",
        "publish",
        &values,
        "2026-07-09T12:00:00Z",
    );
    assert_eq!(published.code, 0, "{}", published.stderr);
    assert_eq!(o(&published, "result"), "done");
    assert_eq!(o(&published, "moved"), "true");
    assert_eq!(o(&published, "digest"), d.as_str(), "the archive's digest");
    assert_eq!(w.tag(IMAGE, "staging"), Some(d.clone()));
    assert_eq!(w.tag(IMAGE, "staging-20260709-851f2cc"), Some(d.clone()));
    assert_eq!(w.tag(IMAGE, "latest"), Some(d));
    let dispatches: Vec<_> = w
        .github_requests()
        .into_iter()
        .filter(|(_, p, _)| p.ends_with("/dispatches"))
        .collect();
    assert_eq!(dispatches.len(), 1, "{dispatches:?}");
    assert_eq!(dispatches[0].1, "/repos/nearai/cvm-ansible-playbooks/dispatches");
    assert_eq!(
        dispatches[0].2,
        serde_json::json!({"event_type": "deploy-cloud-api-stg"})
    );
}

#[test]
fn chat_api_build_deploys_staging_on_push_only() {
    let w = World::new("chat-api.toml");
    let d = build_archive(&w, "main-build", "oci.tar");
    let staging_deploys = |w: &World| {
        w.github_requests()
            .into_iter()
            .filter(|(_, p, b)| p.ends_with("/dispatches") && b["event_type"] == "deploy-chat-api-stg")
            .count()
    };
    let manual = [("github.event_name == 'push'", "false")];
    let r = run(
        &w,
        "chat-api/build.yml",
        "publish",
        &manual,
        "2026-07-09T12:00:00Z",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.outputs.get("digest"),
        Some(&d.to_string()),
        "the archive's digest"
    );
    assert_eq!(w.tag("private-chat", "staging"), Some(d.clone()));
    assert_eq!(
        w.tag("private-chat", "latest"),
        Some(d.clone()),
        "`latest` still follows main builds"
    );
    assert_eq!(staging_deploys(&w), 0, "a manual run on main does not deploy");
    let push = [("github.event_name == 'push'", "true")];
    let r = run(&w, "chat-api/build.yml", "publish", &push, "2026-07-09T12:05:00Z");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(staging_deploys(&w), 1, "a push deploys staging");
}

#[test]
fn compose_manager_build_publishes_three_archives_and_stamps_two() {
    let w = World::new("compose-manager.toml");
    // Where download-artifact puts the three builds' archives (one directory per artifact).
    let cm = build_archive(&w, "cm", "archives/archive-compose-manager/oci.tar");
    let launcher = build_archive(
        &w,
        "launcher",
        "archives/archive-compose-manager-launcher/launcher.tar",
    );
    let dashboard = build_archive(
        &w,
        "dashboard",
        "archives/archive-compose-manager-dashboard/dashboard.tar",
    );
    let r = run(
        &w,
        "compose-manager/build.yml",
        "publish",
        &[],
        "2026-07-09T12:00:00Z",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (name, d) in [
        ("compose-manager", &cm),
        ("compose-manager-launcher", &launcher),
        ("compose-manager-dashboard", &dashboard),
    ] {
        assert_pushed(&w, name, d);
        assert_eq!(w.tag(name, "staging"), Some(d.clone()), "{name}");
        let key = format!("digest_{}", name.replace('-', "_"));
        assert_eq!(r.outputs.get(&key), Some(&d.to_string()), "{key}");
    }
    assert_eq!(w.tag("compose-manager", "staging-20260709-851f2cc"), Some(cm));
    assert_eq!(
        w.tag("compose-manager-launcher", "staging-20260709-851f2cc"),
        Some(launcher)
    );
    assert_eq!(
        w.tag("compose-manager-dashboard", "staging-20260709-851f2cc"),
        None,
        "the dashboard gets no stamp"
    );
}

#[test]
fn the_action_refuses_sources_for_any_command_but_publish() {
    let dir = tempfile::tempdir().unwrap();
    // Stands in for tagcli: prints each argument it gets in brackets.
    let argv = dir.path().join("argv");
    std::fs::write(&argv, "#!/bin/sh\nprintf '[%s]' \"$@\"\n").unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&argv, executable).unwrap();
    let run = |command: &str| {
        std::process::Command::new("bash")
            .arg(root().join("scripts/action-run"))
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("TAGCLI", &argv)
            .env("INPUT_COMMAND", command)
            .env(
                "INPUT_FROM",
                "app=oci-archive:out/app one.tar\n\n  \nb=oci:layout\r\n",
            )
            .env("INPUT_ARGS", "--force=false\n")
            .env("INPUT_WORKING_DIRECTORY", dir.path())
            .output()
            .unwrap()
    };
    let status = run("status");
    assert_eq!(status.status.code(), Some(2));
    assert_eq!(status.stdout, b"");
    assert!(
        String::from_utf8_lossy(&status.stderr)
            .contains("::error title=tagcli action::input 'from' is only for command publish"),
        "{status:?}"
    );
    // publish: one `--from` per non-blank line, each line one argument (spaces kept), before args.
    let publish = run("publish");
    assert_eq!(publish.status.code(), Some(0), "{publish:?}");
    assert_eq!(
        String::from_utf8_lossy(&publish.stdout),
        "[publish][--from][app=oci-archive:out/app one.tar][--from][b=oci:layout][--force=false]"
    );
}
