//! The blob store and the OCI 1.1 referrers answer of the in-memory registry, for signature
//! artifacts (cosign-verify's tests).

use super::MemoryRegistry;
use crate::{Digest, Manifest, Repository};

/// Blobs and the referrers API, for signature artifacts (cosign-verify's tests).
impl MemoryRegistry {
    /// Stores `bytes` as a blob of `repository`, without recording a call, and returns its
    /// digest.
    pub fn store_blob(&self, repository: &Repository, bytes: Vec<u8>) -> Digest {
        let digest = Digest::of(&bytes);
        self.corrupt_blob(repository, &digest, bytes);
        digest
    }

    /// Stores `bytes` under `digest` in `repository` whatever their hash (a corrupt store when
    /// they differ).
    pub fn corrupt_blob(&self, repository: &Repository, digest: &Digest, bytes: Vec<u8>) {
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .blobs
            .insert(digest.clone(), bytes);
    }

    /// Stores `manifest` in `repository` by digest only, without recording a call, and returns
    /// its digest.
    pub fn store_manifest(&self, repository: &Repository, manifest: Manifest) -> Digest {
        let digest = manifest.digest();
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .manifests
            .insert(digest.clone(), manifest);
        digest
    }

    /// Makes `fetch_referrers` answer like a registry with the OCI 1.1 referrers API: an index
    /// of the repository's manifests whose `subject` is the digest asked for, sorted by digest.
    /// Without it the registry has no such API (distribution 2.8, Docker Hub).
    pub fn answer_referrers(&self, yes: bool) {
        self.lock().referrers_api = yes;
    }

    /// Returns the referrers index of `digest` in `repository`.
    pub(super) fn referrers_index(&self, repository: &Repository, digest: &Digest) -> Manifest {
        const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
        let s = self.lock();
        let mut manifests: Vec<serde_json::Value> = s
            .repos
            .get(repository)
            .map(|r| &r.manifests)
            .into_iter()
            .flatten()
            .filter_map(|(d, m)| {
                let v: serde_json::Value = serde_json::from_slice(&m.bytes).ok()?;
                (v.pointer("/subject/digest")?.as_str()? == digest.as_str()).then(|| {
                    let artifact_type = v
                        .get("artifactType")
                        .cloned()
                        .unwrap_or_else(|| v["config"]["mediaType"].clone());
                    serde_json::json!({
                        "mediaType": m.media_type,
                        "digest": d.as_str(),
                        "size": m.bytes.len(),
                        "artifactType": artifact_type,
                    })
                })
            })
            .collect();
        manifests.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        Manifest::new(OCI_INDEX, index.to_string().into_bytes())
    }
}
