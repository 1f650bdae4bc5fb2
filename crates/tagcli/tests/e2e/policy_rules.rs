//! One set of signature-policy rules (tagcore's): every `[verify]` mistake, including the ones
//! the verifier alone used to find, is one error naming the file, line and field, from
//! `tagcli policy check`, before any request (the registry's address is a listener that must
//! see no connection).

use assert_cmd::Command;

/// Writes a policy whose `[verify]` section is `verify` (starting at line 7) and the extra
/// files, runs `tagcli policy check`, and returns the exit code, stdout and stderr.
fn check(verify: &str, files: &[(&str, &[u8])]) -> (i32, String, String, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    registry.set_nonblocking(true).expect("non-blocking");
    let host = registry.local_addr().expect("address");
    let policy = format!("[registry]\nhost = \"{host}\"\n\n[[image]]\nname = \"team/app\"\n\n{verify}");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, policy).expect("write policy");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write file");
    }
    let out = Command::cargo_bin("tagcli")
        .expect("binary")
        .args(["--config"])
        .arg(&path)
        .args(["policy", "check"])
        .env_clear()
        .env("HOME", dir.path())
        .output()
        .expect("run");
    assert!(
        registry
            .accept()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "policy check connected to the registry"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        path,
    )
}

const KEYLESS: &str = "[verify]\nissuer = \"https://token.actions.githubusercontent.com\"\nidentity = \"https://github.com/o/n/.github/workflows/b.yml@refs/heads/main\"\n";

/// Asserts one error line: `file:line:column: field: message`.
fn assert_one_error(verify: &str, files: &[(&str, &[u8])], line: usize, field: &str, message: &str) {
    let (code, stdout, stderr, path) = check(verify, files);
    assert_eq!(code, 2, "{verify}: {stdout}{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{verify}: one error expected:\n{stderr}");
    let prefix = format!("tagcli: {}:{line}:", path.display());
    assert!(lines[0].starts_with(&prefix), "{verify}: {stderr}");
    assert!(
        lines[0].contains(&format!(": {field}: ")) && lines[0].contains(message),
        "{verify}: expected field {field} and {message:?} in {stderr}"
    );
}

#[test]
fn a_workflow_ref_that_is_not_a_git_ref_is_a_policy_error() {
    assert_one_error(
        &format!("{KEYLESS}workflow_refs = [\"main\"]\n"),
        &[],
        10,
        "verify.workflow_refs[0]",
        "pattern \"main\" is not a git ref pattern: expected `refs/…` with at most one trailing `*`",
    );
}

#[test]
fn the_rules_only_the_verifier_used_to_apply_are_policy_errors() {
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "workflow_refs = [\"refs/heads/main\", \"refs/*/v1\"]\n",
            10,
            "verify.workflow_refs[1]",
            "is not a git ref pattern",
        ),
        (
            "workflow_repository = \"\"\n",
            10,
            "verify.workflow_repository",
            "is empty",
        ),
        (
            "allowed_references = [\"ghcr.io/o/n:v1\"]\n",
            10,
            "verify.allowed_references[0]",
            "without tag or digest",
        ),
    ];
    for (extra, line, field, message) in cases {
        assert_one_error(&format!("{KEYLESS}{extra}"), &[], *line, field, message);
    }
    // A regex that only compiles once wrapped in the anchors would match anything.
    assert_one_error(
        "[verify]\nissuer = \"https://i.example\"\nidentity_regex = \"x)|(.*\"\n",
        &[],
        9,
        "verify.identity_regex",
        "\"x)|(.*\" is not a valid regex: unopened group",
    );
    assert_one_error(
        "[verify]\nissuer = \"https://i.example\"\nidentity = \" \"\n",
        &[],
        9,
        "verify.identity",
        "is empty",
    );
    assert_one_error(
        "[verify]\nkey = \"cosign.pub\"\nworkflow_repository = \"o/n\"\n",
        &[],
        8,
        "verify.key",
        "not both; `workflow_repository` is set too",
    );
}

#[test]
fn the_files_a_policy_names_are_checked_with_the_policy() {
    assert_one_error(
        "[verify]\nkey = \"cosign.pub\"\n",
        &[],
        8,
        "verify.key",
        "cannot read",
    );
    assert_one_error(
        "[verify]\nkey = \"cosign.pub\"\n",
        &[(
            "cosign.pub",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )],
        8,
        "verify.key",
        "public key is not a supported PEM public key",
    );
    assert_one_error(
        &format!("{KEYLESS}trusted_root = \"root.json\"\n"),
        &[("root.json", b"{")],
        10,
        "verify.trusted_root",
        "",
    );
}

#[test]
fn a_valid_section_passes() {
    let (code, stdout, stderr, _) = check(&format!("{KEYLESS}workflow_refs = [\"refs/tags/v*\"]\n"), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("refs/tags/v*"), "{stdout}");
}
