//! Tests of `credentials`.

use super::*;

#[test]
fn debug_hides_secrets() {
    let c = Credentials::basic("alice", "hunter2-password");
    let text = format!("{c:?} {:?} {}", Secret::new("tok-123"), Secret::new("tok-123"));
    assert!(!text.contains("hunter2") && !text.contains("tok-123"), "{text}");
    assert!(text.contains("alice"));
}

#[test]
fn parses_auths_with_docker_hub_aliases() {
    let auth = STANDARD.encode("bob:s3cret");
    let json = format!(
        r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"identitytoken":"idt"}}}}}}"#
    );
    let config = DockerConfig::parse(json.as_bytes()).unwrap();
    for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
        assert_eq!(
            config.lookup(host).unwrap(),
            Some(Credentials::basic("bob", "s3cret")),
            "{host}"
        );
    }
    assert_eq!(
        config.lookup("127.0.0.1:5000").unwrap(),
        Some(Credentials::IdentityToken(Secret::new("idt")))
    );
    assert_eq!(config.lookup("ghcr.io").unwrap(), None);
}

#[test]
fn explicit_credentials_win_over_docker_config() {
    let json = br#"{"auths":{"ghcr.io":{"username":"u","password":"p"}}}"#;
    let store = CredentialStore::new()
        .with("ghcr.io", Credentials::basic("explicit", "x"))
        .with_docker_config(DockerConfig::parse(json).unwrap());
    assert_eq!(
        store.lookup("ghcr.io").unwrap(),
        Credentials::basic("explicit", "x")
    );
    let store = CredentialStore::new().with_docker_config(DockerConfig::parse(json).unwrap());
    assert_eq!(store.lookup("ghcr.io").unwrap(), Credentials::basic("u", "p"));
    assert_eq!(store.lookup("quay.io").unwrap(), Credentials::Anonymous);
}

#[test]
fn cred_helpers_are_run_with_the_docker_server_key() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("docker-credential-fake");
    std::fs::write(
        &script,
        "#!/bin/sh\nread server\nif [ \"$server\" = \"https://index.docker.io/v1/\" ]; then\n  \
         echo '{\"ServerURL\":\"x\",\"Username\":\"hub-user\",\"Secret\":\"hub-pat\"}'\nelse\n  \
         echo 'credentials not found in native keychain'; exit 1\nfi\n",
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    let json = br#"{"credHelpers":{"registry-1.docker.io":"fake"},"auths":{"ghcr.io":{"username":"u","password":"p"}},"credsStore":"fake"}"#;
    let config = DockerConfig::parse(json).unwrap().with_helper_dir(dir.path());
    assert_eq!(
        config.lookup("docker.io").unwrap(),
        Some(Credentials::basic("hub-user", "hub-pat"))
    );
    // The store knows nothing about ghcr.io: fall through to auths.
    assert_eq!(
        config.lookup("ghcr.io").unwrap(),
        Some(Credentials::basic("u", "p"))
    );
}
