//! Credentials and where they come from: explicit ones first, then Docker's `config.json`.
//!
//! Secrets live in [`Secret`], whose `Debug` and `Display` print `***`; [`Credentials`] has a
//! hand-written `Debug` for the same reason. Docker's host aliases (`docker.io`,
//! `index.docker.io`, `registry-1.docker.io`, and the `https://index.docker.io/v1/` key Docker
//! writes) are one registry.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tagcore::{RegistryError, RegistryErrorKind, canonical_registry};

/// A secret string (password, token, JWT) that never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Returns a secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value, for building a request header; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials (public pulls; Bearer registries still hand out anonymous tokens).
    #[default]
    Anonymous,
    /// A user name and a password or access token.
    Basic {
        /// The user name.
        username: String,
        /// The password or personal access token.
        password: Secret,
    },
    /// A Docker identity (refresh) token, exchanged at the token endpoint with an OAuth2 POST.
    IdentityToken(Secret),
    /// A ready registry Bearer token, sent as is.
    BearerToken(Secret),
}

impl Credentials {
    /// Returns Basic credentials for `username` and `password`.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// Returns whether these are anonymous.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Self::Anonymous)
    }

    /// Returns what kind of credentials these are, for the log: `anonymous`, `basic`,
    /// `identity_token` or `bearer_token` (never the secret).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Basic { .. } => "basic",
            Self::IdentityToken(_) => "identity_token",
            Self::BearerToken(_) => "bearer_token",
        }
    }

    /// Returns the user name of Basic credentials.
    fn username(&self) -> Option<&str> {
        match self {
            Self::Basic { username, .. } => Some(username),
            _ => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Self::IdentityToken(_) => f.write_str("IdentityToken(***)"),
            Self::BearerToken(_) => f.write_str("BearerToken(***)"),
        }
    }
}

/// Returns the key Docker uses for `host` in `config.json` and credential helpers: Docker Hub is
/// `https://index.docker.io/v1/`, other registries their `host[:port]`.
pub fn docker_server_key(host: &str) -> String {
    let canonical = canonical_registry(host);
    if canonical == tagcore::DOCKER_HUB {
        "https://index.docker.io/v1/".to_owned()
    } else {
        canonical
    }
}

/// Returns the canonical registry host of a `config.json` key such as
/// `https://index.docker.io/v1/` or `http://127.0.0.1:5000`.
pub fn normalize_server_key(key: &str) -> String {
    let no_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = no_scheme.split('/').next().unwrap_or(no_scheme);
    canonical_registry(host)
}

/// Docker's `config.json`: `auths`, `credsStore` and `credHelpers`.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    auths: HashMap<String, Credentials>,
    creds_store: Option<String>,
    cred_helpers: HashMap<String, String>,
    helper_dir: Option<PathBuf>,
    helper_timeout: Option<Duration>,
}

/// How long a credential helper may take before it is killed.
const HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// The most a credential helper may print (its answer is one small JSON object).
const HELPER_MAX_OUTPUT: usize = 64 * 1024;

/// Returns whether `name` may follow `docker-credential-`: letters, digits, `.`, `_` and `-`,
/// not starting with `.` or `-` (so never a path: `credsStore: "x/y"` is refused).
fn valid_helper_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl DockerConfig {
    /// Returns the config in `dir/config.json`; a missing file is an empty config.
    pub fn load_dir(dir: &Path) -> Result<Self, RegistryError> {
        let path = dir.join("config.json");
        match std::fs::read(&path) {
            Ok(bytes) => Self::parse(&bytes).map_err(|e| {
                RegistryError::new(
                    RegistryErrorKind::InvalidInput,
                    format!("Docker config {}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RegistryError::new(
                RegistryErrorKind::InvalidInput,
                format!("Docker config {}: cannot read", path.display()),
            )
            .with_source(e)),
        }
    }

    /// Returns the config from `DOCKER_CONFIG`, else `$HOME/.docker`; empty when neither exists.
    /// (Only the CLI should call this: libraries never read the environment on their own.)
    pub fn from_env() -> Result<Self, RegistryError> {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        dir.map_or_else(|| Ok(Self::default()), |d| Self::load_dir(&d))
    }

    /// Returns the config parsed from `config.json` bytes. Unknown fields are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
        let mut config = Self::default();
        if let Some(auths) = v.get("auths").and_then(|a| a.as_object()) {
            for (key, entry) in auths {
                if let Some(c) = auth_entry(entry) {
                    config.auths.insert(normalize_server_key(key), c);
                }
            }
        }
        config.creds_store = v
            .get("credsStore")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if let Some(helpers) = v.get("credHelpers").and_then(|a| a.as_object()) {
            for (key, helper) in helpers {
                if let Some(h) = helper.as_str().filter(|h| !h.is_empty()) {
                    config
                        .cred_helpers
                        .insert(normalize_server_key(key), h.to_owned());
                }
            }
        }
        Ok(config)
    }

    /// Returns this config looking for `docker-credential-*` helpers in `dir` instead of `PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.helper_dir = Some(dir.into());
        self
    }

    /// Returns this config giving each helper at most `timeout` to answer (default 20 s).
    pub fn with_helper_timeout(mut self, timeout: Duration) -> Self {
        self.helper_timeout = Some(timeout);
        self
    }

    /// Returns the credentials for `host`: its `credHelpers` entry, else `credsStore`, else
    /// `auths`. A helper that knows nothing about the host falls through to `auths`.
    pub fn lookup(&self, host: &str) -> Result<Option<Credentials>, RegistryError> {
        let canonical = canonical_registry(host);
        let helper = self.cred_helpers.get(&canonical).or(self.creds_store.as_ref());
        if let Some(helper) = helper
            && let Some(c) = self.run_helper(helper, &canonical)?
        {
            log_source(
                &canonical,
                &format!("credential helper docker-credential-{helper}"),
                &c,
            );
            return Ok(Some(c));
        }
        let found = self.auths.get(&canonical).cloned();
        if let Some(c) = &found {
            log_source(&canonical, "Docker config.json auths", c);
        }
        Ok(found)
    }

    fn run_helper(&self, helper: &str, host: &str) -> Result<Option<Credentials>, RegistryError> {
        if !valid_helper_name(helper) {
            return Err(RegistryError::new(
                RegistryErrorKind::InvalidInput,
                format!(
                    "Docker config: credential helper name {:?} is invalid; expected letters, digits, \
                     '.', '_' or '-' (the suffix of a docker-credential-* program on PATH)",
                    crate::sanitize::foreign(helper)
                ),
            ));
        }
        let program = format!("docker-credential-{helper}");
        let program = self
            .helper_dir
            .as_ref()
            .map_or_else(|| PathBuf::from(&program), |d| d.join(&program));
        let fail = |why: String| {
            RegistryError::new(
                RegistryErrorKind::Unauthorized,
                format!("credential helper {} for {host}: {why}", program.display()),
            )
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("cannot run ({e})")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading closes the pipe: not an error by itself.
            let _ = stdin.write_all(docker_server_key(host).as_bytes());
        }
        // The reader sends what it read; it is never joined, since a grandchild of the helper
        // may hold the pipe open after the helper itself is gone.
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || tx.send(read_bounded(out)));
        }
        let timeout = self.helper_timeout.unwrap_or(HELPER_TIMEOUT);
        let deadline = Instant::now() + timeout;
        let timed_out = || fail(format!("timed out after {timeout:?}; killed"));
        let status = wait_until(&mut child, deadline)
            .map_err(|e| fail(format!("failed ({e})")))?
            .ok_or_else(timed_out)?;
        let (stdout, overflow) = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .map_err(|_| timed_out())?;
        if overflow {
            return Err(fail(format!("printed more than {HELPER_MAX_OUTPUT} bytes")));
        }
        if !status.success() {
            let text = String::from_utf8_lossy(&stdout);
            if text.contains("credentials not found") || stdout.is_empty() {
                return Ok(None);
            }
            // The helper's output may hold anything; report only that it failed.
            return Err(fail(format!("exited with {status}")));
        }
        let v: serde_json::Value = serde_json::from_slice(&stdout)
            .map_err(|_| fail("printed something that is not JSON".to_owned()))?;
        let username = v.get("Username").and_then(|u| u.as_str()).unwrap_or("");
        let secret = v.get("Secret").and_then(|s| s.as_str()).unwrap_or("");
        Ok(match (username, secret) {
            (_, "") => None,
            ("<token>", token) => Some(Credentials::IdentityToken(Secret::new(token))),
            (user, secret) => Some(Credentials::basic(user, secret)),
        })
    }
}

/// Returns the first [`HELPER_MAX_OUTPUT`] bytes of `out` and whether there was more; reads
/// to the end so that the helper never blocks on a full pipe.
fn read_bounded(mut out: impl Read) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut overflow = false;
    let mut buf = [0u8; 8192];
    while let Ok(n) = out.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = HELPER_MAX_OUTPUT.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        overflow |= n > room;
    }
    (kept, overflow)
}

/// Waits for `child` until `deadline`; kills it and returns `None` when it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn auth_entry(entry: &serde_json::Value) -> Option<Credentials> {
    if let Some(token) = entry
        .get("identitytoken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
    {
        return Some(Credentials::IdentityToken(Secret::new(token)));
    }
    if let Some(auth) = entry
        .get("auth")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
    {
        let decoded = STANDARD.decode(auth.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some(Credentials::basic(user, password));
    }
    let user = entry.get("username").and_then(|u| u.as_str())?;
    let password = entry.get("password").and_then(|p| p.as_str())?;
    Some(Credentials::basic(user, password))
}

/// Finds the credentials for a registry: explicit ones, then Docker's config.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    explicit: HashMap<String, Credentials>,
    docker: Option<DockerConfig>,
}

impl CredentialStore {
    /// Returns a store with no credentials (everything anonymous).
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns this store with `credentials` for `host` (any Docker Hub alias means Docker Hub).
    pub fn with(mut self, host: &str, credentials: Credentials) -> Self {
        self.explicit.insert(canonical_registry(host), credentials);
        self
    }

    /// Returns this store falling back to `config` for hosts without explicit credentials.
    pub fn with_docker_config(mut self, config: DockerConfig) -> Self {
        self.docker = Some(config);
        self
    }

    /// Returns the credentials for `host`, anonymous when nothing is configured. Logs (level
    /// info) which source answered and the kind of credentials, never the secret.
    pub fn lookup(&self, host: &str) -> Result<Credentials, RegistryError> {
        let canonical = canonical_registry(host);
        if let Some(c) = self.explicit.get(&canonical) {
            log_source(&canonical, "explicit (the policy or its environment)", c);
            return Ok(c.clone());
        }
        let found = match &self.docker {
            Some(d) => d.lookup(host)?,
            None => None,
        };
        Ok(found.unwrap_or_else(|| {
            log_source(&canonical, "none found", &Credentials::Anonymous);
            Credentials::Anonymous
        }))
    }
}

/// Logs where the credentials for `host` came from and their kind; never the secret.
fn log_source(host: &str, source: &str, c: &Credentials) {
    tracing::info!(
        target: "registry_hub::credentials",
        host,
        source,
        kind = c.kind_name(),
        username = c.username().unwrap_or(""),
        "registry credentials"
    );
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
