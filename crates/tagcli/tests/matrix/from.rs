//! `publish --from` in the matrix: the build output is an OCI layout on disk, pushed the way
//! `tagcli publish --from` pushes it (`tagcore::engine::push_image`: HEAD each blob, mount from
//! a repository known to hold it, upload the rest), then published by the engine.
//!
//! The image has three blobs so that every way a blob arrives is faulted somewhere: the config
//! is held by another repository of the registry and known to the run (a cross-repository
//! mount), a small layer goes in one `PUT`, and a layer of three chunks is uploaded with
//! `PATCH`es ([`CHUNK`] is the engine client's chunk size).

use registry_hub::{OpenedSource, open_source};
use serde_json::json;
use tagcore::engine::{KnownBlobs, push_image};
use tagcore::image::SourceName;
use tagcore::{Digest, NoProgress, OpError, Repository};

use crate::world::World;

/// The engine client's upload chunk size in the matrix: the large layer takes three chunks.
pub(crate) const CHUNK: u64 = 1024;

/// The repository that holds the config blob before every case (the mount's source).
pub(crate) const CACHE: &str = "publish-from-cache";

/// The build output: the opened layout (its directory lives as long as the world) and the
/// repository the run knows to hold the config.
pub(crate) struct BuildOutput {
    pub(crate) source: OpenedSource,
    pub(crate) cache: Repository,
    _dir: tempfile::TempDir,
}

impl BuildOutput {
    /// Writes the layout, opens it as `oci:<dir>`, and pushes its config into [`CACHE`]
    /// (directly, not through the proxy).
    pub(crate) fn new(w: &World) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_layout(dir.path());
        let name = SourceName::parse(&format!("oci:{}", dir.path().display())).expect("source name");
        let source = open_source(&name).expect("the layout opens");
        w.push_blob_directly(CACHE, &config);
        Self {
            source,
            cache: w.proxied(CACHE),
            _dir: dir,
        }
    }

    /// The digest of the image in the layout.
    pub(crate) fn digest(&self) -> &Digest {
        &self.source.image.digest
    }
}

/// Writes an OCI layout of one image (config, a small layer, a layer of three chunks) into
/// `dir`; returns the config's bytes.
fn write_layout(dir: &std::path::Path) -> Vec<u8> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("layout dir");
    let put = |media: &str, bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).expect("write blob");
        json!({"mediaType": media, "digest": d.as_str(), "size": bytes.len()})
    };
    let small = b"the small layer of the matrix build".to_vec();
    let large: Vec<u8> = (0..(2 * CHUNK + CHUNK / 2) as u32)
        .map(|i| (i % 251) as u8)
        .collect();
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers",
                   "diff_ids": [Digest::of(&small).as_str(), Digest::of(&large).as_str()]}}))
    .expect("json");
    let layer = "application/vnd.oci.image.layer.v1.tar";
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": put("application/vnd.oci.image.config.v1+json", &config),
        "layers": [put(layer, &small), put(layer, &large)],
    }))
    .expect("json");
    let desc = put("application/vnd.oci.image.manifest.v1+json", &manifest);
    std::fs::write(
        dir.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [desc]}).to_string(),
    )
    .expect("index.json");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    config
}

/// Pushes `build` into `repository` as `publish --from` does and returns the digest pushed
/// (the layout's). Only the config is known to be held elsewhere (in [`CACHE`]), so it is the
/// one blob a mount can bring.
pub(crate) async fn push<R: tagcore::Registry>(
    registry: &R,
    repository: &Repository,
    build: &BuildOutput,
) -> Result<Digest, OpError> {
    let mut known = KnownBlobs::default();
    for blob in &build.source.image.blobs {
        if is_config(build, &blob.digest) {
            known.record(&blob.digest, &build.cache);
        }
    }
    let report = push_image(
        registry,
        repository,
        &build.source.image,
        build.source.blobs(),
        &mut known,
        &NoProgress,
    )
    .await?;
    Ok(report.digest)
}

/// Returns whether `digest` is the config blob of the build's manifest.
fn is_config(build: &BuildOutput, digest: &Digest) -> bool {
    build.source.image.manifests.iter().any(|m| {
        serde_json::from_slice::<serde_json::Value>(&m.bytes)
            .is_ok_and(|v| v["config"]["digest"].as_str() == Some(digest.as_str()))
    })
}
