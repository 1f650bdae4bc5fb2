//! From the file's tables to a validated unit: the policy (checked by tagcore) and the settings
//! of the registry, the release and each dispatch target, with only the needed secrets read.

use std::path::Path;

use registry_hub::Secret;
use tagcore::policy::{DispatchSpec, ImageSpec, Policy, PolicySpec, PublishSpec, ReleaseSpec, StepMode};

use super::expand::{Expander, Missing};
use super::schema::{HubCredentials, RawDispatch, RawRegistry, RawRelease, RawUnit};
use super::units::{FieldPath, Seg};
use super::{
    DispatchSettings, DispatchTarget, GITHUB_API, HUB_API, Needs, RegistrySettings, RegistryTarget,
    ReleaseSettings, UnitConfig,
};

/// Why a unit could not be built.
#[derive(Debug)]
pub(super) enum BuildError {
    /// A field (unit-relative) is wrong.
    Field(FieldPath, String),
    /// Variables the command needs are not set.
    Missing(Vec<Missing>),
}

fn field(path: &str, message: impl Into<String>) -> BuildError {
    BuildError::Field(FieldPath::parse(path), message.into())
}

/// The GitHub token variables used when the policy names none (GitHub's own convention).
const GITHUB_TOKEN_VARS: &[&str] = &["GH_TOKEN", "GITHUB_TOKEN"];

/// Returns the validated unit `name` of `raw`, reading the secrets `needs` asks for.
pub(super) fn build(
    name: String,
    raw: &RawUnit,
    base_dir: &Path,
    needs: &Needs,
    ex: &mut Expander<'_>,
) -> Result<UnitConfig, BuildError> {
    let target = registry_target(&raw.registry, base_dir)?;
    let release_on = raw
        .release
        .mode
        .unwrap_or(if raw.release.github_repository.is_some() {
            StepMode::Required
        } else {
            StepMode::Off
        });
    let release = if release_on == StepMode::Off {
        None
    } else {
        Some(release(&raw.release, needs.release, ex)?)
    };
    let mut dispatch = Vec::new();
    let mut dispatch_specs = Vec::new();
    for (i, d) in raw.dispatch.iter().enumerate() {
        let needed = needs
            .dispatch
            .is_some_and(|op| d.after.iter().any(|a| *a == op.to_string()));
        let (settings, spec) = dispatch_target(i, d, needed, ex)?;
        dispatch.push(settings);
        dispatch_specs.push(spec);
    }
    let namespace = match &raw.registry.namespace {
        Some(ns) => ex.expand(&FieldPath::parse("registry.namespace"), ns),
        None => None,
    };
    let registry = registry(&raw.registry, target, needs.registry, ex)?;
    if !ex.missing.is_empty() {
        return Err(BuildError::Missing(std::mem::take(&mut ex.missing)));
    }
    let namespace = checked_namespace(raw.registry.namespace.as_deref(), namespace)?;
    let spec = policy_spec(
        name,
        raw,
        &registry.target,
        namespace.as_deref(),
        release_on,
        dispatch_specs,
    );
    let policy = Policy::from_spec(&spec)
        .map_err(|e| BuildError::Field(file_field(&FieldPath::parse(&e.field)), e.message))?;
    let verification = policy
        .signature
        .as_ref()
        .map(|s| super::material::verification(s, base_dir))
        .transpose()
        .map_err(|(f, m)| field(f, m))?;
    let mut registry = registry;
    registry.ca_file = raw.registry.ca_file.as_ref().map(|f| base_dir.join(f));
    if registry.hub_api.is_none()
        && raw.registry.hub_api.is_none()
        && policy.primary().repository.registry() == tagcore::DOCKER_HUB
    {
        registry.hub_api = Some(HUB_API.to_owned());
    }
    Ok(UnitConfig {
        secrets: secret_fields(raw, release.is_some()),
        policy,
        registry,
        release,
        dispatch,
        verification,
    })
}

/// Returns the secret fields the unit uses and where each comes from, values never shown.
fn secret_fields(raw: &RawUnit, release_on: bool) -> Vec<(String, String)> {
    let from = |v: &Option<String>| match v {
        Some(_) => "*** (set)".to_owned(),
        None => format!("*** (default: {})", GITHUB_TOKEN_VARS.join(" or ")),
    };
    let mut out = Vec::new();
    for (name, v) in [
        ("registry.password", &raw.registry.password),
        ("registry.hub_password", &raw.registry.hub_password),
    ] {
        if v.is_some() {
            out.push((name.to_owned(), "*** (set)".to_owned()));
        }
    }
    if release_on {
        out.push(("release.token".to_owned(), from(&raw.release.token)));
    }
    for (i, d) in raw.dispatch.iter().enumerate() {
        out.push((format!("dispatch[{i}].token"), from(&d.token)));
    }
    out
}

/// Maps a field of tagcore's [`PolicySpec`] to the file's name for it.
pub(super) fn file_field(spec: &FieldPath) -> FieldPath {
    let key = |k: &str| Seg::Key(k.to_owned());
    let mut segs = spec.0.clone();
    match segs.as_mut_slice() {
        [Seg::Key(images), Seg::Index(_), Seg::Key(repository)]
            if images == "images" && repository == "repository" =>
        {
            segs[0] = key("image");
            segs[2] = key("name");
        }
        [Seg::Key(images), ..] if images == "images" => segs[0] = key("image"),
        [Seg::Key(publish), Seg::Key(weekdays), ..]
            if publish == "publish" && weekdays == "freeze_weekdays" =>
        {
            segs.splice(1..2, [key("freeze"), key("weekdays")]);
        }
        _ => {}
    }
    FieldPath(segs)
}

fn registry_target(reg: &RawRegistry, base_dir: &Path) -> Result<RegistryTarget, BuildError> {
    let host = reg.host.clone().unwrap_or_else(|| "docker.io".to_owned());
    let target = match tagcore::image::layout_root(&host) {
        Some(Err(message)) => return Err(field("registry.host", &message)),
        Some(Ok(dir)) => RegistryTarget::Layout(base_dir.join(dir)),
        None => RegistryTarget::Remote(host),
    };
    if reg.insecure && matches!(target, RegistryTarget::Layout(_)) {
        return Err(field(
            "registry.insecure",
            "has no meaning for a local OCI layout",
        ));
    }
    Ok(target)
}

/// Returns the namespace, refusing one that is not a repository path; a value that came from
/// the environment is never echoed.
fn checked_namespace(raw: Option<&str>, expanded: Option<String>) -> Result<Option<String>, BuildError> {
    let Some(ns) = expanded.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let ok = ns.split('/').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
    });
    if ok {
        return Ok(Some(ns));
    }
    let shown = match raw {
        Some(r) if r.contains("${") => format!("the value of {r}"),
        _ => format!("{ns:?}"),
    };
    Err(field(
        "registry.namespace",
        format!("{shown} is not a repository namespace (lowercase letters, digits, `.`, `_`, `-`, `/`)"),
    ))
}

fn registry(
    reg: &RawRegistry,
    target: RegistryTarget,
    needed: bool,
    ex: &mut Expander<'_>,
) -> Result<RegistrySettings, BuildError> {
    let mut read = |name: &str, value: &Option<String>| match value {
        Some(v) if needed => ex.expand(&FieldPath::parse(&format!("registry.{name}")), v),
        _ => None,
    };
    let username = read("username", &reg.username).filter(|s| !s.is_empty());
    let password = read("password", &reg.password).filter(|s| !s.is_empty());
    let hub_username = read("hub_username", &reg.hub_username).filter(|s| !s.is_empty());
    let hub_password = read("hub_password", &reg.hub_password).filter(|s| !s.is_empty());
    let hub_api = match reg.hub_api.as_deref() {
        Some("off") => None,
        Some(url) => Some(url.trim_end_matches('/').to_owned()),
        None => None,
    };
    let default_hub = hub_api.as_deref().is_none_or(|u| u == HUB_API);
    let own = reg.hub_username.is_some() || reg.hub_password.is_some();
    let hub_credentials = reg.hub_credentials.unwrap_or(match (own, default_hub) {
        (true, _) => HubCredentials::Hub,
        (false, true) => HubCredentials::Registry,
        (false, false) => HubCredentials::None,
    });
    let (hub_username, hub_password) = match hub_credentials {
        HubCredentials::Registry => (username.clone(), password.clone()),
        HubCredentials::Hub => (hub_username, hub_password),
        HubCredentials::None => (None, None),
    };
    Ok(RegistrySettings {
        target,
        username,
        password: password.map(Secret::new),
        insecure: reg.insecure,
        ca_file: None,
        hub_api,
        hub_credentials,
        hub_username,
        hub_password: hub_password.map(Secret::new),
        hub_page_cap: reg.hub_page_cap,
    })
}

/// Returns the API URL (the policy's, else `GITHUB_API_URL`, else GitHub's), refusing to send
/// a token to a URL the policy names without `send_token_to_api_url = true`.
fn api_url(at: &str, url: Option<&str>, trusted: bool, ex: &Expander<'_>) -> Result<String, BuildError> {
    let from_env = ex
        .var("GITHUB_API_URL")
        .map(|u| u.trim_end_matches('/').to_owned());
    let Some(url) = url.map(|u| u.trim_end_matches('/').to_owned()) else {
        return Ok(from_env.unwrap_or_else(|| GITHUB_API.to_owned()));
    };
    if url == GITHUB_API || Some(&url) == from_env.as_ref() || trusted {
        return Ok(url);
    }
    Err(field(
        &format!("{at}.api_url"),
        format!(
            "{url:?} is not GitHub's API ({GITHUB_API} or $GITHUB_API_URL); the token is sent there only with send_token_to_api_url = true"
        ),
    ))
}

fn token(at: &str, raw: Option<&str>, needed: bool, ex: &mut Expander<'_>) -> Option<Secret> {
    if !needed {
        return None;
    }
    let path = FieldPath::parse(&format!("{at}.token"));
    let value = match raw {
        Some(t) => ex.expand(&path, t),
        None => ex.first_of(&path, GITHUB_TOKEN_VARS),
    };
    value.filter(|t| !t.is_empty()).map(Secret::new)
}

fn release(raw: &RawRelease, needed: bool, ex: &mut Expander<'_>) -> Result<ReleaseSettings, BuildError> {
    let Some(repo) = &raw.github_repository else {
        return Err(field(
            "release.github_repository",
            "release is on but names no repository (owner/repo)",
        ));
    };
    Ok(ReleaseSettings {
        repository: owner_repo("release.github_repository", repo)?,
        api_url: api_url("release", raw.api_url.as_deref(), raw.send_token_to_api_url, ex)?,
        token: token("release", raw.token.as_deref(), needed, ex),
    })
}

fn dispatch_target(
    i: usize,
    d: &RawDispatch,
    needed: bool,
    ex: &mut Expander<'_>,
) -> Result<(DispatchSettings, DispatchSpec), BuildError> {
    let at = format!("dispatch[{i}]");
    let (target, payload_field, payload) = match (&d.workflow, &d.event) {
        (Some(w), None) => {
            if d.client_payload.is_some() {
                return Err(field(
                    &format!("{at}.client_payload"),
                    "a `workflow` dispatch takes `inputs`",
                ));
            }
            let target = DispatchTarget::Workflow {
                repository: owner_repo(&format!("{at}.workflow.repository"), &w.repository)?,
                file: workflow_file(&format!("{at}.workflow.file"), &w.file)?,
                git_ref: non_empty(&format!("{at}.workflow.ref"), &w.git_ref)?,
            };
            (target, "inputs", d.inputs.clone())
        }
        (None, Some(e)) => {
            if d.inputs.is_some() {
                return Err(field(
                    &format!("{at}.inputs"),
                    "an `event` dispatch takes `client_payload`",
                ));
            }
            let target = DispatchTarget::Event {
                repository: owner_repo(&format!("{at}.event.repository"), &e.repository)?,
                event_type: non_empty(&format!("{at}.event.event_type"), &e.event_type)?,
            };
            (target, "client_payload", d.client_payload.clone())
        }
        _ => return Err(field(&at, "give exactly one of `workflow` or `event`")),
    };
    let spec = DispatchSpec {
        target: target.to_string(),
        after: d.after.clone(),
        mode: d.mode.unwrap_or(StepMode::Required),
        payload,
        payload_field: payload_field.into(),
        payload_max_keys: 10,
    };
    let settings = DispatchSettings {
        target,
        api_url: api_url(&at, d.api_url.as_deref(), d.send_token_to_api_url, ex)?,
        token: token(&at, d.token.as_deref(), needed, ex),
    };
    Ok((settings, spec))
}

fn policy_spec(
    name: String,
    raw: &RawUnit,
    target: &RegistryTarget,
    namespace: Option<&str>,
    release: StepMode,
    dispatch: Vec<DispatchSpec>,
) -> PolicySpec {
    let repo_host = match target {
        RegistryTarget::Layout(_) => "oci.local",
        RegistryTarget::Remote(h) => h.as_str(),
    };
    let images = raw
        .image
        .iter()
        .map(|i| ImageSpec {
            repository: match namespace {
                Some(ns) => format!("{repo_host}/{ns}/{}", i.name),
                None => format!("{repo_host}/{}", i.name),
            },
            verify: i.verify,
            operations: i.operations.clone(),
            staging_stamp: i.staging_stamp,
        })
        .collect();
    PolicySpec {
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
        release: ReleaseSpec { mode: release },
        dispatch,
        retention: raw.retention.clone(),
    }
}

fn non_empty(at: &str, s: &str) -> Result<String, BuildError> {
    if s.trim().is_empty() {
        Err(field(at, "is empty"))
    } else {
        Ok(s.to_owned())
    }
}

/// Returns `s` when it is `owner/repo`: `[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+`, neither part `.`
/// or `..` (it goes into URL paths).
pub(super) fn owner_repo(at: &str, s: &str) -> Result<String, BuildError> {
    let good = |x: &str| {
        !x.is_empty()
            && x != "."
            && x != ".."
            && x.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match s.split_once('/') {
        Some((o, r)) if good(o) && good(r) => Ok(s.to_owned()),
        _ => Err(field(
            at,
            format!("{s:?} is not owner/repo (letters, digits, `-`, `_`, `.`)"),
        )),
    }
}

/// Returns `s` when it is a plain workflow file name ending `.yml` or `.yaml` (it goes into a
/// URL path): no `/`, `#`, `?`, `%` or `..`.
pub(super) fn workflow_file(at: &str, s: &str) -> Result<String, BuildError> {
    let plain = !s.contains("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && (s.len() > 4 && s.ends_with(".yml") || s.len() > 5 && s.ends_with(".yaml"));
    if plain {
        Ok(s.to_owned())
    } else {
        Err(field(
            at,
            format!(
                "{s:?} is not a workflow file name (e.g. deploy.yml: letters, digits, `-`, `_`, `.`, ending .yml or .yaml)"
            ),
        ))
    }
}
