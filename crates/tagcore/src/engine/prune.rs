//! Prune: delete what the retention policy marks prunable, per image, and say why everything
//! else is kept. A dry run unless asked to apply.

use serde::Serialize;

use super::{Engine, OpError, OpErrorKind};
use crate::retention::{DeleteMode, PrunePlan, RetentionPolicy};
use crate::{AuditSink, Digest, Registry, Repository, Tag, TagListing, Timestamp, Verifier};

/// What `prune` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneRequest {
    /// The retention policy.
    pub retention: RetentionPolicy,
    /// Delete (`true`) or only report (`false`, the default of the CLI).
    pub apply: bool,
}

/// One image's prune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImagePrune {
    /// The repository.
    pub repository: Repository,
    /// How the registry deletes.
    pub mode: Option<DeleteMode>,
    /// What is deleted and what is kept, with reasons.
    pub plan: PrunePlan,
    /// The tags deleted (when applied).
    pub deleted: Vec<Tag>,
    /// The deletions that failed, with the kind and reason.
    pub failed: Vec<(Tag, crate::outcome::Failure)>,
}

/// The prune of every image of the unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// The unit.
    pub unit: String,
    /// Whether deletions were made.
    pub applied: bool,
    /// Per image.
    pub images: Vec<ImagePrune>,
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Plans the prune of every image from a complete listing (digests read where the listing
    /// lacks them) and, when `apply`, deletes oldest first. Refuses to delete from an incomplete
    /// listing or on a registry that cannot delete; a deletion that fails is reported and the
    /// others go on.
    #[tracing::instrument(name = "prune", skip_all, fields(unit = %self.policy.unit, apply = req.apply))]
    pub async fn prune(&self, req: &PruneRequest, now: Timestamp) -> Result<PruneReport, OpError> {
        let mut images = Vec::new();
        for image in &self.policy.images {
            let repo = &image.repository;
            self.count();
            let TagListing { tags, truncated, .. } = self.registry.list_tags(repo).await.map_err(|e| {
                let mut err = OpError::from(e);
                err.message = format!("listing tags of {repo}: {}", err.message);
                err
            })?;
            if let Some(why) = truncated {
                return Err(OpError::new(
                    OpErrorKind::Refused,
                    format!(
                        "the tag listing of {repo} is incomplete ({why}); nothing is pruned from a partial view"
                    ),
                ));
            }
            let mode = self.registry.delete_mode();
            let listed = tags
                .into_iter()
                .filter(|t| !crate::is_signature_artifact(t.tag.as_str()))
                .collect();
            let known = self.digests_of(repo, listed).await?;
            let plan = req.retention.plan(
                &self.policy.tags,
                &known,
                now,
                mode.unwrap_or(DeleteMode::ByDigest),
            );
            images.push(ImagePrune {
                repository: repo.clone(),
                mode,
                plan,
                deleted: Vec::new(),
                failed: Vec::new(),
            });
        }
        if req.apply {
            if let Some(img) = images
                .iter()
                .find(|i| i.mode.is_none() && !i.plan.delete.is_empty())
            {
                return Err(OpError::new(
                    OpErrorKind::Refused,
                    format!(
                        "{} cannot delete tags (the registry refuses deletes); nothing was deleted",
                        img.repository
                    ),
                ));
            }
            let mut any_deleted = false;
            for img in &mut images {
                self.delete_planned(img, any_deleted).await?;
                any_deleted |= !img.deleted.is_empty();
            }
        }
        Ok(PruneReport {
            unit: self.policy.unit.clone(),
            applied: req.apply,
            images,
        })
    }

    /// Returns the channels and aliases of `img` with their digests read now, on a registry that
    /// deletes by digest (empty otherwise): a channel moved onto a planned digest since the
    /// listing (a rollback racing the prune) keeps that manifest.
    async fn channels_now(&self, img: &ImagePrune) -> Result<Vec<(Tag, Digest)>, OpError> {
        if img.mode != Some(DeleteMode::ByDigest) || img.plan.delete.is_empty() {
            return Ok(Vec::new());
        }
        let t = &self.policy.tags;
        let mut out = Vec::new();
        let channels = [&t.prod, &t.staging]
            .into_iter()
            .chain(&t.prod_aliases)
            .chain(&t.publish_aliases);
        for channel in channels {
            self.count();
            if let Some(d) = self.registry.resolve_tag(&img.repository, channel).await? {
                out.push((channel.clone(), d));
            }
        }
        Ok(out)
    }

    /// Deletes the planned tags of `img`, oldest first. A registry that turns out to disallow
    /// deletes stops the run: a refusal when nothing was deleted yet, else a recorded failure.
    async fn delete_planned(&self, img: &mut ImagePrune, any_deleted: bool) -> Result<(), OpError> {
        let moved_here = self.channels_now(img).await?;
        for v in &img.plan.delete {
            if let Some(channel) = moved_here.iter().find(|(_, d)| d == &v.digest).map(|(c, _)| c) {
                img.failed.push((
                    v.tag.clone(),
                    crate::outcome::Failure::new(
                        OpErrorKind::Conflict,
                        format!(
                            "{channel} moved to {} since the plan; deleting that manifest would take it along, not deleted",
                            v.digest
                        ),
                    ),
                ));
                continue;
            }
            self.count();
            match self.registry.delete_tag(&img.repository, &v.tag, &v.digest).await {
                Ok(()) => img.deleted.push(v.tag.clone()),
                Err(e) if e.kind == crate::RegistryErrorKind::Unsupported => {
                    if !any_deleted && img.deleted.is_empty() {
                        return Err(OpError::new(
                            OpErrorKind::Refused,
                            format!("{}; nothing was deleted", e.message),
                        ));
                    }
                    img.failed.push((v.tag.clone(), failure(&e)));
                    break;
                }
                Err(e) => img.failed.push((v.tag.clone(), failure(&e))),
            }
        }
        Ok(())
    }
}

/// Returns the failure of a deletion the registry refused.
fn failure(e: &crate::RegistryError) -> crate::outcome::Failure {
    crate::outcome::Failure::new(OpErrorKind::Registry(e.kind), e.to_string())
}
