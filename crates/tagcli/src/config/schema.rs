//! The policy file as written: one serde type per table, with the file's own field names.
//!
//! Every field, with its default, is documented in `docs/policy.md`; `docs/tagcli.schema.json`
//! is generated from these types.

use std::collections::BTreeMap;

use serde::Deserialize;
use tagcore::policy::{PromoteSpec, RollbackSpec, StepMode, TagsSpec, VerifySpec};

/// `[registry]`: where the images live and how to log in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistry {
    pub(super) host: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
    #[serde(default)]
    pub(super) insecure: bool,
    pub(super) ca_file: Option<String>,
    pub(super) hub_api: Option<String>,
    pub(super) hub_username: Option<String>,
    pub(super) hub_password: Option<String>,
    pub(super) hub_credentials: Option<HubCredentials>,
    pub(super) hub_page_cap: Option<usize>,
}

/// Which credentials the Hub API receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImage {
    pub(super) name: String,
    #[serde(default = "yes")]
    pub(super) verify: bool,
    pub(super) operations: Option<Vec<String>>,
    #[serde(default = "yes")]
    pub(super) staging_stamp: bool,
}

fn yes() -> bool {
    true
}

/// `[publish.freeze]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreeze {
    #[serde(default)]
    pub(super) weekdays: Vec<String>,
}

/// `[publish]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPublish {
    pub(super) freeze: Option<RawFreeze>,
}

/// `[release]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelease {
    pub(super) github_repository: Option<String>,
    pub(super) token: Option<String>,
    pub(super) mode: Option<StepMode>,
    pub(super) api_url: Option<String>,
    #[serde(default)]
    pub(super) send_token_to_api_url: bool,
}

/// `workflow = { … }` of a dispatch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkflow {
    pub(super) repository: String,
    pub(super) file: String,
    #[serde(rename = "ref", default = "main_ref")]
    pub(super) git_ref: String,
}

fn main_ref() -> String {
    "main".to_owned()
}

/// `event = { … }` of a dispatch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvent {
    pub(super) repository: String,
    pub(super) event_type: String,
}

/// One `[[dispatch]]` target.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDispatch {
    #[serde(default)]
    pub(super) after: Vec<String>,
    pub(super) mode: Option<StepMode>,
    pub(super) workflow: Option<RawWorkflow>,
    pub(super) event: Option<RawEvent>,
    pub(super) inputs: Option<BTreeMap<String, String>>,
    pub(super) client_payload: Option<BTreeMap<String, String>>,
    pub(super) token: Option<String>,
    pub(super) api_url: Option<String>,
    #[serde(default)]
    pub(super) send_token_to_api_url: bool,
}

/// One unit: the top level of a one-unit file, or `[units.<name>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUnit {
    /// The unit's name (default: the `[units.<name>]` key, else the file's stem).
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) registry: RawRegistry,
    #[serde(default)]
    pub(super) image: Vec<RawImage>,
    #[serde(default)]
    pub(super) tags: TagsSpec,
    #[serde(default)]
    pub(super) publish: RawPublish,
    #[serde(default)]
    pub(super) promote: PromoteSpec,
    #[serde(default)]
    pub(super) rollback: RollbackSpec,
    pub(super) verify: Option<VerifySpec>,
    #[serde(default)]
    pub(super) release: RawRelease,
    #[serde(default)]
    pub(super) dispatch: Vec<RawDispatch>,
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
