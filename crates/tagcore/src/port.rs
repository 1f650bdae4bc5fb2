//! The ports: traits that adapters implement, and the plain data that crosses them.
//!
//! Only tagcore types appear here, so that `registry-hub`, `cosign-verify`, an in-memory test
//! backend, or another tool's own backend can plug in. Futures are `Send` and runtime-agnostic.

use std::future::Future;

use serde::Serialize;

use crate::{AuditError, CommitSha, Digest, RegistryError, Repository, Tag, Timestamp, VerifyError};

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
}

/// What an accepted signature proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedSignature {
    /// The digest the signature's payload names; must equal the digest asked about.
    pub digest: Digest,
    /// Which signature layer satisfied the policy (for the audit trail).
    pub layer: String,
    /// The certificate identity (keyless), e.g. a workflow URL.
    pub identity: Option<String>,
    /// The OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// The public key's fingerprint (key-based).
    pub key: Option<String>,
    /// The GitHub workflow repository from the certificate.
    pub workflow_repository: Option<String>,
    /// The GitHub workflow ref from the certificate, e.g. `refs/heads/main`.
    pub workflow_ref: Option<String>,
    /// The source commit from the certificate, when it carries one (docs/behaviour.md#source-commit, first source).
    pub source_commit: Option<CommitSha>,
    /// When the signature was made, as attested by a verified transparency-log entry (its
    /// integrated time) or RFC 3161 timestamp; `None` when nothing attests it (key-based
    /// signatures made without a log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
}

/// Checks that a digest carries a signature satisfying the configured policy. Fails closed.
pub trait Verifier: Send + Sync {
    /// Returns the accepted signature of `digest` in `repository`, or why none was accepted.
    fn verify(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<VerifiedSignature, VerifyError>> + Send;
}

/// A release to create or edit (edit-or-create, so re-runs converge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseRequest {
    /// The release's git tag: the stamp, the audit tag or the version tag.
    pub tag: String,
    /// The title, `Production Release <tag>` or `Production Rollback <tag>`.
    pub title: String,
    /// Markdown notes (docs/behaviour.md#audit-trail).
    pub notes: String,
    /// Whether this release becomes GitHub's "Latest"; always sent explicitly.
    pub make_latest: bool,
    /// The source commit to tag, when known.
    pub target_commitish: Option<String>,
}

/// What the release service did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseReceipt {
    /// The release's URL.
    pub url: String,
    /// Whether it was created or an existing one was edited.
    pub created: bool,
}

/// A deploy to trigger once a channel holds the run's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DispatchRequest {
    /// The target's index in the policy's dispatch targets.
    pub target: usize,
    /// What the target triggers, for messages.
    pub name: String,
    /// `publish`, `promote` or `rollback`.
    pub operation: String,
    /// The unit's name.
    pub unit: String,
    /// The channel the operation moves (`staging` or `prod`); the dispatch is sent once it
    /// holds the run's digest on every image.
    pub channel: String,
    /// The primary image's new digest.
    pub digest: Digest,
    /// The tag that names the release (stamp, audit tag or version).
    pub tag: Option<String>,
    /// The rendered payload; `None` when the target sends none.
    pub payload: Option<std::collections::BTreeMap<String, String>>,
}

/// Records releases and triggers deploys (GitHub in production).
pub trait AuditSink: Send + Sync {
    /// Creates or edits the release named by `release.tag`.
    fn publish_release(
        &self,
        release: &ReleaseRequest,
    ) -> impl Future<Output = Result<ReleaseReceipt, AuditError>> + Send;

    /// Triggers the deploy of target `request.target`.
    fn dispatch(&self, request: &DispatchRequest) -> impl Future<Output = Result<(), AuditError>> + Send;
}
