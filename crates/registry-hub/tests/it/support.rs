//! Image fixtures and client constructors shared by the scenario tests.

use registry_hub::manifest::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use registry_hub::{CredentialStore, LayoutRegistry, OciConfig, RemoteRegistry, RetryPolicy};
use tagcore::{Digest, Manifest, Registry as _, Repository, Tag};

/// An image: its config and one layer (blobs), and its manifest.
pub(crate) struct Image {
    pub(crate) config: Vec<u8>,
    pub(crate) layer: Vec<u8>,
    pub(crate) manifest: Manifest,
}

pub(crate) fn repo(registry: &str, path: &str) -> Repository {
    Repository::new(registry, path).unwrap()
}

pub(crate) fn tag(s: &str) -> Tag {
    s.parse().unwrap()
}

/// Returns an image whose config carries label `revision`, as an OCI or Docker manifest.
pub(crate) fn image(seed: &str, revision: Option<&str>, docker: bool) -> Image {
    let labels = revision.map_or(
        serde_json::json!({}),
        |r| serde_json::json!({"org.opencontainers.image.revision": r}),
    );
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": []},
        "seed": seed,
    }))
    .unwrap();
    let layer = format!("layer of {seed}").into_bytes();
    let (mt, config_mt, layer_mt) = if docker {
        (
            DOCKER_MANIFEST,
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    } else {
        (
            OCI_MANIFEST,
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    };
    // Deliberately unusual formatting (two-space indent, trailing newline): a re-serialisation
    // would change the digest.
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mt,
        "config": {"mediaType": config_mt, "digest": Digest::of(&config).as_str(), "size": config.len()},
        "layers": [{"mediaType": layer_mt, "digest": Digest::of(&layer).as_str(), "size": layer.len()}],
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    bytes.push(b'\n');
    Image {
        config,
        layer,
        manifest: Manifest::new(mt, bytes),
    }
}

/// Returns a 2-platform OCI index over `amd64` and `arm64` (plus an attestation-like entry).
pub(crate) fn index(amd64: &Image, arm64: &Image, revision: Option<&str>) -> Manifest {
    let entry = |img: &Image, arch: &str| {
        serde_json::json!({
            "mediaType": img.manifest.media_type,
            "digest": img.manifest.digest().as_str(),
            "size": img.manifest.bytes.len(),
            "platform": {"os": "linux", "architecture": arch},
        })
    };
    let mut v = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry(amd64, "amd64"), entry(arm64, "arm64")],
    });
    if let Some(r) = revision {
        v["annotations"] = serde_json::json!({"org.opencontainers.image.revision": r});
    }
    Manifest::new(OCI_INDEX, serde_json::to_vec(&v).unwrap())
}

/// Returns a client for a loopback registry over plain HTTP with fast retries.
pub(crate) fn remote(credentials: CredentialStore) -> RemoteRegistry {
    RemoteRegistry::new(OciConfig {
        credentials,
        retry: RetryPolicy::fast(),
        ..OciConfig::default()
    })
    .unwrap()
}

/// Pushes `img`'s blobs and its manifest under `t` through the client.
pub(crate) async fn push_image(
    r: &RemoteRegistry,
    repo: &Repository,
    img: &Image,
    t: Option<&str>,
) -> Digest {
    r.push_blob(repo, &img.config).await.unwrap();
    r.push_blob(repo, &img.layer).await.unwrap();
    match t {
        Some(t) => r.put_manifest(repo, &tag(t), &img.manifest).await.unwrap(),
        None => r.put_manifest_by_digest(repo, &img.manifest).await.unwrap(),
    }
}

/// Pushes `img` into a layout.
pub(crate) async fn push_layout_image(
    l: &LayoutRegistry,
    repo: &Repository,
    img: &Image,
    t: Option<&str>,
) -> Digest {
    l.put_blob(repo, &img.config).await.unwrap();
    l.put_blob(repo, &img.layer).await.unwrap();
    match t {
        Some(t) => l.put_manifest(repo, &tag(t), &img.manifest).await.unwrap(),
        None => l.put_manifest_by_digest(repo, &img.manifest).await.unwrap(),
    }
}

/// Counts manifest requests (`GET`/`PUT`/`HEAD` on `/manifests/`) in access-log lines.
pub(crate) fn count(requests: &[String], method: &str, needle: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.starts_with(&format!("{method} ")) && r.contains(needle))
        .count()
}
