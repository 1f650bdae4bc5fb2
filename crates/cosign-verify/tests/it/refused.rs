//! Signatures that must be refused, each with its exact reason(s).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{
    ExtensionValue, KeyPair, SIGNING_TIME, TestPki, bundle_artifact, referrers_index, sig_artifact,
    simple_signing_payload,
};
use tagcore::policy::VerifySpec;

use crate::support::{Env, build_on, raw_reasons, reasons};

const WRONG_CERT_KEY: &str = "signature does not verify with the certificate's key";

#[tokio::test]
async fn unsigned_image_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let r = raw_reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(
        r,
        vec![format!(
            "{}@{digest} is not signed: no {} tag and no Sigstore bundle referrer",
            env.repo,
            digest.signature_tag()
        )]
    );
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let google = "https://accounts.google.com";
    let profile = build_on("refs/heads/main")
        .with(1, ExtensionValue::Raw(google.into()))
        .with(8, ExtensionValue::Utf8(google.into()));
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&profile, &env.reference(), &digest)],
    ))
    .await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![format!(
            "certificate issuer is {google:?}, expected \"https://token.actions.githubusercontent.com\""
        )]
    );
}

#[tokio::test]
async fn identity_of_a_repository_whose_name_only_starts_with_ours_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let fork = cosign_verify::testing::CertificateProfile::github(
        "nearai/cloud-api-fork",
        "build.yml",
        "refs/heads/main",
        crate::support::SHA,
    );
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&fork, &env.reference(), &digest)],
    ))
    .await;
    let identity = "https://github.com/nearai/cloud-api-fork/.github/workflows/build.yml@refs/heads/main";
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![
            format!(
                "certificate identity {identity:?} does not match regex ^(?:https://github\\.com/nearai/cloud-api/\\.github/workflows/build\\.yml@refs/(heads/main|tags/v.*))$"
            ),
            "workflow repository is \"nearai/cloud-api-fork\", expected \"nearai/cloud-api\"".to_owned(),
        ]
    );
    // A pattern written as a prefix (cosign would match it unanchored) is anchored here.
    let base = env.keyless_policy();
    let prefix_only = TestPolicy {
        spec: VerifySpec {
            identity_regex: Some(r"https://github\.com/nearai/cloud-api".into()),
            workflow_repository: None,
            workflow_refs: Vec::new(),
            ..base.spec
        },
        ..base
    };
    assert_eq!(
        reasons(env.verify(&prefix_only, &digest).await),
        vec![format!(
            "certificate identity {identity:?} does not match regex ^(?:https://github\\.com/nearai/cloud-api)$"
        )]
    );
}

#[tokio::test]
async fn another_repository_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let other = cosign_verify::testing::CertificateProfile::github(
        "evil/cloud-api",
        "build.yml",
        "refs/heads/main",
        crate::support::SHA,
    );
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&other, &env.reference(), &digest)],
    ))
    .await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(
        r[0].starts_with("certificate identity \"https://github.com/evil/cloud-api/"),
        "{r:?}"
    );
    assert_eq!(
        r[1],
        "workflow repository is \"evil/cloud-api\", expected \"nearai/cloud-api\""
    );
}

#[tokio::test]
async fn pull_request_ref_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/pull/12/merge"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r[0].starts_with("certificate identity \"https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/pull/12/merge\" does not match"), "{r:?}");
    assert_eq!(
        r[1],
        "workflow ref \"refs/pull/12/merge\" is not allowed (allowed: refs/heads/main, refs/tags/v*)"
    );
    // Even with an identity that would allow it, the ref constraint alone refuses.
    let base = env.keyless_policy();
    let loose = TestPolicy {
        spec: VerifySpec {
            identity_regex: Some(r"https://github\.com/nearai/cloud-api/.*".into()),
            ..base.spec
        },
        ..base
    };
    assert_eq!(
        reasons(env.verify(&loose, &digest).await),
        vec!["workflow ref \"refs/pull/12/merge\" is not allowed (allowed: refs/heads/main, refs/tags/v*)"]
    );
}

#[tokio::test]
async fn signature_for_another_digest_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let (_, other) = env.image("v2").await;
    // A valid signature of `other`, stored as if it signed `digest`.
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &other);
    env.push(&sig_artifact(&digest, &[layer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![format!("payload is a signature for {other}, not {digest}")]
    );
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let mut layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    layer.payload = simple_signing_payload("127.0.0.1:1/evil/elsewhere", &digest);
    env.push(&sig_artifact(&digest, &[layer.clone()])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(
        r[0],
        format!(
            "payload is a signature for the repository 127.0.0.1:1/evil/elsewhere, not {0} (allowed references: {0})",
            env.repo
        )
    );
    assert_eq!(r[1], WRONG_CERT_KEY);
    assert!(
        r[2].starts_with("Rekor entry is for another payload (sha256:"),
        "{r:?}"
    );
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let signer = env.pki.issue(&build_on("refs/heads/main"));
    let mut layer = signer.sign_image(&env.pki.rekor, &env.reference(), &digest);
    layer.signature = BASE64.encode(signer.key.sign(b"something else"));
    env.push(&sig_artifact(&digest, &[layer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![
            WRONG_CERT_KEY,
            "Rekor entry records another signature than this layer's"
        ]
    );
}

#[tokio::test]
async fn certificate_and_bundle_replayed_from_another_image_are_refused() {
    let env = Env::new();
    let (_, genuine) = env.image("genuine").await;
    let (_, target) = env.image("target").await;
    let real = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &genuine);
    // The attacker signs a payload for `target` with their own key and attaches the genuine
    // certificate and Rekor bundle of another image.
    let attacker = KeyPair::generate();
    let payload = simple_signing_payload(&env.reference(), &target);
    let mut forged = real.clone();
    forged.signature = BASE64.encode(attacker.sign(&payload));
    forged.payload = payload;
    env.push(&sig_artifact(&target, &[forged])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &target).await);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0], WRONG_CERT_KEY);
    assert!(r[1].starts_with("Rekor entry is for another payload"), "{r:?}");
}

#[tokio::test]
async fn certificate_from_an_untrusted_ca_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let rogue = TestPki::new();
    // Issued by a CA outside the trust root, logged in the trusted Rekor.
    let layer =
        rogue
            .issue(&build_on("refs/heads/main"))
            .sign_image(&env.pki.rekor, &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 1, "{r:?}");
    // The rogue CA has the same name as the trusted one, so path building finds the trusted
    // root and its signature check fails (webpki: InvalidSignatureForPublicKey).
    assert_eq!(
        r,
        vec![format!(
            "certificate does not chain to a trusted Fulcio CA at the signing time {SIGNING_TIME}: InvalidSignatureForPublicKey"
        )]
    );
}

#[tokio::test]
async fn bundle_signed_by_an_untrusted_rekor_key_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let rogue = TestPki::new();
    let layer =
        env.pki
            .issue(&build_on("refs/heads/main"))
            .sign_image(&rogue.rekor, &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![format!(
            "Rekor bundle is from log {} which is not in the trust root",
            rogue.rekor.log_id()
        )]
    );
}

#[tokio::test]
async fn bundle_claiming_the_trusted_log_with_a_forged_set_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let rogue = TestPki::new();
    let mut layer =
        env.pki
            .issue(&build_on("refs/heads/main"))
            .sign_image(&rogue.rekor, &env.reference(), &digest);
    let bundle = layer.bundle.take().expect("bundle");
    layer.bundle = Some(bundle.replace(&rogue.rekor.log_id(), &env.pki.rekor.log_id()));
    env.push(&sig_artifact(&digest, &[layer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec!["Rekor bundle SET does not verify against the trusted Rekor key"]
    );
}

#[tokio::test]
async fn keyless_layer_without_a_rekor_bundle_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let mut layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    layer.bundle = None;
    env.push(&sig_artifact(&digest, &[layer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec!["layer has no Rekor entry; the keyless policy requires one"]
    );
}

#[tokio::test]
async fn two_layers_each_satisfying_half_the_policy_are_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let google = "https://accounts.google.com";
    // Layer 1: right identity, repository and ref; wrong issuer.
    let half_a = build_on("refs/heads/main")
        .with(1, ExtensionValue::Raw(google.into()))
        .with(8, ExtensionValue::Utf8(google.into()));
    // Layer 2: right issuer; wrong identity, repository and ref.
    let half_b = cosign_verify::testing::CertificateProfile::github(
        "evil/x",
        "build.yml",
        "refs/pull/1/merge",
        crate::support::SHA,
    );
    let layers = [
        env.pki.sign_keyless(&half_a, &env.reference(), &digest),
        env.pki.sign_keyless(&half_b, &env.reference(), &digest),
    ];
    env.push(&sig_artifact(&digest, &layers)).await;
    let r = raw_reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 4, "{r:?}");
    assert!(
        r[0].contains("layer 1/2")
            && r[0].ends_with(&format!(
                "certificate issuer is {google:?}, expected \"https://token.actions.githubusercontent.com\""
            )),
        "{r:?}"
    );
    assert!(
        r[1].contains("layer 2/2") && r[1].contains("certificate identity \"https://github.com/evil/x/"),
        "{r:?}"
    );
    assert!(
        r[2].contains("layer 2/2")
            && r[2].ends_with("workflow repository is \"evil/x\", expected \"nearai/cloud-api\""),
        "{r:?}"
    );
    assert!(
        r[3].contains("layer 2/2")
            && r[3].ends_with(
                "workflow ref \"refs/pull/1/merge\" is not allowed (allowed: refs/heads/main, refs/tags/v*)"
            ),
        "{r:?}"
    );
}

#[tokio::test]
async fn wrong_public_key_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let signer = KeyPair::generate();
    let expected = KeyPair::generate();
    env.push(&sig_artifact(
        &digest,
        &[signer.sign_image(&env.reference(), &digest)],
    ))
    .await;
    let policy = env.key_policy(&expected.public_key_pem());
    let r = reasons(env.verify(&policy, &digest).await);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("signature does not verify with the policy key sha256:"),
        "{r:?}"
    );
}

#[tokio::test]
async fn keyless_signature_does_not_satisfy_a_key_policy() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    let policy = env.key_policy(&KeyPair::generate().public_key_pem());
    let r = reasons(env.verify(&policy, &digest).await);
    assert!(
        r[0].starts_with("signature does not verify with the policy key"),
        "{r:?}"
    );
}

#[tokio::test]
async fn bundle_for_another_digest_is_refused() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let (_, other) = env.image("v2").await;
    // A genuine bundle for `other`, attached as a referrer of `digest`.
    let bundle = env
        .pki
        .bundle_keyless(&build_on("refs/heads/main"), &env.reference(), &other);
    let referrer = bundle_artifact(&image.manifest, &bundle);
    env.push(&referrer).await;
    env.push(&referrers_index(&digest, &[&referrer])).await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![format!("payload is a signature for {other}, not {digest}")]
    );
}

#[tokio::test]
async fn bundle_from_an_untrusted_ca_is_refused() {
    let env = Env::new();
    let (image, digest) = env.image("v1").await;
    let rogue = TestPki::new();
    let bundle =
        rogue
            .issue(&build_on("refs/heads/main"))
            .sign_bundle(&env.pki.rekor, &env.reference(), &digest);
    let referrer = bundle_artifact(&image.manifest, &bundle);
    env.push(&referrer).await;
    env.push(&referrers_index(&digest, &[&referrer])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("certificate does not chain to a trusted Fulcio CA"),
        "{r:?}"
    );
}

#[tokio::test]
async fn legacy_and_v2_extensions_that_disagree_are_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let profile = build_on("refs/heads/main").with(5, ExtensionValue::Raw("evil/x".into()));
    env.push(&sig_artifact(
        &digest,
        &[env.pki.sign_keyless(&profile, &env.reference(), &digest)],
    ))
    .await;
    assert_eq!(
        reasons(env.verify(&env.keyless_policy(), &digest).await),
        vec![
            "certificate's legacy and v2 extensions disagree on the workflow repository (\"evil/x\" vs \"nearai/cloud-api\")"
        ]
    );
}

#[tokio::test]
async fn chain_annotation_supplies_an_intermediate_but_never_a_root() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let intermediate = env.pki.fulcio.intermediate();
    let signer = intermediate.issue(&build_on("refs/heads/main"));

    // Without the chain annotation the intermediate is unknown.
    let bare = signer.sign_image(&env.pki.rekor, &env.reference(), &digest);
    env.push(&sig_artifact(&digest, std::slice::from_ref(&bare)))
        .await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(
        r,
        vec![format!(
            "certificate does not chain to a trusted Fulcio CA at the signing time {SIGNING_TIME}: UnknownIssuer"
        )]
    );

    // With it (intermediate + root, as cosign writes), the path reaches the trusted root.
    let mut chained = bare.clone();
    chained.chain_pem = Some(format!(
        "{}{}",
        intermediate.certificate_pem(),
        env.pki.fulcio.certificate_pem()
    ));
    env.push(&sig_artifact(&digest, &[chained])).await;
    assert!(env.verify(&env.keyless_policy(), &digest).await.is_ok());

    // A chain ending in a root of its own does not make that root trusted.
    let rogue = TestPki::new();
    let rogue_intermediate = rogue.fulcio.intermediate();
    let mut rogue_layer = rogue_intermediate.issue(&build_on("refs/heads/main")).sign_image(
        &env.pki.rekor,
        &env.reference(),
        &digest,
    );
    rogue_layer.chain_pem = Some(format!(
        "{}{}",
        rogue_intermediate.certificate_pem(),
        rogue.fulcio.certificate_pem()
    ));
    env.push(&sig_artifact(&digest, &[rogue_layer])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("certificate does not chain to a trusted Fulcio CA"),
        "{r:?}"
    );

    // A malformed chain annotation makes the certificate unusable.
    let mut garbage = bare;
    garbage.chain_pem = Some("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into());
    env.push(&sig_artifact(&digest, &[garbage])).await;
    let r = reasons(env.verify(&env.keyless_policy(), &digest).await);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("certificate chain PEM does not decode"), "{r:?}");
}
