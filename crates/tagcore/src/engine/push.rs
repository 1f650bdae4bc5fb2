//! Push: put an image from a source (an archive, a layout) into a repository, uploading only
//! what the registry lacks, then its manifests by digest, children before the index.
//!
//! Per blob, in order: `has_blob` (skip when present); a mount from a repository of the same
//! registry known to hold it (learnt in this run); else an upload. Then every manifest by
//! digest. A re-run after any failure converges: what arrived is found by `has_blob`, the rest
//! is sent again.

use std::collections::HashMap;

use serde::Serialize;

use super::{OpError, OpErrorKind};
use crate::image::SourceImage;
use crate::{BlobSource, BlobUpload, Digest, Progress, Registry, Repository};

/// What a push did, blob by blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// The repository pushed to.
    pub repository: String,
    /// The root manifest's digest, as the registry reported it.
    pub digest: Digest,
    /// Blobs the repository already held.
    pub blobs_present: usize,
    /// Blobs mounted from another repository.
    pub blobs_mounted: usize,
    /// Blobs uploaded.
    pub blobs_uploaded: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
    /// Manifests put by digest.
    pub manifests: usize,
}

/// Which repositories hold which blobs, as learnt during this run (by a `has_blob`, a mount or
/// an upload): the candidates for a cross-repository mount.
#[derive(Debug, Clone, Default)]
pub struct KnownBlobs {
    holders: HashMap<Digest, Vec<Repository>>,
}

impl KnownBlobs {
    /// Records that `repository` holds `digest`.
    pub fn record(&mut self, digest: &Digest, repository: &Repository) {
        let v = self.holders.entry(digest.clone()).or_default();
        if !v.contains(repository) {
            v.push(repository.clone());
        }
    }

    /// Returns the repositories of `target`'s registry, other than `target`, known to hold
    /// `digest`, first learnt first.
    pub fn mount_candidates(&self, digest: &Digest, target: &Repository) -> Vec<&Repository> {
        self.holders
            .get(digest)
            .into_iter()
            .flatten()
            .filter(|r| *r != target && r.registry() == target.registry())
            .collect()
    }
}

/// How one blob reached the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    Present,
    Mounted,
    Uploaded,
}

/// Pushes `image` to `repository`: missing blobs (mounted where known, else uploaded from
/// `source`), then its manifests by digest. Fails on the first error; a re-run converges.
pub async fn push_image<R: Registry>(
    registry: &R,
    repository: &Repository,
    image: &SourceImage,
    source: &dyn BlobSource,
    known: &mut KnownBlobs,
    progress: &dyn Progress,
) -> Result<PushReport, OpError> {
    let mut report = PushReport {
        repository: repository.to_string(),
        digest: image.digest.clone(),
        blobs_present: 0,
        blobs_mounted: 0,
        blobs_uploaded: 0,
        bytes_uploaded: 0,
        manifests: 0,
    };
    for blob in &image.blobs {
        let upload = BlobUpload {
            digest: &blob.digest,
            size: blob.size,
            source,
            progress,
        };
        match push_blob(registry, repository, &upload, known).await? {
            Arrival::Present => report.blobs_present += 1,
            Arrival::Mounted => report.blobs_mounted += 1,
            Arrival::Uploaded => {
                report.blobs_uploaded += 1;
                report.bytes_uploaded += blob.size;
            }
        }
        known.record(&blob.digest, repository);
    }
    for m in &image.manifests {
        let expected = m.digest();
        let reported = registry.put_manifest_by_digest(repository, m).await?;
        if reported != expected {
            return Err(OpError::new(
                OpErrorKind::Registry(crate::RegistryErrorKind::InvalidResponse),
                format!("{repository}: the registry stored manifest {expected} as {reported}"),
            ));
        }
        report.manifests += 1;
    }
    report.digest = image.digest.clone();
    Ok(report)
}

async fn push_blob<R: Registry>(
    registry: &R,
    repository: &Repository,
    blob: &BlobUpload<'_>,
    known: &KnownBlobs,
) -> Result<Arrival, OpError> {
    if registry.has_blob(repository, blob.digest).await? {
        blob.progress.blob_skipped(blob.digest, blob.size);
        return Ok(Arrival::Present);
    }
    for from in known.mount_candidates(blob.digest, repository) {
        if registry.mount_blob(repository, blob.digest, from).await? {
            blob.progress.blob_skipped(blob.digest, blob.size);
            return Ok(Arrival::Mounted);
        }
    }
    registry.upload_blob(repository, blob).await?;
    Ok(Arrival::Uploaded)
}
