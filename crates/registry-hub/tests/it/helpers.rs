//! Docker credential helpers (fake scripts in a temp dir): name validation, a timeout, bounded
//! output, and never blocking the async runtime's only thread.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use registry_hub::{CredentialStore, DockerConfig};
use tagcore::{Registry as _, RegistryErrorKind};

use crate::support::{remote, repo, tag};

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const CREDS: &str = r#"echo '{"ServerURL":"x","Username":"u","Secret":"helper-secret"}'"#;

#[test]
fn a_helper_name_with_a_slash_is_refused_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    script(
        &dir.path().join("docker-credential-x").join("y"),
        &format!("touch {}\n{CREDS}", marker.display()),
    );
    for name in ["x/y", "../docker-credential-x/y", "", ".hidden", "a b"] {
        let json = serde_json::json!({"credsStore": name}).to_string();
        let config = DockerConfig::parse(json.as_bytes())
            .unwrap()
            .with_helper_dir(dir.path());
        match config.lookup("ghcr.io") {
            Err(e) => assert_eq!(e.kind, RegistryErrorKind::InvalidInput, "{name:?}: {e}"),
            Ok(c) => assert!(name.is_empty() && c.is_none(), "{name:?}: {c:?}"),
        }
    }
    assert!(!marker.exists(), "a helper outside the naming rule was run");
}

#[test]
fn a_hanging_helper_times_out() {
    let dir = tempfile::tempdir().unwrap();
    script(&dir.path().join("docker-credential-slow"), "sleep 10");
    let config = DockerConfig::parse(br#"{"credsStore":"slow"}"#)
        .unwrap()
        .with_helper_dir(dir.path())
        .with_helper_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = config.lookup("ghcr.io").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.message.contains("timed out"), "{err}");
}

#[test]
fn a_helper_printing_without_end_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    script(
        &dir.path().join("docker-credential-big"),
        r#"printf '{"Username":"u","Secret":"'; head -c 5000000 /dev/zero | tr '\0' a; printf '"}'"#,
    );
    let config = DockerConfig::parse(br#"{"credsStore":"big"}"#)
        .unwrap()
        .with_helper_dir(dir.path());
    let err = config.lookup("ghcr.io").unwrap_err();
    assert!(err.message.contains("more than"), "{err}");
}

/// The lookup runs off the runtime's thread: on a current-thread runtime a ticker keeps
/// ticking while a slow helper answers.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_helper_does_not_block_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    script(
        &dir.path().join("docker-credential-slow"),
        &format!("sleep 1\n{CREDS}"),
    );
    let config = DockerConfig::parse(br#"{"credsStore":"slow"}"#)
        .unwrap()
        .with_helper_dir(dir.path());
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    // Nothing listens on port 9 of 127.0.0.1: the request fails after the lookup.
    let client = remote(CredentialStore::new().with_docker_config(config));
    let _ = client
        .resolve_tag(&repo("127.0.0.1:9", "team/app"), &tag("prod"))
        .await;
    ticker.abort();
    let n = ticks.load(std::sync::atomic::Ordering::SeqCst);
    assert!(n >= 30, "the runtime was blocked: {n} ticks during a 1 s helper");
}
