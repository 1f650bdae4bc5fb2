//! Outcomes: what an executed plan did, tag by tag.

use serde::Serialize;

use crate::engine::OpErrorKind;
use crate::plan::{Plan, TagKind};
use crate::{Digest, Repository, Tag};

/// What happened to one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TagStatus {
    /// The plan would write it (dry run).
    Planned,
    /// It did not exist and now points at the digest.
    Created,
    /// It pointed elsewhere and now points at the digest.
    Moved,
    /// It already pointed at the digest.
    Unchanged,
    /// The write was attempted and failed.
    Failed,
    /// An earlier failure stopped the run before this write.
    NotAttempted,
}

impl TagStatus {
    /// Returns the status's machine name (`planned`, `created`, …), as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Created => "created",
            Self::Moved => "moved",
            Self::Unchanged => "unchanged",
            Self::Failed => "failed",
            Self::NotAttempted => "not_attempted",
        }
    }

    /// Returns whether the registry changed for this tag.
    pub fn wrote(self) -> bool {
        matches!(self, Self::Created | Self::Moved)
    }
}

/// One tag's before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagChange {
    /// The repository.
    pub repository: Repository,
    /// The tag.
    pub tag: Tag,
    /// Immutable or moving.
    pub kind: TagKind,
    /// Where it pointed before (`None`: absent).
    pub from: Option<Digest>,
    /// Where the plan points it.
    pub to: Digest,
    /// What happened.
    pub status: TagStatus,
}

/// What happened to the release or dispatch step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SideStatus {
    /// Dry run: it would run.
    Planned,
    /// Created.
    Created,
    /// An existing one was edited.
    Updated,
    /// Done (dispatch).
    Sent,
    /// It failed; the message says why.
    Failed,
    /// Not run (nothing moved, or an earlier failure).
    Skipped,
}

impl SideStatus {
    /// Returns the status's machine name (`planned`, `created`, …), as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// The release step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseOutcome {
    /// The release tag.
    pub tag: String,
    /// Its URL, when created or edited.
    pub url: Option<String>,
    /// What happened.
    pub status: SideStatus,
    /// Why it failed, with its kind.
    pub error: Option<Failure>,
}

/// One dispatch target's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DispatchOutcome {
    /// What the target triggers.
    pub target: String,
    /// What happened.
    pub status: SideStatus,
    /// Why it failed, with its kind.
    pub error: Option<Failure>,
}

/// Why a run stopped: a kind to act on (a compare-and-swap conflict, a transient registry
/// failure, a failed release…) and a message naming what was attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// What kind of failure; the same kinds as a refusal before any write.
    pub kind: OpErrorKind,
    /// A message naming the tag, release or dispatch involved; never contains secrets.
    pub message: String,
}

impl Failure {
    /// Returns a failure of `kind` with `message`.
    pub fn new(kind: OpErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// How the run ended, which decides the exit code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "error")]
pub enum RunResult {
    /// Everything done (some tags may have been unchanged).
    Done,
    /// Nothing needed doing.
    NoOp,
    /// Printed the plan, wrote nothing.
    DryRun,
    /// Failed before any write: nothing changed.
    FailedBeforeWrite(Failure),
    /// Failed after some writes: the tags say which moved; re-running converges.
    Partial(Failure),
}

impl RunResult {
    /// Returns the failure of a run that failed, before or after its writes.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::FailedBeforeWrite(f) | Self::Partial(f) => Some(f),
            Self::Done | Self::NoOp | Self::DryRun => None,
        }
    }
}

/// What an executed (or dry-run) plan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The plan that ran.
    pub plan: Plan,
    /// Every tag of the plan, in order, with its status.
    pub tags: Vec<TagChange>,
    /// The release step.
    pub release: Option<ReleaseOutcome>,
    /// The dispatch steps, one per target of the plan.
    pub dispatches: Vec<DispatchOutcome>,
    /// Warnings from the plan and the run.
    pub warnings: Vec<String>,
    /// How it ended.
    pub result: RunResult,
    /// Set when another run moved the channel to this digest during this run: this run
    /// stopped, and re-running it would undo that run's move.
    pub superseded_by: Option<Digest>,
}

impl Outcome {
    /// Returns the tags that the registry now holds differently because of this run.
    pub fn moved(&self) -> impl Iterator<Item = &TagChange> {
        self.tags.iter().filter(|t| t.status.wrote())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_names() {
        for s in [
            TagStatus::Planned,
            TagStatus::Created,
            TagStatus::Moved,
            TagStatus::Unchanged,
            TagStatus::Failed,
            TagStatus::NotAttempted,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [
            SideStatus::Planned,
            SideStatus::Created,
            SideStatus::Updated,
            SideStatus::Sent,
            SideStatus::Failed,
            SideStatus::Skipped,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        use crate::RegistryErrorKind as R;
        for k in [
            R::Unauthorized,
            R::Forbidden,
            R::NotFound,
            R::RateLimited,
            R::Transient,
            R::Conflict,
            R::InvalidResponse,
            R::InvalidInput,
            R::Unsupported,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(
                OpErrorKind::Registry(k).as_str(),
                format!("registry_{}", k.as_str())
            );
        }
        use crate::AuditErrorKind as A;
        for k in [A::Unauthorized, A::Rejected, A::Unavailable] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(OpErrorKind::Audit(k).as_str(), format!("audit_{}", k.as_str()));
        }
    }
}
