//! Signatures that satisfy the policy, in every supported form.

use cosign_verify::testing::{
    ExtensionValue, GITHUB_ISSUER, KeyPair, bundle_artifact, referrers_index, sig_artifact,
};

use crate::support::{Env, SHA, build_on};

#[tokio::test]
async fn keyless_sig_tag_is_accepted_with_identity_and_commit() {
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
    assert_eq!(v.digest, digest);
    assert!(
        v.layer
            .starts_with(&format!("{} layer 1/1 (sha256:", digest.signature_tag())),
        "{}",
        v.layer
    );
    assert_eq!(
        v.identity.as_deref(),
        Some("https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main")
    );
    assert_eq!(v.issuer.as_deref(), Some(GITHUB_ISSUER));
    assert_eq!(v.workflow_repository.as_deref(), Some("nearai/cloud-api"));
    assert_eq!(v.workflow_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(v.source_commit.as_ref().map(|c| c.as_str()), Some(SHA));
    assert_eq!(v.key, None);
}

#[tokio::test]
async fn keyless_bundle_via_the_referrers_tag_fallback_is_accepted() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let bundle = env
        .pki
        .bundle_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    let referrer = bundle_artifact(&image.manifest, &bundle);
    let referrer_digest = env.push(&referrer).await;
    env.push(&referrers_index(&digest, &[&referrer])).await;

    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert!(
        v.layer.starts_with(&format!(
            "Sigstore bundle {referrer_digest} (via referrers tag sha256-{}",
            digest.hex()
        )),
        "{}",
        v.layer
    );
    assert_eq!(v.workflow_repository.as_deref(), Some("nearai/cloud-api"));
    assert_eq!(v.source_commit.as_ref().map(|c| c.as_str()), Some(SHA));
}

#[tokio::test]
async fn key_based_sig_tag_is_accepted_with_the_key_fingerprint() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let key = KeyPair::generate();
    env.push(&sig_artifact(
        &digest,
        &[key.sign_image(&env.reference(), &digest)],
    ))
    .await;

    let policy = env.key_policy(&key.public_key_pem());
    let v = env.verify(&policy, &digest).await.expect("accepted");
    let fingerprint = format!("sha256:{}", sha256_hex(&key.public_key_der()));
    assert_eq!(v.key.as_deref(), Some(fingerprint.as_str()));
    assert_eq!((v.identity, v.issuer, v.source_commit), (None, None, None));
}

#[tokio::test]
async fn certificate_with_only_the_v2_extensions_is_accepted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    // No legacy .1.1–.1.6 at all: issuer from .1.8, repository .1.12, commit .1.13, ref .1.14.
    let profile = (1..=6).fold(build_on("refs/heads/main"), |p, n| p.without(n));
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&profile, &env.reference(), &digest)],
    ))
    .await;

    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert_eq!(v.issuer.as_deref(), Some(GITHUB_ISSUER));
    assert_eq!(v.workflow_repository.as_deref(), Some("nearai/cloud-api"));
    assert_eq!(v.workflow_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(v.source_commit.as_ref().map(|c| c.as_str()), Some(SHA));
}

#[tokio::test]
async fn certificate_with_only_the_18_issuer_is_accepted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let profile = build_on("refs/heads/main").without(1);
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&profile, &env.reference(), &digest)],
    ))
    .await;
    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert_eq!(v.issuer.as_deref(), Some(GITHUB_ISSUER));
}

#[tokio::test]
async fn version_tag_ref_is_accepted_when_the_policy_allows_refs_tags_v_star() {
    let env = Env::new();
    let (_, digest) = env.image("v0.2.13").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/tags/v0.2.13"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert_eq!(v.workflow_ref.as_deref(), Some("refs/tags/v0.2.13"));
}

#[tokio::test]
async fn a_later_good_layer_is_accepted_after_a_bad_one() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let bad = env
        .pki
        .sign_keyless(&build_on("refs/pull/1/merge"), &env.reference(), &digest);
    let good = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[bad, good])).await;
    let v = env
        .verify(&env.keyless_policy(), &digest)
        .await
        .expect("accepted");
    assert!(v.layer.contains("layer 2/2"), "{}", v.layer);
}

#[tokio::test]
async fn legacy_and_v2_values_that_agree_are_accepted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let profile = build_on("refs/heads/main").with(8, ExtensionValue::Utf8(GITHUB_ISSUER.into()));
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&profile, &env.reference(), &digest)],
    ))
    .await;
    assert!(env.verify(&env.keyless_policy(), &digest).await.is_ok());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
