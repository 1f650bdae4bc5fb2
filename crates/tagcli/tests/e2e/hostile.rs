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
    assert_eq!(w.registry.settled_requests().len(), before, "a request reached the registry");
}
