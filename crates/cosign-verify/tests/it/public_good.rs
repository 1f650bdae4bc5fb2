//! A real cosign bundle v0.3 from the public-good instance, verified offline against the pinned
//! public-good trust root (see tests/data/README.md).

use cosign_verify::testing::{TestPki, bundle_artifact_for};
use cosign_verify::testing::{TestPolicy, memory_registry};
use cosign_verify::{CosignVerifier, TrustedRootSource};
use tagcore::policy::VerifySpec;
use tagcore::{Digest, Repository, Verifier as _};

use crate::support::reasons;
use tagcore::testing::MemoryRegistry;

const BUNDLE: &[u8] = include_bytes!("../data/kubewarden-controller-v1.34.0.bundle_v03.json");
const DIGEST: &str = "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172";
const IDENTITY: &str =
    "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0";

fn setup() -> (MemoryRegistry, Repository, Digest) {
    let repo = Repository::new("ghcr.io", "kubewarden/kubewarden-controller").expect("repository");
    let digest: Digest = DIGEST.parse().expect("digest");
    let reg = memory_registry(true);
    bundle_artifact_for(&digest, "application/vnd.oci.image.index.v1+json", 1609, BUNDLE)
        .store_in(&reg, &repo);
    (reg, repo, digest)
}

fn policy() -> TestPolicy {
    TestPolicy {
        spec: VerifySpec {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            identity_regex: Some(r"https://github\.com/kubewarden/kubewarden-controller/\.github/workflows/release\.yml@refs/tags/v.*".into()),
            workflow_repository: Some("kubewarden/kubewarden-controller".into()),
            workflow_refs: vec!["refs/tags/v*".into()],
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::PublicGood,
    }
}

#[test]
fn real_public_good_bundle_is_accepted_offline() {
    let (reg, repo, digest) = setup();
    let verifier = CosignVerifier::with_policy(reg, policy().compile().expect("policy"));
    let v = pollster::block_on(verifier.verify(&repo, &digest)).expect("accepted");
    assert_eq!(v.identity.as_deref(), Some(IDENTITY));
    assert_eq!(v.workflow_ref.as_deref(), Some("refs/tags/v1.34.0"));
    assert_eq!(
        v.source_commit.as_ref().map(|c| c.as_str()),
        Some("2a6b879b7a5ef59d7fb348d0b5d14314538ac0a6")
    );
}

#[test]
fn real_bundle_is_refused_for_another_repository_policy() {
    let (reg, repo, digest) = setup();
    let policy = TestPolicy {
        spec: VerifySpec {
            identity_regex: Some(r"https://github\.com/kubewarden/kubewarden-controller/.*".into()),
            workflow_repository: Some("kubewarden/kubewarden".into()),
            ..policy().spec
        },
        ..policy()
    };
    let verifier = CosignVerifier::with_policy(reg, policy.compile().expect("policy"));
    assert_eq!(
        reasons(pollster::block_on(verifier.verify(&repo, &digest))),
        vec![
            "workflow repository is \"kubewarden/kubewarden-controller\", expected \"kubewarden/kubewarden\""
        ]
    );
}

#[test]
fn real_bundle_is_refused_under_a_trust_root_without_the_public_good_log() {
    let (reg, repo, digest) = setup();
    let policy = TestPolicy {
        trusted_root: TestPki::new().trusted_root(),
        ..policy()
    };
    let verifier = CosignVerifier::with_policy(reg, policy.compile().expect("policy"));
    assert_eq!(
        reasons(pollster::block_on(verifier.verify(&repo, &digest))),
        vec![
            "transparency log entry is from log c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d which is not in the trust root"
        ]
    );
}
