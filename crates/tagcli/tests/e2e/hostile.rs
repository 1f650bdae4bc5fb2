//! Hostile or unusual settings through the binary: `insecure = true`, and foreign text that
//! tries to become a GitHub workflow command.

use crate::support::World;

/// Rewrites the world's policy to reach the registry as `0.0.0.0:PORT` (not loopback by the
/// rule, yet routed to the local registry by the kernel), with `insecure` as given.
fn non_loopback_host(w: &World, insecure: bool) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    let port = w.registry.addr().rsplit_once(':').unwrap().1;
    let host = format!("host = \"0.0.0.0:{port}\"\ninsecure = {insecure}");
    let text = text.replace(&format!("host = \"{}\"", w.registry.addr()), &host);
    std::fs::write(&w.config, text).unwrap();
}

#[test]
fn insecure_true_allows_plain_http_to_a_non_loopback_registry() {
    let w = World::new("chat-api.toml");
    non_loopback_host(&w, true);
    let r = w.tagcli(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn without_insecure_a_non_loopback_registry_is_never_reached_over_plain_http() {
    let w = World::new("chat-api.toml");
    non_loopback_host(&w, false);
    let before = w.registry.settled_requests().len();
    let r = w.tagcli(&["status"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert_eq!(
        w.registry.settled_requests().len(),
        before,
        "a request reached the registry"
    );
}

/// Foreign text (here GitHub's error message) never becomes a line that GitHub Actions reads as
/// a workflow command: control characters are removed and a leading `::` is neutralised.
#[test]
fn a_foreign_error_message_cannot_inject_a_workflow_command() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::new("cloud-api.toml");
    let d = w.push_image("cloud-api", "one");
    w.sign_cloud_at("cloud-api", &d, "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182", 0);
    w.set_tag("cloud-api", "staging", &d);
    w.rt.block_on(async {
        w.github.reset().await;
        Mock::given(method("GET"))
            .and(path_regex("/releases/tags/"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"})),
            )
            .mount(&w.github)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("/releases$"))
            .respond_with(ResponseTemplate::new(422).set_body_json(serde_json::json!({
                "message": "Validation Failed\n::stop-commands::pwned\r\n::error::all good\u{1b}[2K##[error]x"
            })))
            .mount(&w.github)
            .await;
    });
    let r = w.tagcli_env(
        &["--now", "2026-07-09T10:00:00Z", "promote"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("Validation Failed"), "{r:?}");
    for line in r.stdout.lines().chain(r.stderr.lines()) {
        let line = line.trim_start();
        assert!(
            !line.starts_with("::stop-commands") && !line.starts_with("::error::all good"),
            "injected command: {line:?}"
        );
        assert!(!line.starts_with("##["), "injected command: {line:?}");
        assert!(
            !line.contains('\u{1b}') && !line.contains('\r'),
            "control character: {line:?}"
        );
    }
}
