//! The policy file (TOML): parsing, `${VAR}` expansion, and errors naming file, line and field.
//!
//! A file holds one unit at its top level, or several under `[units.<name>]`; top-level
//! `[registry]`, `[release]` and `[dispatch]` tables are shared by every unit unless a unit
//! has its own. Every field, with its default, is documented in `docs/policy.md`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tagcore::policy::{
    DispatchSpec, ImageSpec, Policy, PolicySpec, PromoteSpec, PublishSpec, ReleaseSpec, RollbackSpec,
    StepMode, TagsSpec, VerifySpec,
};

use registry_hub::Secret;

/// A configuration problem: file, line (when known), field, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", .file.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub(crate) struct ConfigError {
    /// The policy file.
    pub(crate) file: PathBuf,
    /// The 1-based line of the field, when it can be found.
    pub(crate) line: Option<usize>,
    /// What is wrong, naming the field.
    pub(crate) message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    host: Option<String>,
    namespace: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    insecure: bool,
    ca_file: Option<String>,
    hub_api: Option<String>,
    hub_username: Option<String>,
    hub_password: Option<String>,
    hub_page_cap: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    name: String,
    #[serde(default = "yes")]
    verify: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreeze {
    #[serde(default)]
    weekdays: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublish {
    freeze: Option<RawFreeze>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    github_repository: Option<String>,
    token: Option<String>,
    mode: Option<StepMode>,
    api_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    repository: String,
    file: String,
    #[serde(rename = "ref", default = "main_ref")]
    git_ref: String,
}

fn main_ref() -> String {
    "main".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    repository: String,
    event_type: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDispatch {
    #[serde(default)]
    after: Vec<String>,
    mode: Option<StepMode>,
    workflow: Option<RawWorkflow>,
    event: Option<RawEvent>,
    token: Option<String>,
    api_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    /// The unit's name (default: the `[units.<name>]` key, else the file's stem).
    name: Option<String>,
    #[serde(default)]
    registry: RawRegistry,
    #[serde(default)]
    image: Vec<RawImage>,
    #[serde(default)]
    tags: TagsSpec,
    #[serde(default)]
    publish: RawPublish,
    #[serde(default)]
    promote: PromoteSpec,
    #[serde(default)]
    rollback: RollbackSpec,
    verify: Option<VerifySpec>,
    #[serde(default)]
    release: RawRelease,
    #[serde(default)]
    dispatch: RawDispatch,
}

/// Where the images live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RegistryTarget {
    /// A local OCI image-layout directory (one sub-directory per repository).
    Layout(PathBuf),
    /// A registry speaking the OCI distribution API.
    Remote(String),
}

/// Registry access settings.
#[derive(Debug, Clone)]
pub(crate) struct RegistrySettings {
    /// Where.
    pub(crate) target: RegistryTarget,
    /// Explicit credentials (else Docker's config.json).
    pub(crate) username: Option<String>,
    /// Explicit password or token.
    pub(crate) password: Option<Secret>,
    /// Plain HTTP allowed beyond loopback.
    pub(crate) insecure: bool,
    /// Extra CA bundle (PEM).
    pub(crate) ca_file: Option<PathBuf>,
    /// Docker Hub's Hub API base URL, for push times; `None` when off.
    pub(crate) hub_api: Option<String>,
    /// Hub API identifier (default: `username`).
    pub(crate) hub_username: Option<String>,
    /// Hub API secret (default: `password`).
    pub(crate) hub_password: Option<Secret>,
    /// Hub API page cap.
    pub(crate) hub_page_cap: Option<usize>,
}

/// Where releases go.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseSettings {
    /// `owner/repo`.
    pub(crate) repository: String,
    /// The token.
    pub(crate) token: Secret,
    /// API base URL.
    pub(crate) api_url: String,
}

/// What a dispatch triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DispatchTarget {
    /// `workflow_dispatch` of a workflow file.
    Workflow {
        /// `owner/repo`.
        repository: String,
        /// The workflow file name.
        file: String,
        /// The git ref to run on.
        git_ref: String,
    },
    /// A `repository_dispatch` event.
    Event {
        /// `owner/repo`.
        repository: String,
        /// The event type, e.g. `deploy-cloud-api-stg`.
        event_type: String,
    },
}

/// Dispatch settings.
#[derive(Debug, Clone)]
pub(crate) struct DispatchSettings {
    /// What to trigger.
    pub(crate) target: DispatchTarget,
    /// The token.
    pub(crate) token: Secret,
    /// API base URL.
    pub(crate) api_url: String,
}

/// One unit's configuration, validated.
#[derive(Debug, Clone)]
pub(crate) struct UnitConfig {
    /// The validated policy.
    pub(crate) policy: Policy,
    /// Registry access.
    pub(crate) registry: RegistrySettings,
    /// GitHub releases, when enabled.
    pub(crate) release: Option<ReleaseSettings>,
    /// Deploy dispatch, when enabled.
    pub(crate) dispatch: Option<DispatchSettings>,
    /// The signature policy as written (paths unresolved), for the verifier adapter.
    pub(crate) verify: Option<VerifySpec>,
    /// The directory relative paths are resolved against (the file's).
    pub(crate) base_dir: PathBuf,
}

/// The default GitHub API base URL.
pub(crate) const GITHUB_API: &str = "https://api.github.com";
/// The default Docker Hub Hub API base URL.
pub(crate) const HUB_API: &str = "https://hub.docker.com";

/// Reads the unit `unit` (or the only one) from `file`, expanding `${VAR}` from `env`.
pub(crate) fn load(
    file: &Path,
    unit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<UnitConfig, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_owned(),
        line: None,
        message: format!("cannot read the policy file: {e} (pass --config FILE)"),
    })?;
    parse(file, &text, unit, env)
}

/// Parses `text` (the contents of `file`).
pub(crate) fn parse(
    file: &Path,
    text: &str,
    unit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<UnitConfig, ConfigError> {
    let fail = |line: Option<usize>, message: String| ConfigError {
        file: file.to_owned(),
        line,
        message,
    };
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| text[..s.start].lines().count().max(1));
        fail(line, e.message().to_owned())
    })?;
    let mut doc = doc;
    let (name, mut table, prefix) = match doc.remove("units") {
        Some(toml::Value::Table(units)) => {
            let names: Vec<String> = units.keys().cloned().collect();
            let name = match (unit, names.as_slice()) {
                (Some(u), _) => u.to_owned(),
                (None, [only]) => only.clone(),
                (None, _) => {
                    return Err(fail(
                        None,
                        format!(
                            "the file holds several units ({}); pass --unit NAME",
                            names.join(", ")
                        ),
                    ));
                }
            };
            let Some(toml::Value::Table(t)) = units.get(&name).cloned() else {
                return Err(fail(
                    None,
                    format!("no unit {name:?} in the file; it has {}", names.join(", ")),
                ));
            };
            // Shared tables apply unless the unit has its own.
            let mut t = t;
            for shared in ["registry", "release", "dispatch"] {
                if let Some(v) = doc.get(shared) {
                    t.entry(shared.to_owned()).or_insert_with(|| v.clone());
                }
            }
            let prefix = format!("units.{name}.");
            (name, t, prefix)
        }
        Some(_) => {
            return Err(fail(
                find_line(text, "units"),
                "`units` must be a table of units".into(),
            ));
        }
        None => {
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("default")
                .to_owned();
            match unit {
                Some(u) if u != stem => {
                    return Err(fail(
                        None,
                        format!("--unit {u}: this file holds one unit ({stem}), not several"),
                    ));
                }
                _ => (stem, doc, String::new()),
            }
        }
    };
    expand_env(&mut table, "", env)
        .map_err(|(field, msg)| fail(find_line(text, &field), format!("field `{prefix}{field}`: {msg}")))?;
    let raw: RawUnit = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| fail(None, format!("{prefix}: {}", e.message())))?;
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = raw.name.clone().unwrap_or(name);
    build(name, raw, base_dir).map_err(|(field, msg)| {
        let line = find_line(text, &field);
        fail(line, format!("field `{prefix}{field}`: {msg}"))
    })
}

fn expand_env(
    table: &mut toml::Table,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    for (k, v) in table.iter_mut() {
        let field = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        expand_value(v, &field, env)?;
    }
    Ok(())
}

fn expand_value(
    v: &mut toml::Value,
    field: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match v {
        toml::Value::String(s) => *s = expand_str(s, env).map_err(|m| (field.to_owned(), m))?,
        toml::Value::Table(t) => expand_env(t, field, env)?,
        toml::Value::Array(a) => {
            for (i, item) in a.iter_mut().enumerate() {
                expand_value(item, &format!("{field}[{i}]"), env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces each `${VAR}` with the variable's value; a missing variable is an error naming it.
fn expand_str(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('}') else {
            return Err(format!("unclosed `${{` in {s:?}"));
        };
        let var = &rest[i + 2..i + end];
        if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("`${{{var}}}` is not an environment variable name"));
        }
        match env(var) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable {var} is not set")),
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Returns the 1-based line where the dotted `field` (e.g. `tags.prod_stamp`, `image[1].name`)
/// is set, by scanning table headers and keys.
pub(crate) fn find_line(text: &str, field: &str) -> Option<usize> {
    let parts: Vec<&str> = field.split('.').collect();
    let (key, tables) = parts.split_last()?;
    let key = key.split('[').next()?;
    let header: String = tables
        .iter()
        .map(|t| t.split('[').next().unwrap_or(t))
        .collect::<Vec<_>>()
        .join(".");
    let nth: usize = tables
        .last()
        .and_then(|t| t.split_once('[')?.1.strip_suffix(']')?.parse().ok())
        .unwrap_or(0);
    let mut in_table = header.is_empty();
    let mut seen = 0usize;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            let name = l.trim_matches(|c| c == '[' || c == ']').trim();
            in_table = if name == header {
                seen += 1;
                seen == nth + 1
            } else {
                false
            };
            continue;
        }
        if in_table
            && let Some((k, _)) = l.split_once('=')
            && k.trim() == key
        {
            return Some(i + 1);
        }
    }
    // The header itself, when the key is not written (a missing required key).
    text.lines()
        .position(|l| l.trim().trim_matches(|c| c == '[' || c == ']').trim() == header)
        .map(|i| i + 1)
}

fn build(name: String, raw: RawUnit, base_dir: PathBuf) -> Result<UnitConfig, (String, String)> {
    let reg = &raw.registry;
    let host = reg.host.clone().unwrap_or_else(|| "docker.io".to_owned());
    let target = match host.strip_prefix("oci:") {
        Some("") => {
            return Err((
                "registry.host".into(),
                "`oci:` needs a directory, e.g. oci:./local-layout".into(),
            ));
        }
        Some(dir) => RegistryTarget::Layout(base_dir.join(dir)),
        None => RegistryTarget::Remote(host.clone()),
    };
    let repo_host = match &target {
        RegistryTarget::Layout(_) => "oci.local".to_owned(),
        RegistryTarget::Remote(h) => h.clone(),
    };
    if raw.image.is_empty() {
        return Err((
            "image".into(),
            "needs at least one [[image]] with a name; the first is the primary".into(),
        ));
    }
    let images = raw
        .image
        .iter()
        .map(|i| {
            let path = match reg.namespace.as_deref().filter(|n| !n.is_empty()) {
                Some(ns) => format!("{ns}/{}", i.name),
                None => i.name.clone(),
            };
            ImageSpec {
                repository: format!("{repo_host}/{path}"),
                verify: i.verify,
            }
        })
        .collect();
    let release_mode = raw
        .release
        .mode
        .unwrap_or(if raw.release.github_repository.is_some() {
            StepMode::Required
        } else {
            StepMode::Off
        });
    let spec = PolicySpec {
        unit: name,
        images,
        tags: raw.tags.clone(),
        publish: PublishSpec {
            freeze_weekdays: raw
                .publish
                .freeze
                .as_ref()
                .map(|f| f.weekdays.clone())
                .unwrap_or_default(),
        },
        promote: raw.promote.clone(),
        rollback: raw.rollback.clone(),
        verify: raw.verify.clone(),
        release: ReleaseSpec { mode: release_mode },
        dispatch: DispatchSpec {
            after: raw.dispatch.after.clone(),
            mode: raw.dispatch.mode.unwrap_or(StepMode::Required),
        },
    };
    let policy = Policy::from_spec(&spec).map_err(|e| {
        let field = e
            .field
            .replace("images[", "image[")
            .replace("].repository", "].name")
            .replace("publish.freeze_weekdays", "publish.freeze.weekdays");
        (field, e.message)
    })?;
    if reg.insecure && matches!(target, RegistryTarget::Layout(_)) {
        return Err((
            "registry.insecure".into(),
            "has no meaning for a local OCI layout".into(),
        ));
    }
    let release =
        match (&raw.release.github_repository, release_mode) {
            (_, StepMode::Off) => None,
            (None, _) => {
                return Err((
                    "release.github_repository".into(),
                    "release is on but names no repository (owner/repo)".into(),
                ));
            }
            (Some(repo), _) => {
                Some(ReleaseSettings {
                    repository: owner_repo("release.github_repository", repo)?,
                    token: Secret::new(raw.release.token.clone().filter(|t| !t.is_empty()).ok_or_else(
                        || {
                            (
                                "release.token".to_owned(),
                                "release is on but no token is set (e.g. \"${GITHUB_TOKEN}\")".to_owned(),
                            )
                        },
                    )?),
                    api_url: raw
                        .release
                        .api_url
                        .clone()
                        .unwrap_or_else(|| GITHUB_API.to_owned()),
                })
            }
        };
    let dispatch =
        if raw.dispatch.after.is_empty() {
            None
        } else {
            let target = match (&raw.dispatch.workflow, &raw.dispatch.event) {
                (Some(w), None) => DispatchTarget::Workflow {
                    repository: owner_repo("dispatch.workflow.repository", &w.repository)?,
                    file: w.file.clone(),
                    git_ref: w.git_ref.clone(),
                },
                (None, Some(e)) => DispatchTarget::Event {
                    repository: owner_repo("dispatch.event.repository", &e.repository)?,
                    event_type: e.event_type.clone(),
                },
                _ => {
                    return Err((
                        "dispatch".into(),
                        "with `after` set, give exactly one of `workflow` or `event`".into(),
                    ));
                }
            };
            Some(DispatchSettings {
                target,
                token: Secret::new(raw.dispatch.token.clone().filter(|t| !t.is_empty()).ok_or_else(
                    || {
                        (
                            "dispatch.token".to_owned(),
                            "dispatch is on but no token is set".to_owned(),
                        )
                    },
                )?),
                api_url: raw
                    .dispatch
                    .api_url
                    .clone()
                    .unwrap_or_else(|| GITHUB_API.to_owned()),
            })
        };
    let hub_api = match reg.hub_api.as_deref() {
        Some("off") => None,
        Some(url) => Some(url.to_owned()),
        None if policy.primary().repository.registry() == tagcore::DOCKER_HUB => Some(HUB_API.to_owned()),
        None => None,
    };
    Ok(UnitConfig {
        registry: RegistrySettings {
            target,
            username: reg.username.clone().filter(|s| !s.is_empty()),
            password: reg.password.clone().filter(|s| !s.is_empty()).map(Secret::new),
            insecure: reg.insecure,
            ca_file: reg.ca_file.as_ref().map(|f| base_dir.join(f)),
            hub_api,
            hub_username: reg
                .hub_username
                .clone()
                .or_else(|| reg.username.clone())
                .filter(|s| !s.is_empty()),
            hub_password: reg
                .hub_password
                .clone()
                .or_else(|| reg.password.clone())
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            hub_page_cap: reg.hub_page_cap,
        },
        verify: raw.verify.clone(),
        policy,
        release,
        dispatch,
        base_dir,
    })
}

fn owner_repo(field: &str, s: &str) -> Result<String, (String, String)> {
    let ok = s.split_once('/').is_some_and(|(o, r)| {
        let good = |x: &str| {
            !x.is_empty()
                && x.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        good(o) && good(r)
    });
    if ok {
        Ok(s.to_owned())
    } else {
        Err((field.to_owned(), format!("{s:?} is not owner/repo")))
    }
}

/// Returns the environment as a lookup function.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "DOCKER_REGISTRY_USER" => Some("nearai".into()),
            "DOCKER_REGISTRY_TOKEN" | "GITHUB_TOKEN" | "REPOSITORY_DISPATCH_TOKEN" => {
                Some(format!("secret-{name}"))
            }
            _ => None,
        }
    }

    fn fixture(name: &str) -> UnitConfig {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/policies")
            .join(name);
        load(&path, None, &env).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn loads_the_three_pipeline_policies() {
        let cloud = fixture("cloud-api.toml");
        assert_eq!(cloud.policy.unit, "cloud-api");
        assert_eq!(
            cloud.policy.primary().repository.to_string(),
            "docker.io/nearai/cloud-api"
        );
        assert_eq!(cloud.registry.hub_api.as_deref(), Some(HUB_API));
        assert_eq!(
            cloud.registry.password.as_ref().map(Secret::expose),
            Some("secret-DOCKER_REGISTRY_TOKEN")
        );
        assert!(
            !format!("{cloud:?}").contains("secret-"),
            "no secret in Debug output"
        );
        assert!(matches!(
            cloud.dispatch.as_ref().unwrap().target,
            DispatchTarget::Workflow { .. }
        ));
        let chat = fixture("chat-api.toml");
        assert_eq!(chat.policy.tags.prod_stamp, None);
        assert_eq!(chat.policy.primary().repository.path(), "nearai/private-chat");
        let compose = fixture("compose-manager.toml");
        assert_eq!(compose.policy.images.len(), 2);
        assert_eq!(compose.policy.tags.prod_aliases[0].as_str(), "latest");
    }

    fn parse_err(text: &str) -> ConfigError {
        parse(Path::new("p.toml"), text, None, &env).unwrap_err()
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let e =
            parse_err("[[image]]\nname = \"a\"\nverify = false\n\n[tags]\nprod_stamp = \"prod-{date}\"\n");
        assert_eq!(
            e.to_string(),
            "p.toml:6: field `tags.prod_stamp`: template \"prod-{date}\" must contain {sha7}"
        );
        let e = parse_err("[[image]]\nname = \"a\"\nverify = true\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.starts_with("field `image[0].verify`"), "{e}");
        let e = parse_err("[[image]]\nname = \"a\"\n[[image]]\nname = \"B\"\nverify = false\n");
        assert_eq!(e.line, Some(4), "{e}");
        let e = parse_err("[registry]\npassword = \"${NOPE}\"\n[[image]]\nname = \"a\"\n");
        assert_eq!(
            e.to_string(),
            "p.toml:2: field `registry.password`: environment variable NOPE is not set"
        );
        let e = parse_err("[[image]]\nname = \"a\"\nverify = false\n[tags]\nprod = \"prod\"\nprdo = 1\n");
        assert!(e.message.contains("unknown field `prdo`"), "{e}");
        let e = parse_err("[[image]\nname=");
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn units_are_selected_by_name() {
        let text = "[registry]\nhost = \"oci:./layout\"\n[units.a]\nimage = [{ name = \"a\", verify = false }]\n[units.b]\nimage = [{ name = \"b\", verify = false }]\n";
        let e = parse(Path::new("p.toml"), text, None, &env).unwrap_err();
        assert_eq!(e.message, "the file holds several units (a, b); pass --unit NAME");
        let b = parse(Path::new("dir/p.toml"), text, Some("b"), &env).unwrap();
        assert_eq!(b.policy.unit, "b");
        assert_eq!(
            b.registry.target,
            RegistryTarget::Layout(PathBuf::from("dir/./layout"))
        );
        assert_eq!(b.policy.primary().repository.to_string(), "oci.local/b");
        let e = parse(Path::new("p.toml"), text, Some("c"), &env).unwrap_err();
        assert_eq!(e.message, "no unit \"c\" in the file; it has a, b");
    }
}

/// The policy file is untrusted input (issue 11, point 3): arbitrary text, and the fixture
/// policies with bytes flipped, inserted or cut, never make the loader panic; every refusal
/// names the file and says what is wrong. `PROPTEST_CASES=10000` locally; 256 by default.
#[cfg(test)]
mod prop_config {
    use std::path::Path;

    use proptest::prelude::*;

    use super::parse;

    const FIXTURES: [&str; 3] = [
        include_str!("../../../fixtures/policies/cloud-api.toml"),
        include_str!("../../../fixtures/policies/chat-api.toml"),
        include_str!("../../../fixtures/policies/compose-manager.toml"),
    ];

    fn env(name: &str) -> Option<String> {
        match name {
            "EMPTY" => Some(String::new()),
            "WEIRD" => Some("${WEIRD}\n\"'\\[x]".to_owned()),
            _ => Some(format!("value-of-{name}")),
        }
    }

    /// A fixture with up to 4 byte edits (indexes wrap), kept as text.
    fn mutated() -> impl Strategy<Value = String> {
        (
            0usize..FIXTURES.len(),
            proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..5),
        )
            .prop_map(|(i, edits)| {
                let mut b = FIXTURES[i].as_bytes().to_vec();
                for (at, byte, op) in edits {
                    let at = at % (b.len() + 1);
                    match op {
                        0 if at < b.len() => b[at] = byte,
                        1 => b.insert(at, byte),
                        _ => b.truncate(at),
                    }
                }
                String::from_utf8_lossy(&b).into_owned()
            })
    }

    /// Small TOML documents made of the policy's own keys with arbitrary values.
    fn shaped() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("unit"),
            Just("images"),
            Just("repository"),
            Just("host"),
            Just("prod"),
            Just("prod_stamp"),
            Just("prod_aliases"),
            Just("staging_stamp"),
            Just("hub_api"),
            Just("key"),
            Just("identity_regex"),
            Just("trusted_root"),
            Just("freeze_weekdays"),
            Just("sources"),
            Just("mode"),
            Just("after"),
            Just("workflow"),
            Just("api_url"),
        ];
        let value = prop_oneof![
            "\"[ -~]{0,30}\"".prop_map(|s| s),
            "[0-9-]{1,12}",
            Just("true".to_owned()),
            "\\[\"[ -~&&[^\"\\\\]]{0,12}\"\\]",
            Just("\"${GITHUB_TOKEN}\"".to_owned()),
            Just("{ repository = \"docker.io/a/b\" }".to_owned()),
        ];
        let section = prop_oneof![
            Just(""),
            Just("[unit.a]\n"),
            Just("[tags]\n"),
            Just("[verify]\n"),
            Just("[registry]\n"),
            Just("[[images]]\n"),
            Just("[release]\n"),
            Just("[dispatch]\n"),
        ];
        proptest::collection::vec((section, key, value), 0..12).prop_map(|lines| {
            lines
                .into_iter()
                .map(|(s, k, v)| format!("{s}{k} = {v}\n"))
                .collect()
        })
    }

    fn check(text: &str) -> Result<(), TestCaseError> {
        for unit in [None, Some("cloud-api"), Some("é")] {
            if let Err(e) = parse(Path::new("tagcli.toml"), text, unit, &env) {
                prop_assert!(!e.message.trim().is_empty());
                prop_assert_eq!(e.file.as_path(), Path::new("tagcli.toml"));
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(testkit::prop_config())]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            check(&text)?;
        }

        #[test]
        fn mutated_fixture_policies_never_panic(text in mutated()) {
            check(&text)?;
        }

        #[test]
        fn policy_shaped_documents_never_panic(text in shaped()) {
            check(&text)?;
        }
    }
}
