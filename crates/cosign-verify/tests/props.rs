//! Parsers of untrusted input never panic: property tests on the stable
//! toolchain. `PROPTEST_CASES=10000` locally; 256 cases with a fixed seed by default (CI).
//!
//! Arbitrary and mutated (bytes flipped, inserted, cut) versions of valid inputs:
//! `.sig` layers (payload, signature, certificate, chain, Rekor bundle annotations), whole
//! `.sig` manifests, Sigstore bundles attached as referrers and their referrers index, certificates (their GitHub
//! extensions), trust roots and public keys. Each must be refused with a reason, never panic,
//! and never be accepted for another digest.

use cosign_verify::testing::{
    CertificateProfile, SigLayer, TestPki, bundle_artifact_for, image_artifact, referrers_index, sig_artifact,
};
use cosign_verify::testing::{TestPolicy, memory_registry};
use cosign_verify::{PublicKey, SigningCertificate, TrustRoot, TrustedRootSource, VerificationPolicy};
use proptest::prelude::*;
use tagcore::policy::VerifySpec;
use tagcore::{Digest, Manifest, Repository, VerifyError};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Cut(usize),
    Remove(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Edit::Flip(i, b)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<usize>().prop_map(Edit::Cut),
            (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Remove(i, n)),
        ],
        1..4,
    )
}

/// Returns `bytes` with `edits` applied (indexes wrap around the current length).
fn mutate(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for e in edits {
        let len = out.len().max(1);
        match *e {
            Edit::Flip(i, b) if !out.is_empty() => out[i % len] ^= b,
            Edit::Insert(i, b) => out.insert(i % (out.len() + 1), b),
            Edit::Cut(i) => out.truncate(i % len),
            Edit::Remove(i, n) if !out.is_empty() => {
                let start = i % len;
                let end = (start + n).min(out.len());
                out.drain(start..end);
            }
            _ => {}
        }
    }
    out
}

/// Valid bytes mutated, or arbitrary bytes.
fn hostile(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => edits().prop_map(move |e| mutate(&valid, &e)),
        1 => proptest::collection::vec(any::<u8>(), 0..400),
    ]
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

struct Fixture {
    _pki: TestPki,
    policy: VerificationPolicy,
    repo: Repository,
    image: Manifest,
    digest: Digest,
    layer: SigLayer,
    bundle: Vec<u8>,
    cert_der: Vec<u8>,
}

static FIXTURE: std::sync::LazyLock<Fixture> = std::sync::LazyLock::new(fixture);

fn fixture() -> Fixture {
    let pki = TestPki::new();
    let profile = CertificateProfile::github(
        "nearai/cloud-api",
        "build.yml",
        "refs/heads/main",
        "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
    );
    let policy = TestPolicy {
        spec: VerifySpec {
            issuer: Some(cosign_verify::testing::GITHUB_ISSUER.into()),
            identity_regex: Some(
                r"https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/heads/main".into(),
            ),
            workflow_repository: Some("nearai/cloud-api".into()),
            ..VerifySpec::default()
        },
        trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
    }
    .compile()
    .expect("policy");
    let repo = Repository::new("registry.example", "nearai/cloud-api").expect("repository");
    let image = image_artifact("staging", "props").manifest;
    let digest = image.digest();
    let layer = pki.sign_keyless(&profile, &repo.to_string(), &digest);
    let bundle = pki.bundle_keyless(&profile, &repo.to_string(), &digest);
    let pem = layer.certificate_pem.clone().expect("keyless certificate");
    let cert_der = SigningCertificate::from_pem(pem.as_bytes())
        .expect("valid certificate")
        .der()
        .to_vec();
    Fixture {
        _pki: pki,
        policy,
        repo,
        image,
        digest,
        layer,
        bundle,
        cert_der,
    }
}

impl Fixture {
    /// Verifies the fixture's digest against a registry holding `artifacts`; checks that an
    /// acceptance names the digest. Returns whether it was accepted.
    fn verify(&self, artifacts: &[cosign_verify::testing::Artifact]) -> Result<bool, TestCaseError> {
        let reg = memory_registry(false);
        cosign_verify::testing::Artifact {
            tag: Some("staging".into()),
            manifest: self.image.clone(),
            blobs: Vec::new(),
        }
        .store_in(&reg, &self.repo);
        for a in artifacts {
            a.store_in(&reg, &self.repo);
        }
        match pollster::block_on(self.policy.verify(&reg, &self.repo, &self.digest)) {
            Ok(v) => {
                prop_assert_eq!(&v.digest, &self.digest);
                Ok(true)
            }
            Err(VerifyError::Refused { reasons }) => {
                prop_assert!(!reasons.is_empty() && reasons.iter().all(|r| !r.trim().is_empty()));
                Ok(false)
            }
            Err(VerifyError::Unavailable { .. }) => Ok(false),
        }
    }
}

/// The bytes of field `which` of the valid layer: payload, signature, certificate, chain, bundle.
fn layer_field(which: usize) -> Vec<u8> {
    let l = &FIXTURE.layer;
    match which {
        0 => l.payload.clone(),
        1 => l.signature.clone().into_bytes(),
        2 => l.certificate_pem.clone().unwrap_or_default().into_bytes(),
        3 => l.chain_pem.clone().unwrap_or_default().into_bytes(),
        _ => l.bundle.clone().unwrap_or_default().into_bytes(),
    }
}

proptest! {
    #![proptest_config(testkit::prop_config())]

    /// One field of a valid keyless `.sig` layer mutated or replaced.
    #[test]
    fn sig_layers_never_panic(
        (which, bytes) in (0usize..5).prop_flat_map(|w| (Just(w), hostile(layer_field(w)))),
    ) {
        let f = &*FIXTURE;
        let mut layer = f.layer.clone();
        match which {
            0 => layer.payload = bytes,
            1 => layer.signature = text(bytes),
            2 => layer.certificate_pem = Some(text(bytes)),
            3 => layer.chain_pem = Some(text(bytes)),
            _ => layer.bundle = Some(text(bytes)),
        }
        f.verify(&[sig_artifact(&f.digest, &[layer])])?;
    }

    /// A whole `.sig` manifest (and one blob) of arbitrary or mutated bytes.
    #[test]
    fn sig_manifests_never_panic(
        manifest in hostile(sig_artifact(&FIXTURE.digest, std::slice::from_ref(&FIXTURE.layer)).manifest.bytes),
        blob in hostile(FIXTURE.layer.payload.clone()),
    ) {
        let f = &*FIXTURE;
        let artifact = cosign_verify::testing::Artifact {
            tag: Some(f.digest.signature_tag().to_string()),
            manifest: Manifest::new(OCI_MANIFEST, manifest),
            blobs: vec![blob],
        };
        f.verify(&[artifact])?;
    }

    /// A Sigstore bundle of arbitrary or mutated bytes, found through the tag fallback.
    #[test]
    fn bundles_never_panic(bundle in hostile(FIXTURE.bundle.clone())) {
        let f = &*FIXTURE;
        let referrer = bundle_artifact_for(&f.digest, OCI_MANIFEST, f.image.bytes.len() as u64, &bundle);
        let index = referrers_index(&f.digest, &[&referrer]);
        let accepted = f.verify(&[referrer, index])?;
        let parsed = serde_json::from_slice::<serde_json::Value>(&bundle).ok();
        let original = serde_json::from_slice::<serde_json::Value>(&f.bundle).ok();
        prop_assert!(
            !accepted || parsed == original || only_checkpoint_signer_name_changed(parsed.as_ref(), original.as_ref()),
            "a changed bundle was accepted; it differs at {:?}",
            json_diff(parsed.as_ref(), original.as_ref(), "")
        );
    }

    /// The referrers index (the `sha256-<hex>` tag fallback) of arbitrary or mutated bytes,
    /// listing a valid bundle.
    #[test]
    fn referrers_indexes_never_panic(index in hostile(valid_index().manifest.bytes)) {
        let f = &*FIXTURE;
        let referrer = bundle_artifact_for(&f.digest, OCI_MANIFEST, f.image.bytes.len() as u64, &f.bundle);
        let mut fallback = valid_index();
        fallback.manifest = Manifest::new(fallback.manifest.media_type.clone(), index);
        f.verify(&[referrer, fallback])?;
    }

    /// Certificates (DER and PEM), their GitHub extensions included.
    #[test]
    fn certificates_never_panic(der in hostile(FIXTURE.cert_der.clone())) {
        if let Ok(c) = SigningCertificate::from_der(&der) {
            let _ = c.der();
        }
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", base64_lines(&der));
        let _ = SigningCertificate::from_pem(pem.as_bytes());
        let _ = SigningCertificate::from_pem(&der);
    }

    /// Trust roots (`trusted_root.json`).
    #[test]
    fn trust_roots_never_panic(json in hostile(FIXTURE_ROOT.clone())) {
        let _ = TrustRoot::from_json(&json);
    }

    /// Public keys (PEM and SPKI DER).
    #[test]
    fn public_keys_never_panic(pem in hostile(KEY_PEM.clone().into_bytes()), der in hostile(KEY_DER.clone())) {
        let _ = PublicKey::from_pem(&text(pem));
        let _ = PublicKey::from_spki_der(&der);
    }
}

static FIXTURE_ROOT: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| FIXTURE._pki.trusted_root_json());
static KEY: std::sync::LazyLock<cosign_verify::testing::KeyPair> =
    std::sync::LazyLock::new(cosign_verify::testing::KeyPair::generate);
static KEY_PEM: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| KEY.public_key_pem());
static KEY_DER: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| KEY.public_key_der());

fn base64_lines(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    b64.as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The mutation bases are valid: unmutated, each is accepted, so the properties mutate inputs
/// that reach every check.
#[test]
fn the_unmutated_inputs_are_accepted() {
    let f = &*FIXTURE;
    assert!(
        f.verify(&[sig_artifact(&f.digest, std::slice::from_ref(&f.layer))])
            .unwrap()
    );
    let referrer = bundle_artifact_for(&f.digest, OCI_MANIFEST, f.image.bytes.len() as u64, &f.bundle);
    let index = referrers_index(&f.digest, &[&referrer]);
    assert!(f.verify(&[referrer, index]).unwrap());
    assert!(SigningCertificate::from_der(&f.cert_der).is_ok());
    assert!(TrustRoot::from_json(&FIXTURE_ROOT).is_ok());
    assert!(PublicKey::from_pem(&KEY_PEM).is_ok() && PublicKey::from_spki_der(&KEY_DER).is_ok());
}

/// Returns the JSON paths where `a` and `b` differ, with both values (short).
fn json_diff(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>, at: &str) -> Vec<String> {
    use serde_json::Value;
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| json_diff(x.get(k), y.get(k), &format!("{at}/{k}")))
                .collect()
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .flat_map(|(i, (p, q))| json_diff(Some(p), Some(q), &format!("{at}/{i}")))
            .collect(),
        (p, q) if p == q => Vec::new(),
        (p, q) => {
            let short = |v: Option<&Value>| v.map(|v| v.to_string().chars().take(120).collect::<String>());
            vec![format!("{at}: {:?} (original {:?})", short(p), short(q))]
        }
    }
}

/// The one change of an accepted bundle these properties found and tolerate, reported to the
/// gate's owner: the key name in a checkpoint's signature line (`— <name> <signature>`) is not
/// compared with the log's name; the signed note text and the signature itself must be intact
/// (the signature is found by its key hash and checked with the trusted key). Returns whether
/// that name is all that differs.
fn only_checkpoint_signer_name_changed(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> bool {
    const PATH: &str = "/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope";
    let diff = json_diff(a, b, "");
    let envelope = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.pointer(PATH))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let (Some(x), Some(y)) = (envelope(a), envelope(b)) else {
        return false;
    };
    let split = |e: &str| -> Option<(String, Vec<String>)> {
        let (body, sigs) = e.split_once("\n\n")?;
        // Keep the signature lines' last token (the base64 signature), drop the name.
        let sigs = sigs
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap_or("").to_owned())
            .collect();
        Some((body.to_owned(), sigs))
    };
    diff.len() == 1
        && diff[0].starts_with(&format!("{PATH}:"))
        && split(&x).is_some()
        && split(&x) == split(&y)
}

/// Returns the valid referrers index of the fixture's bundle.
fn valid_index() -> cosign_verify::testing::Artifact {
    let f = &*FIXTURE;
    let referrer = bundle_artifact_for(&f.digest, OCI_MANIFEST, f.image.bytes.len() as u64, &f.bundle);
    referrers_index(&f.digest, &[&referrer])
}
