//! Read-only reports: status, history, verify.

use serde::Serialize;

use super::inventory::Depth;
use super::{Engine, OpError, OpErrorKind};
use crate::history::{Event, TagRole, classify};
use crate::source::{CommitEvidence, CommitSource, SourceCommit, resolve_source_commit};
use crate::{AuditSink, Digest, Registry, Repository, Tag, Target, VerifiedSignature, Verifier};

/// A channel or alias and where it points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagPointer {
    /// The tag.
    pub tag: Tag,
    /// `staging`, `prod`, `prod_alias` or `publish_alias`.
    pub role: &'static str,
    /// Its digest, if it exists.
    pub digest: Option<Digest>,
    /// The stamps and audit tags pointing at the same digest.
    pub stamps: Vec<Tag>,
    /// The source commit of that digest, from the registry alone (no signature read).
    pub source_commit: Option<SourceCommit>,
}

/// One image's channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageStatus {
    /// The repository.
    pub repository: Repository,
    /// Its channels and aliases.
    pub channels: Vec<TagPointer>,
}

/// Every channel and alias of the unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The unit.
    pub unit: String,
    /// Per image.
    pub images: Vec<ImageStatus>,
    /// Incomplete listings and the like.
    pub warnings: Vec<String>,
}

/// The prod timeline of the primary image, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryReport {
    /// The unit.
    pub unit: String,
    /// The primary image.
    pub repository: Repository,
    /// Where prod points now.
    pub current: Option<Digest>,
    /// Events, newest first.
    pub events: Vec<Event>,
    /// Incomplete listings and the like.
    pub warnings: Vec<String>,
}

/// The result of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The repository.
    pub repository: Repository,
    /// The digest verified.
    pub digest: Digest,
    /// The accepted signature.
    pub signature: VerifiedSignature,
    /// The source commit and how it was found.
    pub source_commit: SourceCommit,
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Returns every channel and alias with its digest, stamps and source commit.
    #[tracing::instrument(name = "status", skip_all, fields(unit = %self.policy.unit))]
    pub async fn status(&self) -> Result<StatusReport, OpError> {
        let tags = &self.policy.tags;
        let mut images = Vec::new();
        let mut warnings = Vec::new();
        for image in &self.policy.images {
            let repo = &image.repository;
            let inventory = self
                .inventory(repo, Depth::Full, &crate::ListingScope::default())
                .await?;
            warnings.extend(inventory.warnings.iter().cloned());
            let roles = std::iter::once((&tags.staging, "staging"))
                .chain(tags.publish_aliases.iter().map(|t| (t, "publish_alias")))
                .chain(std::iter::once((&tags.prod, "prod")))
                .chain(tags.prod_aliases.iter().map(|t| (t, "prod_alias")));
            let mut channels = Vec::new();
            for (tag, role) in roles {
                let digest = self.resolve(repo, tag).await?;
                let stamps: Vec<Tag> = digest
                    .as_ref()
                    .map(|d| {
                        let mut v: Vec<Tag> = inventory
                            .known
                            .iter()
                            .filter(|k| &k.digest == d)
                            .map(|k| k.tag.clone())
                            .collect();
                        v.sort();
                        v
                    })
                    .unwrap_or_default();
                // Status reads no signature: the registry's own records say the commit (a
                // staging stamp, else the prod stamp written when it was promoted).
                let source_commit = digest.as_ref().map(|d| {
                    let staging = inventory.staging_stamps_at(tags, d);
                    let found = resolve_source_commit(
                        d,
                        &CommitEvidence {
                            certificate: None,
                            revision: None,
                            staging_stamps: staging.iter().map(|(t, s, p)| (*t, s.as_str(), *p)).collect(),
                        },
                    );
                    let prod_stamp = inventory.known.iter().filter(|k| &k.digest == d).find_map(|k| {
                        match classify(tags, k.tag.as_str()) {
                            TagRole::ProdStamp { sha7, .. } => Some(SourceCommit {
                                sha: sha7,
                                source: CommitSource::ProdStamp(k.tag.clone()),
                            }),
                            _ => None,
                        }
                    });
                    match prod_stamp {
                        Some(p) if found.is_derived() => p,
                        _ => found,
                    }
                });
                channels.push(TagPointer {
                    tag: tag.clone(),
                    role,
                    digest,
                    stamps,
                    source_commit,
                });
            }
            images.push(ImageStatus {
                repository: repo.clone(),
                channels,
            });
        }
        Ok(StatusReport {
            unit: self.policy.unit.clone(),
            images,
            warnings,
        })
    }

    /// Returns the prod timeline of the primary image, newest first.
    #[tracing::instrument(name = "history", skip_all, fields(unit = %self.policy.unit))]
    pub async fn history(&self) -> Result<HistoryReport, OpError> {
        let repo = &self.policy.primary().repository;
        let scope = super::scope::release_scope(&self.policy.tags);
        let inventory = self.inventory(repo, Depth::Full, &scope).await?;
        let timeline = self.timeline(&inventory);
        let current = self.resolve(repo, &self.policy.tags.prod).await?;
        Ok(HistoryReport {
            unit: self.policy.unit.clone(),
            repository: repo.clone(),
            current,
            events: timeline.events.into_iter().rev().collect(),
            warnings: inventory.warnings,
        })
    }

    /// Runs the signature policy on `target` of image `image` (an index into the unit).
    #[tracing::instrument(name = "verify", skip_all, fields(unit = %self.policy.unit, image = image))]
    pub async fn verify_reference(&self, image: usize, target: &Target) -> Result<VerifyReport, OpError> {
        let Some(unit_image) = self.policy.images.get(image) else {
            return Err(OpError::new(
                OpErrorKind::Input,
                format!("image index {image} is not in the unit"),
            ));
        };
        if self.policy.signature.is_none() {
            return Err(OpError::new(
                OpErrorKind::Refused,
                "the policy has no [verify] section; nothing to verify against",
            ));
        }
        let repo = &unit_image.repository;
        let digest = match target {
            Target::Digest(d) => d.clone(),
            Target::Tag(t) => self.require(repo, t, "tag").await?,
        };
        let forced = crate::policy::UnitImage {
            verify: true,
            ..unit_image.clone()
        };
        let signature = self
            .verify(&forced, &digest)
            .await?
            .ok_or_else(|| OpError::new(OpErrorKind::Verification, "no signature policy applies"))?;
        let inventory = self
            .inventory(repo, Depth::Newest, &crate::ListingScope::default())
            .await?;
        let source_commit = self
            .source_commit(repo, &digest, signature.source_commit.as_ref(), &inventory)
            .await?;
        Ok(VerifyReport {
            repository: repo.clone(),
            digest,
            signature,
            source_commit,
        })
    }
}
