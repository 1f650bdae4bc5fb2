//! Shared scenario setup: a real docker-registry on 127.0.0.1, a test PKI, a policy.

use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{Artifact, CertificateProfile, GITHUB_ISSUER, TestPki, image_artifact};
use cosign_verify::{CosignVerifier, TrustedRootSource};
use registry_hub::{OciConfig, RemoteRegistry, RetryPolicy};
use tagcore::policy::{ImageSpec, Policy, PolicySpec, VerifySpec};
use tagcore::request::{PromoteRequest, PromoteSource, Request};
use tagcore::{Digest, Engine, OpErrorKind, Repository, Tag, VerifiedSignature, Verifier as _, VerifyError};
use testkit::RegistryServer;

pub(crate) const REPO_PATH: &str = "nearai/cloud-api";
pub(crate) const SHA: &str = "dac1007f00dba11c0ffee00000000000000000ab";

/// One scenario's world: its own registry, PKI and trusted_root.json file.
pub(crate) struct Env {
    _server: RegistryServer,
    /// registry-hub's client, the one production uses.
    pub(crate) registry: RemoteRegistry,
    pub(crate) repo: Repository,
    pub(crate) pki: TestPki,
    pub(crate) trusted_root: TrustedRootSource,
    _dir: tempfile::TempDir,
}

impl Env {
    pub(crate) fn new() -> Self {
        let server = RegistryServer::start();
        let registry = RemoteRegistry::new(OciConfig {
            retry: RetryPolicy::fast(),
            ..OciConfig::default()
        })
        .expect("registry client");
        let repo = Repository::new(server.addr(), REPO_PATH).expect("repository");
        let pki = TestPki::new();
        // Policies name a trusted_root.json file, as air-gapped users do.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trusted_root.json");
        std::fs::write(&path, pki.trusted_root_json()).expect("write trusted root");
        let trusted_root = TrustedRootSource::Json(std::fs::read(&path).expect("read trusted root"));
        Self {
            _server: server,
            registry,
            repo,
            pki,
            trusted_root,
            _dir: dir,
        }
    }

    /// The docker reference cosign would write into payloads.
    pub(crate) fn reference(&self) -> String {
        format!("{}/{}", self.repo.registry(), self.repo.path())
    }

    /// Pushes a fresh image and returns it with its digest.
    pub(crate) async fn image(&self, seed: &str) -> (Artifact, Digest) {
        let image = image_artifact(seed, seed);
        let digest = self.push(&image).await;
        (image, digest)
    }

    /// Uploads the artifact's blobs, then its manifest (under its tag, or by digest).
    pub(crate) async fn push(&self, artifact: &Artifact) -> Digest {
        self.push_to(&self.repo, artifact).await
    }

    /// Uploads the artifact to `repo` on this scenario's registry with registry-hub's client:
    /// its blobs, then its manifest under its tag (or by digest, for referrers).
    pub(crate) async fn push_to(&self, repo: &Repository, artifact: &Artifact) -> Digest {
        use tagcore::Registry as _;
        for blob in &artifact.blobs {
            self.registry.push_blob(repo, blob).await.expect("push blob");
        }
        match &artifact.tag {
            Some(tag) => {
                let tag: Tag = tag.parse().expect("tag");
                self.registry
                    .put_manifest(repo, &tag, &artifact.manifest)
                    .await
                    .expect("push manifest")
            }
            None => self
                .registry
                .put_manifest_by_digest(repo, &artifact.manifest)
                .await
                .expect("push manifest"),
        }
    }

    /// Returns another repository on this scenario's registry.
    pub(crate) fn other_repository(&self, path: &str) -> Repository {
        Repository::new(self.repo.registry(), path).expect("repository")
    }

    /// The cloud-api / chat-api style keyless policy.
    pub(crate) fn keyless_policy(&self) -> TestPolicy {
        TestPolicy {
            spec: VerifySpec {
                issuer: Some(GITHUB_ISSUER.into()),
                identity_regex: Some(
                    r"https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/(heads/main|tags/v.*)".into(),
                ),
                workflow_repository: Some("nearai/cloud-api".into()),
                workflow_refs: vec!["refs/heads/main".into(), "refs/tags/v*".into()],
                ..VerifySpec::default()
            },
            trusted_root: self.trusted_root.clone(),
        }
    }

    pub(crate) fn key_policy(&self, pem: &str) -> TestPolicy {
        TestPolicy {
            spec: VerifySpec {
                key: Some(pem.into()),
                ..VerifySpec::default()
            },
            trusted_root: self.trusted_root.clone(),
        }
    }

    /// Verifies `digest` under `policy`. A refusal is also driven through tagcore: a promote of
    /// that digest (staging pointed at it) must fail with a verification error and leave `prod`
    /// where it was — the verifier's "no" is what keeps prod untouched.
    pub(crate) async fn verify(
        &self,
        policy: &TestPolicy,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        self.verify_in(&self.repo, policy, digest).await
    }

    /// [`Env::verify`] in another repository of this scenario's registry.
    pub(crate) async fn verify_in(
        &self,
        repo: &Repository,
        policy: &TestPolicy,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        let verifier = CosignVerifier::with_policy(&self.registry, policy.compile().expect("valid policy"));
        let result = verifier.verify(repo, digest).await;
        if result.is_err() {
            self.assert_promote_refused(repo, &verifier, digest).await;
        }
        result
    }

    /// Stages `digest` in `repo` and promotes it through the engine, verified by `verifier`.
    pub(crate) async fn promote(
        &self,
        repo: &Repository,
        verifier: &CosignVerifier<&RemoteRegistry>,
        digest: &Digest,
    ) -> Result<(), tagcore::OpError> {
        use tagcore::Registry as _;
        let manifest = self
            .registry
            .fetch_manifest(repo, digest)
            .await
            .expect("read image");
        self.registry
            .put_manifest(repo, &"staging".parse().expect("tag"), &manifest)
            .await
            .expect("stage");
        let spec = PolicySpec {
            unit: "cloud-api".into(),
            images: vec![ImageSpec {
                repository: repo.to_string(),
                verify: true,
                ..Default::default()
            }],
            verify: Some(VerifySpec {
                key: Some("enforced by the CosignVerifier under test".into()),
                ..VerifySpec::default()
            }),
            ..PolicySpec::default()
        };
        let policy = Policy::from_spec(&spec).expect("policy");
        let audit = tagcore::testing::MemoryAudit::new();
        let engine = Engine::new(&policy, &self.registry, verifier, &audit);
        let request = Request::Promote(PromoteRequest {
            source: PromoteSource::Staging,
            confirm: None,
            expect_digest: None,
            allow_older: false,
        });
        let now = "2026-07-09T10:00:00Z".parse().expect("time");
        engine.run(&request, now, false).await.map(|_| ())
    }

    async fn assert_promote_refused(
        &self,
        repo: &Repository,
        verifier: &CosignVerifier<&RemoteRegistry>,
        digest: &Digest,
    ) {
        use tagcore::Registry as _;
        let prod: Tag = "prod".parse().expect("tag");
        let before = self.registry.resolve_tag(repo, &prod).await.expect("read prod");
        let stamps_before = self.stamps(repo).await;
        if self.registry.fetch_manifest(repo, digest).await.is_err() {
            return; // a corrupt or missing image cannot even be staged
        }
        let err = self
            .promote(repo, verifier, digest)
            .await
            .expect_err("a refused signature must stop the promote");
        assert_eq!(err.kind, OpErrorKind::Verification, "{err}");
        let after = self.registry.resolve_tag(repo, &prod).await.expect("read prod");
        assert_eq!(after, before, "prod must be untouched after a refusal");
        assert_eq!(
            self.stamps(repo).await,
            stamps_before,
            "no stamp may be written after a refusal"
        );
    }

    /// Returns the prod stamp tags of `repo`, sorted.
    async fn stamps(&self, repo: &Repository) -> Vec<String> {
        use tagcore::Registry as _;
        let listing = self.registry.list_tags(repo).await.expect("list");
        let mut stamps: Vec<String> = listing
            .tags
            .iter()
            .map(|t| t.tag.as_str().to_owned())
            .filter(|t| t.starts_with("prod-"))
            .collect();
        stamps.sort();
        stamps
    }
}

/// Returns the digest [`Env::image`] gives the image of `seed`.
pub(crate) fn image_digest(seed: &str) -> Digest {
    image_artifact(seed, seed).digest()
}

/// The profile of cloud-api's build workflow on `git_ref`.
pub(crate) fn build_on(git_ref: &str) -> CertificateProfile {
    CertificateProfile::github(REPO_PATH, "build.yml", git_ref, SHA)
}

/// Returns the refusal reasons without their origin prefix (`…): `), failing on acceptance.
pub(crate) fn reasons(result: Result<VerifiedSignature, VerifyError>) -> Vec<String> {
    match result {
        Err(VerifyError::Refused { reasons }) => reasons
            .into_iter()
            .map(|r| r.split_once("): ").map_or(r.clone(), |(_, rest)| rest.to_owned()))
            .collect(),
        Err(e @ VerifyError::Unavailable { .. }) => panic!("expected a refusal, got {e}"),
        Ok(v) => panic!("expected a refusal, got an acceptance: {v:?}"),
    }
}

/// Returns the full refusal reasons, failing on acceptance.
pub(crate) fn raw_reasons(result: Result<VerifiedSignature, VerifyError>) -> Vec<String> {
    match result {
        Err(VerifyError::Refused { reasons }) => reasons,
        other => panic!("expected a refusal, got {other:?}"),
    }
}
