//! The action's install step (`scripts/action-run install`): the release binary of the action's
//! version, checked against the release's SHA256SUMS, or a source build; GitHub's release
//! downloads on wiremock.

use std::collections::BTreeMap;
use std::path::Path;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ASSET: &str = "tagcli-x86_64-unknown-linux-musl";
const BINARY: &[u8] = b"#!/bin/sh\necho released tagcli\n";

struct Install {
    code: i32,
    outputs: BTreeMap<String, String>,
    stderr: String,
}

/// Serves the release `v<version>` of `o/r` with `sums` as its SHA256SUMS.
fn release(rt: &tokio::runtime::Runtime, sums: Option<String>) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await;
        let base = format!("/o/r/releases/download/v{}", env!("CARGO_PKG_VERSION"));
        if let Some(sums) = sums {
            Mock::given(method("GET"))
                .and(path(format!("{base}/SHA256SUMS")))
                .respond_with(ResponseTemplate::new(200).set_body_string(sums))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("{base}/{ASSET}")))
                .respond_with(ResponseTemplate::new(200).set_body_bytes(BINARY))
                .mount(&server)
                .await;
        }
        server
    })
}

fn install(server: &MockServer, dir: &Path) -> Install {
    let output = dir.join("output");
    let _ = std::fs::remove_file(&output);
    let out = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/action-run"))
        .arg("install")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", dir)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_SERVER_URL", server.uri())
        .env("TAGCLI_ACTION_REPOSITORY", "o/r")
        .output()
        .unwrap();
    Install {
        code: out.status.code().unwrap_or(-1),
        outputs: std::fs::read_to_string(&output)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Returns the hex sha256 of `bytes`, by `sha256sum` as the action computes it.
fn sha256(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn installs_the_release_binary_only_when_its_checksum_matches() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The release lists the binary with its checksum (and another asset): installed.
    let sums = format!(
        "{}  {ASSET}\n{}  tagcli-0.cdx.json\n",
        sha256(BINARY),
        sha256(b"x")
    );
    let server = release(&rt, Some(sums));
    let r = install(&server, dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.outputs["from"], "release");
    let bin = Path::new(&r.outputs["path"]);
    assert_eq!(std::fs::read(bin).unwrap(), BINARY);
    let out = std::process::Command::new(bin).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "released tagcli\n");
    // SHA256SUMS disagrees with the download: refused, nothing installed from it.
    let dir = tempfile::tempdir().unwrap();
    let server = release(&rt, Some(format!("{}  {ASSET}\n", sha256(b"another build"))));
    let r = install(&server, dir.path());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(
            "::error title=tagcli action::checksum mismatch for tagcli-x86_64-unknown-linux-musl"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.outputs.contains_key("path"), "{:?}", r.outputs);
    // SHA256SUMS without the asset: refused too.
    let server = release(&rt, Some(format!("{}  other\n", sha256(BINARY))));
    let r = install(&server, dir.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("lists no tagcli-x86_64-unknown-linux-musl"),
        "{}",
        r.stderr
    );
    // No such release (an unreleased version): build from the action's checkout.
    let server = release(&rt, None);
    let r = install(&server, dir.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.outputs["from"], "source");
    assert!(
        r.outputs["path"].ends_with("/.cache/tagcli-action/bin/tagcli"),
        "{:?}",
        r.outputs
    );
}
