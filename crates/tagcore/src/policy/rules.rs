//! The `[promote]` and `[rollback]` sections.

use super::{
    AlreadyInProd, PolicyError, PromoteSpec, RollbackSpec, SourceMode, StepMode, TagPolicy, TargetMode,
    UnitImage, err,
};
use crate::OperationKind;

/// Promote rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotePolicy {
    /// Accepted sources; the first is the default.
    pub sources: Vec<SourceMode>,
    /// The confirm string, if one is required.
    pub confirm: Option<String>,
    /// What to do when the digest is already in prod.
    pub already_in_prod: AlreadyInProd,
    /// Whether the images of one promotion may come from different commits.
    pub allow_mixed_commits: bool,
}

impl PromotePolicy {
    /// Returns the validated `[promote]` section for a unit of `images`, or the first problem.
    pub fn from_spec(p: &PromoteSpec, images: &[UnitImage]) -> Result<Self, PolicyError> {
        if p.sources.is_empty() {
            return Err(err(
                "promote.sources",
                "needs at least one of staging, tag, version, digest",
            ));
        }
        if images
            .iter()
            .filter(|i| i.takes_part(OperationKind::Promote))
            .count()
            > 1
            && p.sources == [SourceMode::Digest]
        {
            return Err(err(
                "promote.sources",
                "a digest names one image's manifest; a unit of several images needs staging, tag or version",
            ));
        }
        Ok(Self {
            sources: p.sources.clone(),
            confirm: non_empty(&p.confirm),
            already_in_prod: p.already_in_prod,
            allow_mixed_commits: p.allow_mixed_commits,
        })
    }
}

/// Rollback rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPolicy {
    /// The confirm string, if one is required.
    pub confirm: Option<String>,
    /// Audit tag mode (never `Off`).
    pub audit_tag: StepMode,
    /// Accepted explicit targets.
    pub targets: Vec<TargetMode>,
    /// Whether the target may be resolved automatically.
    pub automatic: bool,
}

impl RollbackPolicy {
    /// Returns the validated `[rollback]` section for the tag vocabulary `tags`, or the first
    /// problem.
    pub fn from_spec(r: &RollbackSpec, tags: &TagPolicy) -> Result<Self, PolicyError> {
        if r.audit_tag == StepMode::Off {
            return Err(err(
                "rollback.audit_tag",
                "must be best-effort or required; every prod move leaves a record",
            ));
        }
        if r.targets.is_empty() {
            return Err(err("rollback.targets", "needs at least one of stamp, version"));
        }
        if tags.prod_stamp.is_none() {
            if r.automatic {
                return Err(err(
                    "rollback.automatic",
                    "automatic rollback reads the prod timeline from prod stamps, but tags.prod_stamp is empty",
                ));
            }
            if r.targets.contains(&TargetMode::Stamp) {
                return Err(err("rollback.targets", "`stamp` needs tags.prod_stamp"));
            }
        }
        Ok(Self {
            confirm: non_empty(&r.confirm),
            audit_tag: r.audit_tag,
            targets: r.targets.clone(),
            automatic: r.automatic,
        })
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}
