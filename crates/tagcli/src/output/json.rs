//! The one JSON object every command prints with `--output json` (schema 2), as types:
//! docs/output.schema.json is generated from them and docs/output.md describes them.

use schemars::JsonSchema;
use serde::Serialize;
use tagcore::outcome::{SideStatus, TagStatus};
use tagcore::plan::TagKind;
use tagcore::retention::DeleteMode;
use tagcore::source::SourceCommit;
use tagcore::{Digest, VerifiedSignature};

pub(crate) use super::plan_json::{Budget, PushPlan, Read};

/// The version of this format.
pub(crate) const SCHEMA: u32 = 2;

/// The result of one tagcli command: one envelope for every command, then the fields of its
/// operation (`operation` says which).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "tagcli output")]
pub(crate) struct Output {
    /// The version of this format: 2.
    #[schemars(range(min = 2, max = 2))]
    pub(crate) schema: u32,
    /// The unit the command ran on; null when the configuration could not be read.
    pub(crate) unit: Option<String>,
    /// How the command ended; it decides the exit code.
    pub(crate) result: RunResultName,
    /// Whether the command only planned (`--dry-run`, or `prune` without `--apply`).
    pub(crate) dry_run: bool,
    /// Why the command failed: an object when `result` is `refused` or `partial`, else null.
    pub(crate) error: Option<ErrorObject>,
    /// Things the operator should know (incomplete listings, best-effort steps that failed…).
    pub(crate) warnings: Vec<String>,
    /// The rate-limit headers last seen, when a registry or the Hub API sent any.
    pub(crate) rate_limit: Option<RateLimits>,
    /// The operation and its fields.
    #[serde(flatten)]
    pub(crate) body: Body,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RunResultName {
    /// Done: something was written, or a read-only command answered (exit 0).
    Done,
    /// Nothing needed doing (exit 0).
    Noop,
    /// Planned only; nothing written (exit 0).
    DryRun,
    /// Refused or failed before any write: nothing changed (exit 1; 2 for a usage or input
    /// error).
    Refused,
    /// Failed after some writes: the tags say which moved; re-running converges (exit 3).
    Partial,
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct ErrorObject {
    /// What kind of failure: `usage`, `input`, `refused`, `verification`, `conflict`
    /// (a compare-and-swap re-read or read-back found a tag elsewhere), `superseded` (another
    /// run moved the channel), `history`, `registry_<kind>` (`registry_transient`,
    /// `registry_not_found`, `registry_unauthorized`…) or `audit_<kind>` (the release or
    /// deploy dispatch: `audit_unavailable`, `audit_rejected`, `audit_unauthorized`).
    #[schemars(regex(pattern = r"^[a-z]+(_[a-z]+)*$"))]
    pub(crate) kind: String,
    /// What was attempted and what was found; never contains a secret.
    pub(crate) message: String,
}

/// The rate-limit headers of the latest responses that carried any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct RateLimits {
    /// The registry's (`ratelimit-*`, e.g. Docker Hub's pull limit).
    pub(crate) registry: Option<RateLimit>,
    /// Docker Hub's Hub API (`x-ratelimit-*`).
    pub(crate) hub_api: Option<RateLimit>,
}

/// One service's rate-limit headers, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) struct RateLimit {
    /// The limit, e.g. `100;w=21600`.
    pub(crate) limit: Option<String>,
    /// What remains of it, e.g. `76;w=21600`.
    pub(crate) remaining: Option<String>,
    /// When it resets (the Hub API: a Unix time).
    pub(crate) reset: Option<String>,
}

impl From<registry_hub::RateLimit> for RateLimit {
    fn from(r: registry_hub::RateLimit) -> Self {
        Self {
            limit: r.limit,
            remaining: r.remaining,
            reset: r.reset,
        }
    }
}

/// The operation, and the fields it adds to the envelope. A command refused before it could
/// report has the same fields, empty (`[]`) or null.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub(crate) enum Body {
    /// `publish`.
    Publish(RunBody),
    /// `promote`.
    Promote(RunBody),
    /// `rollback`.
    Rollback(RunBody),
    /// `retag`.
    Retag(RunBody),
    /// `status`.
    Status(StatusBody),
    /// `history`.
    History(HistoryBody),
    /// `verify`.
    Verify(VerifyBody),
    /// `resolve`.
    Resolve(ResolveBody),
    /// `prune`.
    Prune(PruneBody),
    /// `policy check`.
    Policy(PolicyBody),
}

impl Body {
    /// Returns the empty body of `operation` (a command name), for a refusal.
    pub(crate) fn empty(operation: &str) -> Self {
        match operation {
            "publish" => Self::Publish(RunBody::default()),
            "rollback" => Self::Rollback(RunBody::default()),
            "retag" => Self::Retag(RunBody::default()),
            "status" => Self::Status(StatusBody::default()),
            "history" => Self::History(HistoryBody::default()),
            "verify" => Self::Verify(VerifyBody::default()),
            "resolve" => Self::Resolve(ResolveBody::default()),
            "prune" => Self::Prune(PruneBody::default()),
            "policy" => Self::Policy(PolicyBody::default()),
            _ => Self::Promote(RunBody::default()),
        }
    }
}

/// A publish, promote, rollback or retag: what was resolved, every tag write, the release and
/// the deploys.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct RunBody {
    /// Per image: its digest and its tag writes.
    pub(crate) images: Vec<RunImage>,
    /// The stamp or audit tag that names this release.
    pub(crate) stamp: Option<String>,
    /// The tag the operation went by (the promote source, the rollback target, the retag target).
    pub(crate) target: Option<String>,
    /// The source commit of the primary image's digest.
    pub(crate) source_commit: Option<Commit>,
    /// The release step.
    pub(crate) release: Option<Release>,
    /// The deploy dispatches.
    pub(crate) dispatches: Vec<Dispatch>,
    /// Set when another run moved the channel to this digest during this run.
    pub(crate) superseded_by: Option<String>,
    /// Why nothing will be written, when nothing will.
    pub(crate) notices: Vec<String>,
    /// The registry calls made to prepare, and the most the writes make; null when refused.
    pub(crate) budget: Option<Budget>,
    /// Every read and verification made before the first write, in order.
    pub(crate) reads: Vec<Read>,
    /// `publish --from --dry-run`: per image, its source and the blobs the registry lacks.
    pub(crate) push: Vec<PushPlan>,
}

/// One image of a run.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RunImage {
    /// The repository.
    pub(crate) repository: String,
    /// The digest the run points the tags at.
    pub(crate) digest: String,
    /// Where the channel pointed before.
    pub(crate) previous_digest: Option<String>,
    /// The signature that was accepted; null when verification is off for the image.
    pub(crate) verification: Option<Verification>,
    /// The tag writes, in order.
    pub(crate) tags: Vec<TagWrite>,
}

/// One tag write.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TagWrite {
    /// The tag.
    pub(crate) tag: String,
    /// Immutable (stamps, audit tags) or moving (channels, aliases).
    pub(crate) kind: TagKind,
    /// Where it pointed before; null when absent.
    pub(crate) from: Option<String>,
    /// Where the run points it.
    pub(crate) to: String,
    /// What happened.
    pub(crate) status: TagStatus,
}

/// An accepted signature.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Verification {
    /// The certificate identity (keyless).
    pub(crate) identity: Option<String>,
    /// The OIDC issuer (keyless).
    pub(crate) issuer: Option<String>,
    /// The public key's fingerprint (key-based).
    pub(crate) key: Option<String>,
    /// The workflow repository from the certificate.
    pub(crate) workflow_repository: Option<String>,
    /// The workflow ref from the certificate.
    pub(crate) workflow_ref: Option<String>,
    /// Which signature layer satisfied the policy.
    pub(crate) layer: String,
    /// When the signature was made, as a log entry or timestamp attests (RFC 3339).
    pub(crate) signed_at: Option<String>,
}

impl From<&VerifiedSignature> for Verification {
    fn from(v: &VerifiedSignature) -> Self {
        Self {
            identity: v.identity.clone(),
            issuer: v.issuer.clone(),
            key: v.key.clone(),
            workflow_repository: v.workflow_repository.clone(),
            workflow_ref: v.workflow_ref.clone(),
            layer: v.layer.clone(),
            signed_at: v.signed_at.map(|t| t.to_string()),
        }
    }
}

/// Where a source commit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CommitSourceName {
    /// The verified signature's certificate.
    Certificate,
    /// The image's revision annotation or label.
    Revision,
    /// A staging stamp on the same digest (`stamp` names it).
    StagingStamp,
    /// Nothing named it: `sha` is digest hex.
    Digest,
    /// The caller gave it (`publish --commit`).
    Input,
    /// The prod stamp written when the digest was promoted (`stamp` names it).
    ProdStamp,
}

/// A source commit and how it was found: the same shape in every command.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Commit {
    /// The commit or its 7-character prefix; digest hex when `source` is `digest`.
    pub(crate) sha: String,
    /// Where it came from.
    pub(crate) source: CommitSourceName,
    /// The stamp that named it, for `staging_stamp` and `prod_stamp`.
    pub(crate) stamp: Option<String>,
    /// Whether the commit is unknown and the digest stood in.
    pub(crate) derived_from_digest: bool,
}

impl From<&SourceCommit> for Commit {
    fn from(c: &SourceCommit) -> Self {
        use tagcore::source::CommitSource as S;
        Self {
            sha: c.sha.clone(),
            source: match c.source {
                S::Certificate => CommitSourceName::Certificate,
                S::Revision => CommitSourceName::Revision,
                S::StagingStamp(_) => CommitSourceName::StagingStamp,
                S::Digest => CommitSourceName::Digest,
                S::Input => CommitSourceName::Input,
                S::ProdStamp(_) => CommitSourceName::ProdStamp,
            },
            stamp: c.source.stamp().map(ToString::to_string),
            derived_from_digest: c.is_derived(),
        }
    }
}

/// The release step.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Release {
    /// The release tag.
    pub(crate) tag: String,
    /// Its URL, when created or edited.
    pub(crate) url: Option<String>,
    /// What happened.
    pub(crate) status: SideStatus,
    /// Why it failed.
    pub(crate) error: Option<ErrorObject>,
}

/// One deploy dispatch.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Dispatch {
    /// What it triggers.
    pub(crate) target: String,
    /// What happened.
    pub(crate) status: SideStatus,
    /// Why it failed.
    pub(crate) error: Option<ErrorObject>,
}

/// `status`: every channel and alias of the unit.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct StatusBody {
    /// Per image.
    pub(crate) images: Vec<StatusImage>,
}

/// One image's channels.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct StatusImage {
    /// The repository.
    pub(crate) repository: String,
    /// Its channels and aliases.
    pub(crate) channels: Vec<Channel>,
}

/// A channel or alias and where it points.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Channel {
    /// The tag.
    pub(crate) tag: String,
    /// `staging`, `prod`, `prod_alias` or `publish_alias`.
    pub(crate) role: String,
    /// Its digest; null when the tag does not exist.
    pub(crate) digest: Option<String>,
    /// The stamps and audit tags on the same digest.
    pub(crate) stamps: Vec<String>,
    /// The source commit of the digest, from the registry alone.
    pub(crate) source_commit: Option<Commit>,
}

/// `history`: the prod timeline of the primary image, newest first.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct HistoryBody {
    /// The primary image; null when refused.
    pub(crate) repository: Option<String>,
    /// Where prod points now.
    pub(crate) current: Option<String>,
    /// The prod moves, newest first.
    pub(crate) events: Vec<Event>,
}

/// One prod move.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Event {
    /// The stamp, audit or version tag that records it.
    pub(crate) tag: String,
    /// The digest prod was set to.
    pub(crate) digest: String,
    /// `promotion` or `rollback`.
    pub(crate) kind: String,
    /// For a rollback: the target's name without the stamp prefix, from the audit tag.
    pub(crate) target_suffix: Option<String>,
    /// When the tag was pushed, if the registry says (RFC 3339).
    pub(crate) pushed: Option<String>,
    /// The time the tag's name carries (RFC 3339; a day's start for stamps).
    pub(crate) named_at: Option<String>,
    /// Set on promotions that a later rollback undid.
    pub(crate) rolled_back: bool,
}

/// `verify`: the signature accepted for a digest.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct VerifyBody {
    /// The repository; null when refused.
    pub(crate) repository: Option<String>,
    /// The digest verified.
    pub(crate) digest: Option<String>,
    /// The accepted signature.
    pub(crate) verification: Option<Verification>,
    /// The source commit and how it was found.
    pub(crate) source_commit: Option<Commit>,
}

/// `resolve`: the digest-pinned reference of every image on a channel.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct ResolveBody {
    /// The channel or release resolved; null when refused.
    pub(crate) tag: Option<String>,
    /// Whether each digest was verified first.
    pub(crate) verified: bool,
    /// Whether every image got a reference.
    pub(crate) complete: bool,
    /// Per image.
    pub(crate) images: Vec<ResolvedImage>,
}

/// One image's pinned reference.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ResolvedImage {
    /// The repository.
    pub(crate) repository: String,
    /// The digest the tag points at.
    pub(crate) digest: String,
    /// `repo@sha256:…`; null when refused (the note says why).
    pub(crate) reference: Option<String>,
    /// The accepted signature, with `--verified`.
    pub(crate) verification: Option<Verification>,
    /// Why it was refused, or a remark.
    pub(crate) note: Option<String>,
}

/// `prune`: what is (or would be) deleted and what is kept.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct PruneBody {
    /// How many tags were deleted.
    pub(crate) deleted: usize,
    /// Per image.
    pub(crate) images: Vec<PruneImage>,
}

/// One image's deletions.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PruneImage {
    /// The repository.
    pub(crate) repository: String,
    /// How the registry deletes; null when it cannot.
    pub(crate) delete_mode: Option<DeleteMode>,
    /// The tags to delete, oldest first.
    pub(crate) delete: Vec<PruneDelete>,
    /// The tags kept, with the reason.
    pub(crate) keep: Vec<PruneKeep>,
}

/// A tag to delete.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PruneDelete {
    /// The tag.
    pub(crate) tag: String,
    /// Its digest.
    pub(crate) digest: String,
    /// Why it goes.
    pub(crate) reason: String,
    /// `planned`, `deleted`, `failed` or `not_attempted`.
    pub(crate) status: String,
    /// Why the deletion failed.
    pub(crate) error: Option<ErrorObject>,
}

/// A tag kept.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PruneKeep {
    /// The tag.
    pub(crate) tag: String,
    /// Its digest.
    pub(crate) digest: String,
    /// Why it stays.
    pub(crate) reason: String,
}

/// `policy check`: the resolved policy, secrets redacted.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct PolicyBody {
    /// The resolved unit (its shape: docs/tagcli.schema.json); null when refused.
    pub(crate) policy: Option<serde_json::Value>,
}

/// Returns a digest as a string.
pub(crate) fn digest(d: &Digest) -> String {
    d.to_string()
}

/// Returns the JSON Schema of [`Output`], pretty-printed with a final newline (checked in as
/// docs/output.schema.json by a test).
#[cfg(test)]
pub(crate) fn json_schema() -> String {
    let schema = schemars::schema_for!(Output);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
