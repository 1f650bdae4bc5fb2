//! The checks added after a review against cosign: repository binding, trust-root windows,
//! certificate shape, and the bounds on what is examined. Each refusal is also driven through
//! the engine (see `Env::verify`): prod stays untouched.

use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{
    CertificateProfile, SIGNING_TIME, bundle_artifact, bundle_artifact_for, referrers_index, sig_artifact,
};
use serde_json::Value;
use tagcore::Timestamp;
use tagcore::policy::VerifySpec;

use crate::support::{Env, build_on, reasons};

#[tokio::test]
async fn an_image_and_its_signature_copied_into_another_repository_are_refused_there() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let sig = sig_artifact(
        &digest,
        &[env
            .pki
            .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest)],
    );
    env.push(&sig).await;
    assert!(env.verify(&env.keyless_policy(), &digest).await.is_ok());
    // The same image and `.sig`, byte for byte, in a repository with the same identity policy.
    let copy = env.other_repository("nearai/other-api");
    env.push_to(&copy, &image).await;
    env.push_to(&copy, &sig).await;
    assert_eq!(
        reasons(env.verify_in(&copy, &env.keyless_policy(), &digest).await),
        vec![format!(
            "payload is a signature for the repository {}, not {copy} (allowed references: {copy})",
            env.repo
        )]
    );
    // A mirror lists its origin.
    let base = env.keyless_policy();
    let mirror = TestPolicy {
        spec: VerifySpec {
            allowed_references: vec![env.reference()],
            ..base.spec
        },
        ..base
    };
    let v = env
        .verify_in(&copy, &mirror, &digest)
        .await
        .expect("allowed mirror");
    assert_eq!(v.digest, digest);
}

#[tokio::test]
async fn a_bundle_naming_another_repository_is_refused() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let bundle = env
        .pki
        .bundle_keyless(&build_on("refs/heads/main"), "ghcr.io/nearai/cloud-api", &digest);
    let referrer = bundle_artifact(&image.manifest, &bundle);
    env.push(&referrer).await;
    env.push(&referrers_index(&digest, &[&referrer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![format!(
            "payload is a signature for the repository ghcr.io/nearai/cloud-api, not {0} (allowed references: {0})",
            env.repo
        )]
    );
}

#[tokio::test]
async fn the_signing_time_is_reported() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert_eq!(v.signed_at, Some(Timestamp::from_unix(SIGNING_TIME)));
    assert_eq!(
        v.source_commit.map(|c| c.to_string()),
        Some(crate::support::SHA.to_owned())
    );
}

/// Returns the test trust root with `patch` applied.
fn patched_root(env: &Env, patch: impl FnOnce(&mut Value)) -> TestPolicy {
    let mut root: Value = serde_json::from_slice(&env.pki.trusted_root_json()).expect("json");
    patch(&mut root);
    TestPolicy {
        trusted_root: cosign_verify::TrustedRootSource::Json(serde_json::to_vec(&root).expect("json")),
        ..env.keyless_policy()
    }
}

#[tokio::test]
async fn a_ca_whose_window_ended_before_the_signing_time_is_not_trusted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    // Like the 2021 public-good CA: valid until 2022-12-31 only.
    let policy = patched_root(&env, |r| {
        r["certificateAuthorities"][0]["validFor"]["end"] = "2022-12-31T23:59:59.999Z".into();
    });
    assert_eq!(
        reasons(env.verify(&policy, &digest).await),
        vec![format!(
            "no Fulcio certificate authority of the trust root is valid at the signing time {SIGNING_TIME}"
        )]
    );
}

#[tokio::test]
async fn a_rekor_key_outside_its_window_is_not_trusted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let policy = patched_root(&env, |r| {
        r["tlogs"][0]["publicKey"]["validFor"]["start"] = "2030-01-01T00:00:00Z".into();
    });
    assert_eq!(
        reasons(env.verify(&policy, &digest).await),
        vec![format!(
            "Rekor log {} is not trusted at the signing time {SIGNING_TIME} (valid 2030-01-01T00:00:00Z to -)",
            env.pki.rekor.log_id()
        )]
    );
}

#[tokio::test]
async fn a_certificate_expired_at_the_rekor_time_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let signer = env.pki.issue(&build_on("refs/heads/main"));
    // Logged an hour after signing: the ten-minute certificate has expired by then.
    let late = SIGNING_TIME + 3600;
    let layer = signer.sign_image_at(&env.pki.rekor, &env.reference(), &digest, late);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with(&format!(
            "certificate does not chain to a trusted Fulcio CA at the signing time {late}: CertExpired"
        )),
        "{r:?}"
    );
}

async fn refused_profile(profile: &CertificateProfile) -> Vec<String> {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env.pki.sign_keyless(profile, &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    reasons(env.verify(&env.keyless_policy(), &digest).await)
}

#[tokio::test]
async fn a_leaf_without_the_code_signing_eku_is_refused() {
    let r = refused_profile(&build_on("refs/heads/main").without_code_signing()).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with(&format!(
            "certificate does not chain to a trusted Fulcio CA at the signing time {SIGNING_TIME}: RequiredEkuNotFound"
        )),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_ca_certificate_used_as_the_leaf_is_refused() {
    let r = refused_profile(&build_on("refs/heads/main").as_ca()).await;
    assert_eq!(
        r,
        vec![format!(
            "certificate does not chain to a trusted Fulcio CA at the signing time {SIGNING_TIME}: CaUsedAsEndEntity"
        )]
    );
}

#[tokio::test]
async fn a_certificate_with_two_sans_is_refused() {
    let r = refused_profile(&build_on("refs/heads/main").with_extra_san("https://evil.example/x")).await;
    assert_eq!(
        r,
        vec!["certificate SAN has more than one identity; refusing an ambiguous certificate"]
    );
}

#[tokio::test]
async fn a_repeated_sigstore_extension_is_refused() {
    let r = refused_profile(&build_on("refs/heads/main").with_repeated_extension(8)).await;
    assert_eq!(r, vec!["certificate repeats the extension 1.3.6.1.4.1.57264.1.8"]);
}

#[tokio::test]
async fn an_email_identity_is_accepted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let google = "https://accounts.google.com";
    let profile = CertificateProfile::email("alice@example.com", google);
    let layer = env.pki.sign_keyless(&profile, &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let policy = TestPolicy {
        spec: VerifySpec {
            issuer: Some(google.into()),
            identity: Some("alice@example.com".into()),
            ..VerifySpec::default()
        },
        trusted_root: env.trusted_root.clone(),
    };
    let v = env.verify(&policy, &digest).await.expect("accepted");
    assert_eq!(v.identity.as_deref(), Some("alice@example.com"));
    assert_eq!(v.issuer.as_deref(), Some(google));
    let bob = TestPolicy {
        spec: VerifySpec {
            identity: Some("bob@example.com".into()),
            ..policy.spec
        },
        ..policy
    };
    assert_eq!(
        reasons(env.verify(&bob, &digest).await),
        vec!["certificate identity \"alice@example.com\" does not match \"bob@example.com\""]
    );
}

#[tokio::test]
async fn a_referrer_whose_subject_is_another_digest_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let (other_image, other) = env.image("v2").await;
    // A genuine bundle for `digest`, in a referrer manifest whose subject is `other`, listed in
    // `digest`'s referrers tag.
    let bundle = env
        .pki
        .bundle_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    let referrer = bundle_artifact(&other_image.manifest, &bundle);
    env.push(&referrer).await;
    env.push(&referrers_index(&digest, &[&referrer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![format!("bundle manifest's subject is not {digest}")]
    );
    assert_ne!(other, digest);
}

#[tokio::test]
async fn a_tlog_entry_whose_kind_disagrees_with_its_body_is_refused() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let bundle = env
        .pki
        .bundle_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    // The kind is outside the SET, so the entry still verifies: only the body/kind check catches it.
    let mut json: Value = serde_json::from_slice(&bundle).expect("bundle json");
    json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] = "hashedrekord".into();
    let bundle = serde_json::to_vec(&json).expect("json");
    let referrer = bundle_artifact(&image.manifest, &bundle);
    env.push(&referrer).await;
    env.push(&referrers_index(&digest, &[&referrer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec!["transparency log entry says kind \"hashedrekord\" but its body is \"dsse\""]
    );
}

#[tokio::test]
async fn more_than_64_signature_layers_are_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    let layers = vec![layer; 65];
    env.push(&sig_artifact(&digest, &layers)).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec!["signature manifest has 65 layers, more than 64 examined"]
    );
    // 64 are examined.
    env.push(&sig_artifact(&digest, &layers[..64])).await;
    assert!(env.verify(&env.keyless_policy(), &digest).await.is_ok());
}

#[tokio::test]
async fn more_than_64_referrers_are_refused() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let mut referrers = Vec::new();
    for i in 0..65 {
        let r = bundle_artifact_for(
            &digest,
            &image.manifest.media_type,
            image.manifest.bytes.len() as u64,
            format!("{{\"n\":{i}}}").as_bytes(),
        );
        env.push(&r).await;
        referrers.push(r);
    }
    let refs: Vec<_> = referrers.iter().collect();
    env.push(&referrers_index(&digest, &refs)).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec!["65 bundles refer to the image, more than 64 examined"]
    );
}
