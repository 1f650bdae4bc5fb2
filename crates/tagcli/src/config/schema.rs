//! The policy file as written: one serde type per table, with the file's own field names.
//!
//! Every field, with its default, is documented in `docs/policy.md`; `docs/tagcli.schema.json`
//! is generated from these types.

use std::collections::BTreeMap;

use serde::Deserialize;
use tagcore::policy::{PromoteSpec, RetentionSpec, RollbackSpec, StepMode, TagsSpec, VerifySpec};

/// `[registry]`: where the images live and how to log in.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistry {
    /// Registry host (default `docker.io`), or `oci:<dir>` for a local OCI image layout.
    pub(super) host: Option<String>,
    /// Repository namespace, e.g. `nearai`; may be `${VAR}`.
    pub(super) namespace: Option<String>,
    /// Registry user name (else Docker's config.json); may be `${VAR}`.
    pub(super) username: Option<String>,
    /// Registry password or token; may be `${VAR}`.
    pub(super) password: Option<String>,
    /// Allow plain HTTP to a non-loopback registry.
    #[serde(default)]
    pub(super) insecure: bool,
    /// Extra CA bundle (PEM), relative to the policy file.
    pub(super) ca_file: Option<String>,
    /// Docker Hub's Hub API base URL (push times); `off` disables it. Default
    /// `https://hub.docker.com` for docker.io.
    pub(super) hub_api: Option<String>,
    /// Hub API user name; may be `${VAR}`.
    pub(super) hub_username: Option<String>,
    /// Hub API password or token; may be `${VAR}`.
    pub(super) hub_password: Option<String>,
    /// Which credentials the Hub API receives: `registry`, `hub` or `none`. Default: `hub` when
    /// hub_username/hub_password are set, else `registry` for `https://hub.docker.com` and `none`
    /// for any other hub_api.
    pub(super) hub_credentials: Option<HubCredentials>,
    /// Most Hub API pages read per listing.
    pub(super) hub_page_cap: Option<usize>,
}

/// Which credentials the Hub API receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum HubCredentials {
    /// The registry's `username`/`password`.
    Registry,
    /// `hub_username`/`hub_password`.
    Hub,
    /// None: anonymous listing.
    None,
}

/// One `[[image]]`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImage {
    /// Repository name under the namespace, e.g. `cloud-api`.
    pub(super) name: String,
    /// Whether prod writes of this image need a verified signature (default true).
    #[serde(default = "yes")]
    pub(super) verify: bool,
    /// Operations that move this image: `publish`, `promote`, `rollback`, `retag` (default all).
    /// The first image (the primary) must take part in promote and rollback.
    pub(super) operations: Option<Vec<String>>,
    /// Whether publish writes the staging stamp for this image (default true).
    #[serde(default = "yes")]
    pub(super) staging_stamp: bool,
}

fn yes() -> bool {
    true
}

/// `[publish.freeze]`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreeze {
    /// UTC weekdays on which publish does not move staging unless forced, e.g. `["tue", "wed"]`.
    #[serde(default)]
    pub(super) weekdays: Vec<String>,
}

/// `[publish]`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPublish {
    /// The staging freeze window.
    pub(super) freeze: Option<RawFreeze>,
}

/// `[release]`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelease {
    /// `owner/repo` the releases go to; setting it turns releases on.
    pub(super) github_repository: Option<String>,
    /// GitHub token; may be `${VAR}`. Default: env GH_TOKEN, else GITHUB_TOKEN.
    pub(super) token: Option<String>,
    /// `off`, `best-effort` or `required` (default `required` when github_repository is set).
    pub(super) mode: Option<StepMode>,
    /// GitHub API base URL. Default: env GITHUB_API_URL, else `https://api.github.com`.
    pub(super) api_url: Option<String>,
    /// Send the token to an api_url that is neither GitHub's nor GITHUB_API_URL.
    #[serde(default)]
    pub(super) send_token_to_api_url: bool,
}

/// `workflow = { … }` of a dispatch.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkflow {
    /// `owner/repo` of the workflow.
    pub(super) repository: String,
    /// Workflow file name, e.g. `deploy.yml` (no path).
    pub(super) file: String,
    /// Git ref to run the workflow on (default `main`).
    #[serde(rename = "ref", default = "main_ref")]
    pub(super) git_ref: String,
}

fn main_ref() -> String {
    "main".to_owned()
}

/// `event = { … }` of a dispatch.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvent {
    /// `owner/repo` that receives the event.
    pub(super) repository: String,
    /// The event type, e.g. `deploy-cloud-api-stg`.
    pub(super) event_type: String,
}

/// One `[[dispatch]]` target.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDispatch {
    /// Operations after which this target fires: `publish`, `promote`, `rollback`.
    #[serde(default)]
    pub(super) after: Vec<String>,
    /// `required` (default) or `best-effort`.
    pub(super) mode: Option<StepMode>,
    /// A `workflow_dispatch` (give this or `event`).
    pub(super) workflow: Option<RawWorkflow>,
    /// A `repository_dispatch` (give this or `workflow`).
    pub(super) event: Option<RawEvent>,
    /// Workflow inputs (strings with `{operation}`, `{unit}`, `{digest}`, `{tag}`,
    /// `{channel}`, `{commit}`); default none: the body carries no `inputs`.
    pub(super) inputs: Option<BTreeMap<String, String>>,
    /// Event payload (at most 10 keys, same placeholders); default none.
    pub(super) client_payload: Option<BTreeMap<String, String>>,
    /// GitHub token; may be `${VAR}`. Default: env GH_TOKEN, else GITHUB_TOKEN.
    pub(super) token: Option<String>,
    /// GitHub API base URL. Default: env GITHUB_API_URL, else `https://api.github.com`.
    pub(super) api_url: Option<String>,
    /// Send the token to an api_url that is neither GitHub's nor GITHUB_API_URL.
    #[serde(default)]
    pub(super) send_token_to_api_url: bool,
}

/// One unit: the top level of a one-unit file, or `[units.<name>]`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUnit {
    /// The unit's name (default: the `[units.<name>]` key, else the file's stem).
    pub(super) name: Option<String>,
    /// Where the images live and how to log in.
    #[serde(default)]
    pub(super) registry: RawRegistry,
    /// The unit's images; the first is the primary.
    #[serde(default)]
    pub(super) image: Vec<RawImage>,
    /// Tag names and templates.
    #[serde(default)]
    pub(super) tags: TagsSpec,
    /// Publish settings.
    #[serde(default)]
    pub(super) publish: RawPublish,
    /// Promote settings.
    #[serde(default)]
    pub(super) promote: PromoteSpec,
    /// Rollback settings.
    #[serde(default)]
    pub(super) rollback: RollbackSpec,
    /// The signature policy; leave it out to verify nothing (then every image needs
    /// `verify = false`).
    pub(super) verify: Option<VerifySpec>,
    /// The GitHub release of each prod move.
    #[serde(default)]
    pub(super) release: RawRelease,
    /// Deploy dispatch targets.
    #[serde(default)]
    pub(super) dispatch: Vec<RawDispatch>,
    /// What `prune` may delete, and the rollback window it always keeps.
    #[serde(default)]
    pub(super) retention: RetentionSpec,
}

/// A policy file: one unit at the top level, or several under `[units.<name>]` (then the
/// top-level `registry`, `release` and `dispatch` are shared by units that have none).
/// Only its schema is used: the loader reads units through [`super::units`].
#[cfg(test)]
#[derive(schemars::JsonSchema)]
#[schemars(title = "tagcli policy file")]
#[expect(dead_code, reason = "a type for the schema only; never constructed")]
pub(crate) struct PolicyFile {
    #[schemars(flatten)]
    unit: RawUnit,
    /// Several units by name.
    units: Option<BTreeMap<String, RawUnit>>,
}

/// Returns the JSON Schema of the policy file (`docs/tagcli.schema.json`).
#[cfg(test)]
pub(crate) fn json_schema() -> String {
    let schema = schemars::schema_for!(PolicyFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

/// The fields where `${VAR}` may appear: those that take secrets or names. Paths are relative
/// to the unit; `[]` stands for any array index.
pub(super) const ENV_FIELDS: &[&str] = &[
    "registry.namespace",
    "registry.username",
    "registry.password",
    "registry.hub_username",
    "registry.hub_password",
    "release.token",
    "dispatch[].token",
];
