//! Test support shared by the workspace's integration tests.
//!
//! [`RegistryServer`] starts Debian's `docker-registry` (distribution 2.8.2) on `127.0.0.1` with a
//! port chosen by the kernel, storage in a temporary directory, and stops it on drop. Every test
//! owns its registry, so there is no port race and no shared state. The access log is captured so
//! tests can count the requests a scenario made.
//!
//! Authentication modes: [`RegistryServer::start_htpasswd`] (bcrypt htpasswd, optionally over TLS
//! with a [`TestCa`]: a CA plus a CA:FALSE server certificate for `IP:127.0.0.1`) and
//! [`RegistryServer::start_token`] (Bearer tokens from a [`TokenServer`] written in Rust, which
//! records the `service` and `scope`s each client asked for).
//!
//! [`HubServer`] emulates Docker Hub's Hub API (tag listings with push times, paged newest first,
//! `name=` filtering, login) with up to hundreds of thousands of lazily generated tags.
//!
//! [`FaultProxy`] sits in front of a registry to add latency, count and log requests, and break
//! exactly one request with a [`Fault`] (500, 429, reset, stall, wrong digest, truncated body).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod hub;
mod proxy;
mod tls;
mod token;

pub use hub::{HubOutage, HubRepo, HubRequest, HubServer, HubTag};
pub use proxy::{Fault, FaultProxy, LoggedRequest, sequential_depth};
pub use tls::TestCa;
pub use token::{TOKEN_ISSUER, TOKEN_SERVICE, TokenRequest, TokenServer};

/// The registry binary; override with `TAGCLI_TEST_REGISTRY`.
pub fn registry_binary() -> PathBuf {
    std::env::var_os("TAGCLI_TEST_REGISTRY")
        .map_or_else(|| PathBuf::from("/usr/bin/docker-registry"), PathBuf::from)
}

/// A running `docker-registry` on loopback, stopped when dropped.
pub struct RegistryServer {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
    tls: bool,
    _dir: tempfile::TempDir,
    _extra: Option<tempfile::TempDir>,
}

/// Extra configuration appended to the generated `config.yml` (for `auth:` and `http.tls`).
#[derive(Debug, Default, Clone)]
pub struct RegistryConfig {
    /// YAML lines placed under `http:` (indented by the caller with 2 spaces), e.g. TLS settings.
    pub http_extra: String,
    /// A top-level `auth:` block, complete with its `auth:` line.
    pub auth: String,
    /// Turns manifest deletes off (`storage.delete.enabled: false`); they are on by default.
    pub deletes_disabled: bool,
}

impl RegistryServer {
    /// Starts a plain-HTTP registry without authentication.
    pub fn start() -> Self {
        Self::start_with(&RegistryConfig::default())
    }

    /// Starts a registry requiring htpasswd (bcrypt) Basic authentication for `user`, served over
    /// TLS with `ca`'s server certificate when `tls` is given (plain HTTP otherwise).
    pub fn start_htpasswd(user: &str, password: &str, tls: Option<&TestCa>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for htpasswd");
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("run htpasswd (apt-get install apache2-utils)");
        assert!(
            out.status.success(),
            "htpasswd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, &out.stdout).expect("write htpasswd");
        let mut config = RegistryConfig {
            auth: format!(
                "auth:\n  htpasswd:\n    realm: tagcli-test\n    path: {}\n",
                file.display()
            ),
            ..RegistryConfig::default()
        };
        if let Some(ca) = tls {
            config.http_extra = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                ca.server_cert_path().display(),
                ca.server_key_path().display()
            );
        }
        let mut server = Self::start_with(&config);
        server._extra = Some(dir);
        server
    }

    /// Starts a registry in Bearer token mode, trusting `tokens`.
    pub fn start_token(tokens: &TokenServer) -> Self {
        Self::start_with(&RegistryConfig {
            auth: tokens.registry_auth_yaml(),
            ..RegistryConfig::default()
        })
    }

    /// Starts a registry with `config` added to the base configuration.
    pub fn start_with(config: &RegistryConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the registry");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("storage dir");
        let yml = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  \
             filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {}\nhttp:\n  addr: \
             127.0.0.1:0\n{}\n{}\n",
            storage.display(),
            !config.deletes_disabled,
            config.http_extra,
            config.auth
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, yml).expect("write registry config");
        Self::spawn(&cfg, dir, config.http_extra.contains("tls:"))
    }

    fn spawn(cfg: &Path, dir: tempfile::TempDir, tls: bool) -> Self {
        let bin = registry_binary();
        let mut child = Command::new(&bin)
            .arg("serve")
            .arg(cfg)
            .env_remove("REGISTRY_HTTP_ADDR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); install it with `apt-get install docker-registry` \
                     (scripts/test does this)",
                    bin.display()
                )
            });
        let stderr = child.stderr.take().expect("piped stderr");
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        // The access log goes to stdout, the application log (with the address) to stderr.
        let access = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                access.lock().expect("log lock").push(line);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on ") {
                    let rest = &line[i + "listening on ".len()..];
                    let addr: String = rest
                        .chars()
                        .take_while(|c| !matches!(c, ',' | ' ' | '"'))
                        .collect();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                sink.lock().expect("log lock").push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => break addr,
                Err(_) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!(
                            "docker-registry exited early with {status}: {:?}",
                            log.lock().expect("log")
                        );
                    }
                }
                Err(_) => panic!(
                    "docker-registry did not report its address: {:?}",
                    log.lock().expect("log")
                ),
            }
        };
        Self {
            child,
            addr,
            log,
            tls,
            _dir: dir,
            _extra: None,
        }
    }

    /// Returns `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Returns the registry's filesystem storage root (`docker/registry/v2/…` lies below it).
    pub fn storage_dir(&self) -> PathBuf {
        self._dir.path().join("storage")
    }

    /// Returns `http://127.0.0.1:PORT` or `https://…` when TLS is on.
    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Returns the access-log request lines once no new line arrived for 150 ms (the registry
    /// writes its access log after answering).
    pub fn settled_requests(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = self.requests();
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.requests();
            if now.len() == last.len() || Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    /// Returns the log lines so far (application log and access log, interleaved).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Returns the access-log request lines so far, e.g. `"PUT /v2/a/manifests/prod HTTP/1.1"`.
    pub fn requests(&self) -> Vec<String> {
        self.log_lines()
            .iter()
            .filter_map(|l| {
                let start = l
                    .find("\"GET ")
                    .or_else(|| l.find("\"HEAD "))
                    .or_else(|| l.find("\"PUT "))
                    .or_else(|| l.find("\"POST "))
                    .or_else(|| l.find("\"PATCH "))
                    .or_else(|| l.find("\"DELETE "))?;
                let rest = &l[start + 1..];
                Some(rest[..rest.find('"')?].to_owned())
            })
            .collect()
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns the configuration of the workspace's property tests of untrusted-input parsers:
/// `PROPTEST_CASES` cases (256 when unset, as in CI; run with `PROPTEST_CASES=10000` locally),
/// a fixed seed unless `PROPTEST_RNG_SEED` is set, and no failure-persistence files.
pub fn prop_config() -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config {
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 256;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(11);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn starts_on_loopback_and_logs_requests() {
        let reg = RegistryServer::start();
        assert!(reg.addr().starts_with("127.0.0.1:"), "{}", reg.addr());
        let mut s = std::net::TcpStream::connect(reg.addr()).unwrap();
        s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while reg.requests().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(reg.requests(), vec!["GET /v2/ HTTP/1.1".to_owned()]);
    }

    #[test]
    fn htpasswd_and_token_modes_challenge_anonymous_requests() {
        let get = |addr: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let basic = RegistryServer::start_htpasswd("u", "p", None);
        let out = get(basic.addr());
        assert!(out.starts_with("HTTP/1.1 401"), "{out}");
        assert!(
            out.to_ascii_lowercase().contains("www-authenticate: basic"),
            "{out}"
        );
        let tokens = TokenServer::start(&[("u", "p")]);
        let bearer = RegistryServer::start_token(&tokens);
        let out = get(bearer.addr());
        assert!(out.starts_with("HTTP/1.1 401"), "{out}");
        assert!(
            out.contains(&format!("Bearer realm=\"{}\"", tokens.realm())),
            "{out}"
        );
    }
}
