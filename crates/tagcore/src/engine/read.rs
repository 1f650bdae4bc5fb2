//! Reads shared by the operations: counted, checked, and mapped to operation errors.

use super::inventory::{Depth, Inventory, MAX_RESOLVES, PARALLEL_READS};
use super::{Engine, OpError, OpErrorKind};
use crate::history::{KnownTag, TagRole, Timeline, classify};
use crate::plan::ImagePlan;
use crate::policy::UnitImage;
use crate::source::{CommitEvidence, SourceCommit, resolve_source_commit};
use crate::{
    AuditSink, Digest, Manifest, Registry, RegistryErrorKind, Repository, Tag, VerifiedSignature, Verifier,
};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Returns the digest `tag` points at in `repo`, or `None`.
    pub(super) async fn resolve(&self, repo: &Repository, tag: &Tag) -> Result<Option<Digest>, OpError> {
        let d = self.resolve_quietly(repo, tag).await?;
        let found = d
            .as_ref()
            .map_or_else(|| "absent".to_owned(), ToString::to_string);
        self.note("resolve", format!("{repo}:{tag}"), found);
        Ok(d)
    }

    /// Returns what `resolve` does, without a line in the plan's reads (bulk history reads).
    pub(super) async fn resolve_quietly(
        &self,
        repo: &Repository,
        tag: &Tag,
    ) -> Result<Option<Digest>, OpError> {
        self.count();
        self.registry.resolve_tag(repo, tag).await.map_err(|e| {
            let mut err = OpError::from(e);
            err.message = format!("reading {repo}:{tag}: {}", err.message);
            err
        })
    }

    /// Returns the digest `tag` points at, or a not-found error naming `what`.
    pub(super) async fn require(&self, repo: &Repository, tag: &Tag, what: &str) -> Result<Digest, OpError> {
        self.resolve(repo, tag).await?.ok_or_else(|| {
            OpError::new(
                OpErrorKind::Registry(RegistryErrorKind::NotFound),
                format!("{what} {repo}:{tag} does not exist; nothing was written"),
            )
        })
    }

    /// Returns the manifest at `digest`, checking that its bytes hash to `digest`.
    pub(super) async fn manifest(&self, repo: &Repository, digest: &Digest) -> Result<Manifest, OpError> {
        self.count();
        let m = self.registry.fetch_manifest(repo, digest).await.map_err(|e| {
            let mut err = OpError::from(e);
            err.message = format!("reading manifest {repo}@{digest}: {}", err.message);
            err
        })?;
        let actual = m.digest();
        if &actual != digest {
            return Err(OpError::new(
                OpErrorKind::Registry(RegistryErrorKind::InvalidResponse),
                format!("manifest {repo}@{digest} has bytes whose sha256 is {actual}; refusing to copy it"),
            ));
        }
        self.note(
            "fetch",
            format!("{repo}@{digest}"),
            format!("{} ({} bytes, sha256 checked)", m.media_type, m.bytes.len()),
        );
        Ok(m)
    }

    /// Returns the listed tags with their digests, reading those the listing lacks with up to
    /// [`PARALLEL_READS`] requests in flight, in the listing's order.
    pub(super) async fn digests_of(
        &self,
        repo: &Repository,
        listed: Vec<crate::ListedTag>,
    ) -> Result<Vec<KnownTag>, OpError> {
        use futures_util::{StreamExt as _, TryStreamExt as _};
        futures_util::stream::iter(listed)
            .map(|t| async move {
                let digest = match t.digest {
                    Some(d) => Some(d),
                    None => self.resolve_quietly(repo, &t.tag).await?,
                };
                Ok::<_, OpError>(digest.map(|digest| KnownTag {
                    tag: t.tag,
                    digest,
                    pushed: t.pushed,
                }))
            })
            .buffered(PARALLEL_READS)
            .try_filter_map(|k| async move { Ok(k) })
            .try_collect()
            .await
    }

    /// Returns the source commit of `digest` in the order of docs/behaviour.md#source-commit: the certificate's commit,
    /// the image's revision annotation (read only when the certificate named none), the oldest
    /// staging stamp at the digest, the digest itself.
    pub(super) async fn source_commit(
        &self,
        repo: &Repository,
        digest: &Digest,
        certificate: Option<&crate::CommitSha>,
        inventory: &Inventory,
    ) -> Result<SourceCommit, OpError> {
        self.source_commit_of(repo, digest, certificate, None, inventory)
            .await
    }

    /// Returns what [`Self::source_commit`] does, reading the revision from `manifest` (the
    /// manifest at `digest`, already read) where it can instead of fetching it again.
    pub(super) async fn source_commit_of(
        &self,
        repo: &Repository,
        digest: &Digest,
        certificate: Option<&crate::CommitSha>,
        manifest: Option<&Manifest>,
        inventory: &Inventory,
    ) -> Result<SourceCommit, OpError> {
        let revision = match certificate {
            Some(_) => None,
            None => {
                let r = self.revision(repo, digest, manifest).await?;
                self.note(
                    "revision",
                    format!("{repo}@{digest}"),
                    r.clone().unwrap_or_else(|| "none".into()),
                );
                r
            }
        };
        let named = certificate.is_some()
            || revision
                .as_deref()
                .is_some_and(|r| r.trim().parse::<crate::CommitSha>().is_ok());
        let stamps = if named {
            Vec::new()
        } else {
            self.staging_stamps(repo, inventory, digest, None).await?
        };
        Ok(resolve_source_commit(
            digest,
            &CommitEvidence {
                certificate,
                revision: revision.as_deref(),
                staging_stamps: stamps.iter().map(|(t, s, p)| (t, s.as_str(), *p)).collect(),
            },
        ))
    }

    /// Returns the image's revision: from `manifest`'s annotation, else its config's label
    /// (one blob read), else (an index, or no manifest at hand) from the registry's own reading.
    async fn revision(
        &self,
        repo: &Repository,
        digest: &Digest,
        manifest: Option<&Manifest>,
    ) -> Result<Option<String>, OpError> {
        let parsed = manifest.and_then(|m| serde_json::from_slice::<serde_json::Value>(&m.bytes).ok());
        if let Some(v) = parsed.filter(|v| v.get("manifests").is_none()) {
            if let Some(rev) = v.get("annotations").and_then(|a| a.get(REVISION)).and_then(text) {
                return Ok(Some(rev));
            }
            let Some(config) = v
                .get("config")
                .and_then(|c| c.get("digest"))
                .and_then(serde_json::Value::as_str)
                .and_then(|d| d.parse::<Digest>().ok())
            else {
                return Ok(None);
            };
            self.count();
            let blob = self.registry.fetch_blob(repo, &config, 4 * 1024 * 1024).await?;
            let config: Option<serde_json::Value> = serde_json::from_slice(&blob).ok();
            return Ok(config
                .as_ref()
                .and_then(|c| c.get("config")?.get("Labels")?.get(REVISION))
                .and_then(text));
        }
        self.count();
        Ok(self.registry.image_revision(repo, digest).await?)
    }

    /// Returns the commit the records name when no signature is read: the staging stamps at
    /// the digest (read with HEADs where the listing lacks them), else the stamp's name.
    pub(super) async fn recorded_commit(
        &self,
        primary: &ImagePlan,
        inventory: &Inventory,
        stamp: Option<&Tag>,
    ) -> Result<SourceCommit, OpError> {
        let stamps = self
            .staging_stamps(&primary.repository, inventory, &primary.digest, None)
            .await?;
        let found = resolve_source_commit(
            &primary.digest,
            &CommitEvidence {
                certificate: None,
                revision: None,
                staging_stamps: stamps.iter().map(|(t, s, p)| (t, s.as_str(), *p)).collect(),
            },
        );
        let named = stamp.and_then(|t| match classify(&self.policy.tags, t.as_str()) {
            TagRole::ProdStamp { sha7, .. } => Some(SourceCommit {
                sha: sha7,
                source: crate::source::CommitSource::ProdStamp(t.clone()),
            }),
            _ => None,
        });
        Ok(match named {
            Some(n) if found.is_derived() => n,
            _ => found,
        })
    }

    /// Returns the staging stamps pointing at `digest` (only those naming `sha7`, when given),
    /// reading the digests the listing did not carry.
    pub(super) async fn staging_stamps(
        &self,
        repo: &Repository,
        inventory: &Inventory,
        digest: &Digest,
        sha7: Option<&str>,
    ) -> Result<Vec<(Tag, String, Option<crate::Timestamp>)>, OpError> {
        let tags = &self.policy.tags;
        // A rollback's listing, scoped to release tags, holds no staging stamps; they are not
        // listed again (on a service that ignores the name filter that would read every page):
        // the caller falls back to the release's own stamp name. Promote has no such name, so
        // it lists them apart, in full (an older stamp of the digest may be on any page).
        let relisted;
        let inventory = match super::scope::staging_scope(tags).filter(|_| inventory.staging_unlisted) {
            Some(scope) => {
                relisted = self.inventory(repo, Depth::Newest, &scope).await?;
                &relisted
            }
            None => inventory,
        };
        let wanted = |s: &str| sha7.is_none_or(|w| w == s);
        let mut found: Vec<_> = inventory
            .staging_stamps_at(tags, digest)
            .into_iter()
            .filter(|(_, s, _)| wanted(s))
            .map(|(t, s, p)| (t.clone(), s, p))
            .collect();
        for t in inventory.unresolved.iter().take(MAX_RESOLVES) {
            let TagRole::StagingStamp { sha7: s, .. } = classify(tags, t.tag.as_str()) else {
                continue;
            };
            if wanted(&s) && self.resolve(repo, &t.tag).await?.as_ref() == Some(digest) {
                found.push((t.tag.clone(), s, t.pushed));
            }
        }
        Ok(found)
    }

    /// Returns the prod timeline of `inventory`.
    pub(super) fn timeline(&self, inventory: &Inventory) -> Timeline {
        Timeline::build(&self.policy.tags, &inventory.known)
    }

    /// Returns the accepted signature of `digest` when the policy asks for one for `image`.
    pub(super) async fn verify(
        &self,
        image: &UnitImage,
        digest: &Digest,
    ) -> Result<Option<VerifiedSignature>, OpError> {
        if !image.verify || self.policy.signature.is_none() {
            return Ok(None);
        }
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let repo = &image.repository;
        let result = self.verifier.verify(repo, digest).await;
        let found = match &result {
            Ok(v) => v
                .identity
                .clone()
                .or_else(|| v.key.clone())
                .unwrap_or_else(|| "accepted".into()),
            Err(e) => format!("refused: {e}"),
        };
        self.note("verify", format!("{repo}@{digest}"), found);
        match result {
            Ok(v) if &v.digest == digest => Ok(Some(v)),
            Ok(v) => Err(OpError::new(
                OpErrorKind::Verification,
                format!(
                    "{repo}@{digest}: the accepted signature names {} instead; refusing",
                    v.digest
                ),
            )),
            Err(e) => Err(OpError {
                kind: OpErrorKind::Verification,
                message: format!("{repo}@{digest}: {e}; nothing was written"),
                source: Some(Box::new(e)),
            }),
        }
    }
}

/// The OCI annotation (and config label) naming an image's source commit.
const REVISION: &str = "org.opencontainers.image.revision";

/// Returns a JSON value as non-empty text.
fn text(v: &serde_json::Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Returns the revision annotation of an image manifest (not an index), when it carries one:
/// what the source commit comes from when no certificate names it, without a blob read.
pub(super) fn annotated_revision(manifest: &Manifest) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&manifest.bytes).ok()?;
    if v.get("manifests").is_some() {
        return None;
    }
    v.get("annotations")?.get(REVISION).and_then(text)
}
