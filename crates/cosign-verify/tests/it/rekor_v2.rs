//! cosign v3 signatures with Rekor v2 entries: no SET, an inclusion proof against a signed
//! checkpoint, and an RFC 3161 timestamp for the signing time; made by the test PKI and pushed
//! to a real registry.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosign_verify::CosignVerifier;
use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{Artifact, SIGNING_TIME, TestPki, bundle_artifact, referrers_index};
use serde_json::Value;
use tagcore::{Digest, Registry as _, Timestamp};

use crate::support::{Env, build_on, reasons};

/// Attaches `bundle` to `image` as a referrer (tag fallback index), as cosign v3 does.
async fn attach(env: &Env, image: &Artifact, bundle: &[u8]) {
    let referrer = bundle_artifact(&image.manifest, bundle);
    env.push(&referrer).await;
    env.push(&referrers_index(&image.digest(), &[&referrer])).await;
}

fn v2_bundle(env: &Env, digest: &Digest) -> Vec<u8> {
    env.pki
        .bundle_keyless_v2(&build_on("refs/heads/main"), &env.reference(), digest)
}

/// Returns `bundle` with `edit` applied to its JSON.
fn edited(bundle: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(bundle).expect("bundle JSON");
    edit(&mut json);
    serde_json::to_vec(&json).expect("JSON")
}

#[tokio::test]
async fn a_rekor_v2_bundle_is_accepted_through_the_engine_and_refused_on_another_digest() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let bundle = v2_bundle(&env, &digest);
    assert!(
        !String::from_utf8_lossy(&bundle).contains("inclusionPromise"),
        "a Rekor v2 entry has no SET"
    );
    attach(&env, &image, &bundle).await;
    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert_eq!(
        v.signed_at,
        Some(Timestamp::from_unix(SIGNING_TIME)),
        "the TSA time"
    );
    let verifier =
        CosignVerifier::with_policy(&env.registry, env.keyless_policy().compile().expect("policy"));
    env.promote(&env.repo, &verifier, &digest)
        .await
        .expect("promoted");
    let prod = env
        .registry
        .resolve_tag(&env.repo, &"prod".parse().expect("tag"))
        .await
        .expect("read prod");
    assert_eq!(prod, Some(digest.clone()));

    // The same bundle replayed onto another image.
    let (other_image, other) = env.image("v2").await;
    attach(&env, &other_image, &bundle).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &other).await),
        vec![format!("payload is a signature for {digest}, not {other}")]
    );
}

async fn refused(env: &Env, bundle: &[u8]) -> Vec<String> {
    let (image, digest) = env.image("v1").await;
    let _ = digest;
    attach(env, &image, bundle).await;
    reasons(env.verify(&env.keyless_policy(), &image.digest()).await)
}

#[tokio::test]
async fn a_rekor_v2_entry_without_a_timestamp_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let bundle = edited(&v2_bundle(&env, &digest), |b| {
        b["verificationMaterial"]
            .as_object_mut()
            .expect("material")
            .remove("timestampVerificationData");
    });
    assert_eq!(
        refused(&env, &bundle).await,
        vec![
            "transparency log entry has no inclusion promise (SET) and no RFC 3161 timestamp attests its time"
        ]
    );
}

#[tokio::test]
async fn a_timestamp_from_an_untrusted_authority_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let rogue = TestPki::new();
    let bundle = env.pki.issue(&build_on("refs/heads/main")).sign_bundle_v2(
        &env.pki.rekor_v2,
        &rogue.tsa,
        SIGNING_TIME,
        &env.reference(),
        &digest,
    );
    let r = refused(&env, &bundle).await;
    assert_eq!(
        r,
        vec![
            "RFC 3161 timestamp is not from a trusted timestamp authority (https://tsa.invalid: signature does not verify with the authority's signing certificate)"
        ]
    );
}

#[tokio::test]
async fn a_certificate_expired_at_the_timestamp_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let late = SIGNING_TIME + 3600;
    let bundle = env.pki.issue(&build_on("refs/heads/main")).sign_bundle_v2(
        &env.pki.rekor_v2,
        &env.pki.tsa,
        late,
        &env.reference(),
        &digest,
    );
    let r = refused(&env, &bundle).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with(&format!(
            "certificate does not chain to a trusted Fulcio CA at the signing time {late}: CertExpired"
        )),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_timestamp_over_another_signature_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let token = BASE64.encode(env.pki.tsa.timestamp(b"another signature", SIGNING_TIME));
    let bundle = edited(&v2_bundle(&env, &digest), |b| {
        b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
            token.into();
    });
    assert_eq!(
        refused(&env, &bundle).await,
        vec!["RFC 3161 timestamp is over another signature (message imprint mismatch)"]
    );
}

#[tokio::test]
async fn a_timestamp_outside_the_authority_window_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let bundle = v2_bundle(&env, &digest);
    let mut root: Value = serde_json::from_slice(&env.pki.trusted_root_json()).expect("root");
    root["timestampAuthorities"][0]["validFor"]["start"] = "2027-01-01T00:00:00Z".into();
    let policy = TestPolicy {
        trusted_root: cosign_verify::TrustedRootSource::Json(serde_json::to_vec(&root).expect("json")),
        ..env.keyless_policy()
    };
    let (image, _) = env.image("v1").await;
    attach(&env, &image, &bundle).await;
    assert_eq!(
        reasons(env.verify(&policy, &image.digest()).await),
        vec![format!(
            "RFC 3161 timestamp is not from a trusted timestamp authority (https://tsa.invalid: not valid at {SIGNING_TIME} (valid 2027-01-01T00:00:00Z to -))"
        )]
    );
}

#[tokio::test]
async fn a_checkpoint_not_signed_by_the_trusted_log_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let rogue = TestPki::new();
    let bundle = env.pki.issue(&build_on("refs/heads/main")).sign_bundle_v2(
        &rogue.rekor_v2,
        &env.pki.tsa,
        SIGNING_TIME,
        &env.reference(),
        &digest,
    );
    // Claiming the trusted log's id, with a checkpoint the rogue log signed.
    let trusted_id = BASE64.encode(env.pki.rekor_v2.log_id());
    let bundle = edited(&bundle, |b| {
        b["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] = trusted_id.into();
    });
    assert_eq!(
        refused(&env, &bundle).await,
        vec!["checkpoint carries no signature by the trusted log key"]
    );
}

#[tokio::test]
async fn a_wrong_audit_path_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let bundle = edited(&v2_bundle(&env, &digest), |b| {
        let hash = &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0];
        let mut raw = BASE64.decode(hash.as_str().expect("hash")).expect("base64");
        raw[0] ^= 1;
        *hash = BASE64.encode(raw).into();
    });
    assert_eq!(
        refused(&env, &bundle).await,
        vec!["inclusion proof does not verify: the entry is not in the checkpointed tree"]
    );
}

#[tokio::test]
async fn a_rekor_v2_entry_for_another_signature_is_refused() {
    let env = Env::new();
    let digest = crate::support::image_digest("v1");
    let first = v2_bundle(&env, &digest);
    let second = v2_bundle(&env, &digest);
    // The tlog entry of one signing attached to another signing of the same statement.
    let entry: Value =
        serde_json::from_slice::<Value>(&first).expect("json")["verificationMaterial"]["tlogEntries"][0]
            .clone();
    let bundle = edited(&second, |b| b["verificationMaterial"]["tlogEntries"][0] = entry);
    assert_eq!(
        refused(&env, &bundle).await,
        vec!["Rekor entry records another signature than this layer's"]
    );
}

#[tokio::test]
async fn a_rekor_v2_dsse_entry_is_accepted_and_bound_to_its_payload() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let signer = env.pki.issue(&build_on("refs/heads/main"));
    let bundle = signer.sign_bundle_v2_dsse(
        &env.pki.rekor_v2,
        &env.pki.tsa,
        SIGNING_TIME,
        &env.reference(),
        &digest,
    );
    attach(&env, &image, &bundle).await;
    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert_eq!(v.signed_at, Some(Timestamp::from_unix(SIGNING_TIME)));
    // The entry of this signing, under the envelope of another statement signed by the same key.
    let (other_image, other) = env.image("v2").await;
    let entry: Value =
        serde_json::from_slice::<Value>(&bundle).expect("json")["verificationMaterial"]["tlogEntries"][0]
            .clone();
    let other_bundle = signer.sign_bundle_v2_dsse(
        &env.pki.rekor_v2,
        &env.pki.tsa,
        SIGNING_TIME,
        &env.reference(),
        &other,
    );
    let swapped = edited(&other_bundle, |b| {
        b["verificationMaterial"]["tlogEntries"][0] = entry;
    });
    attach(&env, &other_image, &swapped).await;
    let r = reasons(env.verify(&env.keyless_policy(), &other).await);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("Rekor entry is for another payload (sha256:"),
        "{r:?}"
    );
}
