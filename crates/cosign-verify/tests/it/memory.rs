//! Scenarios over the in-memory registry: the referrers API path, corrupt stores, and registry
//! failures (which make verification unavailable, never accepted).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosign_verify::testing::{
    FakeRekor, KeyPair, SIGNING_TIME, TestPki, bundle_artifact, image_artifact, sig_artifact,
};
use cosign_verify::testing::{TestPolicy, memory_registry};
use cosign_verify::{CosignVerifier, TrustedRootSource};
use tagcore::policy::VerifySpec;
use tagcore::testing::Call;
use tagcore::{
    Digest, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, Tag, TagListing, Verifier as _,
    VerifyError,
};

use crate::support::{build_on, reasons};

/// The docker reference signatures name: the repository of [`repo`].
const REF: &str = "registry.example/nearai/cloud-api";

fn repo() -> Repository {
    Repository::new("registry.example", "nearai/cloud-api").expect("repository")
}

fn policy(pki: &TestPki) -> TestPolicy {
    TestPolicy {
        spec: VerifySpec {
            issuer: Some(cosign_verify::testing::GITHUB_ISSUER.into()),
            identity: Some(
                "https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main".into(),
            ),
            workflow_repository: Some("nearai/cloud-api".into()),
            workflow_refs: vec!["refs/heads/main".into()],
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
    }
}

#[test]
fn bundle_found_through_the_referrers_api_is_accepted() {
    let pki = TestPki::new();
    let reg = memory_registry(true);
    let image = image_artifact("staging", "a");
    let digest = image.store_in(&reg, &repo());
    let bundle = pki.bundle_keyless(&build_on("refs/heads/main"), REF, &digest);
    let referrer = bundle_artifact(&image.manifest, &bundle).store_in(&reg, &repo());
    let verifier = CosignVerifier::with_policy(reg, policy(&pki).compile().expect("policy"));
    let v = pollster::block_on(verifier.verify(&repo(), &digest)).expect("accepted");
    assert_eq!(v.layer, format!("Sigstore bundle {referrer} (via referrers API)"));
    assert!(
        !verifier
            .registry()
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Resolve(t) if t.contains(":sha256-") && !t.ends_with(".sig")))
    );
}

#[test]
fn corrupt_signature_layer_is_refused() {
    let pki = TestPki::new();
    let reg = memory_registry(false);
    let image = image_artifact("staging", "a");
    let digest = image.store_in(&reg, &repo());
    let layer = pki.sign_keyless(&build_on("refs/heads/main"), REF, &digest);
    let layer_digest = Digest::of(&layer.payload);
    sig_artifact(&digest, &[layer]).store_in(&reg, &repo());
    reg.corrupt_blob(&repo(), &layer_digest, b"{}".to_vec());
    let verifier = CosignVerifier::with_policy(reg, policy(&pki).compile().expect("policy"));
    assert_eq!(
        reasons(pollster::block_on(verifier.verify(&repo(), &digest))),
        vec![format!("layer content does not match its digest {layer_digest}")]
    );
}

#[test]
fn unknown_layer_media_type_is_refused() {
    let pki = TestPki::new();
    let reg = memory_registry(false);
    let image = image_artifact("staging", "a");
    let digest = image.store_in(&reg, &repo());
    let mut sig = sig_artifact(
        &digest,
        &[pki.sign_keyless(&build_on("refs/heads/main"), REF, &digest)],
    );
    let text = String::from_utf8(sig.manifest.bytes.clone()).expect("utf8");
    sig.manifest.bytes = text
        .replace(
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.example.other",
        )
        .into_bytes();
    sig.store_in(&reg, &repo());
    let verifier = CosignVerifier::with_policy(reg, policy(&pki).compile().expect("policy"));
    assert_eq!(
        reasons(pollster::block_on(verifier.verify(&repo(), &digest))),
        vec!["layer media type \"application/vnd.example.other\" is not cosign's simple-signing type"]
    );
}

#[test]
fn garbage_sig_manifest_is_refused() {
    let pki = TestPki::new();
    let reg = memory_registry(false);
    let image = image_artifact("staging", "a");
    let digest = image.store_in(&reg, &repo());
    let mut sig = sig_artifact(&digest, &[]);
    sig.manifest = Manifest::new("application/vnd.oci.image.manifest.v1+json", b"not json".to_vec());
    sig.store_in(&reg, &repo());
    let verifier = CosignVerifier::with_policy(reg, policy(&pki).compile().expect("policy"));
    let r = reasons(pollster::block_on(verifier.verify(&repo(), &digest)));
    assert_eq!(r.len(), 1);
    assert!(r[0].starts_with("signature manifest does not parse"), "{r:?}");
}

/// A registry that is down.
struct Down;

impl Registry for Down {
    async fn resolve_tag(&self, _: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        Err(RegistryError::new(
            RegistryErrorKind::Transient,
            format!("connection refused resolving {tag}"),
        ))
    }
    async fn fetch_manifest(&self, _: &Repository, _: &Digest) -> Result<Manifest, RegistryError> {
        unreachable!()
    }
    async fn put_manifest(&self, _: &Repository, _: &Tag, _: &Manifest) -> Result<Digest, RegistryError> {
        unreachable!()
    }
    async fn list_tags(&self, _: &Repository) -> Result<TagListing, RegistryError> {
        unreachable!()
    }
    async fn fetch_blob(&self, _: &Repository, _: &Digest, _: u64) -> Result<Vec<u8>, RegistryError> {
        unreachable!()
    }
    async fn fetch_referrers(&self, _: &Repository, _: &Digest) -> Result<Option<Manifest>, RegistryError> {
        unreachable!()
    }
    async fn image_revision(&self, _: &Repository, _: &Digest) -> Result<Option<String>, RegistryError> {
        unreachable!()
    }
}

#[test]
fn registry_failure_makes_verification_unavailable() {
    let pki = TestPki::new();
    let verifier = CosignVerifier::with_policy(Down, policy(&pki).compile().expect("policy"));
    let digest = Digest::of(b"x");
    match pollster::block_on(verifier.verify(&repo(), &digest)) {
        Err(VerifyError::Unavailable { message, source }) => {
            assert!(
                message.starts_with(&format!(
                    "resolving registry.example/nearai/cloud-api:{}",
                    digest.signature_tag()
                )),
                "{message}"
            );
            assert!(source.is_some());
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn the_public_good_root_is_the_default() {
    let policy = TestPolicy {
        spec: VerifySpec {
            issuer: Some(cosign_verify::testing::GITHUB_ISSUER.into()),
            identity: Some("x".into()),
            ..VerifySpec::default()
        },
        ..TestPolicy::default()
    };
    let compiled = policy.compile().expect("policy");
    assert!(
        compiled
            .trust_root
            .rekor_keys
            .contains_key("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d")
    );
}

#[test]
fn an_accepted_sig_layer_skips_the_referrers_lookup() {
    let pki = TestPki::new();
    let reg = memory_registry(true);
    let image = image_artifact("staging", "a");
    let digest = image.store_in(&reg, &repo());
    sig_artifact(
        &digest,
        &[pki.sign_keyless(&build_on("refs/heads/main"), REF, &digest)],
    )
    .store_in(&reg, &repo());
    let verifier = CosignVerifier::with_policy(reg, policy(&pki).compile().expect("policy"));
    pollster::block_on(verifier.verify(&repo(), &digest)).expect("accepted");
    let calls = verifier.registry().calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls.iter().all(|c| !matches!(c, Call::Referrers(_))),
        "{calls:?}"
    );
}

fn key_layer_logged_in(
    rekor: &FakeRekor,
    key: &KeyPair,
    digest: &Digest,
) -> cosign_verify::testing::SigLayer {
    let mut layer = key.sign_image(REF, digest);
    let signature = BASE64.decode(&layer.signature).expect("base64");
    let body = FakeRekor::hashedrekord_body(&layer.payload, &signature, &key.public_key_pem());
    layer.bundle = Some(rekor.cosign_bundle(&body, SIGNING_TIME));
    layer
}

#[test]
fn key_based_signature_with_a_trusted_rekor_bundle_is_accepted() {
    let pki = TestPki::new();
    let reg = memory_registry(false);
    let digest = image_artifact("staging", "a").store_in(&reg, &repo());
    let key = KeyPair::generate();
    sig_artifact(&digest, &[key_layer_logged_in(&pki.rekor, &key, &digest)]).store_in(&reg, &repo());
    let policy = TestPolicy {
        spec: VerifySpec {
            key: Some(key.public_key_pem()),
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
    };
    let verifier = CosignVerifier::with_policy(reg, policy.compile().expect("policy"));
    assert!(pollster::block_on(verifier.verify(&repo(), &digest)).is_ok());
}

#[test]
fn key_based_signature_with_an_untrusted_rekor_bundle_is_refused() {
    let pki = TestPki::new();
    let rogue = FakeRekor::new();
    let reg = memory_registry(false);
    let digest = image_artifact("staging", "a").store_in(&reg, &repo());
    let key = KeyPair::generate();
    sig_artifact(&digest, &[key_layer_logged_in(&rogue, &key, &digest)]).store_in(&reg, &repo());
    let policy = TestPolicy {
        spec: VerifySpec {
            key: Some(key.public_key_pem()),
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
    };
    let verifier = CosignVerifier::with_policy(reg, policy.compile().expect("policy"));
    assert_eq!(
        reasons(pollster::block_on(verifier.verify(&repo(), &digest))),
        vec![format!(
            "Rekor bundle is from log {} which is not in the trust root",
            rogue.log_id()
        )]
    );
}

/// Returns a bundle for `digest` with `edit` applied to its JSON.
fn edited_bundle(pki: &TestPki, digest: &Digest, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let bundle = pki.bundle_keyless(&build_on("refs/heads/main"), REF, digest);
    let mut json: serde_json::Value = serde_json::from_slice(&bundle).expect("bundle JSON");
    edit(&mut json);
    json.to_string().into_bytes()
}

fn verify_bundle(pki: &TestPki, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
    let reg = memory_registry(true);
    let image = image_artifact("staging", "a");
    let digest = image.store_in(&reg, &repo());
    let bundle = edited_bundle(pki, &digest, edit);
    bundle_artifact(&image.manifest, &bundle).store_in(&reg, &repo());
    let verifier = CosignVerifier::with_policy(reg, policy(pki).compile().expect("policy"));
    reasons(pollster::block_on(verifier.verify(&repo(), &digest)))
}

#[test]
fn bundle_with_a_wrong_inclusion_proof_is_refused() {
    let pki = TestPki::new();
    let r = verify_bundle(&pki, |b| {
        b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["rootHash"] =
            BASE64.encode([7u8; 32]).into();
    });
    assert_eq!(
        r,
        vec!["inclusion proof disagrees with its checkpoint (tree size or root hash)"]
    );
}

#[test]
fn bundle_without_an_inclusion_promise_is_refused() {
    let pki = TestPki::new();
    let r = verify_bundle(&pki, |b| {
        b["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .expect("entry")
            .remove("inclusionPromise");
    });
    assert_eq!(
        r,
        vec![
            "transparency log entry has no inclusion promise (SET) and no RFC 3161 timestamp attests its time"
        ]
    );
}

#[test]
fn bundle_with_a_message_signature_is_refused() {
    let pki = TestPki::new();
    let r = verify_bundle(&pki, |b| {
        let o = b.as_object_mut().expect("bundle");
        o.remove("dsseEnvelope");
        o.insert(
            "messageSignature".into(),
            serde_json::json!({"messageDigest": {"algorithm": "SHA2_256", "digest": BASE64.encode([1u8; 32])}, "signature": BASE64.encode([2u8; 8])}),
        );
    });
    assert_eq!(
        r,
        vec!["bundle holds a message signature; cosign image signatures are DSSE envelopes"]
    );
}
