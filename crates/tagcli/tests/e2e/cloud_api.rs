use crate::support::World;

const IMAGE: &str = "cloud-api";
const SHA1: &str = "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182";
const SHA2: &str = "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d";

/// Pushes a build signed by cloud-api's main workflow.
fn build(w: &World, seed: &str, sha: &str) -> tagcore::Digest {
    let d = w.push_image(IMAGE, seed);
    w.sign_cloud_at(IMAGE, &d, sha, 0);
    d
}

#[test]
fn publish_promote_rollback_cycle_with_release_and_dispatch() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    let d2 = build(&w, "two", SHA2);
    // Thursday: publish moves staging and the publish alias.
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T08:00:00Z",
        "publish",
        "--digest",
        d1.as_str(),
        "--commit",
        SHA1,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "staging"), Some(d1.clone()));
    assert_eq!(w.tag(IMAGE, "latest"), Some(d1.clone()));
    // The staging deploy: a repository_dispatch with no payload, as build.yml sends it today.
    let staging = w.github_requests();
    assert_eq!(staging.len(), 1, "{staging:?}");
    assert_eq!(staging[0].1, "/repos/nearai/cvm-ansible-playbooks/dispatches");
    assert_eq!(
        staging[0].2,
        serde_json::json!({"event_type": "deploy-cloud-api-stg"})
    );
    w.github_ok();
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    insta::assert_snapshot!("cloud_promote_text", r.stdout);
    assert_eq!(w.tag(IMAGE, "prod-20260709-dac1007"), Some(d1.clone()));
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));
    let releases: Vec<_> = w
        .github_requests()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/releases"))
        .collect();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0].1, "/repos/nearai/cloud-api/releases");
    assert_eq!(releases[0].2["make_latest"], "true");
    assert_eq!(releases[0].2["target_commitish"], SHA1);
    assert_eq!(releases[0].2["name"], "Production Release prod-20260709-dac1007");
    // Friday: the second build goes to prod, then an automatic rollback brings back the first.
    let r = w.tagcli(&[
        "--now",
        "2026-07-10T08:00:00Z",
        "publish",
        "--digest",
        d2.as_str(),
        "--commit",
        SHA2,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tagcli(&["--now", "2026-07-10T10:00:00Z", "promote"]).code, 0);
    assert_eq!(w.tag(IMAGE, "prod"), Some(d2.clone()));
    w.github_ok();
    let r = w.tagcli(&[
        "--now",
        "2026-07-10T10:41:52Z",
        "--output",
        "json",
        "rollback",
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["images"][0]["previous_digest"], d2.as_str());
    assert_eq!(v["images"][0]["digest"], d1.as_str());
    assert_eq!(v["stamp"], "prod-rollback-20260710-104152-from-20260709-dac1007");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));
    let gh = w.github_requests();
    let release = gh
        .iter()
        .find(|(m, p, _)| m == "POST" && p.ends_with("/releases"))
        .unwrap();
    assert_eq!(
        release.2["make_latest"], "false",
        "a rollback never becomes Latest"
    );
    let dispatch = gh.iter().find(|(_, p, _)| p.ends_with("/dispatches")).unwrap();
    assert_eq!(
        dispatch.1,
        "/repos/nearai/cvm-ansible-playbooks/actions/workflows/update_cloud_api_prod.yml/dispatches"
    );
    // update_cloud_api_prod.yml declares no inputs: the body is exactly the ref (the mock
    // answers 422 "Unexpected inputs provided" to any inputs, as GitHub does).
    assert_eq!(dispatch.2, serde_json::json!({"ref": "main"}));
    let r = w.tagcli(&["--now", "2026-07-10T11:00:00Z", "history"]);
    insta::assert_snapshot!("cloud_history_text", r.stdout);
    assert_eq!(
        w.tags(IMAGE),
        [
            "latest",
            "prod",
            "prod-20260709-dac1007",
            "prod-20260710-851f2cc",
            "prod-rollback-20260710-104152-from-20260709-dac1007",
            "staging",
            "staging-20260709-dac1007",
            "staging-20260710-851f2cc"
        ]
    );
}

#[test]
fn freeze_window_and_force() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    let r = w.tagcli(&[
        "--now",
        "2026-07-07T12:00:00Z",
        "publish",
        "--digest",
        d1.as_str(),
        "--commit",
        SHA1,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("staging is frozen on Tue"), "{}", r.stdout);
    assert_eq!(w.tag(IMAGE, "staging"), None);
    let r = w.tagcli(&[
        "--now",
        "2026-07-07T12:00:00Z",
        "publish",
        "--force",
        "--digest",
        d1.as_str(),
        "--commit",
        SHA1,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "staging"), Some(d1));
}

#[test]
fn dry_run_writes_nothing() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    w.set_tag(IMAGE, "staging", &d1);
    let before = w.manifest_puts();
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T10:00:00Z",
        "--output",
        "json",
        "promote",
        "--dry-run",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["dry_run"], true);
    assert_eq!(r.json()["images"][0]["tags"][0]["status"], "planned");
    assert_eq!(w.manifest_puts(), before, "no manifest PUT during a dry run");
    assert!(
        w.github_requests().is_empty(),
        "no GitHub request during a dry run"
    );
    assert_eq!(w.tag(IMAGE, "prod"), None);
}

#[test]
fn release_down_after_prod_moved_exits_3_and_a_rerun_converges() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    w.set_tag(IMAGE, "staging", &d1);
    w.github_down();
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("These tags moved: [registry]/nearai/cloud-api:prod-20260709-dac1007, [registry]/nearai/cloud-api:prod"), "{}", r.stdout);
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));
    w.github_ok();
    let r = w.tagcli(&["--now", "2026-07-09T10:30:00Z", "--output", "json", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["stamp"], "prod-20260709-dac1007");
    assert_eq!(v["release"]["status"], "created");
    assert!(
        v["images"][0]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "unchanged")
    );
}

#[test]
fn refusals_before_any_write() {
    let w = World::new("cloud-api.toml");
    // :staging missing → exit 1, nothing written.
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr,
        "promote: refused (registry_not_found), nothing changed: staging tag [registry]/nearai/cloud-api:staging does not exist; nothing was written\n"
    );
    // Bad digests → exit 2 before any request.
    let requests = w.registry.settled_requests().len();
    for bad in [
        "sha256:ABC",
        &"a".repeat(64),
        &format!("sha256:{}", "a".repeat(63)),
    ] {
        let r = w.tagcli(&["promote", bad]);
        assert_eq!(r.code, 2, "{bad}: {r:?}");
        assert!(r.stderr.contains("refused (input)"), "{r:?}");
    }
    // Retag into protected names and a tag with a space → exit 2 before any request.
    for (src, dst) in [
        ("staging", "prod"),
        ("staging", "prod-20260101-abc1234"),
        ("staging", "prod-rollback-x"),
        ("lat est", "qa"),
    ] {
        let r = w.tagcli(&["retag", src, dst]);
        assert_eq!(r.code, 2, "{src} -> {dst}: {r:?}");
    }
    assert_eq!(
        w.registry.settled_requests().len(),
        requests,
        "no registry request for bad inputs"
    );
    // Signed by a pull-request build → refused, nothing written.
    let d = w.push_image(IMAGE, "pr");
    w.sign(
        IMAGE,
        &d,
        "nearai/cloud-api",
        "build.yml",
        "refs/pull/12/merge",
        SHA1,
    );
    w.set_tag(IMAGE, "staging", &d);
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("refused (verification)"), "{r:?}");
    assert!(r.stderr.contains("refs/pull/12/merge"), "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), None);
    // Rollback without prod → clear error.
    let r = w.tagcli(&["rollback", "--confirm", "ROLLBACK"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("prod tag [registry]/nearai/cloud-api:prod does not exist"),
        "{r:?}"
    );
    // Wrong confirm string → exit 2.
    assert_eq!(w.tagcli(&["rollback", "--confirm", "rollback"]).code, 2);
}

#[test]
fn a_401_is_an_authentication_failure_not_not_found() {
    let w = World::new("cloud-api.toml");
    let r = w.tagcli_env(
        &["--now", "2026-07-09T10:00:00Z", "promote"],
        &[("DOCKER_REGISTRY_TOKEN", "wrong-password")],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("refused (registry_unauthorized)"), "{r:?}");
    assert!(!r.stderr.contains("not found"), "{r:?}");
}

#[test]
fn an_image_index_with_an_attestation_keeps_its_digest() {
    let w = World::new("cloud-api.toml");
    let amd = w.push_image(IMAGE, "amd64");
    let att = w.push_image(IMAGE, "attestation");
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{amd}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{att}","size":{},"annotations":{{"vnd.docker.reference.digest":"{amd}","vnd.docker.reference.type":"attestation-manifest"}},"platform":{{"architecture":"unknown","os":"unknown"}}}}]}}"#,
        manifest_len(&w, &amd),
        manifest_len(&w, &att)
    );
    let m = tagcore::Manifest::new("application/vnd.oci.image.index.v1+json", index.into_bytes());
    let d = w.push_manifest(IMAGE, &m);
    w.sign_cloud_at(IMAGE, &d, SHA1, 0);
    let r = w.tagcli(&[
        "--now",
        "2026-07-09T08:00:00Z",
        "publish",
        "--digest",
        d.as_str(),
        "--commit",
        SHA1,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = w.tagcli(&["--now", "2026-07-09T10:00:00Z", "promote"]);
    assert_eq!(r.code, 0, "{r:?}");
    for tag in [
        "staging",
        "latest",
        "staging-20260709-dac1007",
        "prod",
        "prod-20260709-dac1007",
    ] {
        assert_eq!(w.tag(IMAGE, tag), Some(d.clone()), "{tag}");
    }
}

fn manifest_len(w: &World, d: &tagcore::Digest) -> usize {
    w.manifest(IMAGE, d).bytes.len()
}

#[test]
fn verify_and_status_report_the_signature_and_the_channels() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    w.set_tag(IMAGE, "staging", &d1);
    // verify and status need the registry's credentials only: no GitHub token is set.
    let r = w.tagcli_registry_only(&["verify", "staging"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(
            "identity       https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("commit         {SHA1} (signature certificate)")),
        "{}",
        r.stdout
    );
    let unsigned = w.push_image(IMAGE, "unsigned");
    let r = w.tagcli(&["--output", "json", "verify", unsigned.as_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["error"]["kind"], "verification");
    let r = w.tagcli_registry_only(&["--output", "json", "status"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let channels = &r.json()["images"][0]["channels"];
    assert_eq!(channels[0]["tag"], "staging");
    assert_eq!(channels[0]["digest"], d1.as_str());
}

#[test]
fn github_actions_outputs_summary_and_annotations() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    w.set_tag(IMAGE, "staging", &d1);
    let out = w.dir.path().join("github_output");
    let summary = w.dir.path().join("step_summary");
    let r = w.tagcli_env(
        &["--now", "2026-07-09T10:00:00Z", "promote"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", out.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let outputs = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        outputs,
        format!(
            "result=done\nmoved=true\ndigest={d1}\nprevious_digest=\nstamped_tag=prod-20260709-dac1007\ntarget_tag=staging\naudit_tag=\nshort_sha=dac1007\nrelease_url=https://github.example/release\ndigest_cloud_api={d1}\n"
        )
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.starts_with("### tagcli promote `cloud-api`: done"),
        "{summary}"
    );
    assert!(
        summary.contains("\nRelease: [prod-20260709-dac1007](https://github.example/release)\n"),
        "{summary}"
    );
    // A refusal is an ::error:: annotation on stderr; stdout stays clean.
    let r = w.tagcli_env(
        &["rollback", "--confirm", "ROLLBACK"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("::error::rollback: refused"), "{}", r.stderr);
}

#[test]
fn tokens_are_read_only_by_the_writes_that_use_them_and_all_missing_at_once() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    w.set_tag(IMAGE, "staging", &d1);
    for args in [
        &["history"][..],
        &["--now", "2026-07-09T10:00:00Z", "promote", "--dry-run"],
        &["retag", "staging", "qa"],
    ] {
        let r = w.tagcli_registry_only(args, &[]);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
    }
    // A promote that writes needs the release token: GH_TOKEN or GITHUB_TOKEN.
    let r = w.tagcli_registry_only(&["--now", "2026-07-09T10:00:00Z", "promote"], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("environment variables not set: GH_TOKEN or GITHUB_TOKEN (release.token"),
        "{}",
        r.stderr
    );
    assert_eq!(w.tag(IMAGE, "prod"), None);
    // A rollback needs both tokens: one error names both.
    let r = w.tagcli_registry_only(&["rollback", "--confirm", "ROLLBACK"], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("GH_TOKEN or GITHUB_TOKEN")
            && r.stderr.contains("REPOSITORY_DISPATCH_TOKEN (dispatch[1].token"),
        "{}",
        r.stderr
    );
    // A publish with --dispatch=false needs no token; --commit defaults to GITHUB_SHA.
    let d2 = build(&w, "two", SHA2);
    w.github_ok();
    let r = w.tagcli_registry_only(
        &[
            "--now",
            "2026-07-09T08:00:00Z",
            "publish",
            "--digest",
            d2.as_str(),
            "--dispatch=false",
        ],
        &[("GITHUB_SHA", SHA2)],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "staging"), Some(d2));
    assert!(
        w.tag(IMAGE, &format!("staging-20260709-{}", &SHA2[..7]))
            .is_some()
    );
    assert!(w.github_requests().is_empty(), "--dispatch=false sends nothing");
}

#[test]
fn policy_check_works_offline_and_redacts_secrets() {
    let w = World::new("cloud-api.toml");
    let r = w.tagcli(&["--output", "json", "policy", "check"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["unit"], "cloud-api");
    assert_eq!(
        v["policy"]["dispatch"][1]["target"]["workflow"]["file"],
        "update_cloud_api_prod.yml"
    );
    assert_eq!(v["policy"]["dispatch"][1]["payload"], serde_json::Value::Null);
    assert_eq!(
        v["policy"]["secrets"],
        serde_json::json!({
            "registry.password": "*** (set)",
            "release.token": "*** (default: GH_TOKEN or GITHUB_TOKEN)",
            "dispatch[0].token": "*** (set)",
            "dispatch[1].token": "*** (set)",
        })
    );
    // Offline: the secrets are not even read.
    let r = w.tagcli_registry_only(&["policy", "check"], &[("DOCKER_REGISTRY_TOKEN", "")]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\"unit\": \"cloud-api\""), "{}", r.stdout);
}
