//! The audit port: releases and deploy dispatches.

use super::*;

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
