//! The policy file (TOML): parsing, `${VAR}` expansion, and errors naming file, line, column
//! and field.
//!
//! A file holds one unit at its top level, or several under `[units.<name>]`; top-level
//! `[registry]`, `[release]` and `[[dispatch]]` are shared by every unit unless a unit has its
//! own. Every field, with its default, is documented in `docs/policy.md`.
//!
//! Reading goes: the document with its spans ([`units`]), the `${VAR}` rules ([`expand`]), the
//! file's types ([`schema`]), then validation and settings ([`build`]). Every error carries the
//! span of its field, so it prints as `file:line:column: field: message`.

mod build;
mod describe;
mod expand;
mod material;
mod schema;
mod units;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use registry_hub::Secret;
use tagcore::OperationKind;
use tagcore::policy::Policy;
use toml::de::DeTable;

pub(crate) use describe::describe;
pub(crate) use schema::HubCredentials;
use units::{FieldPath, UnitTable};

/// A configuration problem: file, line and column (when known), field, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) struct ConfigError {
    /// The policy file.
    pub(crate) file: PathBuf,
    /// The 1-based line and column of the field, when known.
    pub(crate) at: Option<(usize, usize)>,
    /// The field's path in the file, e.g. `units.web.image[0].verify`.
    pub(crate) field: Option<String>,
    /// What is wrong and what was expected.
    pub(crate) message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ConfigError {
    /// Returns the GitHub Actions `::error` command that marks the field in the file, with
    /// the message and property values escaped as the workflow-command syntax requires.
    pub(crate) fn annotation(&self) -> String {
        let message = match &self.field {
            Some(f) => format!("{f}: {}", self.message),
            None => self.message.clone(),
        };
        crate::output::file_annotation("error", &self.file, self.at, &message)
    }
}

#[cfg(test)]
impl ConfigError {
    /// Returns the 1-based line, when known.
    pub(crate) fn line(&self) -> Option<usize> {
        self.at.map(|(l, _)| l)
    }
}

/// Which secrets a command needs: the others are never read from the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Registry and Hub credentials (every command that reads the registry).
    pub(crate) registry: bool,
    /// The release token (promote and rollback, when they write).
    pub(crate) release: bool,
    /// The tokens of the dispatch targets that fire after this operation (when it writes
    /// and dispatch is on).
    pub(crate) dispatch: Option<OperationKind>,
}

impl Needs {
    /// Returns what a command that only reads the registry needs.
    pub(crate) fn registry_only() -> Self {
        Self {
            registry: true,
            ..Self::default()
        }
    }
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
    /// Which credentials the Hub API receives.
    pub(crate) hub_credentials: HubCredentials,
    /// Hub API identifier (per `hub_credentials`).
    pub(crate) hub_username: Option<String>,
    /// Hub API secret (per `hub_credentials`).
    pub(crate) hub_password: Option<Secret>,
    /// Hub API page cap.
    pub(crate) hub_page_cap: Option<usize>,
}

/// Where releases go.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseSettings {
    /// `owner/repo`.
    pub(crate) repository: String,
    /// The token; read only for the commands that publish releases.
    pub(crate) token: Option<Secret>,
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

impl fmt::Display for DispatchTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Workflow { repository, file, .. } => {
                write!(f, "workflow_dispatch of {file} on {repository}")
            }
            Self::Event {
                repository,
                event_type,
            } => write!(f, "repository_dispatch {event_type} on {repository}"),
        }
    }
}

/// One dispatch target's settings (same index as the policy's target).
#[derive(Debug, Clone)]
pub(crate) struct DispatchSettings {
    /// What to trigger.
    pub(crate) target: DispatchTarget,
    /// The token; read only when the command may fire this target.
    pub(crate) token: Option<Secret>,
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
    /// Deploy dispatch targets, in file order.
    pub(crate) dispatch: Vec<DispatchSettings>,
    /// The signature policy ready to verify (key and trust root read), when `[verify]` is set.
    pub(crate) verification: Option<cosign_verify::VerificationPolicy>,
    /// The secret fields the unit uses, each with `***` and where it comes from.
    pub(crate) secrets: Vec<(String, String)>,
}

/// The default GitHub API base URL.
pub(crate) const GITHUB_API: &str = "https://api.github.com";
/// The default Docker Hub Hub API base URL.
pub(crate) const HUB_API: &str = "https://hub.docker.com";

/// Reads the unit `unit` (or the only one) from `file`, reading from `env` the variables of
/// the sections `needs` names.
pub(crate) fn load(
    file: &Path,
    unit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    needs: &Needs,
) -> Result<UnitConfig, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_owned(),
        at: None,
        field: None,
        message: format!("cannot read the policy file: {e} (pass --config FILE)"),
    })?;
    parse(file, &text, unit, env, needs)
}

/// Builds errors that point into one file's text.
struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Option<Range<usize>>, field: Option<String>, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            at: span.map(|s| units::line_col(self.text, s.start)),
            field: field.filter(|f| !f.is_empty()),
            message,
        }
    }

    /// Returns the error for a span of the document, naming the field found there.
    fn at_span(&self, doc: &DeTable<'_>, span: Option<Range<usize>>, message: String) -> ConfigError {
        let field = span.as_ref().map(|s| units::path_at(doc, s.start).to_string());
        self.error(span, field, message)
    }

    /// Returns the error for a unit-relative field.
    fn at_field(&self, unit: &UnitTable<'_>, field: &FieldPath, message: String) -> ConfigError {
        let span = unit.span_of(field);
        self.error(Some(span), Some(unit.file_path(field).to_string()), message)
    }

    fn missing(&self, unit: &UnitTable<'_>, missing: &[expand::Missing]) -> ConfigError {
        let list: Vec<String> = missing
            .iter()
            .map(|m| {
                let field = unit.file_path(&m.field);
                if m.by_default {
                    format!("{} ({field} is left out; it defaults to them)", m.var)
                } else {
                    let (line, _) = units::line_col(self.text, unit.span_of(&m.field).start);
                    format!("{} ({field}, line {line})", m.var)
                }
            })
            .collect();
        let first = missing
            .iter()
            .find(|m| !m.by_default)
            .map(|m| unit.span_of(&m.field));
        self.error(
            first,
            None,
            format!("environment variables not set: {}", list.join("; ")),
        )
    }
}

/// Parses `text` (the contents of `file`).
pub(crate) fn parse(
    file: &Path,
    text: &str,
    unit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    needs: &Needs,
) -> Result<UnitConfig, ConfigError> {
    use serde::Deserialize as _;
    let loc = Locator { file, text };
    let doc = DeTable::parse(text).map_err(|e| loc.error(e.span(), None, e.message().to_owned()))?;
    let whole = doc.get_ref().clone();
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("default");
    let unit = units::select(doc, unit, stem).map_err(|(span, m)| loc.at_span(&whole, span, m))?;
    expand::check(unit.table.get_ref()).map_err(|(span, m)| loc.at_span(&whole, Some(span), m))?;
    let raw = schema::RawUnit::deserialize(toml::de::Deserializer::from(unit.table.clone()))
        .map_err(|e| loc.at_span(&whole, e.span(), e.message().to_owned()))?;
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = raw.name.clone().unwrap_or_else(|| unit.name.clone());
    let mut ex = expand::Expander::new(env);
    build::build(name, &raw, &base_dir, needs, &mut ex).map_err(|e| match e {
        build::BuildError::Field(field, m) => loc.at_field(&unit, &field, m),
        build::BuildError::Missing(missing) => loc.missing(&unit, &missing),
    })
}

/// Returns the environment as a lookup function.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod prop;
#[cfg(test)]
mod tests;
