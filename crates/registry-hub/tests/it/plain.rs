//! Against a real docker-registry 2.8.2 over plain HTTP on 127.0.0.1, without authentication.

use registry_hub::manifest::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use registry_hub::{CredentialStore, OciConfig, RemoteRegistry, RetryPolicy};
use tagcore::{Registry, RegistryErrorKind, Repository};
use testkit::RegistryServer;

use crate::support::{count, image, index, push_image, remote, repo, tag};

/// Retags `from` to `to` the way tagcore does (resolve, fetch by digest, put) and checks that
/// the new tag has the same digest, bytes and media type.
pub(crate) async fn retag_and_check<R: Registry>(
    r: &R,
    repository: &Repository,
    from: &str,
    to: &str,
    media_type: &str,
) {
    let digest = r
        .resolve_tag(repository, &tag(from))
        .await
        .unwrap()
        .expect("source tag exists");
    let manifest = r.fetch_manifest(repository, &digest).await.unwrap();
    assert_eq!(manifest.media_type, media_type);
    assert_eq!(manifest.digest(), digest);
    let written = r.put_manifest(repository, &tag(to), &manifest).await.unwrap();
    assert_eq!(written, digest);
    assert_eq!(
        r.resolve_tag(repository, &tag(to)).await.unwrap(),
        Some(digest.clone())
    );
    let again = r.fetch_manifest(repository, &digest).await.unwrap();
    assert_eq!(again.bytes, manifest.bytes);
}

#[tokio::test]
async fn retag_preserves_digests_of_oci_docker_and_index_manifests() {
    let server = RegistryServer::start();
    let r = remote(CredentialStore::new());
    let repository = repo(server.addr(), "team/app");

    let oci = image("oci", Some("1111111111111111111111111111111111111111"), false);
    let oci_digest = push_image(&r, &repository, &oci, Some("oci-src")).await;
    assert_eq!(oci_digest, oci.manifest.digest());
    retag_and_check(&r, &repository, "oci-src", "oci-dst", OCI_MANIFEST).await;

    let docker = image("docker", None, true);
    push_image(&r, &repository, &docker, Some("docker-src")).await;
    retag_and_check(&r, &repository, "docker-src", "docker-dst", DOCKER_MANIFEST).await;

    let amd = image("amd64", Some("2222222222222222222222222222222222222222"), false);
    let arm = image("arm64", None, false);
    push_image(&r, &repository, &amd, None).await;
    push_image(&r, &repository, &arm, None).await;
    let idx = index(&amd, &arm, None);
    let idx_digest = r
        .put_manifest(&repository, &tag("index-src"), &idx)
        .await
        .unwrap();
    retag_and_check(&r, &repository, "index-src", "index-dst", OCI_INDEX).await;
    assert_eq!(
        r.resolve_tag(&repository, &tag("index-dst")).await.unwrap(),
        Some(idx_digest.clone())
    );

    // Revisions: config label; index → first platform manifest's config label.
    assert_eq!(
        r.image_revision(&repository, &oci_digest)
            .await
            .unwrap()
            .as_deref(),
        Some("1111111111111111111111111111111111111111")
    );
    assert_eq!(
        r.image_revision(&repository, &idx_digest)
            .await
            .unwrap()
            .as_deref(),
        Some("2222222222222222222222222222222222222222")
    );
    assert_eq!(
        r.image_revision(&repository, &docker.manifest.digest())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn lists_every_tag_and_reports_missing_things_exactly() {
    let server = RegistryServer::start();
    let r = remote(CredentialStore::new());
    let repository = repo(server.addr(), "team/list");
    let img = image("list", None, false);
    push_image(&r, &repository, &img, Some("a")).await;
    let names = ["zeta", "prod", "staging-20260101-abcdef1", "0.2.13", "B"];
    r.put_manifest_tags(&repository, &names.map(tag), &img.manifest)
        .await
        .unwrap();
    let listing = r.list_tags(&repository).await.unwrap();
    let mut got: Vec<_> = listing.tags.iter().map(|t| t.tag.to_string()).collect();
    got.sort();
    let mut want: Vec<_> = names
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["a".to_owned()])
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(listing.truncated, None);
    assert!(listing.skipped_invalid.is_empty());
    for t in names {
        assert_eq!(
            r.resolve_tag(&repository, &tag(t)).await.unwrap(),
            Some(img.manifest.digest()),
            "{t}"
        );
    }

    // Missing tag → None; missing manifest/blob → NotFound naming it; missing repo listing → NotFound.
    assert_eq!(r.resolve_tag(&repository, &tag("nope")).await.unwrap(), None);
    let missing = Digest::of(b"missing");
    let err = r.fetch_manifest(&repository, &missing).await.unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::NotFound);
    assert!(
        err.message.contains(&missing.to_string()) && err.message.contains("team/list"),
        "{err}"
    );
    let err = r.fetch_blob(&repository, &missing, 1024).await.unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::NotFound, "{err}");
    let empty = r.list_tags(&repo(server.addr(), "team/none")).await.unwrap();
    assert_eq!(
        empty,
        tagcore::TagListing::default(),
        "an unknown repository has no tags"
    );

    // Blobs: checked and capped. Referrers: 2.8.2 has no API → None.
    assert_eq!(
        r.fetch_blob(&repository, &Digest::of(&img.config), 1 << 20)
            .await
            .unwrap(),
        img.config
    );
    let err = r
        .fetch_blob(&repository, &Digest::of(&img.config), 10)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    assert!(
        r.fetch_referrers(&repository, &img.manifest.digest())
            .await
            .unwrap()
            .is_none()
    );
}

use tagcore::Digest;

#[tokio::test]
async fn a_retag_costs_one_head_one_get_and_one_put() {
    let server = RegistryServer::start();
    let r = remote(CredentialStore::new());
    let repository = repo(server.addr(), "team/count");
    let img = image("count", None, false);
    push_image(&r, &repository, &img, Some("staging")).await;
    let before = server.settled_requests().len();

    retag_and_check_minimal(&r, &repository).await;

    let after = server.settled_requests();
    let new: Vec<String> = after[before..].to_vec();
    assert_eq!(count(&new, "HEAD", "/manifests/"), 1, "{new:#?}");
    assert_eq!(count(&new, "GET", "/manifests/"), 1, "{new:#?}");
    assert_eq!(count(&new, "PUT", "/manifests/"), 1, "{new:#?}");
    assert_eq!(new.len(), 3, "{new:#?}");
}

async fn retag_and_check_minimal(r: &RemoteRegistry, repository: &Repository) {
    let d = r.resolve_tag(repository, &tag("staging")).await.unwrap().unwrap();
    let m = r.fetch_manifest(repository, &d).await.unwrap();
    assert_eq!(r.put_manifest(repository, &tag("prod"), &m).await.unwrap(), d);
}

#[tokio::test]
async fn multi_tag_push_falls_back_to_one_put_per_tag_when_oci_tag_is_not_echoed() {
    let server = RegistryServer::start();
    let r = remote(CredentialStore::new());
    let repository = repo(server.addr(), "team/multi");
    let img = image("multi", None, false);
    push_image(&r, &repository, &img, Some("src")).await;
    let before = server.settled_requests().len();
    r.put_manifest_tags(&repository, &[tag("x"), tag("y")], &img.manifest)
        .await
        .unwrap();
    let first: Vec<String> = server.settled_requests()[before..].to_vec();
    // One multi-tag attempt (ignored by 2.8.2), then one PUT per tag.
    assert_eq!(count(&first, "PUT", "/manifests/"), 3, "{first:#?}");
    let before = server.settled_requests().len();
    r.put_manifest_tags(&repository, &[tag("p"), tag("q")], &img.manifest)
        .await
        .unwrap();
    let second: Vec<String> = server.settled_requests()[before..].to_vec();
    // The host is now known not to support it: no second attempt.
    assert_eq!(count(&second, "PUT", "/manifests/"), 2, "{second:#?}");
    for t in ["x", "y", "p", "q"] {
        assert_eq!(
            r.resolve_tag(&repository, &tag(t)).await.unwrap(),
            Some(img.manifest.digest())
        );
    }
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback_and_when_disabled() {
    let r = RemoteRegistry::new(OciConfig {
        plain_http: registry_hub::PlainHttp::Hosts(vec!["registry.example.com".into()]),
        retry: RetryPolicy::none(),
        ..OciConfig::default()
    })
    .unwrap();
    let err = r
        .resolve_tag(&repo("registry.example.com", "a/b"), &tag("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidInput);
    assert!(err.message.contains("plain HTTP is refused"), "{err}");

    // With PlainHttp::Never a plain-HTTP loopback registry is reached over HTTPS and fails.
    let server = RegistryServer::start();
    let r = RemoteRegistry::new(OciConfig {
        plain_http: registry_hub::PlainHttp::Never,
        retry: RetryPolicy::none(),
        ..OciConfig::default()
    })
    .unwrap();
    let err = r
        .resolve_tag(&repo(server.addr(), "a/b"), &tag("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Transient, "{err}");
}
