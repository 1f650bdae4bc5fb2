//! Embedded SCTs, checked against the trust root's CT logs as cosign does by default, with the
//! `insecure_ignore_sct` switch.

use cosign_verify::TrustedRootSource;
use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{TestPki, sig_artifact};
use tagcore::policy::VerifySpec;

use crate::support::{Env, build_on, reasons};

fn with_ct(env: &Env) -> TestPolicy {
    TestPolicy {
        trusted_root: TrustedRootSource::Json(env.pki.trusted_root_json_with_ct()),
        ..env.keyless_policy()
    }
}

#[tokio::test]
async fn a_certificate_with_an_sct_from_a_trusted_ct_log_is_accepted() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let signer = env.pki.issue_with_sct(&build_on("refs/heads/main"));
    env.push(&sig_artifact(
        &digest,
        &[signer.sign_image(&env.pki.rekor, &env.reference(), &digest)],
    ))
    .await;
    env.verify(&with_ct(&env), &digest).await.expect("accepted");
}

#[tokio::test]
async fn a_certificate_without_an_sct_is_refused_unless_sct_checks_are_off() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let layer = env
        .pki
        .sign_keyless(&build_on("refs/heads/main"), &env.reference(), &digest);
    env.push(&sig_artifact(&digest, &[layer])).await;
    assert_eq!(
        reasons(env.verify(&with_ct(&env), &digest).await),
        vec!["certificate carries no embedded SCT, and the trust root lists CT logs"]
    );
    let ignoring = TestPolicy {
        spec: VerifySpec {
            insecure_ignore_sct: true,
            ..with_ct(&env).spec
        },
        ..with_ct(&env)
    };
    env.verify(&ignoring, &digest)
        .await
        .expect("accepted without SCT check");
    // A trust root without CT logs (a private instance) needs no SCT.
    env.verify(&env.keyless_policy(), &digest)
        .await
        .expect("no CT logs");
}

#[tokio::test]
async fn an_sct_from_an_untrusted_ct_log_is_refused() {
    let env = Env::new();
    let (_, digest) = env.image("v1").await;
    let rogue = TestPki::new();
    let signer = env
        .pki
        .fulcio
        .issue_with_sct(&build_on("refs/heads/main"), Some(&rogue.ct));
    env.push(&sig_artifact(
        &digest,
        &[signer.sign_image(&env.pki.rekor, &env.reference(), &digest)],
    ))
    .await;
    assert_eq!(
        reasons(env.verify(&with_ct(&env), &digest).await),
        vec![format!(
            "no embedded SCT verifies against the trust root's CT logs (SCT from CT log {}, which is not in the trust root)",
            hex::encode(rogue.ct.log_id())
        )]
    );
}

#[test]
fn the_switch_is_keyless_only() {
    let err = TestPolicy {
        spec: VerifySpec {
            key: Some(cosign_verify::testing::KeyPair::generate().public_key_pem()),
            insecure_ignore_sct: true,
            ..VerifySpec::default()
        },
        ..TestPolicy::default()
    }
    .compile()
    .unwrap_err();
    assert_eq!(
        err,
        "policy field `verify.key`: give either a key or keyless settings (issuer, identity), not both; `insecure_ignore_sct` is set too"
    );
}
