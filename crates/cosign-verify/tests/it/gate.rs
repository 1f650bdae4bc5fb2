//! The gate's verdicts over the in-memory registry (offline, fast): what an accepted signature
//! reports, and the constraints a refusal names. Written against mutants of the gate modules
//! that the scenario tests let survive (docs/testing.md, "Mutation testing").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosign_verify::testing::{Artifact, TestPolicy};
use cosign_verify::testing::{
    FakeRekor, GITHUB_ISSUER, KeyPair, SIGNING_TIME, SigLayer, TestPki, bundle_artifact, bundle_artifact_for,
    image_artifact, sig_artifact,
};
use cosign_verify::{CosignVerifier, TrustedRootSource};
use serde_json::Value;
use tagcore::policy::VerifySpec;
use tagcore::testing::MemoryRegistry;
use tagcore::{Digest, Repository, Timestamp, VerifiedSignature, Verifier as _, VerifyError};

use crate::support::{build_on, reasons};

/// The docker reference the signatures name.
const REF: &str = "registry.example/nearai/cloud-api";

/// The media type of a Sigstore bundle v0.3.
const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn repo() -> Repository {
    Repository::new("registry.example", "nearai/cloud-api").expect("repository")
}

/// Returns an empty in-memory registry, answering the referrers API when `referrers`.
fn registry(referrers: bool) -> MemoryRegistry {
    let reg = MemoryRegistry::new(Timestamp::from_unix(SIGNING_TIME));
    reg.answer_referrers(referrers);
    reg
}

/// Stores `artifact` in `reg` and returns its digest.
fn push(reg: &MemoryRegistry, repository: &Repository, artifact: &Artifact) -> Digest {
    artifact.store_in(reg, repository)
}

/// The one place these tests build a key-based policy.
fn key_policy(key: &KeyPair, pki: &TestPki) -> TestPolicy {
    TestPolicy {
        spec: VerifySpec {
            key: Some(key.public_key_pem()),
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
    }
}

/// Pushes an image and a `.sig` manifest of `layers` (built for its digest) and verifies it.
fn verify_layers(
    policy: &TestPolicy,
    layers: impl FnOnce(&Digest) -> Vec<SigLayer>,
) -> (Digest, Result<VerifiedSignature, VerifyError>) {
    let reg = registry(false);
    let digest = push(&reg, &repo(), &image_artifact("staging", "a"));
    push(&reg, &repo(), &sig_artifact(&digest, &layers(&digest)));
    let verifier = CosignVerifier::with_policy(reg, policy.compile().expect("policy"));
    let result = pollster::block_on(verifier.verify(&repo(), &digest));
    (digest, result)
}

/// A key-based layer whose signature `rekor` logged at `time`.
fn logged(rekor: &FakeRekor, key: &KeyPair, digest: &Digest, time: i64) -> SigLayer {
    let mut layer = key.sign_image(REF, digest);
    let signature = BASE64.decode(&layer.signature).expect("base64");
    let body = FakeRekor::hashedrekord_body(&layer.payload, &signature, &key.public_key_pem());
    layer.bundle = Some(rekor.cosign_bundle(&body, time));
    layer
}

#[test]
fn a_logged_key_signature_reports_the_key_the_digest_the_layer_and_the_logged_time() {
    let pki = TestPki::new();
    let key = KeyPair::generate();
    let (digest, result) = verify_layers(&key_policy(&key, &pki), |d| {
        vec![logged(&pki.rekor, &key, d, SIGNING_TIME)]
    });
    let v = result.expect("accepted");
    assert_eq!(v.digest, digest);
    assert_eq!(v.signed_at, Some(Timestamp::from_unix(SIGNING_TIME)));
    assert!(v.key.as_deref().is_some_and(|k| !k.is_empty()), "{v:?}");
    assert!(v.layer.contains(&digest.signature_tag()), "{}", v.layer);
    assert!(v.layer.contains("layer 1/1"), "{}", v.layer);
    assert_eq!((v.identity, v.issuer, v.source_commit), (None, None, None));
}

#[test]
fn an_unlogged_key_signature_is_accepted_without_a_signing_time() {
    let pki = TestPki::new();
    let key = KeyPair::generate();
    let (_, result) = verify_layers(&key_policy(&key, &pki), |d| vec![key.sign_image(REF, d)]);
    let v = result.expect("accepted: key-based signing may skip the log");
    assert_eq!(v.signed_at, None);
}

/// The one place these tests build a keyless policy: cloud-api's build workflow on main.
fn keyless_policy(pki: &TestPki) -> TestPolicy {
    TestPolicy {
        spec: VerifySpec {
            issuer: Some(GITHUB_ISSUER.into()),
            identity: Some(build_on("refs/heads/main").identity),
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
    }
}

/// Pushes an image and, as its referrer, the bundle `bundle` makes for its digest; verifies it.
fn verify_bundle(
    policy: &TestPolicy,
    bundle: impl FnOnce(&Digest) -> Vec<u8>,
) -> Result<VerifiedSignature, VerifyError> {
    let reg = registry(true);
    let image = image_artifact("staging", "a");
    let digest = push(&reg, &repo(), &image);
    push(&reg, &repo(), &bundle_artifact(&image.manifest, &bundle(&digest)));
    let verifier = CosignVerifier::with_policy(reg, policy.compile().expect("policy"));
    pollster::block_on(verifier.verify(&repo(), &digest))
}

fn edited(bundle: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(bundle).expect("bundle JSON");
    edit(&mut json);
    serde_json::to_vec(&json).expect("JSON")
}

#[test]
fn a_keyless_bundle_with_a_timestamp_but_no_log_entry_is_refused() {
    let pki = TestPki::new();
    let policy = keyless_policy(&pki);
    let v2 = |d: &Digest| pki.bundle_keyless_v2(&build_on("refs/heads/main"), REF, d);
    // The bundle as made (Rekor v2 entry and RFC 3161 timestamp) is accepted at the TSA time.
    let v = verify_bundle(&policy, v2).expect("accepted");
    assert_eq!(v.signed_at, Some(Timestamp::from_unix(SIGNING_TIME)));
    // Without its log entry, the timestamp alone does not make a keyless signature acceptable.
    let r = reasons(verify_bundle(&policy, |d| {
        edited(&v2(d), |b| {
            b["verificationMaterial"]["tlogEntries"] = Value::Array(Vec::new())
        })
    }));
    assert_eq!(
        r,
        vec!["layer has no Rekor entry; the keyless policy requires one"]
    );
}

/// Pushes an image and a referrer holding a genuine keyless bundle for it, with `edit` applied
/// to the referrer manifest's JSON (blobs unchanged); verifies through the referrers API.
fn verify_edited_referrer(pki: &TestPki, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let reg = registry(true);
    let image = image_artifact("staging", "a");
    let digest = push(&reg, &repo(), &image);
    let bundle = pki.bundle_keyless(&build_on("refs/heads/main"), REF, &digest);
    let mut referrer = bundle_artifact(&image.manifest, &bundle);
    let json = edited(&referrer.manifest.bytes, edit);
    referrer.manifest = tagcore::Manifest::new(referrer.manifest.media_type.clone(), json);
    push(&reg, &repo(), &referrer);
    let verifier = CosignVerifier::with_policy(reg, keyless_policy(pki).compile().expect("policy"));
    reasons(pollster::block_on(verifier.verify(&repo(), &digest)))
}

#[test]
fn a_referrer_must_hold_exactly_one_bundle_layer_of_the_bundle_type() {
    let pki = TestPki::new();
    // Unedited, the referrer is accepted (so each refusal below is for its edit).
    let reg = registry(true);
    let image = image_artifact("staging", "a");
    let digest = push(&reg, &repo(), &image);
    push(
        &reg,
        &repo(),
        &bundle_artifact(
            &image.manifest,
            &pki.bundle_keyless(&build_on("refs/heads/main"), REF, &digest),
        ),
    );
    let verifier = CosignVerifier::with_policy(reg, keyless_policy(&pki).compile().expect("policy"));
    assert!(pollster::block_on(verifier.verify(&repo(), &digest)).is_ok());

    let r = verify_edited_referrer(&pki, |m| {
        let layer = m["layers"][0].clone();
        m["layers"] = Value::Array(vec![layer.clone(), layer]);
    });
    assert_eq!(r, vec!["bundle manifest has 2 layers; expected 1"]);
    let r = verify_edited_referrer(&pki, |m| m["layers"] = Value::Array(Vec::new()));
    assert_eq!(r, vec!["bundle manifest has 0 layers; expected 1"]);
    let r = verify_edited_referrer(&pki, |m| m["layers"][0]["mediaType"] = "application/json".into());
    assert_eq!(
        r,
        vec![format!(
            "bundle layer media type \"application/json\" is not {}",
            BUNDLE_V03_MEDIA_TYPE
        )]
    );
}

#[test]
fn a_referrer_of_another_bundle_version_is_named_and_other_artifacts_are_skipped() {
    let pki = TestPki::new();
    let v02 = "application/vnd.dev.sigstore.bundle+json;version=0.2";
    let r = verify_edited_referrer(&pki, |m| m["artifactType"] = v02.into());
    assert_eq!(
        r,
        vec![format!(
            "bundle artifact type {v02:?} is not supported; expected {}",
            BUNDLE_V03_MEDIA_TYPE
        )]
    );
    // An SBOM referrer is no signature: the image counts as unsigned.
    let r = verify_edited_referrer(&pki, |m| m["artifactType"] = "application/spdx+json".into());
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(!r[0].contains("spdx"), "{r:?}");
}

/// A key-based layer over `payload`, signed by `key`.
fn key_layer(key: &KeyPair, payload: Vec<u8>) -> SigLayer {
    SigLayer {
        signature: BASE64.encode(key.sign(&payload)),
        payload,
        certificate_pem: None,
        chain_pem: None,
        bundle: None,
    }
}

#[test]
fn a_sig_manifest_without_layers_or_with_unreadable_ones_is_refused_with_the_reason() {
    let pki = TestPki::new();
    let key = KeyPair::generate();
    let policy = key_policy(&key, &pki);
    assert_eq!(
        reasons(verify_layers(&policy, |_| Vec::new()).1),
        vec!["signature manifest has no layers"]
    );
    let (_, r) = verify_layers(&policy, |d| {
        let mut layer = key.sign_image(REF, d);
        layer.signature = "not base64!".into();
        vec![layer]
    });
    let r = reasons(r);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("layer signature is not base64"), "{r:?}");
    let (_, r) = verify_layers(&policy, |d| {
        let payload = cosign_verify::testing::simple_signing_payload(REF, d);
        let text = String::from_utf8(payload).expect("utf8");
        vec![key_layer(
            &key,
            text.replace("cosign container image signature", "an attestation")
                .into_bytes(),
        )]
    });
    assert_eq!(
        reasons(r),
        vec!["payload type is \"an attestation\", not \"cosign container image signature\""]
    );
    let (_, r) = verify_layers(&policy, |_| vec![key_layer(&key, b"[]".to_vec())]);
    let r = reasons(r);
    assert!(
        r.iter()
            .any(|x| x.starts_with("payload is not a simple-signing document")),
        "{r:?}"
    );
}

/// Verifies a genuine keyless bundle with `edit` applied to its transparency log entry.
fn verify_edited_entry(pki: &TestPki, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    reasons(verify_bundle(&keyless_policy(pki), |d| {
        let bundle = pki.bundle_keyless(&build_on("refs/heads/main"), REF, d);
        edited(&bundle, |b| {
            edit(&mut b["verificationMaterial"]["tlogEntries"][0])
        })
    }))
}

#[test]
fn a_log_entry_must_name_its_log_index_log_kind_and_version_truthfully() {
    let pki = TestPki::new();
    let r = verify_edited_entry(&pki, |e| e["logIndex"] = "-1".into());
    assert_eq!(r, vec!["transparency log entry has a negative log index -1"]);
    let r = verify_edited_entry(&pki, |e| {
        e.as_object_mut().expect("entry").remove("logId");
    });
    assert_eq!(r, vec!["transparency log entry has no log id"]);
    let r = verify_edited_entry(&pki, |e| {
        e.as_object_mut().expect("entry").remove("kindVersion");
    });
    assert_eq!(r, vec!["transparency log entry has no kind"]);
    let r = verify_edited_entry(&pki, |e| e["kindVersion"]["version"] = "0.0.2".into());
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("transparency log entry says version \"0.0.2\" but its body is \"0.0."),
        "{r:?}"
    );
}

#[test]
fn a_log_entry_must_describe_this_payload_this_signature_and_this_key() {
    let pki = TestPki::new();
    let key = KeyPair::generate();
    let other_key = KeyPair::generate();
    let policy = key_policy(&key, &pki);
    // A layer whose Rekor bundle (genuinely signed by the trusted log) records `body(layer)`.
    let with_entry = |body: &dyn Fn(&SigLayer, &[u8]) -> Vec<u8>| {
        verify_layers(&policy, |d| {
            let mut layer = key.sign_image(REF, d);
            let signature = BASE64.decode(&layer.signature).expect("base64");
            layer.bundle = Some(pki.rekor.cosign_bundle(&body(&layer, &signature), SIGNING_TIME));
            vec![layer]
        })
        .1
    };
    let r = reasons(with_entry(&|_, sig| {
        FakeRekor::hashedrekord_body(b"another payload", sig, &key.public_key_pem())
    }));
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("Rekor entry is for another payload"), "{r:?}");
    let r = reasons(with_entry(&|layer, _| {
        FakeRekor::hashedrekord_body(&layer.payload, &key.sign(b"other"), &key.public_key_pem())
    }));
    assert_eq!(r, vec!["Rekor entry records another signature than this layer's"]);
    let r = reasons(with_entry(&|layer, sig| {
        FakeRekor::hashedrekord_body(&layer.payload, sig, &other_key.public_key_pem())
    }));
    assert_eq!(
        r,
        vec!["Rekor entry records another certificate or key than this layer's"]
    );
    // The same entry, truthful, is accepted.
    assert!(
        with_entry(&|layer, sig| FakeRekor::hashedrekord_body(&layer.payload, sig, &key.public_key_pem()))
            .is_ok()
    );
}

/// Verifies an image that `n` referrers claim to sign, none of them a parsable bundle.
fn with_referrers(n: usize) -> Vec<String> {
    let pki = TestPki::new();
    let reg = registry(true);
    let image = image_artifact("staging", "a");
    let digest = push(&reg, &repo(), &image);
    for i in 0..n {
        let size = image.manifest.bytes.len() as u64;
        let bytes = format!("{{\"n\":{i}}}");
        push(
            &reg,
            &repo(),
            &bundle_artifact_for(&digest, &image.manifest.media_type, size, bytes.as_bytes()),
        );
    }
    let verifier = CosignVerifier::with_policy(reg, keyless_policy(&pki).compile().expect("policy"));
    reasons(pollster::block_on(verifier.verify(&repo(), &digest)))
}

#[test]
fn sixty_four_referrers_are_examined_and_sixty_five_are_refused_unread() {
    let r = with_referrers(64);
    assert_eq!(r.len(), 64, "each referrer is examined: {:?}", &r[..2]);
    assert!(
        r.iter().all(|x| x.starts_with("bundle does not parse")),
        "{:?}",
        &r[..2]
    );
    assert_eq!(
        with_referrers(65),
        vec!["referrers API: 65 bundles refer to the image, more than 64 examined"]
    );
}

#[test]
fn a_log_entry_at_index_zero_is_accepted() {
    let pki = TestPki::new();
    // A Rekor v2 entry carries no SET, so its index can be set to the log's first, 0.
    let v = verify_bundle(&keyless_policy(&pki), |d| {
        let bundle = pki.bundle_keyless_v2(&build_on("refs/heads/main"), REF, d);
        edited(&bundle, |b| {
            b["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "0".into()
        })
    });
    assert!(v.is_ok(), "{v:?}");
}

#[test]
fn only_a_v0_1_bundle_may_rely_on_its_promise_without_an_inclusion_proof() {
    let pki = TestPki::new();
    let policy = keyless_policy(&pki).compile().expect("policy");
    let image = image_artifact("staging", "a");
    let digest = image.digest();
    let without_proof = |media_type: &str| {
        let bundle = pki.bundle_keyless(&build_on("refs/heads/main"), REF, &digest);
        edited(&bundle, |b| {
            b["mediaType"] = media_type.into();
            b["verificationMaterial"]["tlogEntries"][0]
                .as_object_mut()
                .expect("entry")
                .remove("inclusionProof");
        })
    };
    let v01 = without_proof("application/vnd.dev.sigstore.bundle+json;version=0.1");
    let v = policy.verify_bundle(&v01, &image.manifest.bytes);
    assert!(v.is_ok(), "{v:?}");
    let v03 = without_proof(BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(
        policy.verify_bundle(&v03, &image.manifest.bytes).map(|_| ()),
        Err(vec!["transparency log entry has no inclusion proof".to_owned()])
    );
}

#[test]
fn sixty_four_signature_layers_are_examined_and_sixty_five_are_refused_unread() {
    let pki = TestPki::new();
    let key = KeyPair::generate();
    let policy = key_policy(&key, &pki);
    let other = KeyPair::generate();
    // 63 layers signed by another key, then the good one: accepted only if all 64 are read.
    let (_, v) = verify_layers(&policy, |d| {
        let mut layers = vec![other.sign_image(REF, d); 63];
        layers.push(key.sign_image(REF, d));
        layers
    });
    let v = v.expect("the 64th layer is examined");
    assert!(v.layer.contains("layer 64/64"), "{}", v.layer);
    let (_, r) = verify_layers(&policy, |d| vec![key.sign_image(REF, d); 65]);
    assert_eq!(
        reasons(r),
        vec!["signature manifest has 65 layers, more than 64 examined"]
    );
}
