//! Usage and configuration errors (exit 2), completions and the man page.

fn tagcli(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("tagcli")
        .unwrap()
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_and_man_page_come_from_the_clap_definition() {
    let (code, out, _) = tagcli(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("rollback") && out.contains("--dry-run"), "{out}");
    let (code, out, _) = tagcli(&["man"]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH tagcli"), "{out}");
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let (code, _, err) = tagcli(&["--config", "/nonexistent/tagcli.toml", "status"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("tagcli: /nonexistent/tagcli.toml: cannot read the policy file"),
        "{err}"
    );
    let (code, _, err) = tagcli(&["--now", "yesterday", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("--now: time \"yesterday\" is invalid"), "{err}");
    let (code, out, _) = tagcli(&[
        "--output",
        "json",
        "--config",
        "/nonexistent/tagcli.toml",
        "history",
    ]);
    assert_eq!(code, 2);
    let v = crate::support::valid_output(&out);
    assert_eq!(
        (v["schema"].as_i64(), v["result"].as_str()),
        (Some(2), Some("refused"))
    );
    assert_eq!(v["error"]["kind"], "usage");
    assert_eq!(v["operation"], "history");
    let (code, _, _) = tagcli(&["promote", "--no-such-flag"]);
    assert_eq!(code, 2);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[[image]]\nname = \"a\"\nverify = false\n[tags]\nprod_aliases = [\"latest\"]\npublish_aliases = [\"latest\"]\n").unwrap();
    let (code, _, err) = tagcli(&["--config", policy.to_str().unwrap(), "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("p.toml:6:20: tags.publish_aliases[0]: "), "{err}");
}

#[test]
fn a_policy_error_is_an_annotation_on_its_file_and_line_in_github_actions() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("tagcli.toml");
    std::fs::write(
        &policy,
        "[[image]]\nname = \"a\"\nverify = false\n\n[tags]\nprod_stamp = \"prod-{date}\"\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("tagcli")
        .unwrap()
        .arg("--config")
        .arg(&policy)
        .arg("status")
        .env_clear()
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = policy.display();
    assert!(
        err.starts_with(&format!(
            "::error file={file},line=6,col=14,title=tagcli policy::tags.prod_stamp: template \"prod-{{date}}\" must contain {{sha7}}\n"
        )),
        "{err}"
    );
}
