//! A real registry behind the counting proxy, optionally a Hub API emulation serving its
//! listings, signed images, and the engine over them.

use cosign_verify::CosignVerifier;
use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{KeyPair, sig_artifact};
use registry_hub::{HubClient, HubConfig, OciConfig, RemoteRegistry, RetryPolicy};
use serde_json::json;
use tagcore::outcome::Outcome;
use tagcore::policy::{ImageSpec, Policy, PolicySpec, VerifySpec};
use tagcore::request::{PromoteRequest, PromoteSource, Request};
use tagcore::testing::MemoryAudit;
use tagcore::{Digest, Engine, Manifest, OpError, Registry, Repository, Tag, Timestamp};
use testkit::{FaultProxy, HubRepo, HubServer, LoggedRequest, RegistryServer};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

pub(crate) struct World {
    pub(crate) rt: tokio::runtime::Runtime,
    _registry: RegistryServer,
    pub(crate) proxy: FaultProxy,
    pub(crate) hub: Option<HubServer>,
    direct: RemoteRegistry,
    direct_repo: Repository,
    key: KeyPair,
    pub(crate) client: RemoteRegistry,
    pub(crate) verifier: CosignVerifier<RemoteRegistry>,
    pub(crate) policy: Policy,
}

pub(crate) fn t(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

pub(crate) fn tag(s: &str) -> Tag {
    s.parse().expect("valid tag")
}

impl World {
    /// Starts a registry and the proxy; with `hub`, a Hub API emulation serving `team/app`
    /// (the repository's listings then come from it, with push times and digests).
    pub(crate) fn new(hub: Option<HubRepo>) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let registry = RegistryServer::start();
        let proxy = FaultProxy::start(registry.addr());
        let config = || OciConfig {
            retry: RetryPolicy::fast(),
            ..OciConfig::default()
        };
        let direct = RemoteRegistry::new(config()).expect("client");
        let hub = hub.map(|repo| HubServer::start(vec![repo]));
        let client = match &hub {
            Some(h) => {
                let hub_client = HubClient::new(HubConfig {
                    base_url: h.base_url(),
                    retry: RetryPolicy::fast(),
                    max_pages: 2000,
                    max_listing_bytes: 1 << 30,
                    ..HubConfig::default()
                })
                .expect("hub client");
                RemoteRegistry::with_hub_for(config(), hub_client, &proxy.addr()).expect("client")
            }
            None => RemoteRegistry::new(config()).expect("client"),
        };
        let key = KeyPair::generate();
        let repo = format!("{}/team/app", proxy.addr());
        let verifier = CosignVerifier::with_policy(
            client.clone(),
            TestPolicy {
                spec: VerifySpec {
                    key: Some(key.public_key_pem()),
                    ..VerifySpec::default()
                },
                ..TestPolicy::default()
            }
            .compile()
            .expect("signature policy"),
        );
        let mut spec = PolicySpec {
            unit: "app".into(),
            images: vec![ImageSpec {
                repository: repo,
                verify: true,
                ..ImageSpec::default()
            }],
            verify: Some(VerifySpec {
                key: Some(key.public_key_pem()),
                ..VerifySpec::default()
            }),
            ..PolicySpec::default()
        };
        spec.tags.prod_aliases = vec!["latest".into()];
        let direct_repo = Repository::new(registry.addr(), "team/app").expect("valid");
        Self {
            rt,
            _registry: registry,
            proxy,
            hub,
            direct,
            direct_repo,
            key,
            client,
            verifier,
            policy: Policy::from_spec(&spec).expect("valid policy"),
        }
    }

    /// Returns the repository as the engine sees it (through the proxy).
    pub(crate) fn repo(&self) -> Repository {
        Repository::new(&self.proxy.addr(), "team/app").expect("valid")
    }

    /// Pushes a one-layer image (with the revision annotation `revision`, when given) directly
    /// and signs it with the key for the proxied repository; returns its digest.
    pub(crate) fn image(&self, seed: &str, revision: Option<&str>) -> Digest {
        let layer = format!("layer of {seed}").into_bytes();
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).as_str()]},
        }))
        .expect("json");
        let descriptor =
            |mt: &str, b: &[u8]| json!({"mediaType": mt, "digest": Digest::of(b).as_str(), "size": b.len()});
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
        });
        if let Some(r) = revision {
            manifest["annotations"] = json!({"org.opencontainers.image.revision": r});
        }
        let manifest = Manifest::new(OCI_MANIFEST, serde_json::to_vec(&manifest).expect("json"));
        let repo = &self.direct_repo;
        let digest = self.rt.block_on(async {
            for blob in [&config, &layer] {
                self.direct.push_blob(repo, blob).await.expect("push blob");
            }
            self.direct
                .put_manifest_by_digest(repo, &manifest)
                .await
                .expect("push manifest")
        });
        let sig = sig_artifact(&digest, &[self.key.sign_image(&self.repo().to_string(), &digest)]);
        self.rt.block_on(async {
            for blob in &sig.blobs {
                self.direct.push_blob(repo, blob).await.expect("push sig blob");
            }
            let sig_tag = tag(sig.tag.as_deref().expect("sig tag"));
            self.direct
                .put_manifest(repo, &sig_tag, &sig.manifest)
                .await
                .expect("push sig");
        });
        digest
    }

    /// Points `name` at `digest`, directly.
    pub(crate) fn set_tag(&self, name: &str, digest: &Digest) {
        self.rt.block_on(async {
            let m = self
                .direct
                .fetch_manifest(&self.direct_repo, digest)
                .await
                .expect("manifest");
            self.direct
                .put_manifest(&self.direct_repo, &tag(name), &m)
                .await
                .expect("set tag");
        });
    }

    /// Returns where `name` points, directly.
    pub(crate) fn get_tag(&self, name: &str) -> Option<Digest> {
        self.rt
            .block_on(self.direct.resolve_tag(&self.direct_repo, &tag(name)))
            .expect("resolve")
    }

    /// Runs `request` at `now` (a dry run when `dry`) over `registry` (the counted client or a
    /// wrapper of it).
    pub(crate) fn run_on<R: Registry>(
        &self,
        registry: &R,
        request: &Request,
        now: &str,
        dry: bool,
    ) -> Result<Outcome, OpError> {
        let audit = MemoryAudit::new();
        let engine = Engine::new(&self.policy, registry, &self.verifier, &audit);
        self.rt.block_on(engine.run(request, t(now), dry))
    }

    /// Runs `request` over the counted client with a fresh request log; returns the outcome
    /// and the requests it made.
    pub(crate) fn counted(&self, request: &Request, now: &str, dry: bool) -> (Outcome, Vec<LoggedRequest>) {
        self.proxy.reset();
        if let Some(h) = &self.hub {
            h.reset();
        }
        let out = self
            .run_on(&self.client, request, now, dry)
            .unwrap_or_else(|e| panic!("{request:?} failed: {e}"));
        (out, self.proxy.requests())
    }
}

/// Returns `METHOD path` of each request, the repository left out.
pub(crate) fn show(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .map(|r| format!("{} {}", r.method, r.path.replace("/v2/team/app/", "")))
        .collect()
}

/// Returns the manifest and blob GETs of `log` (Docker Hub counts manifest GETs as pulls).
pub(crate) fn content_gets(log: &[LoggedRequest]) -> Vec<String> {
    show(log)
        .into_iter()
        .filter(|r| r.starts_with("GET manifests/") || r.starts_with("GET blobs/"))
        .collect()
}

/// Promotes what staging holds.
pub(crate) fn promote() -> Request {
    Request::Promote(PromoteRequest {
        source: PromoteSource::Staging,
        confirm: None,
        expect_digest: None,
        allow_older: false,
    })
}
