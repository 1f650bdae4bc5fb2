//! The blob half of the in-memory registry: presence, mounts, uploads, manifests by digest.

use super::{Call, MemoryRegistry};
use crate::{Digest, Manifest, RegistryError, RegistryErrorKind, Repository};

impl MemoryRegistry {
    /// Makes every mount answer "not mounted" (the caller then uploads).
    pub fn refuse_mounts(&self) {
        self.lock().no_mounts = true;
    }

    /// Returns the blob `digest` of `repository`, if stored (no call recorded).
    pub fn blob(&self, repository: &Repository, digest: &Digest) -> Option<Vec<u8>> {
        self.lock().repos.get(repository)?.blobs.get(digest).cloned()
    }

    /// Returns whether `repository` holds the manifest `digest` (no call recorded).
    pub fn has_manifest(&self, repository: &Repository, digest: &Digest) -> bool {
        self.lock()
            .repos
            .get(repository)
            .is_some_and(|r| r.manifests.contains_key(digest))
    }

    pub(super) fn has_blob_call(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.enter(Call::HasBlob(format!("{repository}@{digest}")))?;
        Ok(self.blob(repository, digest).is_some())
    }

    pub(super) fn mount_call(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool, RegistryError> {
        let lost = self.enter_put(Call::Mount(format!("{repository}@{digest}"), from.to_string()))?;
        let mut s = self.lock();
        let held = s.repos.get(from).and_then(|r| r.blobs.get(digest).cloned());
        let mounted = match held {
            Some(bytes) if !s.no_mounts && from.registry() == repository.registry() => {
                s.repos
                    .entry(repository.clone())
                    .or_default()
                    .blobs
                    .insert(digest.clone(), bytes);
                true
            }
            _ => false,
        };
        match lost {
            Some(e) => Err(e),
            None => Ok(mounted),
        }
    }

    pub(super) fn upload_call(
        &self,
        repository: &Repository,
        blob: &crate::BlobUpload<'_>,
    ) -> Result<(), RegistryError> {
        let lost = self.enter_put(Call::Upload(format!("{repository}@{}", blob.digest)))?;
        let bytes = blob.read_all().map_err(|e| {
            RegistryError::new(
                RegistryErrorKind::InvalidInput,
                format!("upload {repository}@{}: {e}", blob.digest),
            )
        })?;
        blob.progress.blob_started(blob.digest, blob.size);
        blob.progress.bytes_sent(blob.size);
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .blobs
            .insert(blob.digest.clone(), bytes);
        match lost {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(super) fn put_digest_call(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let d = manifest.digest();
        let lost = self.enter_put(Call::PutDigest(format!("{repository}@{d}")))?;
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .manifests
            .insert(d.clone(), manifest.clone());
        match lost {
            Some(e) => Err(e),
            None => Ok(d),
        }
    }
}

/// Blobs held in memory, served as a [`crate::BlobSource`] (the reader checks the digest).
#[derive(Debug, Default)]
pub struct MemorySource {
    blobs: std::collections::HashMap<Digest, Vec<u8>>,
}

impl MemorySource {
    /// Adds `bytes` and returns their descriptor with `media_type`.
    pub fn add(&mut self, media_type: &str, bytes: &[u8]) -> crate::image::Descriptor {
        let digest = Digest::of(bytes);
        self.blobs.insert(digest.clone(), bytes.to_vec());
        crate::image::Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// Replaces the bytes served for `digest` (to test that corrupt sources are refused).
    pub fn corrupt(&mut self, digest: &Digest, bytes: &[u8]) {
        self.blobs.insert(digest.clone(), bytes.to_vec());
    }

    /// Returns an image of one manifest with a config of `seed` and `layers` (added too).
    pub fn image(&mut self, seed: &str, layers: &[&[u8]]) -> crate::image::SourceImage {
        let config = self.add("application/vnd.oci.image.config.v1+json", seed.as_bytes());
        let layers: Vec<_> = layers
            .iter()
            .map(|l| self.add("application/vnd.oci.image.layer.v1.tar", l))
            .collect();
        let json = |d: &crate::image::Descriptor| {
            format!(
                r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
                d.media_type, d.digest, d.size
            )
        };
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
            json(&config),
            layers.iter().map(json).collect::<Vec<_>>().join(",")
        );
        let root = Manifest::new("application/vnd.oci.image.manifest.v1+json", body.into_bytes());
        // A manifest built here has no children to read.
        crate::image::SourceImage::assemble(root, |d| {
            Err(crate::image::ImageError::new(d.digest.to_string()))
        })
        .unwrap_or_else(|e| panic!("test image: {e}"))
    }
}

impl crate::BlobSource for MemorySource {
    fn open_blob(&self, digest: &Digest, offset: u64) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        let bytes = self
            .blobs
            .get(digest)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, digest.to_string()))?;
        if Digest::of(bytes) != *digest {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("blob {digest} does not hash to its digest"),
            ));
        }
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        Ok(Box::new(std::io::Cursor::new(bytes[start..].to_vec())))
    }
}
