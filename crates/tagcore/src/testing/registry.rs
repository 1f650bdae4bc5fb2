//! A registry held in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

mod blobs;
mod referrers;

pub use blobs::MemorySource;

use crate::{
    Digest, ListedTag, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, Tag, TagListing,
    Timestamp,
};

/// One call the registry received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `resolve_tag`.
    Resolve(String),
    /// `fetch_manifest`.
    Fetch(String),
    /// `put_manifest`.
    Put(String),
    /// `list_tags`.
    List(String),
    /// `fetch_blob`.
    Blob(String),
    /// `fetch_referrers`.
    Referrers(String),
    /// `delete_tag`.
    Delete(String),
    /// `image_revision`.
    Revision(String),
    /// `has_blob`.
    HasBlob(String),
    /// `mount_blob`: the target and the repository mounted from.
    Mount(String, String),
    /// `upload_blob`.
    Upload(String),
    /// `put_manifest_by_digest`.
    PutDigest(String),
}

impl Call {
    fn is_write(&self) -> bool {
        matches!(self, Self::Put(_))
    }

    /// Returns whether this call sent blob bytes or created a blob (upload or mount).
    pub fn is_blob_write(&self) -> bool {
        matches!(self, Self::Upload(_) | Self::Mount(..))
    }
}

/// A failure to inject.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The n-th call (1-based, counting every call) fails with this kind.
    NthCall(usize, RegistryErrorKind),
    /// Every put of this tag fails with this kind (until cleared).
    PutTag(String, RegistryErrorKind),
    /// Every `list_tags` answers truncated, with this reason.
    TruncatedListing(String),
    /// The n-th call (1-based) takes effect, then its answer is lost: a put is applied and the
    /// caller sees a transient error (a read just fails).
    AppliedLost(usize),
}

/// Something that happens "concurrently" right before a call.
#[derive(Debug, Clone)]
pub enum Hook {
    /// Before the n-th call (1-based), point `tag` of `repository` at `digest`.
    MoveTagBeforeCall {
        /// Which call.
        call: usize,
        /// The repository.
        repository: Repository,
        /// The tag to move.
        tag: String,
        /// Where to point it.
        digest: Digest,
    },
}

#[derive(Debug, Default)]
struct Repo {
    tags: BTreeMap<String, (Digest, Timestamp)>,
    manifests: HashMap<Digest, Manifest>,
    revisions: HashMap<Digest, String>,
    blobs: HashMap<Digest, Vec<u8>>,
}

#[derive(Debug, Default)]
struct State {
    repos: HashMap<Repository, Repo>,
    calls: Vec<Call>,
    faults: Vec<Fault>,
    hooks: Vec<Hook>,
    clock: i64,
    push_times: bool,
    listing_digests: bool,
    delete_by_digest: bool,
    /// `Some(n)`: the registry says it deletes, but refuses (unsupported) after `n` deletions.
    deletes_allowed: Option<usize>,
    cannot_delete: bool,
    /// Whether `fetch_referrers` answers from the stored manifests' `subject`.
    referrers_api: bool,
    /// Mounts are refused (answered `false`), as across namespaces.
    no_mounts: bool,
}

/// A registry in memory: manifests by digest, tags with push times, every call recorded.
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    state: Mutex<State>,
}

impl MemoryRegistry {
    /// Returns an empty registry that reports push times and listing digests (like Docker Hub's
    /// Hub API), with its write clock at `start`.
    pub fn new(start: Timestamp) -> Self {
        let r = Self::default();
        {
            let mut s = r.lock();
            s.clock = start.unix();
            s.push_times = true;
            s.listing_digests = true;
        }
        r
    }

    /// Sets whether listings carry push times and digests (the plain OCI API carries neither).
    pub fn set_listing_detail(&self, push_times: bool, digests: bool) {
        let mut s = self.lock();
        s.push_times = push_times;
        s.listing_digests = digests;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock means a test already panicked; keep its state readable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the time the next writes are stamped with.
    pub fn set_clock(&self, t: Timestamp) {
        self.lock().clock = t.unix();
    }

    /// Stores a new image manifest with unique content `seed` and returns its digest.
    pub fn add_image(&self, repository: &Repository, seed: &str) -> Digest {
        let bytes = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"annotations\":{{\"seed\":\"{seed}\"}}}}"
        )
        .into_bytes();
        let m = Manifest::new("application/vnd.oci.image.manifest.v1+json", bytes);
        let d = m.digest();
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .manifests
            .insert(d.clone(), m);
        d
    }

    /// Records `revision` as the image's `org.opencontainers.image.revision`.
    pub fn set_revision(&self, repository: &Repository, digest: &Digest, revision: &str) {
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .revisions
            .insert(digest.clone(), revision.to_owned());
    }

    /// Points `tag` at `digest` directly (no call recorded), pushed at `pushed`.
    pub fn set_tag(&self, repository: &Repository, tag: &str, digest: &Digest, pushed: Timestamp) {
        self.lock()
            .repos
            .entry(repository.clone())
            .or_default()
            .tags
            .insert(tag.to_owned(), (digest.clone(), pushed));
    }

    /// Returns where `tag` points, without recording a call.
    pub fn tag(&self, repository: &Repository, tag: &str) -> Option<Digest> {
        self.lock()
            .repos
            .get(repository)?
            .tags
            .get(tag)
            .map(|(d, _)| d.clone())
    }

    /// Returns every tag of `repository` and its digest, sorted by name.
    pub fn tags(&self, repository: &Repository) -> BTreeMap<String, Digest> {
        self.lock()
            .repos
            .get(repository)
            .map(|r| r.tags.iter().map(|(k, (d, _))| (k.clone(), d.clone())).collect())
            .unwrap_or_default()
    }

    /// Returns the calls received so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Returns how many writes (puts) were received.
    pub fn writes(&self) -> usize {
        self.lock().calls.iter().filter(|c| c.is_write()).count()
    }

    /// Forgets the recorded calls (the call counter of faults and hooks restarts too).
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Adds a hook.
    pub fn hook(&self, hook: Hook) {
        self.lock().hooks.push(hook);
    }

    /// Records `call`, runs hooks due before it, and returns an injected failure if one is due.
    fn enter(&self, call: Call) -> Result<(), RegistryError> {
        match self.enter_put(call)? {
            Some(lost) => Err(lost),
            None => Ok(()),
        }
    }

    /// Returns what [`Self::enter`] does, except that an [`Fault::AppliedLost`] due now is
    /// returned as `Ok(Some(error))`: the caller applies the call, then answers the error.
    fn enter_put(&self, call: Call) -> Result<Option<RegistryError>, RegistryError> {
        let mut s = self.lock();
        let n = s.calls.len() + 1;
        let hooks: Vec<Hook> = s.hooks.clone();
        for h in hooks {
            let Hook::MoveTagBeforeCall {
                call: at,
                repository,
                tag,
                digest,
            } = h;
            if at == n {
                let clock = Timestamp::from_unix(s.clock);
                s.repos
                    .entry(repository)
                    .or_default()
                    .tags
                    .insert(tag, (digest, clock));
            }
        }
        let failure = s.faults.iter().find_map(|f| match (f, &call) {
            (Fault::NthCall(k, kind), _) if *k == n => Some(*kind),
            (Fault::PutTag(tag, kind), Call::Put(what)) if what.ends_with(&format!(":{tag}")) => Some(*kind),
            _ => None,
        });
        let lost = s
            .faults
            .iter()
            .any(|f| matches!(f, Fault::AppliedLost(k) if *k == n));
        let what = format!("{call:?}");
        s.calls.push(call);
        match failure {
            Some(kind) => Err(RegistryError::new(
                kind,
                format!("injected failure on call {n} ({what})"),
            )),
            None if lost => Ok(Some(RegistryError::new(
                RegistryErrorKind::Transient,
                format!("injected: call {n} ({what}) applied, its answer lost"),
            ))),
            None => Ok(None),
        }
    }
}

impl MemoryRegistry {
    /// Makes the registry delete by digest (every tag on the manifest goes) instead of by tag.
    pub fn delete_by_digest(&self, yes: bool) {
        self.lock().delete_by_digest = yes;
    }

    /// Makes every deletion after the first `n` answer "unsupported" (a registry that has
    /// deletes disabled behind an API that looks able to delete).
    pub fn refuse_deletes_after(&self, n: usize) {
        self.lock().deletes_allowed = Some(n);
    }

    /// Makes the registry say it cannot delete at all.
    pub fn cannot_delete(&self) {
        self.lock().cannot_delete = true;
    }
}

impl Registry for MemoryRegistry {
    fn delete_mode(&self) -> Option<crate::retention::DeleteMode> {
        if self.lock().cannot_delete {
            return None;
        }
        Some(if self.lock().delete_by_digest {
            crate::retention::DeleteMode::ByDigest
        } else {
            crate::retention::DeleteMode::ByTag
        })
    }

    async fn delete_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        self.enter(Call::Delete(format!("{repository}:{tag}")))?;
        let mut s = self.lock();
        if let Some(n) = s.deletes_allowed {
            if n == 0 {
                return Err(RegistryError::new(
                    RegistryErrorKind::Unsupported,
                    "the registry disallows deletes",
                ));
            }
            s.deletes_allowed = Some(n - 1);
        }
        let by_digest = s.delete_by_digest;
        let repo = s.repos.entry(repository.clone()).or_default();
        if by_digest {
            repo.tags.retain(|_, (d, _)| d != digest);
        } else {
            repo.tags.remove(tag.as_str());
        }
        Ok(())
    }

    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        self.enter(Call::Resolve(format!("{repository}:{tag}")))?;
        Ok(self.tag(repository, tag.as_str()))
    }

    async fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        self.enter(Call::Fetch(format!("{repository}@{digest}")))?;
        self.lock()
            .repos
            .get(repository)
            .and_then(|r| r.manifests.get(digest).cloned())
            .ok_or_else(|| {
                RegistryError::new(
                    RegistryErrorKind::NotFound,
                    format!("manifest {repository}@{digest}"),
                )
            })
    }

    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let lost = self.enter_put(Call::Put(format!("{repository}:{tag}")))?;
        let d = manifest.digest();
        let mut s = self.lock();
        let clock = s.clock;
        s.clock += 1;
        let repo = s.repos.entry(repository.clone()).or_default();
        repo.manifests.insert(d.clone(), manifest.clone());
        repo.tags
            .insert(tag.as_str().to_owned(), (d.clone(), Timestamp::from_unix(clock)));
        match lost {
            Some(e) => Err(e),
            None => Ok(d),
        }
    }

    async fn list_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        self.enter(Call::List(repository.to_string()))?;
        let s = self.lock();
        let truncated = s.faults.iter().find_map(|f| match f {
            Fault::TruncatedListing(r) => Some(r.clone()),
            _ => None,
        });
        let mut tags = Vec::new();
        let mut skipped_invalid = Vec::new();
        if let Some(repo) = s.repos.get(repository) {
            for (name, (d, pushed)) in &repo.tags {
                match name.parse::<Tag>() {
                    Ok(tag) => tags.push(ListedTag {
                        tag,
                        digest: s.listing_digests.then(|| d.clone()),
                        pushed: s.push_times.then_some(*pushed),
                    }),
                    Err(_) => skipped_invalid.push(name.clone()),
                }
            }
        }
        Ok(TagListing {
            tags,
            truncated,
            skipped_invalid,
            ..TagListing::default()
        })
    }

    async fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        self.enter(Call::Blob(format!("{repository}@{digest}")))?;
        let blob = self.blob(repository, digest).ok_or_else(|| {
            RegistryError::new(RegistryErrorKind::NotFound, format!("blob {repository}@{digest}"))
        })?;
        if blob.len() as u64 > max {
            return Err(RegistryError::new(
                RegistryErrorKind::InvalidResponse,
                format!("blob {repository}@{digest} is larger than {max} bytes"),
            ));
        }
        Ok(blob)
    }

    async fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        self.enter(Call::Referrers(format!("{repository}@{digest}")))?;
        let api = self.lock().referrers_api;
        Ok(api.then(|| self.referrers_index(repository, digest)))
    }

    async fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        self.enter(Call::Revision(format!("{repository}@{digest}")))?;
        Ok(self
            .lock()
            .repos
            .get(repository)
            .and_then(|r| r.revisions.get(digest).cloned()))
    }

    async fn has_blob(&self, repository: &Repository, digest: &Digest) -> Result<bool, RegistryError> {
        self.has_blob_call(repository, digest)
    }

    async fn mount_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool, RegistryError> {
        self.mount_call(repository, digest, from)
    }

    async fn upload_blob(
        &self,
        repository: &Repository,
        blob: &crate::BlobUpload<'_>,
    ) -> Result<(), RegistryError> {
        self.upload_call(repository, blob)
    }

    async fn put_manifest_by_digest(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        self.put_digest_call(repository, manifest)
    }
}
