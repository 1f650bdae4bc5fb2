//! The example workflows' tagcli steps (`examples/workflows/`), run through the action's own
//! script (`scripts/action-run`) with the variables GitHub sets, against the real registry and
//! GitHub on wiremock. Each step's `command` and `args` are read from the example file and its
//! `${{ … }}` expressions are replaced from a table; an expression the table lacks fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{GITHUB_TOKEN, PASSWORD, USER, World};

pub(crate) const IMAGE: &str = "cloud-api";
const SHA1: &str = "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182";
const SHA2: &str = "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d";

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The inputs of one tagcli step of an example, with every expression replaced.
struct Inputs {
    command: String,
    args: String,
    from: String,
}

/// Returns the `command`, `args` and `from` inputs of the step `id:` of an example workflow,
/// with every expression replaced from `values`.
fn step(workflow: &str, id: &str, values: &[(&str, &str)]) -> Inputs {
    let path = root().join("examples/workflows").join(workflow);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("- id: {id}"))
        .unwrap_or_else(|| panic!("{workflow} has no step {id}"));
    let body = indent(lines[start]) + 2;
    let step: Vec<&str> = lines[start + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) >= body)
        .copied()
        .collect();
    let field = |name: &str| {
        step.iter()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    assert_eq!(
        field("uses").as_deref(),
        Some("nearai/tagcli@v1"),
        "{workflow} {id}"
    );
    // A block (`name: |` and its lines, one per line) or a one-line value.
    let block = |name: &str| {
        let at = step.iter().position(|l| l.trim() == format!("{name}: |"));
        at.map_or_else(
            || field(name).map(|v| v + "\n").unwrap_or_default(),
            |at| {
                let inner = indent(step[at]) + 2;
                step[at + 1..]
                    .iter()
                    .take_while(|l| l.trim().is_empty() || indent(l) >= inner)
                    .map(|l| format!("{}\n", l.get(inner..).unwrap_or("")))
                    .collect()
            },
        )
    };
    Inputs {
        command: substitute(&field("command").unwrap(), values),
        args: substitute(&block("args"), values),
        from: substitute(&block("from"), values),
    }
}

/// Replaces every `${{ expr }}` with its value from `values`.
fn substitute(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("${{") {
        out.push_str(&rest[..open]);
        let close = rest[open..].find("}}").unwrap() + open;
        let expr = rest[open + 3..close].trim();
        let value = values
            .iter()
            .find(|(k, _)| *k == expr)
            .unwrap_or_else(|| panic!("no value for the expression {expr:?}"));
        out.push_str(value.1);
        rest = &rest[close + 2..];
    }
    out + rest
}

pub(crate) struct Step {
    pub(crate) code: i32,
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) summary: String,
    pub(crate) stderr: String,
}

/// Runs one tagcli step of an example through `scripts/action-run run`, as the action does.
pub(crate) fn run(w: &World, workflow: &str, id: &str, values: &[(&str, &str)], now: &str) -> Step {
    let inputs = step(workflow, id, values);
    let output = w.dir.path().join(format!("output-{id}"));
    let summary = w.dir.path().join(format!("summary-{id}"));
    let _ = std::fs::remove_file(&output);
    let _ = std::fs::remove_file(&summary);
    let out = std::process::Command::new("bash")
        .arg(root().join("scripts/action-run"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", w.dir.path())
        .env("DOCKER_CONFIG", w.dir.path().join("docker"))
        .env("TAGCLI", assert_cmd::cargo::cargo_bin("tagcli"))
        .env("INPUT_COMMAND", inputs.command)
        .env("INPUT_ARGS", inputs.args)
        .env("INPUT_FROM", inputs.from)
        .env("INPUT_CONFIG", &w.config)
        .env("INPUT_UNIT", "")
        .env("INPUT_WORKING_DIRECTORY", w.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_SHA", SHA2)
        .env("TAGCLI_NOW", now)
        .env("DOCKER_REGISTRY_USER", USER)
        .env("DOCKER_REGISTRY_TOKEN", PASSWORD)
        .env("GITHUB_TOKEN", GITHUB_TOKEN)
        .env("REPOSITORY_DISPATCH_TOKEN", "ghs_e2e_dispatch_token")
        .output()
        .unwrap();
    let outputs = std::fs::read_to_string(&output)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let step = Step {
        code: out.status.code().unwrap_or(-1),
        outputs,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    for secret in [PASSWORD, GITHUB_TOKEN, "ghs_e2e_dispatch_token"] {
        assert!(
            !stdout.contains(secret) && !step.stderr.contains(secret),
            "a secret was printed"
        );
    }
    step
}

fn build(w: &World, seed: &str, sha: &str) -> tagcore::Digest {
    let d = w.push_image(IMAGE, seed);
    w.sign_cloud_at(IMAGE, &d, sha, 0);
    d
}

#[test]
fn cloud_api_promote_rollback_and_retag_as_the_example_workflows_run_them() {
    let w = World::new("cloud-api.toml");
    let d1 = build(&w, "one", SHA1);
    let d2 = build(&w, "two", SHA2);
    let o = |s: &Step, k: &str| s.outputs.get(k).cloned().unwrap_or_default();

    // promote.yml on the Thursday cron (no inputs): plan, then promote exactly the plan.
    w.set_tag(IMAGE, "staging", &d1);
    let cron = [("inputs.digest", "")];
    let plan = run(&w, "cloud-api/promote.yml", "plan", &cron, "2026-07-09T00:00:00Z");
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(o(&plan, "result"), "planned");
    assert_eq!(o(&plan, "moved"), "false");
    assert_eq!(o(&plan, "digest"), d1.as_str());
    assert_eq!(w.tag(IMAGE, "prod"), None, "a plan writes nothing");
    let planned = o(&plan, "digest");
    let approved = [
        ("inputs.digest", ""),
        ("needs.plan.outputs.digest", planned.as_str()),
    ];
    let promote = run(
        &w,
        "cloud-api/promote.yml",
        "promote",
        &approved,
        "2026-07-09T00:05:00Z",
    );
    assert_eq!(promote.code, 0, "{}", promote.stderr);
    assert_eq!(o(&promote, "result"), "done");
    assert_eq!(o(&promote, "moved"), "true");
    assert_eq!(o(&promote, "stamped_tag"), "prod-20260709-dac1007");
    assert_eq!(o(&promote, "short_sha"), "dac1007");
    assert_eq!(o(&promote, "digest_cloud_api"), d1.as_str());
    assert_eq!(o(&promote, "release_url"), "https://github.example/release");
    assert!(
        promote
            .summary
            .contains("Release: [prod-20260709-dac1007](https://github.example/release)"),
        "{}",
        promote.summary
    );
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));

    // A week later, by digest: a build lands on staging between the plan and the approval.
    w.set_tag(IMAGE, "staging", &d2);
    let by_digest = [("inputs.digest", d2.as_str())];
    let plan = run(
        &w,
        "cloud-api/promote.yml",
        "plan",
        &by_digest,
        "2026-07-16T00:00:00Z",
    );
    assert_eq!(o(&plan, "digest"), d2.as_str());
    let stale = [("inputs.digest", ""), ("needs.plan.outputs.digest", d1.as_str())];
    let refused = run(
        &w,
        "cloud-api/promote.yml",
        "promote",
        &stale,
        "2026-07-16T00:05:00Z",
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(o(&refused, "result"), "refused");
    assert!(
        refused.stderr.contains("::error::promote: refused"),
        "{}",
        refused.stderr
    );
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));
    let approved = [
        ("inputs.digest", d2.as_str()),
        ("needs.plan.outputs.digest", d2.as_str()),
    ];
    let promote = run(
        &w,
        "cloud-api/promote.yml",
        "promote",
        &approved,
        "2026-07-16T00:10:00Z",
    );
    assert_eq!(promote.code, 0, "{}", promote.stderr);
    assert_eq!(o(&promote, "stamped_tag"), "prod-20260716-851f2cc");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d2.clone()));

    // rollback.yml with an empty target: the preflight resolves it, the production job uses it.
    w.github_ok();
    let typed = [("inputs.target_tag", ""), ("inputs.confirm", "ROLLBACK")];
    let pre = run(
        &w,
        "cloud-api/rollback.yml",
        "plan",
        &typed,
        "2026-07-16T10:41:00Z",
    );
    assert_eq!(pre.code, 0, "{}", pre.stderr);
    assert_eq!(o(&pre, "result"), "planned");
    assert_eq!(o(&pre, "target_tag"), "prod-20260709-dac1007");
    assert_eq!(w.tag(IMAGE, "prod"), Some(d2.clone()));
    let target = o(&pre, "target_tag");
    let values = [
        ("needs.preflight.outputs.target_tag", target.as_str()),
        ("inputs.confirm", "ROLLBACK"),
    ];
    let rb = run(
        &w,
        "cloud-api/rollback.yml",
        "rollback",
        &values,
        "2026-07-16T10:41:52Z",
    );
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    assert_eq!(o(&rb, "result"), "done");
    assert_eq!(o(&rb, "digest"), d1.as_str());
    assert_eq!(o(&rb, "previous_digest"), d2.as_str());
    assert_eq!(o(&rb, "stamped_tag"), "");
    assert_eq!(
        o(&rb, "audit_tag"),
        "prod-rollback-20260716-104152-from-20260709-dac1007"
    );
    assert_eq!(w.tag(IMAGE, "prod"), Some(d1.clone()));
    let gh = w.github_requests();
    let posts: Vec<&str> = gh
        .iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, p, _)| p.as_str())
        .collect();
    assert_eq!(
        posts,
        [
            "/repos/nearai/cloud-api/releases",
            "/repos/nearai/cvm-ansible-playbooks/actions/workflows/update_cloud_api_prod.yml/dispatches"
        ],
        "{gh:?}"
    );
    assert_eq!(
        gh.iter().find(|(m, _, _)| m == "POST").unwrap().2["make_latest"],
        "false"
    );
    // The prod redeploy targets a workflow that declares no inputs: the body is the ref alone.
    let redeploy = gh.iter().find(|(_, p, _)| p.ends_with("/dispatches")).unwrap();
    assert_eq!(redeploy.2, serde_json::json!({"ref": "main"}));

    // A confirm string built to break out of a shell is one argument that does not match.
    let hostile = [
        ("inputs.target_tag", ""),
        ("inputs.confirm", "ROLLBACK\"; touch pwned; \""),
    ];
    let pre = run(
        &w,
        "cloud-api/rollback.yml",
        "plan",
        &hostile,
        "2026-07-16T11:00:00Z",
    );
    assert_eq!(pre.code, 2, "{}", pre.stderr);
    assert_eq!(o(&pre, "result"), "refused");
    assert!(
        pre.stderr
            .contains(r#"--confirm: "ROLLBACK\"; touch pwned; \"" does not match"#),
        "{}",
        pre.stderr
    );
    assert!(!w.dir.path().join("pwned").exists());

    // retag.yml: a non-protected target is copied by digest; the prod namespace is refused.
    let inputs = [("inputs.source", "staging"), ("inputs.target", "qa")];
    let retag = run(
        &w,
        "cloud-api/retag.yml",
        "retag",
        &inputs,
        "2026-07-16T12:00:00Z",
    );
    assert_eq!(retag.code, 0, "{}", retag.stderr);
    assert_eq!(w.tag(IMAGE, "qa"), Some(d2.clone()));
    let inputs = [
        ("inputs.source", "staging"),
        ("inputs.target", "prod-20260101-abc1234"),
    ];
    let retag = run(
        &w,
        "cloud-api/retag.yml",
        "retag",
        &inputs,
        "2026-07-16T12:00:00Z",
    );
    assert_ne!(retag.code, 0);
    assert_eq!(o(&retag, "result"), "refused");
    assert_eq!(w.tag(IMAGE, "prod-20260101-abc1234"), None);
    assert_eq!(
        w.tags(IMAGE),
        [
            "prod",
            "prod-20260709-dac1007",
            "prod-20260716-851f2cc",
            "prod-rollback-20260716-104152-from-20260709-dac1007",
            "qa",
            "staging"
        ]
    );
}

#[test]
fn chat_api_promote_and_rollback_of_versions_as_the_example_workflows_run_them() {
    let w = World::new("chat-api.toml");
    let image = "private-chat";
    let mut versions = Vec::new();
    for v in ["0.2.12", "0.2.13"] {
        let d = w.push_image(image, v);
        w.sign(
            image,
            &d,
            "nearai/chat-api",
            "build.yml",
            &format!("refs/tags/v{v}"),
            SHA1,
        );
        w.set_tag(image, v, &d);
        versions.push(d);
    }
    let o = |s: &Step, k: &str| s.outputs.get(k).cloned().unwrap_or_default();
    for (tag, now) in [
        ("v0.2.12", "2026-07-08T10:00:00Z"),
        ("v0.2.13", "2026-07-09T10:00:00Z"),
    ] {
        let inputs = [("inputs.tag", tag), ("inputs.confirm", "promote")];
        let s = run(&w, "chat-api/promote.yml", "promote", &inputs, now);
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert_eq!(o(&s, "result"), "done");
        assert_eq!(o(&s, "stamped_tag"), "", "chat-api writes no prod stamp");
    }
    assert_eq!(w.tag(image, "prod"), Some(versions[1].clone()));
    let inputs = [("inputs.tag", "staging"), ("inputs.confirm", "promote")];
    let s = run(
        &w,
        "chat-api/promote.yml",
        "promote",
        &inputs,
        "2026-07-09T11:00:00Z",
    );
    assert_eq!(s.code, 2, "not a version: {}", s.stderr);
    assert_eq!(o(&s, "result"), "refused");
    let inputs = [("inputs.target_tag", "0.2.12"), ("inputs.confirm", "ROLLBACK")];
    let s = run(
        &w,
        "chat-api/rollback.yml",
        "rollback",
        &inputs,
        "2026-07-09T12:00:00Z",
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!((o(&s, "result"), o(&s, "moved")), ("done".into(), "true".into()));
    assert_eq!(o(&s, "digest_private_chat"), versions[0].as_str());
    assert_eq!(w.tag(image, "prod"), Some(versions[0].clone()));
}

#[test]
fn compose_manager_promote_and_rollback_as_the_example_workflows_run_them() {
    let w = World::new("compose-manager.toml");
    let o = |s: &Step, k: &str| s.outputs.get(k).cloned().unwrap_or_default();
    let mut builds = Vec::new();
    for (seed, sha, now) in [
        ("1", SHA1, "2026-07-08T10:00:00Z"),
        ("2", SHA2, "2026-07-09T10:00:00Z"),
    ] {
        let mut digests = Vec::new();
        for name in ["compose-manager", "compose-manager-launcher"] {
            let d = w.push_image(name, &format!("{name} {seed}"));
            w.sign(
                name,
                &d,
                "nearai/compose-manager",
                "build.yml",
                "refs/heads/master",
                sha,
            );
            w.set_tag(name, "staging", &d);
            digests.push(d);
        }
        let s = run(
            &w,
            "compose-manager/promote.yml",
            "promote",
            &[("inputs.confirm", "promote")],
            now,
        );
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert_eq!(o(&s, "digest_compose_manager"), digests[0].as_str());
        assert_eq!(o(&s, "digest_compose_manager_launcher"), digests[1].as_str());
        builds.push(digests);
    }
    let inputs = [("inputs.target_tag", ""), ("inputs.confirm", "ROLLBACK")];
    let s = run(
        &w,
        "compose-manager/rollback.yml",
        "rollback",
        &inputs,
        "2026-07-09T12:00:00Z",
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!(o(&s, "target_tag"), "prod-20260708-dac1007");
    for (i, name) in ["compose-manager", "compose-manager-launcher"].iter().enumerate() {
        assert_eq!(w.tag(name, "prod").as_ref(), Some(&builds[0][i]), "{name}");
        assert_eq!(w.tag(name, "latest").as_ref(), Some(&builds[0][i]), "{name}");
        assert_eq!(
            w.tag(name, &o(&s, "audit_tag")).as_ref(),
            Some(&builds[0][i]),
            "{name}"
        );
    }
}
