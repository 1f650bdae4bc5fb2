//! Everything one bench run talks to, all on 127.0.0.1: the real registry, a latency proxy in
//! front of it, the Docker Hub API emulation with its synthetic tags behind a second latency
//! proxy, a scratch directory with the cosign key and one policy per repository, and a clock.
//!
//! The Hub emulation mirrors the registry: before each timed operation, [`World::sync_hub`]
//! reads the registry's tags directly (uncounted) and gives every tag that is new or moved the
//! current time as its push time, the way Docker Hub lists what was pushed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cosign_verify::testing::KeyPair;
use testkit::hub::rfc3339;
use testkit::{FaultProxy, HubRepo, HubServer, HubTag, RegistryServer};

/// The namespace of every repository.
pub(crate) const NAMESPACE: &str = "nearai";
/// The tags that move; every other tag is written once.
const MOVING: [&str; 3] = ["staging", "prod", "latest"];
/// 2026-12-01T00:00:00Z, the clock's start.
pub(crate) const START: i64 = 1_796_083_200;
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The servers, files and clock of a bench run.
pub(crate) struct World {
    pub(crate) registry: RegistryServer,
    /// The latency proxy in front of the registry (every tool talks to it).
    pub(crate) proxy: FaultProxy,
    pub(crate) hub: HubServer,
    /// The latency proxy in front of the Hub API emulation.
    pub(crate) hub_proxy: FaultProxy,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) key: KeyPair,
    http: reqwest::Client,
    /// Seconds since the epoch; advanced once per operation.
    clock: i64,
    synthetic: usize,
    /// Per repository: tag → (digest, push time), as the Hub lists them.
    hub_tags: BTreeMap<String, BTreeMap<String, (String, i64)>>,
}

impl World {
    /// Starts the servers; every repository of `repos` is listed on the Hub with `synthetic`
    /// older build tags.
    pub(crate) fn start(repos: &[String], synthetic: usize) -> Result<Self, String> {
        let registry = RegistryServer::start();
        let proxy = FaultProxy::with_latency(registry.addr(), Duration::ZERO);
        let hub = HubServer::start(Vec::new());
        let hub_proxy = FaultProxy::with_latency(hub.addr(), Duration::ZERO);
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let key = KeyPair::generate();
        std::fs::write(dir.path().join("cosign.pub"), key.public_key_pem())
            .map_err(|e| format!("writing cosign.pub: {e}"))?;
        std::fs::create_dir_all(dir.path().join("docker")).map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let world = Self {
            registry,
            proxy,
            hub,
            hub_proxy,
            dir,
            key,
            http,
            clock: START,
            synthetic,
            hub_tags: repos.iter().map(|r| (r.clone(), BTreeMap::new())).collect(),
        };
        for repo in repos {
            world.write_policy(repo)?;
        }
        Ok(world)
    }

    /// Returns the scratch directory (policies, key, files the seed's sequence writes).
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Returns `<proxy>/<namespace>/<repo>`, the reference both tools use.
    pub(crate) fn reference(&self, repo: &str) -> String {
        format!("{}/{NAMESPACE}/{repo}", self.proxy.addr())
    }

    /// Returns the policy file of `repo`.
    pub(crate) fn policy(&self, repo: &str) -> PathBuf {
        self.path().join(format!("{repo}.toml"))
    }

    fn write_policy(&self, repo: &str) -> Result<(), String> {
        let hub = format!(
            "hub_api = \"http://{}\"\nhub_credentials = \"none\"",
            self.hub_proxy.addr()
        );
        self.write_policy_with(repo, &hub)
    }

    /// Writes the policy of `repo` on a names-only registry (no Hub API).
    pub(crate) fn write_names_only_policy(&self, repo: &str) -> Result<(), String> {
        self.write_policy_with(repo, "hub_api = \"off\"")
    }

    fn write_policy_with(&self, repo: &str, hub: &str) -> Result<(), String> {
        let text = format!(
            "name = \"{repo}\"\n\n[registry]\nhost = \"{}\"\nnamespace = \"{NAMESPACE}\"\n{hub}\n\n\
             [[image]]\nname = \"{repo}\"\n\n[tags]\nprod_aliases = [\"latest\"]\n\n\
             [verify]\nkey = \"cosign.pub\"\n",
            self.proxy.addr(),
        );
        std::fs::write(self.policy(repo), text).map_err(|e| format!("writing the policy: {e}"))
    }

    /// Uploads `artifact` (blobs the registry lacks, then its manifest under its tag or by
    /// digest) into `repo` straight on the registry (not counted), over one shared client.
    pub(crate) async fn push(
        &self,
        repo: &str,
        artifact: &cosign_verify::testing::Artifact,
    ) -> Result<(), String> {
        let base = format!("http://{}/v2/{repo}", self.registry.addr());
        for blob in &artifact.blobs {
            let digest = tagcore::Digest::of(blob);
            let head = self.http.head(format!("{base}/blobs/{digest}")).send().await;
            if head.is_ok_and(|r| r.status().is_success()) {
                continue;
            }
            let start = self
                .http
                .post(format!("{base}/blobs/uploads/"))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| format!("starting an upload to {repo}: {e}"))?;
            let location = start
                .headers()
                .get("Location")
                .and_then(|v| v.to_str().ok())
                .ok_or("upload answer without Location")?;
            let location = if location.starts_with("http") {
                location.to_owned()
            } else {
                format!("http://{}{location}", self.registry.addr())
            };
            let sep = if location.contains('?') { '&' } else { '?' };
            self.http
                .put(format!("{location}{sep}digest={digest}"))
                .body(blob.clone())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| format!("uploading {digest}: {e}"))?;
        }
        let reference = artifact
            .tag
            .clone()
            .unwrap_or_else(|| artifact.digest().to_string());
        self.put_tag(repo.trim_start_matches("nearai/"), &reference, &artifact.manifest)
            .await
    }

    /// Points `tag` of `repo` at `manifest`, straight on the registry (not counted).
    pub(crate) async fn put_tag(
        &self,
        repo: &str,
        tag: &str,
        manifest: &tagcore::Manifest,
    ) -> Result<(), String> {
        let url = format!(
            "http://{}/v2/{NAMESPACE}/{repo}/manifests/{tag}",
            self.registry.addr()
        );
        self.http
            .put(&url)
            .header("Content-Type", &manifest.media_type)
            .body(manifest.bytes.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(drop)
            .map_err(|e| format!("PUT {url}: {e}"))
    }

    /// Sets the one-way delay of both proxies.
    pub(crate) fn set_latency(&self, one_way: Duration) {
        self.proxy.set_latency(one_way);
        self.hub_proxy.set_latency(one_way);
    }

    /// Advances the clock by a minute and returns it as RFC 3339 (`2026-12-01T00:01:00Z`).
    pub(crate) fn tick(&mut self) -> String {
        self.clock += 60;
        self.now()
    }

    /// Moves the clock to the same time of the next day: each timed run is a day of its own, as
    /// a pipeline releasing once a day would see it.
    pub(crate) fn next_day(&mut self) {
        self.clock += 86_400;
    }

    /// Returns the clock as RFC 3339, whole seconds.
    pub(crate) fn now(&self) -> String {
        rfc3339(self.clock).replace(".000000Z", "Z")
    }

    /// Zeroes both proxies' counters and logs.
    pub(crate) fn reset_counters(&self) {
        self.proxy.reset();
        self.hub_proxy.reset();
    }

    /// Brings the Hub emulation's listing of every repository up to date with the registry.
    pub(crate) async fn sync_hub(&mut self) -> Result<(), String> {
        let repos: Vec<String> = self.hub_tags.keys().cloned().collect();
        for repo in &repos {
            self.sync_repo(repo).await?;
        }
        let listed: Vec<HubRepo> = self
            .hub_tags
            .iter()
            .map(|(repo, tags)| {
                let tags = tags
                    .iter()
                    .map(|(name, (digest, pushed))| HubTag::new(name, digest, *pushed))
                    .collect();
                // Synthetic builds end an hour before the clock starts, one a minute.
                HubRepo::new(NAMESPACE, repo, tags).with_synthetic(self.synthetic, START - 3600, 60)
            })
            .collect();
        self.hub.set_repos(listed);
        Ok(())
    }

    async fn sync_repo(&mut self, repo: &str) -> Result<(), String> {
        let base = format!("http://{}/v2/{NAMESPACE}/{repo}", self.registry.addr());
        let url = format!("{base}/tags/list");
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            // Nothing pushed to this repository yet.
            return Ok(());
        }
        let listing: serde_json::Value = resp
            .error_for_status()
            .map_err(|e| format!("GET {url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("tag list of {repo}: {e}"))?;
        let names: Vec<String> = listing["tags"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let clock = self.clock;
        for name in names {
            let known = self.hub_tags.get(repo).and_then(|t| t.get(&name)).cloned();
            if known.is_some() && !MOVING.contains(&name.as_str()) {
                continue;
            }
            let digest = self.head_digest(&format!("{base}/manifests/{name}")).await?;
            if known.as_ref().is_none_or(|(d, _)| *d != digest) {
                self.hub_tags
                    .entry(repo.to_owned())
                    .or_default()
                    .insert(name, (digest, clock));
            }
        }
        Ok(())
    }

    async fn head_digest(&self, url: &str) -> Result<String, String> {
        let resp = self
            .http
            .head(url)
            .header("Accept", ACCEPT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("HEAD {url}: {e}"))?;
        resp.headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("HEAD {url}: no Docker-Content-Digest"))
    }

    /// Returns what both proxies saw since the last reset.
    pub(crate) fn counts(&self) -> Counts {
        let registry = self.proxy.requests();
        let hub = self.hub_proxy.requests();
        let spans: Vec<(Instant, Instant)> = registry
            .iter()
            .chain(&hub)
            .filter_map(|r| Some((r.received, r.answered?)))
            .collect();
        Counts {
            registry: registry.len(),
            hub: hub.len(),
            pulls: registry
                .iter()
                .filter(|r| r.method == "GET" && r.path.contains("/manifests/"))
                .count(),
            sequential: testkit::sequential_depth(&spans),
            connections: self.proxy.connections() + self.hub_proxy.connections(),
        }
    }
}

impl World {
    /// Returns the requests since the last reset, both services, in arrival order, each as
    /// `+MS ms METHOD PATH -> STATUS` (time from the first request's arrival).
    pub(crate) fn request_lines(&self) -> Vec<String> {
        let mut all: Vec<(Instant, String)> = Vec::new();
        for (service, log) in [
            ("registry", self.proxy.requests()),
            ("Hub API", self.hub_proxy.requests()),
        ] {
            for r in log {
                let status = r.status.map_or_else(|| "-".into(), |s| s.to_string());
                all.push((
                    r.received,
                    format!("{service} {} {} -> {status}", r.method, r.path),
                ));
            }
        }
        all.sort_by_key(|(t, _)| *t);
        let Some(&(first, _)) = all.first() else {
            return Vec::new();
        };
        all.into_iter()
            .map(|(t, line)| format!("+{:>5} ms  {line}", t.duration_since(first).as_millis()))
            .collect()
    }
}

/// Requests one operation made, as the proxies counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Requests to the registry.
    pub(crate) registry: usize,
    /// Requests to the Hub API.
    pub(crate) hub: usize,
    /// Manifest GETs on the registry (what Docker Hub counts as pulls).
    pub(crate) pulls: usize,
    /// The longest chain of requests made one after another (both services).
    pub(crate) sequential: usize,
    /// Connections opened (each costs a round trip).
    pub(crate) connections: usize,
}
