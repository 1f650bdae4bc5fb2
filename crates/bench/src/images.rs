//! The test images: single-platform images with 1 or 5 layers and a 2-platform index, each
//! build distinct, carrying its commit in the `org.opencontainers.image.revision` annotation,
//! and a key-based cosign signature for each, pushed straight to the registry (not through the
//! latency proxy, so the setup is neither timed nor counted).

use cosign_verify::testing::{Artifact, KeyPair, sig_artifact};
use serde_json::{Value, json};
use tagcore::{Digest, Manifest};

use crate::world::World;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const REVISION: &str = "org.opencontainers.image.revision";

/// The shape of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One platform, one layer.
    OneLayer,
    /// One platform, five layers.
    FiveLayers,
    /// An OCI index of two platform images (amd64 and arm64), one layer each.
    Index,
}

impl Kind {
    /// Returns the repository name used for this kind (`suffix` tells the tools apart).
    pub(crate) fn repo(self, suffix: &str) -> String {
        let base = match self {
            Self::OneLayer => "one",
            Self::FiveLayers => "five",
            Self::Index => "multi",
        };
        format!("{base}{suffix}")
    }

    /// Returns a short label for the table.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::OneLayer => "1-layer image",
            Self::FiveLayers => "5-layer image",
            Self::Index => "2-platform index",
        }
    }
}

/// One pushed and signed build.
#[derive(Debug, Clone)]
pub(crate) struct Build {
    /// The digest of the top-level manifest (the index for [`Kind::Index`]).
    pub(crate) digest: Digest,
    /// The 40-hex commit the build names.
    pub(crate) commit: String,
    /// The top-level manifest.
    pub(crate) manifest: Manifest,
}

impl Build {
    /// Returns the arguments of `tagcli publish` for this build (its digest and commit).
    pub(crate) fn publish_args(&self) -> [&str; 5] {
        [
            "publish",
            "--digest",
            self.digest.as_str(),
            "--commit",
            &self.commit,
        ]
    }
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": Digest::of(bytes).as_str(), "size": bytes.len()})
}

/// Returns a platform image of `layers` layers (about 2 KiB each) built from `seed`.
fn platform_image(seed: &str, layers: usize, arch: &str, commit: &str) -> Artifact {
    let blobs: Vec<Vec<u8>> = (0..layers)
        .map(|i| format!("{seed} {arch} layer {i} ").repeat(64).into_bytes())
        .collect();
    let diff_ids: Vec<String> = blobs.iter().map(|b| Digest::of(b).to_string()).collect();
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Labels": {REVISION: commit}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string()
    .into_bytes();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &config),
        "layers": blobs.iter().map(|b| descriptor(OCI_LAYER, b)).collect::<Vec<_>>(),
        "annotations": {REVISION: commit},
    });
    let mut all = vec![config];
    all.extend(blobs);
    Artifact {
        tag: None,
        manifest: Manifest::new(OCI_MANIFEST, manifest.to_string().into_bytes()),
        blobs: all,
    }
}

/// Returns the artifacts of one build of `kind` from `seed`, the top-level one last.
fn build_artifacts(kind: Kind, seed: &str, commit: &str) -> Vec<Artifact> {
    match kind {
        Kind::OneLayer => vec![platform_image(seed, 1, "amd64", commit)],
        Kind::FiveLayers => vec![platform_image(seed, 5, "amd64", commit)],
        Kind::Index => {
            let platforms = [
                platform_image(seed, 1, "amd64", commit),
                platform_image(seed, 1, "arm64", commit),
            ];
            let entries: Vec<Value> = platforms
                .iter()
                .zip(["amd64", "arm64"])
                .map(|(p, arch)| {
                    let mut d = descriptor(OCI_MANIFEST, &p.manifest.bytes);
                    d["platform"] = json!({"architecture": arch, "os": "linux"});
                    d
                })
                .collect();
            let index = json!({
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": entries,
                "annotations": {REVISION: commit},
            });
            let top = Artifact {
                tag: None,
                manifest: Manifest::new(OCI_INDEX, index.to_string().into_bytes()),
                blobs: Vec::new(),
            };
            let mut all = platforms.to_vec();
            all.push(top);
            all
        }
    }
}

/// Returns the 40-hex commit of build `seed` (derived from it, so every build has its own).
fn commit_of(seed: &str) -> String {
    Digest::of(format!("commit {seed}").as_bytes()).hex()[..40].to_owned()
}

/// Pushes build number `n` of `kind` into `repo` (`nearai/<name>`) straight on the registry,
/// and signs it with `key` as `reference` (`<proxy>/<repo>`, the repository the tools verify).
pub(crate) async fn push_build(
    world: &World,
    repo: &str,
    reference: &str,
    kind: Kind,
    n: usize,
    key: &KeyPair,
) -> Result<Build, String> {
    let seed = format!("{repo} build {n}");
    let commit = commit_of(&seed);
    let mut top = None;
    for artifact in build_artifacts(kind, &seed, &commit) {
        world.push(repo, &artifact).await?;
        top = Some((artifact.digest(), artifact.manifest));
    }
    let (digest, manifest) = top.ok_or("a build has at least one manifest")?;
    let sig = sig_artifact(&digest, &[key.sign_image(reference, &digest)]);
    world.push(repo, &sig).await?;
    Ok(Build {
        digest,
        commit,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_differ_and_name_their_commit() {
        let a = build_artifacts(Kind::FiveLayers, "a", &commit_of("a"));
        let b = build_artifacts(Kind::FiveLayers, "b", &commit_of("b"));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].blobs.len(), 6);
        assert_ne!(a[0].digest(), b[0].digest());
        let text = String::from_utf8(a[0].manifest.bytes.clone()).unwrap();
        assert!(text.contains(&commit_of("a")), "{text}");
        let index = build_artifacts(Kind::Index, "a", &commit_of("a"));
        assert_eq!(index.len(), 3);
        assert_eq!(index[2].manifest.media_type, OCI_INDEX);
        assert!(index[2].blobs.is_empty());
    }
}
