//! Shared scenario setup: a real docker-registry on 127.0.0.1, a test PKI, a policy.

pub(crate) mod http;

use cosign_verify::testing::{Artifact, CertificateProfile, GITHUB_ISSUER, TestPki, image_artifact};
use cosign_verify::{CosignVerifier, SignaturePolicy, TrustedRootSource};
use tagcore::{Digest, Repository, VerifiedSignature, Verifier as _, VerifyError};
use testkit::RegistryServer;

pub(crate) use http::HttpRegistry;

pub(crate) const REPO_PATH: &str = "nearai/cloud-api";
pub(crate) const SHA: &str = "dac1007f00dba11c0ffee00000000000000000ab";

/// One scenario's world: its own registry, PKI and trusted_root.json file.
pub(crate) struct Env {
    _server: RegistryServer,
    pub(crate) registry: HttpRegistry,
    pub(crate) repo: Repository,
    pub(crate) pki: TestPki,
    pub(crate) trusted_root: TrustedRootSource,
    _dir: tempfile::TempDir,
}

impl Env {
    pub(crate) fn new() -> Self {
        let server = RegistryServer::start();
        let registry = HttpRegistry::new(server.addr());
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
        let digest = self.registry.push(&self.repo, &image).await;
        (image, digest)
    }

    pub(crate) async fn push(&self, artifact: &Artifact) -> Digest {
        self.registry.push(&self.repo, artifact).await
    }

    /// The cloud-api / chat-api style keyless policy.
    pub(crate) fn keyless_policy(&self) -> SignaturePolicy {
        SignaturePolicy {
            issuer: Some(GITHUB_ISSUER.into()),
            identity_regex: Some(
                r"https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/(heads/main|tags/v.*)".into(),
            ),
            workflow_repository: Some("nearai/cloud-api".into()),
            workflow_refs: vec!["refs/heads/main".into(), "refs/tags/v*".into()],
            trusted_root: self.trusted_root.clone(),
            ..SignaturePolicy::default()
        }
    }

    pub(crate) fn key_policy(&self, pem: &str) -> SignaturePolicy {
        SignaturePolicy {
            key_pem: Some(pem.into()),
            trusted_root: self.trusted_root.clone(),
            ..SignaturePolicy::default()
        }
    }

    pub(crate) async fn verify(
        &self,
        policy: &SignaturePolicy,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        let verifier = CosignVerifier::new(&self.registry, policy).expect("valid policy");
        verifier.verify(&self.repo, digest).await
    }
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
