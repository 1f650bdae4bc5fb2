//! A real `docker-registry` behind testkit's fault proxy, and the operations of the matrix,
//! each with a registry state that can be set up afresh in its own repository.

use std::collections::BTreeMap;
use std::time::Duration;

use cosign_verify::CosignVerifier;
use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{KeyPair, image_artifact, sig_artifact};
use registry_hub::{OciConfig, RemoteRegistry, RetryPolicy};
use tagcore::outcome::Outcome;
use tagcore::policy::{ImageSpec, Policy, PolicySpec, StepMode, VerifySpec};
use tagcore::request::{
    PromoteRequest, PromoteSource, PublishRequest, Request, RollbackRequest, RollbackTarget,
};
use tagcore::testing::MemoryAudit;
use tagcore::{Digest, Engine, OpError, Registry as _, Repository, Tag, Timestamp};
use testkit::{FaultProxy, RegistryServer};

/// The client timeout of the engine's registry client: short, so a stall costs little, but
/// longer than a slow PUT on a loaded machine. (With 400 ms, a PUT the registry took 3.5 s to
/// answer was retried while the first was still running, and the two concurrent writes of one
/// tag left its link file corrupt on distribution 2.8.2: every later read of the tag answered
/// 500 "invalid checksum digest format".)
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_millis(1500);

pub(crate) const SHA_A: &str = "a2fad42000000000000000000000000000000001";

/// The operations of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Op {
    Promote,
    Rollback,
    Publish,
    /// `publish --from`: push a build output (an OCI layout), then publish its digest.
    PublishFrom,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Rollback => "rollback",
            Self::Publish => "publish",
            Self::PublishFrom => "publish-from",
        }
    }
}

/// Tag → digest of one repository, signature artifacts left out.
pub(crate) type TagState = BTreeMap<String, Digest>;

/// A template repository's name, the request run on its copies, and its verified digests.
type Template = (String, Request, Vec<Digest>);

pub(crate) struct World {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) registry: RegistryServer,
    pub(crate) proxy: FaultProxy,
    direct: RemoteRegistry,
    key: KeyPair,
    cases: std::cell::Cell<u32>,
    /// Per operation: the template repository's name, the request and the verified digests.
    templates: std::cell::RefCell<BTreeMap<Op, Template>>,
    /// The engine's client (through the proxy) and verifier, shared by every run.
    client: RemoteRegistry,
    verifier: CosignVerifier<RemoteRegistry>,
    /// The build output `publish --from` pushes (written once, on first use).
    build: std::cell::OnceCell<crate::from::BuildOutput>,
}

/// One fresh repository set up for an operation: what the engine needs to run it there.
pub(crate) struct Case {
    pub(crate) op: Op,
    pub(crate) name: String,
    pub(crate) policy: Policy,
    pub(crate) request: Request,
    /// Digests carrying a valid signature.
    pub(crate) verified: Vec<Digest>,
}

/// The time every first run happens at (a Thursday), and the time of a later re-run.
pub(crate) const NOW: &str = "2026-07-09T10:00:00Z";
pub(crate) const LATER: &str = "2026-07-09T10:30:00Z";

pub(crate) fn t(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

impl World {
    pub(crate) fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let registry = RegistryServer::start();
        let proxy = FaultProxy::start(registry.addr());
        proxy.set_stall(CLIENT_TIMEOUT + Duration::from_secs(1));
        let direct = RemoteRegistry::new(OciConfig {
            retry: RetryPolicy::fast(),
            ..OciConfig::default()
        })
        .expect("client");
        let key = KeyPair::generate();
        let client = engine_client();
        client.set_upload_chunk_size(crate::from::CHUNK);
        let verifier = CosignVerifier::with_policy(
            client.clone(),
            signature_policy(&key, &proxy.addr())
                .compile()
                .expect("signature policy"),
        );
        Self {
            rt,
            registry,
            proxy,
            direct,
            key,
            cases: std::cell::Cell::new(0),
            templates: std::cell::RefCell::new(BTreeMap::new()),
            client,
            verifier,
            build: std::cell::OnceCell::new(),
        }
    }

    /// Returns the build output of `publish --from`, written and opened on first use.
    pub(crate) fn build_output(&self) -> &crate::from::BuildOutput {
        self.build.get_or_init(|| crate::from::BuildOutput::new(self))
    }

    /// Uploads `bytes` as a blob of `name` (directly, not through the proxy).
    pub(crate) fn push_blob_directly(&self, name: &str, bytes: &[u8]) {
        let repo = self.direct_repo(name);
        self.rt
            .block_on(self.direct.push_blob(&repo, bytes))
            .expect("push blob");
    }

    /// Returns the repository `name` as the engine sees it (through the proxy).
    /// Returns the proxy's address, the host every case's repository is reached at.
    pub(crate) fn proxy_addr(&self) -> String {
        self.proxy.addr()
    }

    pub(crate) fn proxied(&self, name: &str) -> Repository {
        Repository::new(&self.proxy.addr(), &format!("team/{name}")).expect("valid")
    }

    /// Returns the repository `name` on the registry itself (no proxy).
    fn direct_repo(&self, name: &str) -> Repository {
        Repository::new(self.registry.addr(), &format!("team/{name}")).expect("valid")
    }

    /// Pushes the image built from `seed` into `name` (directly) and returns its digest; signs
    /// it for the proxied repository when `signed`.
    pub(crate) fn image(&self, name: &str, seed: &str, signed: bool) -> Digest {
        let repo = self.direct_repo(name);
        let image = image_artifact("unused", seed);
        let digest = self.rt.block_on(async {
            for blob in &image.blobs {
                self.direct.push_blob(&repo, blob).await.expect("push blob");
            }
            self.direct
                .put_manifest_by_digest(&repo, &image.manifest)
                .await
                .expect("push manifest")
        });
        if signed {
            let layer = self.key.sign_image(&self.proxied(name).to_string(), &digest);
            let sig = sig_artifact(&digest, &[layer]);
            let tag: Tag = sig.tag.clone().expect("sig tag").parse().expect("valid");
            self.rt.block_on(async {
                for blob in &sig.blobs {
                    self.direct.push_blob(&repo, blob).await.expect("push sig blob");
                }
                self.direct
                    .put_manifest(&repo, &tag, &sig.manifest)
                    .await
                    .expect("push sig");
            });
        }
        digest
    }

    /// Points `tag` of `name` at `digest` (directly).
    pub(crate) fn set_tag(&self, name: &str, tag: &str, digest: &Digest) {
        let repo = self.direct_repo(name);
        self.rt.block_on(async {
            let m = self.direct.fetch_manifest(&repo, digest).await.expect("manifest");
            self.direct
                .put_manifest(&repo, &tag.parse().expect("valid"), &m)
                .await
                .expect("set tag");
        });
    }

    /// Reads every tag of `name` and its digest straight from the registry.
    pub(crate) fn state(&self, name: &str) -> TagState {
        let repo = self.direct_repo(name);
        self.rt.block_on(async {
            let listing = self.direct.list_tags(&repo).await.expect("list tags");
            let mut out = TagState::new();
            for t in listing.tags {
                if tagcore::is_signature_artifact(t.tag.as_str()) {
                    continue;
                }
                match self.direct.resolve_tag(&repo, &t.tag).await {
                    Ok(Some(d)) => {
                        out.insert(t.tag.to_string(), d);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let needle = format!("/{}/", repo.path());
                        let log: Vec<String> = self
                            .registry
                            .log_lines()
                            .into_iter()
                            .filter(|l| l.contains(&needle))
                            .map(|l| l.chars().take(400).collect())
                            .collect();
                        panic!("reading {repo}:{} failed: {e}\nregistry log: {log:#?}", t.tag);
                    }
                }
            }
            out
        })
    }

    /// Returns the signing key.
    pub(crate) fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Runs `case` at `now` through the proxy with `audit`; `publish --from` pushes the build
    /// output first (a failed push is the run's error: no tag was written).
    pub(crate) fn run(&self, case: &Case, now: &str, audit: &MemoryAudit) -> Result<Outcome, OpError> {
        let engine = Engine::new(&case.policy, &self.client, &self.verifier, audit);
        self.rt.block_on(async {
            if case.op == Op::PublishFrom {
                let repo = self.proxied(&case.name);
                let digest = crate::from::push(&self.client, &repo, self.build_output()).await?;
                let digests = [format!("{repo}={digest}")];
                let request = PublishRequest::parse(&digests, SHA_A, false, &case.policy)?;
                return engine.run(&Request::Publish(request), t(now), false).await;
            }
            engine.run(&case.request, t(now), false).await
        })
    }

    /// Sets up `op`'s registry state in a new repository and returns the case: a template
    /// repository is pushed once (and never run on), then copied in the registry's storage for
    /// every case (an identical repository, without a hundred setup requests).
    pub(crate) fn setup(&self, op: Op) -> Case {
        let n = self.cases.get() + 1;
        self.cases.set(n);
        let name = format!("{}-{n}", op.name());
        let mut spec = self.spec(&name);
        if matches!(op, Op::Publish | Op::PublishFrom) {
            spec.tags.publish_aliases = vec!["edge".into()];
        }
        if !self.templates.borrow().contains_key(&op) {
            let from = format!("{}-template", op.name());
            let mut template_spec = self.spec(&from);
            template_spec.tags.publish_aliases = spec.tags.publish_aliases.clone();
            let (request, verified) = self.populate(op, &from, &template_spec);
            self.templates.borrow_mut().insert(op, (from, request, verified));
        }
        let (from, request, verified) = self.templates.borrow()[&op].clone();
        let root = self
            .registry
            .storage_dir()
            .join("docker/registry/v2/repositories/team");
        copy_dir(&root.join(from), &root.join(&name)).expect("copy the template repository");
        Case {
            op,
            name,
            policy: Policy::from_spec(&spec).expect("valid policy"),
            request,
            verified,
        }
    }

    /// Pushes `op`'s registry state into `name`; returns the request and the verified digests.
    fn populate(&self, op: Op, name: &str, spec: &PolicySpec) -> (Request, Vec<Digest>) {
        let name = name.to_owned();
        match op {
            Op::Promote => {
                let p0 = self.image(&name, "p0", true);
                for tag in ["prod-20260601-851f2cc", "prod", "latest"] {
                    self.set_tag(&name, tag, &p0);
                }
                let new = self.image(&name, "new", true);
                self.set_tag(&name, "staging-20260708-a2fad42", &new);
                self.set_tag(&name, "staging", &new);
                // An unsigned build nobody may promote.
                self.image(&name, "unsigned", false);
                let req = Request::Promote(PromoteRequest {
                    source: PromoteSource::Staging,
                    confirm: None,
                    expect_digest: None,
                    allow_older: false,
                });
                (req, vec![p0, new])
            }
            Op::Rollback => {
                let p1 = self.image(&name, "p1", true);
                let p2 = self.image(&name, "p2", true);
                self.set_tag(&name, "prod-20260620-a2fad42", &p1);
                self.set_tag(&name, "prod-20260622-851f2cc", &p2);
                for tag in ["prod", "latest", "staging"] {
                    self.set_tag(&name, tag, &p2);
                }
                let req = Request::Rollback(RollbackRequest {
                    target: RollbackTarget::Stamp("prod-20260620-a2fad42".parse().expect("valid")),
                    confirm: None,
                });
                (req, vec![p1, p2])
            }
            Op::Publish | Op::PublishFrom => {
                let old = self.image(&name, "old", true);
                self.set_tag(&name, "staging-20260701-970361d", &old);
                for tag in ["staging", "edge"] {
                    self.set_tag(&name, tag, &old);
                }
                // publish --from brings its build itself (the request is made after the push).
                let build = match op {
                    Op::PublishFrom => self.build_output().digest().clone(),
                    _ => self.image(&name, "build", true),
                };
                let policy = Policy::from_spec(spec).expect("valid policy");
                let req = Request::Publish(
                    PublishRequest::parse(&[build.to_string()], SHA_A, false, &policy).expect("valid"),
                );
                (req, vec![old, build])
            }
        }
    }

    /// Returns the matrix's policy for the repository `name`: prod alias `latest`, required
    /// audit tag and release, key-based verification.
    pub(crate) fn spec(&self, name: &str) -> PolicySpec {
        let mut s = PolicySpec {
            unit: "matrix".into(),
            images: vec![ImageSpec {
                repository: self.proxied(name).to_string(),
                verify: true,
                ..ImageSpec::default()
            }],
            verify: Some(VerifySpec {
                key: Some(self.key.public_key_pem()),
                ..VerifySpec::default()
            }),
            ..PolicySpec::default()
        };
        s.tags.prod_aliases = vec!["latest".into()];
        s.rollback.audit_tag = StepMode::Required;
        s.release.mode = StepMode::Required;
        s
    }
}

/// Returns the engine's client, through the proxy, with a short timeout and fast retries.
pub(crate) fn engine_client() -> RemoteRegistry {
    RemoteRegistry::new(OciConfig {
        request_timeout: CLIENT_TIMEOUT,
        connect_timeout: CLIENT_TIMEOUT,
        retry: RetryPolicy::fast(),
        ..OciConfig::default()
    })
    .expect("client")
}

/// Returns the key-based signature policy of `key`. Each case's repository is a copy of its
/// operation's template, whose signatures name the template: the templates are allowed as
/// mirrors (`host` is the proxy's address).
pub(crate) fn signature_policy(key: &KeyPair, host: &str) -> TestPolicy {
    TestPolicy {
        spec: VerifySpec {
            key: Some(key.public_key_pem()),
            allowed_references: [Op::Promote, Op::Rollback, Op::Publish, Op::PublishFrom]
                .iter()
                .map(|op| format!("{host}/team/{}-template", op.name()))
                .collect(),
            ..VerifySpec::default()
        },
        ..TestPolicy::default()
    }
}

/// Copies the directory `from` to `to` recursively (the registry's link files and folders).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
