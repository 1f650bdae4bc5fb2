//! The policy as written (plain, deserialisable data with defaults), before validation.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Whether a step is skipped, may fail with a warning, or must succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum StepMode {
    /// The step is not run.
    Off,
    /// A failure is reported as a warning; the operation goes on.
    BestEffort,
    /// A failure stops the operation (before a moving write) or fails it (after).
    Required,
}

/// What promote does when the source digest is already in prod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AlreadyInProd {
    /// Write nothing and say so.
    Skip,
    /// Write a new prod stamp for the same digest (prod does not move).
    Restamp,
}

/// Which inputs promote accepts as its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    /// The staging channel tag.
    Staging,
    /// Any explicit tag.
    Tag,
    /// A version tag (`v0.2.13` or `0.2.13`).
    Version,
    /// An explicit digest.
    Digest,
}

/// What rollback accepts as its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum TargetMode {
    /// A prod stamp.
    Stamp,
    /// A version tag.
    Version,
}

/// One image of the unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// The full repository, e.g. `docker.io/nearai/cloud-api`.
    pub repository: String,
    /// Whether prod writes of this image need a verified signature.
    #[serde(default = "yes")]
    pub verify: bool,
    /// The operations that move this image (`publish`, `promote`, `rollback`, `retag`);
    /// `None` means all of them.
    #[serde(default)]
    pub operations: Option<Vec<String>>,
    /// Whether publish writes the staging stamp for this image.
    #[serde(default = "yes")]
    pub staging_stamp: bool,
}

impl Default for ImageSpec {
    fn default() -> Self {
        Self {
            repository: String::new(),
            verify: true,
            operations: None,
            staging_stamp: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Tag names and templates (`docs/policy.md`, `[tags]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct TagsSpec {
    /// The staging channel.
    pub staging: String,
    /// The staging stamp template; empty disables staging stamps.
    pub staging_stamp: String,
    /// The prod channel.
    pub prod: String,
    /// The prod stamp template; empty disables prod stamps (chat-api's version-tag history).
    pub prod_stamp: String,
    /// Tags that move with prod.
    pub prod_aliases: Vec<String>,
    /// Tags that move with staging on publish.
    pub publish_aliases: Vec<String>,
    /// The rollback audit tag template.
    pub rollback_audit: String,
    /// The image tag of a version (`{version}`).
    pub version: String,
    /// Extra protected globs for retag, beyond the prod-owned names which are always protected.
    pub protected: Vec<String>,
}

impl Default for TagsSpec {
    fn default() -> Self {
        Self {
            staging: "staging".into(),
            staging_stamp: "staging-{date}-{sha7}".into(),
            prod: "prod".into(),
            prod_stamp: "prod-{date}-{sha7}".into(),
            prod_aliases: Vec::new(),
            publish_aliases: Vec::new(),
            rollback_audit: "prod-rollback-{date}-{time}-from-{target_suffix}".into(),
            version: "{version}".into(),
            protected: vec!["prod".into(), "prod-*".into(), "staging-*".into()],
        }
    }
}

/// Publish settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PublishSpec {
    /// UTC weekdays on which staging does not move unless forced, e.g. `["tue", "wed"]`.
    pub freeze_weekdays: Vec<String>,
}

/// Promote settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PromoteSpec {
    /// Accepted sources; the first is the default when none is given.
    pub sources: Vec<SourceMode>,
    /// A confirm string the caller must repeat exactly; empty means none.
    pub confirm: String,
    /// What to do when the digest is already in prod.
    pub already_in_prod: AlreadyInProd,
    /// Whether the images of one promotion may carry certificates naming different commits.
    pub allow_mixed_commits: bool,
}

impl Default for PromoteSpec {
    fn default() -> Self {
        Self {
            sources: vec![SourceMode::Staging, SourceMode::Digest],
            confirm: String::new(),
            already_in_prod: AlreadyInProd::Skip,
            allow_mixed_commits: false,
        }
    }
}

/// Rollback settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RollbackSpec {
    /// A confirm string the caller must repeat exactly; empty means none.
    pub confirm: String,
    /// Whether the audit tag may fail (best-effort) or stops everything (required).
    pub audit_tag: StepMode,
    /// Accepted explicit targets.
    pub targets: Vec<TargetMode>,
    /// Whether the target may be resolved from the history when omitted.
    pub automatic: bool,
}

impl Default for RollbackSpec {
    fn default() -> Self {
        Self {
            confirm: String::new(),
            audit_tag: StepMode::BestEffort,
            targets: vec![TargetMode::Stamp],
            automatic: true,
        }
    }
}

/// Signature policy as written (`docs/policy.md`, `[verify]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct VerifySpec {
    /// OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// Exact certificate identity (keyless).
    pub identity: Option<String>,
    /// Certificate identity regex, always anchored (keyless).
    pub identity_regex: Option<String>,
    /// GitHub workflow repository the certificate must name.
    pub workflow_repository: Option<String>,
    /// Allowed workflow refs: exact, or a `refs/…` prefix with one trailing `*`.
    pub workflow_refs: Vec<String>,
    /// A public key (path or PEM) instead of keyless.
    pub key: Option<String>,
    /// A `trusted_root.json`; default is the pinned public-good root.
    pub trusted_root: Option<String>,
    /// Other repositories whose signatures count for this unit's images (mirrors): a
    /// signature's payload must name the repository being verified or one of these.
    pub allowed_references: Vec<String>,
    /// Accept keyless certificates without a verified SCT (cosign's `--insecure-ignore-sct`).
    pub insecure_ignore_sct: bool,
}

/// Release settings (the audit release of each prod move).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ReleaseSpec {
    /// Off, best-effort or required (a failure after prod moved is exit 3).
    pub mode: StepMode,
}

impl Default for ReleaseSpec {
    fn default() -> Self {
        Self { mode: StepMode::Off }
    }
}

/// One deploy dispatch target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct DispatchSpec {
    /// What the target triggers, for messages (e.g. `repository_dispatch deploy-x on o/r`).
    pub target: String,
    /// Operations after which to dispatch: `publish`, `promote`, `rollback`.
    pub after: Vec<String>,
    /// Best-effort or required.
    pub mode: StepMode,
    /// The payload: key to template; `None` sends no payload at all.
    pub payload: Option<BTreeMap<String, String>>,
    /// The payload's field name in the file, for messages (`inputs`, `client_payload`).
    pub payload_field: String,
    /// The most keys the payload may have.
    pub payload_max_keys: usize,
}

impl Default for DispatchSpec {
    fn default() -> Self {
        Self {
            target: String::new(),
            after: Vec::new(),
            mode: StepMode::Required,
            payload: None,
            payload_field: "payload".into(),
            payload_max_keys: 10,
        }
    }
}

/// Retention as written (`docs/policy.md`, `[retention]`): what `prune` may delete.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSpec {
    /// The newest releases (promotions and rollbacks) whose tags are always kept: the rollback
    /// window. At least 1.
    pub keep_releases: usize,
    /// Tags younger than this many days are kept; a tag of unknown age is kept unless this is 0.
    pub keep_days: u32,
    /// Only tags matching one of these globs (`*` matches any run) are ever deleted.
    pub prunable: Vec<String>,
}

impl Default for RetentionSpec {
    fn default() -> Self {
        Self {
            keep_releases: 10,
            keep_days: 30,
            prunable: vec!["staging-*".into(), "pr-*".into(), "sha-*".into()],
        }
    }
}

/// A whole policy as written, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PolicySpec {
    /// The unit's name.
    pub unit: String,
    /// The images; the first is the primary.
    pub images: Vec<ImageSpec>,
    /// Tag names and templates.
    pub tags: TagsSpec,
    /// Publish settings.
    pub publish: PublishSpec,
    /// Promote settings.
    pub promote: PromoteSpec,
    /// Rollback settings.
    pub rollback: RollbackSpec,
    /// Signature policy; `None` disables verification (then no image may ask for it).
    pub verify: Option<VerifySpec>,
    /// Release settings.
    pub release: ReleaseSpec,
    /// Dispatch targets.
    pub dispatch: Vec<DispatchSpec>,
    /// Retention (what `prune` may delete).
    pub retention: RetentionSpec,
}
