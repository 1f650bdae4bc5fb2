//! Reads shared by the operations: counted, checked, and mapped to operation errors.

use super::{Engine, OpError, OpErrorKind};
use crate::history::{KnownTag, TagRole, Timeline, classify};
use crate::policy::UnitImage;
use crate::source::{CommitEvidence, SourceCommit, resolve_source_commit};
use crate::{
    AuditSink, Digest, Manifest, Registry, RegistryErrorKind, Repository, Tag, TagListing, VerifiedSignature,
    Verifier,
};

/// The most tags whose digest is read one by one (registries that list names only).
const MAX_RESOLVES: usize = 500;

/// How many of those reads are in flight at once.
const PARALLEL_READS: usize = 8;

/// How much of the history an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// Every release tag (rollback, history, status).
    Full,
    /// Only the newest day of release tags (promote: is the newest event ours?); staging
    /// stamps are read later, and only if the source commit needs them.
    Newest,
}

/// A repository's tags, classified, with digests where known.
pub(super) struct Inventory {
    pub(super) known: Vec<KnownTag>,
    /// Staging stamps listed without a digest and not read yet (depth `Newest`).
    unresolved: Vec<crate::ListedTag>,
    /// Whether older release tags were left out (depth `Newest` on a names-only listing).
    pub(super) older_skipped: bool,
    /// Every name the listing carried (when it was complete).
    listed: Option<std::collections::BTreeSet<Tag>>,
    pub(super) warnings: Vec<String>,
    pub(super) truncated: bool,
}

impl Inventory {
    /// Returns what the listing already says about `tag`, when it says enough to skip a read:
    /// `Some(Some(digest))` when its digest is known, `Some(None)` when a complete listing does
    /// not carry the name, `None` otherwise.
    pub(super) fn lookup(&self, tag: &Tag) -> Option<Option<Digest>> {
        if let Some(k) = self.known.iter().find(|k| &k.tag == tag) {
            return Some(Some(k.digest.clone()));
        }
        let listed = self.listed.as_ref()?;
        (!listed.contains(tag)).then_some(None)
    }

    /// Returns the staging stamps pointing at `digest`, with their sha7 and push time.
    pub(super) fn staging_stamps_at<'a>(
        &'a self,
        engine_tags: &crate::policy::TagPolicy,
        digest: &Digest,
    ) -> Vec<(&'a Tag, String, Option<crate::Timestamp>)> {
        self.known
            .iter()
            .filter(|k| &k.digest == digest)
            .filter_map(|k| match classify(engine_tags, k.tag.as_str()) {
                TagRole::StagingStamp { sha7, .. } => Some((&k.tag, sha7, k.pushed)),
                _ => None,
            })
            .collect()
    }
}

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
    async fn resolve_quietly(&self, repo: &Repository, tag: &Tag) -> Result<Option<Digest>, OpError> {
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

    /// Returns the repository's tags with digests for the roles that matter (stamps, audit
    /// tags, versions), reading digests one by one where the listing lacks them.
    pub(super) async fn inventory(&self, repo: &Repository, depth: Depth) -> Result<Inventory, OpError> {
        self.count();
        let TagListing {
            tags,
            truncated,
            skipped_invalid,
        } = self.registry.list_tags(repo).await.map_err(|e| {
            let mut err = OpError::from(e);
            err.message = format!("listing tags of {repo}: {}", err.message);
            err
        })?;
        let mut warnings = Vec::new();
        if let Some(reason) = &truncated {
            warnings.push(format!("tag listing of {repo} is incomplete: {reason}"));
        }
        if !skipped_invalid.is_empty() {
            warnings.push(format!(
                "{repo}: skipped {} invalid tag names from the listing",
                skipped_invalid.len()
            ));
        }
        let tags_policy = &self.policy.tags;
        let listed = tags.len();
        let names = truncated.is_none().then(|| {
            tags.iter()
                .map(|t| t.tag.clone())
                .collect::<std::collections::BTreeSet<_>>()
        });
        let versions_are_history = tags_policy.prod_stamp.is_none();
        // Each relevant tag with its role and the day its name carries ("" when none).
        let mut relevant: Vec<(crate::ListedTag, TagRole, String)> = tags
            .into_iter()
            .filter_map(|t| {
                let role = classify(tags_policy, t.tag.as_str());
                let day = match &role {
                    TagRole::ProdStamp { date, .. } | TagRole::StagingStamp { date, .. } => {
                        date.clone().unwrap_or_default()
                    }
                    TagRole::RollbackAudit { date, .. } => date.clone(),
                    TagRole::Version { .. } if versions_are_history => String::new(),
                    _ => return None,
                };
                Some((t, role, day))
            })
            .collect();
        // Newest first (push time, then the day in the name), so a cap drops the oldest.
        relevant.sort_by(|a, b| {
            b.0.pushed
                .cmp(&a.0.pushed)
                .then_with(|| b.2.cmp(&a.2))
                .then_with(|| b.0.tag.cmp(&a.0.tag))
        });
        let newest_release_day = relevant
            .iter()
            .filter(|(_, role, _)| !matches!(role, TagRole::StagingStamp { .. }))
            .map(|(_, _, day)| day.clone())
            .max()
            .unwrap_or_default();
        let mut unresolved = Vec::new();
        let mut older_skipped = false;
        let mut capped = false;
        let mut chosen: Vec<crate::ListedTag> = Vec::new();
        let mut resolves = 0;
        for (t, role, day) in relevant {
            if t.digest.is_none() && depth == Depth::Newest {
                if matches!(role, TagRole::StagingStamp { .. }) {
                    unresolved.push(t);
                    continue;
                }
                if day < newest_release_day {
                    older_skipped = true;
                    continue;
                }
            }
            if t.digest.is_none() {
                if resolves == MAX_RESOLVES {
                    capped = true;
                    continue;
                }
                resolves += 1;
            }
            chosen.push(t);
        }
        let known = self.digests_of(repo, chosen).await?;
        self.note(
            "list",
            repo.to_string(),
            format!(
                "{listed} tags, {} release tags, {resolves} digests read one by one{}",
                known.len(),
                if truncated.is_some() {
                    ", listing incomplete"
                } else {
                    ""
                }
            ),
        );
        if capped {
            warnings.push(format!(
                "{repo}: read the digests of the newest {MAX_RESOLVES} release tags only; older ones are not in the history"
            ));
        }
        Ok(Inventory {
            known,
            unresolved,
            older_skipped,
            listed: names,
            warnings,
            truncated: truncated.is_some() || capped,
        })
    }

    /// Returns, per image, the manifest its writes will put: fetched (and its sha256 checked)
    /// only for the images that have something to write, all at once. A re-run whose every tag
    /// is in place reads no manifest.
    pub(super) async fn manifests_for(
        &self,
        images: &[crate::plan::ImagePlan],
        steps: &[crate::plan::WriteStep],
    ) -> Result<Vec<Option<Manifest>>, OpError> {
        futures_util::future::try_join_all(images.iter().enumerate().map(|(k, img)| async move {
            if steps.iter().any(|s| s.image == k && !s.is_noop()) {
                self.manifest(&img.repository, &img.digest).await.map(Some)
            } else {
                Ok(None)
            }
        }))
        .await
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
        let revision = match certificate {
            Some(_) => None,
            None => {
                self.count();
                let r = self.registry.image_revision(repo, digest).await?;
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
