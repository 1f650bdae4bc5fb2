//! Repositories and image references: Docker's grammar for path components and hosts, the
//! Docker Hub normalisation, and how a reference splits into repository and tag or digest.

use tagcore::{ImageReference, Manifest, ReferenceError, Repository, Target, canonical_registry};

fn component_is_valid(c: &str) -> bool {
    match Repository::new("ghcr.io", &format!("team/{c}")) {
        Ok(_) => true,
        Err(ReferenceError::PathComponent { component, .. }) => {
            assert_eq!(component, c);
            false
        }
        Err(e) => panic!("{c}: {e}"),
    }
}

#[test]
fn a_path_component_is_lowercase_runs_joined_by_one_separator() {
    for ok in [
        "app",
        "a1",
        "cloud-api",
        "a--b",
        "a.b",
        "a_b",
        "a__b",
        "a.b-c_d",
        "0",
    ] {
        assert!(component_is_valid(ok), "{ok}");
    }
    for bad in [
        "", "-app", "app-", ".app", "app.", "_a", "a_", "a..b", "a___b", "a._b", "a-.b", "a+b", "a b", "App",
        "a:b", "é",
    ] {
        assert!(!component_is_valid(bad), "{bad}");
    }
}

#[test]
fn a_host_is_a_name_or_address_with_an_optional_port_of_up_to_five_digits() {
    for ok in [
        "ghcr.io",
        "127.0.0.1:5000",
        "localhost:65535",
        "[::1]:5000",
        "my-registry.example:1",
    ] {
        assert!(Repository::new(ok, "a/b").is_ok(), "{ok}");
    }
    for bad in [
        "",
        "ghcr.io:",
        "ghcr.io:123456",
        "ghcr.io:50a0",
        "gh_cr.io",
        "ghcr.io/x",
        "[]:5000",
        "a b",
    ] {
        assert!(
            matches!(Repository::new(bad, "a/b"), Err(ReferenceError::Host { .. })),
            "{bad}"
        );
    }
}

#[test]
fn a_path_may_have_255_characters_not_256() {
    let at = |n: usize| format!("{}/{}", "a".repeat(n - 2), "b");
    assert_eq!(at(255).len(), 255);
    assert!(Repository::new("ghcr.io", &at(255)).is_ok());
    assert!(matches!(
        Repository::new("ghcr.io", &at(256)),
        Err(ReferenceError::TooLong { .. })
    ));
}

#[test]
fn the_first_component_is_a_registry_only_when_it_looks_like_a_host() {
    let parse = |s: &str| s.parse::<Repository>().expect(s);
    let r = parse("ghcr.io/nearai/cloud-api");
    assert_eq!((r.registry(), r.path()), ("ghcr.io", "nearai/cloud-api"));
    let r = parse("localhost/app");
    assert_eq!((r.registry(), r.path()), ("localhost", "app"));
    let r = parse("registry:5000/app");
    assert_eq!((r.registry(), r.path()), ("registry:5000", "app"));
    let r = parse("nearai/cloud-api");
    assert_eq!((r.registry(), r.path()), ("docker.io", "nearai/cloud-api"));
    let r = parse("Registry.Example/app");
    assert_eq!(r.registry(), "registry.example", "hosts are case-insensitive");
    assert_eq!(canonical_registry("REGISTRY.HUB.DOCKER.COM"), "docker.io");
    assert_eq!(canonical_registry("Quay.io"), "quay.io");
    assert_eq!("".parse::<Repository>(), Err(ReferenceError::Empty));
}

#[test]
fn a_repository_shows_as_registry_slash_path_in_text_debug_and_json() {
    let r: Repository = "nginx".parse().expect("nginx");
    assert_eq!(r.to_string(), "docker.io/library/nginx");
    assert_eq!(format!("{r:?}"), "Repository(docker.io/library/nginx)");
    assert_eq!(
        serde_json::to_string(&r).expect("json"),
        "\"docker.io/library/nginx\""
    );
}

#[test]
fn a_reference_splits_at_the_last_colon_after_the_last_slash() {
    let r: ImageReference = "127.0.0.1:5000/team/app".parse().expect("no tag");
    assert_eq!(r.repository.registry(), "127.0.0.1:5000");
    assert_eq!(r.repository.path(), "team/app");
    assert_eq!(r.target, Target::Tag("latest".parse().expect("tag")));
    let r: ImageReference = "127.0.0.1:5000/team/app:v1.2.3".parse().expect("tag");
    assert_eq!(r.target, Target::Tag("v1.2.3".parse().expect("tag")));
    assert_eq!(r.to_string(), "127.0.0.1:5000/team/app:v1.2.3");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let r: ImageReference = format!("ghcr.io/a/b@{digest}").parse().expect("digest");
    assert_eq!(r.target, Target::Digest(digest.parse().expect("digest")));
    assert_eq!(r.to_string(), format!("ghcr.io/a/b@{digest}"));
    assert_eq!("".parse::<ImageReference>(), Err(ReferenceError::Empty));
    assert!(matches!(
        "ghcr.io/A/b:v1".parse::<ImageReference>(),
        Err(ReferenceError::PathComponent { .. })
    ));
}

#[test]
fn a_manifest_shows_its_type_size_and_digest_but_not_its_bytes() {
    let m = Manifest::new(
        "application/vnd.oci.image.index.v1+json",
        b"{\"secret-ish\":1}".to_vec(),
    );
    let text = format!("{m:?}");
    assert!(text.contains("application/vnd.oci.image.index.v1+json"), "{text}");
    assert!(text.contains("len: 16"), "{text}");
    assert!(text.contains(m.digest().as_str()), "{text}");
    assert!(!text.contains("secret-ish"), "{text}");
}
