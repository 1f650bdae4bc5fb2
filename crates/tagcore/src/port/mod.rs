//! The ports: traits that adapters implement, and the plain data that crosses them.
//!
//! Only tagcore types appear here, so that `registry-hub`, `cosign-verify`, an in-memory test
//! backend, or another tool's own backend can plug in. Futures are `Send` and runtime-agnostic.

use std::future::Future;

use serde::Serialize;

use crate::{AuditError, CommitSha, Digest, RegistryError, Repository, Tag, Timestamp, VerifyError};

mod audit;
mod verify;

pub use audit::{AuditSink, DispatchRequest, ReleaseReceipt, ReleaseRequest};
pub use verify::{VerifiedSignature, Verifier};

/// A manifest exactly as stored: its bytes and media type. Its digest is the sha256 of the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The media type, e.g. `application/vnd.oci.image.index.v1+json`.
    pub media_type: String,
    /// The exact bytes; never re-serialised, so the digest is preserved.
    pub bytes: Vec<u8>,
}

impl Manifest {
    /// Returns a manifest of `media_type` with `bytes`.
    pub fn new(media_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            media_type: media_type.into(),
            bytes,
        }
    }

    /// Returns the sha256 digest of the bytes, computed locally.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.bytes)
    }
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("media_type", &self.media_type)
            .field("len", &self.bytes.len())
            .field("digest", &self.digest())
            .finish()
    }
}

/// One tag of a listing, with what the registry reported about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTag {
    /// The tag name.
    pub tag: Tag,
    /// The digest, when the listing reports it (Docker Hub's Hub API does; the OCI API does not).
    pub digest: Option<Digest>,
    /// When the tag was last pushed, when the registry reports it.
    pub pushed: Option<Timestamp>,
}

/// The tags of a repository, as complete as the registry allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TagListing {
    /// The tags, in no particular order; signature artifacts may be included (tagcore filters).
    pub tags: Vec<ListedTag>,
    /// Set when the listing stopped early (page cap, endless `next`): says why. Never silent.
    pub truncated: Option<String>,
    /// Names the registry sent that are not valid tags, skipped.
    pub skipped_invalid: Vec<String>,
    /// Set when the listing holds only what its [`ListingScope`] asked for (names containing a
    /// substring, or the newest tags back to a proven cutoff): other names may exist, so the
    /// absence of a name proves nothing. Says what was left out.
    pub partial: Option<String>,
    /// Set when the listing came from a fallback (the registry's own listing during a Hub API
    /// outage): says which and why, for the output. The listing is complete but may lack push
    /// times and digests.
    pub degraded: Option<String>,
}

/// The HTTP traffic an adapter sent since it was built (requests after a retry or an auth
/// challenge count once; token requests do not count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// Requests sent: to the registry and to a tag-listing service (Docker Hub's Hub API).
    pub requests: u64,
    /// Manifest GETs among them: what Docker Hub counts as pulls (a HEAD is not one).
    pub pulls: u64,
}

impl Traffic {
    /// Returns the traffic sent between `earlier` and `self`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            requests: self.requests.saturating_sub(earlier.requests),
            pulls: self.pulls.saturating_sub(earlier.pulls),
        }
    }
}

/// Decides whether the tags read so far settle the caller's answer (see
/// [`ListingScope::enough`]).
pub type EnoughTags = std::sync::Arc<dyn Fn(&[ListedTag], Timestamp) -> bool + Send + Sync>;

/// What one listing needs: lets a service that can filter and order (Docker Hub's Hub API) read
/// less. A registry that cannot ignores it and lists everything.
#[derive(Clone, Default)]
pub struct ListingScope {
    /// Only names containing this substring are needed. Services may filter by it; adapters
    /// filter client-side anyway.
    pub contains: Option<String>,
    /// Called after each page when the listing is read newest first and the order of what was
    /// read proves that every unread tag was pushed at or before the given time: `true` stops
    /// the listing there (it is then `partial`). Never called on listings without that proof.
    pub enough: Option<EnoughTags>,
}

impl std::fmt::Debug for ListingScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListingScope")
            .field("contains", &self.contains)
            .field("enough", &self.enough.is_some())
            .finish()
    }
}

/// Reads and writes tags of repositories on a registry.
pub trait Registry: Send + Sync {
    /// Returns the digest `tag` points at, or `None` when the tag does not exist.
    fn resolve_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<Digest>, RegistryError>> + Send;

    /// Returns the manifest stored at `digest`, byte for byte, with its media type.
    fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<Manifest, RegistryError>> + Send;

    /// Returns the manifest `tag` points at (its digest is the sha256 of its bytes), or `None`
    /// when the tag does not exist. Where a registry allows, one GET by tag instead of a HEAD
    /// and a GET by digest; by default, exactly those two.
    fn fetch_manifest_by_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<Manifest>, RegistryError>> + Send {
        async move {
            match self.resolve_tag(repository, tag).await? {
                Some(digest) => self.fetch_manifest(repository, &digest).await.map(Some),
                None => Ok(None),
            }
        }
    }

    /// Stores `manifest` under `tag` and returns the digest the registry reports for it.
    fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<Digest, RegistryError>> + Send;

    /// Returns the repository's tags, with digests and push times where the registry has them.
    fn list_tags(
        &self,
        repository: &Repository,
    ) -> impl Future<Output = Result<TagListing, RegistryError>> + Send;

    /// Returns the tags `scope` needs: at least every tag it asks for, or a listing marked
    /// `partial` that provably settles the caller's answer. By default, every tag.
    fn list_tags_scoped(
        &self,
        repository: &Repository,
        scope: &ListingScope,
    ) -> impl Future<Output = Result<TagListing, RegistryError>> + Send {
        let _ = scope;
        self.list_tags(repository)
    }

    /// Returns the blob at `digest` (a config or a signature layer), refusing blobs larger than
    /// `max_bytes`. Implementations check the sha256 of what they return.
    fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<u8>, RegistryError>> + Send;

    /// Returns the referrers index of `digest` from the OCI referrers API, or `None` when the
    /// registry does not offer that API (callers then try the `sha256-<hex>` tag fallback).
    fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<Manifest>, RegistryError>> + Send;

    /// Returns the `org.opencontainers.image.revision` annotation or label of the image at
    /// `digest`, if it has one.
    fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<String>, RegistryError>> + Send;

    /// Returns how this registry deletes tags; `None` when it cannot delete at all.
    fn delete_mode(&self) -> Option<crate::retention::DeleteMode> {
        None
    }

    /// Returns the HTTP traffic sent so far, when the adapter counts it (the plan's budget
    /// reports it); `None` otherwise.
    fn traffic(&self) -> Option<Traffic> {
        None
    }

    /// Deletes `tag`, which points at `digest`: the tag alone where the registry can, else the
    /// manifest at `digest` and with it every tag on it (see [`Registry::delete_mode`]).
    fn delete_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send {
        let what = format!("{repository}:{tag} ({digest})");
        async move {
            Err(RegistryError::new(
                crate::RegistryErrorKind::Unsupported,
                format!("this registry cannot delete tags; {what} kept"),
            ))
        }
    }

    /// Returns whether `repository` holds the blob `digest` (`HEAD`); used before uploading.
    fn has_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        let what = format!("{repository}@{digest}");
        async move { Err(unsupported("read blobs of", &what)) }
    }

    /// Makes the blob `digest` of `from` (same registry) a blob of `repository` without
    /// uploading it; returns `false` when the registry did not mount it (the caller uploads).
    fn mount_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        let _ = (repository, digest, from);
        async move { Ok(false) }
    }

    /// Uploads `blob` to `repository`, streaming it from its source; the upload is committed
    /// only when the bytes sent hash to the blob's digest.
    fn upload_blob(
        &self,
        repository: &Repository,
        blob: &BlobUpload<'_>,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send {
        let what = format!("{repository}@{}", blob.digest);
        async move { Err(unsupported("upload blobs to", &what)) }
    }

    /// Stores `manifest` by its digest only (no tag) and returns the digest the registry
    /// reports: the platform manifests of an index before the index itself.
    fn put_manifest_by_digest(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<Digest, RegistryError>> + Send {
        let what = format!("{repository}@{}", manifest.digest());
        async move { Err(unsupported("push manifests by digest to", &what)) }
    }
}

fn unsupported(action: &str, what: &str) -> RegistryError {
    RegistryError::new(
        crate::RegistryErrorKind::Unsupported,
        format!("this registry backend cannot {action} {what}"),
    )
}

/// Reads the blobs of an image source (an archive, a layout directory) for upload.
pub trait BlobSource: Send + Sync {
    /// Returns a reader of blob `digest` from byte `offset` to its end. The reader fails (an
    /// `InvalidData` error) instead of handing out the last bytes of a blob whose content does
    /// not hash to `digest`, so a corrupt source is never committed.
    fn open_blob(&self, digest: &Digest, offset: u64) -> std::io::Result<Box<dyn std::io::Read + Send>>;
}

/// Receives upload progress from the adapters; libraries never print, the CLI draws it.
pub trait Progress: Send + Sync {
    /// A blob of `size` bytes starts uploading.
    fn blob_started(&self, digest: &Digest, size: u64) {
        let _ = (digest, size);
    }

    /// `bytes` more bytes were sent (of the blob started last).
    fn bytes_sent(&self, bytes: u64) {
        let _ = bytes;
    }

    /// A blob of `size` bytes needs no upload (the registry has it, or mounted it).
    fn blob_skipped(&self, digest: &Digest, size: u64) {
        let _ = (digest, size);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A blob to upload: its digest, size, where to read it, and who hears of the bytes sent.
#[derive(Clone, Copy)]
pub struct BlobUpload<'a> {
    /// The blob's digest.
    pub digest: &'a Digest,
    /// The blob's size in bytes.
    pub size: u64,
    /// Where its bytes come from.
    pub source: &'a dyn BlobSource,
    /// Who hears of the bytes sent.
    pub progress: &'a dyn Progress,
}

impl std::fmt::Debug for BlobUpload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobUpload")
            .field("digest", self.digest)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BlobUpload<'_> {
    /// Reads the whole blob from its source (for small blobs and in-memory backends), checked
    /// against its digest by the source's reader.
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.size.min(1 << 20)).unwrap_or(0));
        std::io::Read::read_to_end(&mut self.source.open_blob(self.digest, 0)?, &mut out)?;
        if out.len() as u64 != self.size || Digest::of(&out) != *self.digest {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("blob {} does not match its size and digest", self.digest),
            ));
        }
        Ok(out)
    }
}

/// A borrowed registry is a registry, so one adapter can serve the engine and a verifier.
impl<T: Registry + ?Sized> Registry for &T {
    fn resolve_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<Digest>, RegistryError>> + Send {
        (**self).resolve_tag(repository, tag)
    }

    fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<Manifest, RegistryError>> + Send {
        (**self).fetch_manifest(repository, digest)
    }

    fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<Digest, RegistryError>> + Send {
        (**self).put_manifest(repository, tag, manifest)
    }

    fn list_tags(
        &self,
        repository: &Repository,
    ) -> impl Future<Output = Result<TagListing, RegistryError>> + Send {
        (**self).list_tags(repository)
    }

    fn list_tags_scoped(
        &self,
        repository: &Repository,
        scope: &ListingScope,
    ) -> impl Future<Output = Result<TagListing, RegistryError>> + Send {
        (**self).list_tags_scoped(repository, scope)
    }

    fn fetch_manifest_by_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> impl Future<Output = Result<Option<Manifest>, RegistryError>> + Send {
        (**self).fetch_manifest_by_tag(repository, tag)
    }

    fn traffic(&self) -> Option<Traffic> {
        (**self).traffic()
    }

    fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<u8>, RegistryError>> + Send {
        (**self).fetch_blob(repository, digest, max_bytes)
    }

    fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<Manifest>, RegistryError>> + Send {
        (**self).fetch_referrers(repository, digest)
    }

    fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<String>, RegistryError>> + Send {
        (**self).image_revision(repository, digest)
    }

    fn delete_mode(&self) -> Option<crate::retention::DeleteMode> {
        (**self).delete_mode()
    }

    fn delete_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).delete_tag(repository, tag, digest)
    }

    fn has_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        (**self).has_blob(repository, digest)
    }

    fn mount_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        (**self).mount_blob(repository, digest, from)
    }

    fn upload_blob(
        &self,
        repository: &Repository,
        blob: &BlobUpload<'_>,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).upload_blob(repository, blob)
    }

    fn put_manifest_by_digest(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> impl Future<Output = Result<Digest, RegistryError>> + Send {
        (**self).put_manifest_by_digest(repository, manifest)
    }
}
