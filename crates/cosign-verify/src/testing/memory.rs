//! An in-memory `tagcore::Registry` holding tags, manifests and blobs, with or without the
//! referrers API.

use std::collections::HashMap;
use std::sync::Mutex;

use tagcore::{Digest, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, Tag, TagListing};

use super::artifact::Artifact;
use crate::oci::OCI_INDEX;

#[derive(Default)]
struct State {
    tags: HashMap<(Repository, String), Digest>,
    manifests: HashMap<Digest, Manifest>,
    blobs: HashMap<Digest, Vec<u8>>,
    calls: Vec<String>,
}

/// A registry in memory. Content is shared by all repositories; tags are per repository.
#[derive(Default)]
pub struct MemoryRegistry {
    state: Mutex<State>,
    referrers_api: bool,
}

impl MemoryRegistry {
    /// Returns an empty registry without the referrers API (like distribution 2.8 or Docker Hub).
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns an empty registry answering the referrers API from the stored manifests.
    pub fn with_referrers_api() -> Self {
        Self {
            referrers_api: true,
            ..Self::default()
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `artifact` in `repository` (blobs, manifest, and its tag if it has one) and
    /// returns its digest.
    pub fn push(&self, repository: &Repository, artifact: &Artifact) -> Digest {
        let mut s = self.state();
        for blob in &artifact.blobs {
            s.blobs.insert(Digest::of(blob), blob.clone());
        }
        let digest = artifact.digest();
        s.manifests.insert(digest.clone(), artifact.manifest.clone());
        if let Some(tag) = &artifact.tag {
            s.tags.insert((repository.clone(), tag.clone()), digest.clone());
        }
        digest
    }

    /// Replaces the blob stored under `digest` with `bytes` (to simulate a corrupt store).
    pub fn corrupt_blob(&self, digest: &Digest, bytes: Vec<u8>) {
        self.state().blobs.insert(digest.clone(), bytes);
    }

    /// Returns the calls made so far, e.g. `resolve_tag sha256-….sig`.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }
}

fn not_found(what: String) -> RegistryError {
    RegistryError::new(RegistryErrorKind::NotFound, what)
}

impl Registry for MemoryRegistry {
    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        let mut s = self.state();
        s.calls.push(format!("resolve_tag {tag}"));
        Ok(s.tags.get(&(repository.clone(), tag.to_string())).cloned())
    }

    async fn fetch_manifest(
        &self,
        _repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        let mut s = self.state();
        s.calls.push(format!("fetch_manifest {digest}"));
        s.manifests
            .get(digest)
            .cloned()
            .ok_or_else(|| not_found(format!("manifest {digest}")))
    }

    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let mut s = self.state();
        let digest = manifest.digest();
        s.calls.push(format!("put_manifest {tag}"));
        s.manifests.insert(digest.clone(), manifest.clone());
        s.tags
            .insert((repository.clone(), tag.to_string()), digest.clone());
        Ok(digest)
    }

    async fn list_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        let s = self.state();
        let mut listing = TagListing::default();
        for ((repo, tag), digest) in &s.tags {
            if repo == repository {
                match tag.parse() {
                    Ok(tag) => listing.tags.push(tagcore::ListedTag {
                        tag,
                        digest: Some(digest.clone()),
                        pushed: None,
                    }),
                    Err(_) => listing.skipped_invalid.push(tag.clone()),
                }
            }
        }
        Ok(listing)
    }

    async fn fetch_blob(
        &self,
        _repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut s = self.state();
        s.calls.push(format!("fetch_blob {digest}"));
        let blob = s
            .blobs
            .get(digest)
            .cloned()
            .ok_or_else(|| not_found(format!("blob {digest}")))?;
        if blob.len() as u64 > max_bytes {
            return Err(RegistryError::new(
                RegistryErrorKind::InvalidResponse,
                format!("blob {digest} is larger than {max_bytes} bytes"),
            ));
        }
        Ok(blob)
    }

    async fn fetch_referrers(
        &self,
        _repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        let mut s = self.state();
        s.calls.push(format!("fetch_referrers {digest}"));
        if !self.referrers_api {
            return Ok(None);
        }
        let mut manifests: Vec<serde_json::Value> = s
            .manifests
            .iter()
            .filter_map(|(d, m)| {
                let v: serde_json::Value = serde_json::from_slice(&m.bytes).ok()?;
                (v.pointer("/subject/digest")?.as_str()? == digest.as_str()).then(|| {
                    serde_json::json!({
                        "mediaType": m.media_type,
                        "digest": d.as_str(),
                        "size": m.bytes.len(),
                        "artifactType": v.get("artifactType").cloned().unwrap_or_else(|| v["config"]["mediaType"].clone()),
                    })
                })
            })
            .collect();
        manifests.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        Ok(Some(Manifest::new(OCI_INDEX, index.to_string().into_bytes())))
    }

    async fn image_revision(
        &self,
        _repository: &Repository,
        _digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        Ok(None)
    }
}
