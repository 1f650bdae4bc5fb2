//! An offline Sigstore: a fake Fulcio CA issuing GitHub Actions certificates, a fake Rekor log
//! signing entries, cosign key pairs, and the `trusted_root.json` that trusts them.

use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, Issuer, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData as _, SanType, SigningKey as _,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tagcore::Digest;
use x509_cert::der::Encode as _;

use super::artifact::{SigLayer, simple_signing_payload};
use super::ctlog::FakeCtLog;
use super::profile::{CertificateProfile, ExtensionValue};
use super::rekor2::FakeRekorV2;
pub use super::signer::KeylessSigner;
use super::tsa::FakeTsa;

/// The Rekor time every helper signs at (2026-05-28T20:26:40Z); certificates are valid for ten
/// minutes around it, as Fulcio's are.
pub const SIGNING_TIME: i64 = 1_780_000_000;

/// The Sigstore OID arc; `oid(n)` is `1.3.6.1.4.1.57264.1.n`.
fn oid(n: u64) -> Vec<u64> {
    vec![1, 3, 6, 1, 4, 1, 57264, 1, n]
}

/// Panics with `what` when a test-helper step fails; helpers are test code.
pub(super) fn must<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("testing helper: {what}: {e:?}"),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    must(
        x509_cert::der::pem::encode_string(label, x509_cert::der::pem::LineEnding::LF, der),
        "PEM encoding",
    )
}

pub(super) fn time(unix: i64) -> time::OffsetDateTime {
    must(time::OffsetDateTime::from_unix_timestamp(unix), "timestamp")
}

/// An ECDSA P-256 key pair, as `cosign generate-key-pair` makes.
pub struct KeyPair {
    inner: rcgen::KeyPair,
}

impl Default for KeyPair {
    fn default() -> Self {
        Self::generate()
    }
}

impl KeyPair {
    /// Returns a fresh P-256 key pair.
    pub fn generate() -> Self {
        Self {
            inner: must(
                rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
                "key generation",
            ),
        }
    }

    /// Returns the public key as a PEM `PUBLIC KEY` block (cosign's `cosign.pub`).
    pub fn public_key_pem(&self) -> String {
        self.inner.public_key_pem()
    }

    /// Returns the public key as DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.inner.subject_public_key_info()
    }

    /// Returns the ASN.1 DER ECDSA-SHA256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        must(self.inner.sign(message), "signing")
    }

    /// Returns a key-based cosign `.sig` layer signing `digest` (as `cosign sign --key
    /// --tlog-upload=false` makes): no certificate, no Rekor bundle.
    pub fn sign_image(&self, repository: &str, digest: &Digest) -> SigLayer {
        let payload = simple_signing_payload(repository, digest);
        SigLayer {
            signature: BASE64.encode(self.sign(&payload)),
            payload,
            certificate_pem: None,
            chain_pem: None,
            bundle: None,
        }
    }
}

/// A fake Rekor log: a P-256 key whose log id is `hex(sha256(SPKI))`, as Rekor v1's is.
pub struct FakeRekor {
    key: KeyPair,
    next_index: AtomicI64,
}

impl Default for FakeRekor {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRekor {
    /// Returns a log with a fresh key.
    pub fn new() -> Self {
        Self {
            key: KeyPair::generate(),
            next_index: AtomicI64::new(1000),
        }
    }

    /// Returns the log key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Returns the log id, hex.
    pub fn log_id(&self) -> String {
        hex::encode(Sha256::digest(self.key.public_key_der()))
    }

    fn set(&self, body: &[u8], integrated_time: i64, log_index: i64) -> Vec<u8> {
        let payload = json!({
            "body": BASE64.encode(body),
            "integratedTime": integrated_time,
            "logIndex": log_index,
            "logID": self.log_id(),
        });
        self.key.sign(&must(
            serde_json_canonicalizer::to_vec(&payload),
            "canonical JSON",
        ))
    }

    /// Returns the canonical `hashedrekord` 0.0.1 body for `payload`, `signature` (raw) and
    /// `verifier_pem` (certificate or public key).
    pub fn hashedrekord_body(payload: &[u8], signature: &[u8], verifier_pem: &str) -> Vec<u8> {
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))}},
                "signature": {"content": BASE64.encode(signature), "publicKey": {"content": BASE64.encode(verifier_pem)}},
            },
        });
        must(serde_json_canonicalizer::to_vec(&body), "canonical JSON")
    }

    /// Returns a cosign `dev.sigstore.cosign/bundle` annotation logging `body` at `time`.
    pub fn cosign_bundle(&self, body: &[u8], time: i64) -> String {
        let index = self.next_index.fetch_add(1, Ordering::Relaxed);
        json!({
            "SignedEntryTimestamp": BASE64.encode(self.set(body, time, index)),
            "Payload": {"body": BASE64.encode(body), "integratedTime": time, "logIndex": index, "logID": self.log_id()},
        })
        .to_string()
    }

    /// Returns a protobuf-JSON `TransparencyLogEntry` of kind `dsse` logging `body` at `time`,
    /// with its SET and an inclusion proof in a one-entry tree whose checkpoint the log signs.
    pub fn tlog_entry(&self, kind: &str, body: &[u8], time: i64) -> Value {
        let index = self.next_index.fetch_add(1, Ordering::Relaxed);
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(body);
        let root: [u8; 32] = Sha256::digest(&leaf).into();
        let text = format!("fake-rekor - 1\n1\n{}\n", BASE64.encode(root));
        let key_id = Sha256::digest(self.key.public_key_der());
        let mut signature = key_id[..4].to_vec();
        signature.extend(self.key.sign(text.as_bytes()));
        let checkpoint = format!("{text}\n\u{2014} fake-rekor {}\n", BASE64.encode(signature));
        json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": BASE64.encode(key_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": BASE64.encode(self.set(body, time, index))},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": BASE64.encode(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": BASE64.encode(body),
        })
    }
}

/// A fake Fulcio certificate authority (a self-signed P-256 root).
pub struct FakeFulcio {
    key: rcgen::KeyPair,
    params: CertificateParams,
    cert: rcgen::Certificate,
}

impl Default for FakeFulcio {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeFulcio {
    /// Returns a CA valid from 2020 to 2040.
    pub fn new() -> Self {
        let key = must(rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256), "CA key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "sigstore.dev");
        dn.push(DnType::CommonName, "fake-fulcio");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = time(1_577_836_800);
        params.not_after = time(2_208_988_800);
        let cert = must(params.self_signed(&key), "CA certificate");
        Self { key, params, cert }
    }

    /// Returns an intermediate CA issued by this one (as Fulcio's `sigstore-intermediate`),
    /// not part of any trust root by itself.
    pub fn intermediate(&self) -> Self {
        let key = must(
            rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
            "intermediate key",
        );
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "sigstore.dev");
        dn.push(DnType::CommonName, "fake-fulcio-intermediate");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.use_authority_key_identifier_extension = true;
        params.not_before = time(1_577_836_800);
        params.not_after = time(2_208_988_800);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = must(params.signed_by(&key, &issuer), "intermediate certificate");
        Self { key, params, cert }
    }

    /// Returns the CA certificate, DER.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    /// Returns the CA certificate, PEM (what cosign's `dev.sigstore.cosign/chain` holds).
    pub fn certificate_pem(&self) -> String {
        pem("CERTIFICATE", self.cert.der())
    }

    /// Returns a leaf certificate for `profile` and a fresh key, valid ten minutes around
    /// [`SIGNING_TIME`], for code signing (unless the profile says otherwise).
    pub fn issue(&self, profile: &CertificateProfile) -> KeylessSigner {
        self.issue_with_sct(profile, None)
    }

    /// Returns [`FakeFulcio::issue`]'s certificate with an SCT from `ct` embedded, as Fulcio's
    /// certificates carry (none when `ct` is `None`).
    pub fn issue_with_sct(&self, profile: &CertificateProfile, ct: Option<&FakeCtLog>) -> KeylessSigner {
        let key = KeyPair::generate();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.subject_alt_names = std::iter::once(&profile.identity)
            .chain(&profile.extra_sans)
            .map(|s| san(s))
            .collect();
        params.is_ca = if profile.is_ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = if profile.code_signing {
            vec![ExtendedKeyUsagePurpose::CodeSigning]
        } else {
            vec![ExtendedKeyUsagePurpose::EmailProtection]
        };
        params.use_authority_key_identifier_extension = true;
        params.not_before = time(SIGNING_TIME - 60);
        params.not_after = time(SIGNING_TIME + 540);
        let repeated = profile
            .repeated_extension
            .and_then(|n| profile.extensions.iter().find(|(k, _)| *k == n));
        params.custom_extensions = profile
            .extensions
            .iter()
            .chain(repeated)
            .map(|(n, v)| {
                let content = match v {
                    ExtensionValue::Raw(s) => s.as_bytes().to_vec(),
                    ExtensionValue::Utf8(s) => must(
                        x509_cert::der::asn1::Utf8StringRef::new(s).and_then(|u| u.to_der()),
                        "UTF8String",
                    ),
                };
                CustomExtension::from_oid_content(&oid(*n), content)
            })
            .collect();
        // A fixed serial, so that the precertificate and the certificate share their TBS.
        params.serial_number = Some(rcgen::SerialNumber::from(
            Sha256::digest(key.public_key_der())[..16].to_vec(),
        ));
        let issuer = Issuer::from_params(&self.params, &self.key);
        let mut cert = must(params.signed_by(&key.inner, &issuer), "leaf certificate");
        if let Some(ct) = ct {
            params
                .custom_extensions
                .push(ct.sct_extension(cert.der(), &self.cert.der()[..]));
            cert = must(params.signed_by(&key.inner, &issuer), "leaf certificate with SCT");
        }
        KeylessSigner {
            key,
            certificate_der: cert.der().to_vec(),
            certificate_pem: cert.pem(),
        }
    }
}

/// Returns the SAN for `value`: an e-mail address when it has `@` and no `://`, else a URI.
fn san(value: &str) -> SanType {
    if !value.contains("://") && value.contains('@') {
        SanType::Rfc822Name(must(value.to_owned().try_into(), "SAN e-mail"))
    } else {
        SanType::URI(must(value.to_owned().try_into(), "SAN URI"))
    }
}

/// A complete offline Sigstore: one fake Fulcio CA, one fake Rekor v1 log, one fake Rekor v2
/// log and one fake timestamp authority.
#[derive(Default)]
pub struct TestPki {
    /// The certificate authority.
    pub fulcio: FakeFulcio,
    /// The Rekor v1 transparency log.
    pub rekor: FakeRekor,
    /// The Rekor v2 (tile-based) transparency log.
    pub rekor_v2: FakeRekorV2,
    /// The RFC 3161 timestamp authority.
    pub tsa: FakeTsa,
    /// The certificate-transparency log (listed only by [`TestPki::trusted_root_json_with_ct`]).
    pub ct: FakeCtLog,
}

impl TestPki {
    /// Returns a fresh CA and log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns a `trusted_root.json` (cosign's `--trusted-root` format) trusting this CA and
    /// this log.
    pub fn trusted_root_json(&self) -> Vec<u8> {
        let key_id = Sha256::digest(self.rekor.key.public_key_der());
        let root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.invalid",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": BASE64.encode(self.rekor.key.public_key_der()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": BASE64.encode(key_id)},
            }, {
                "baseUrl": format!("https://{}", self.rekor_v2.origin()),
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": BASE64.encode(self.rekor_v2.public_key_der()),
                    "keyDetails": "PKIX_ED25519",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": BASE64.encode(self.rekor_v2.log_id())},
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "sigstore.dev", "commonName": "fake-fulcio"},
                "uri": "https://fulcio.invalid",
                "certChain": {"certificates": [{"rawBytes": BASE64.encode(self.fulcio.certificate_der())}]},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
            "ctlogs": [],
            "timestampAuthorities": [{
                "subject": {"organization": "sigstore.dev", "commonName": "fake-tsa"},
                "uri": "https://tsa.invalid",
                "certChain": {"certificates": self.tsa.chain_der().iter().map(|c| json!({"rawBytes": BASE64.encode(c)})).collect::<Vec<_>>()},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
        });
        must(serde_json::to_vec_pretty(&root), "trusted root JSON")
    }

    /// Returns the policy trust-root source for [`TestPki::trusted_root_json`].
    pub fn trusted_root(&self) -> crate::TrustedRootSource {
        crate::TrustedRootSource::Json(self.trusted_root_json())
    }

    /// Returns a signer whose certificate this CA issued for `profile`.
    pub fn issue(&self, profile: &CertificateProfile) -> KeylessSigner {
        self.fulcio.issue(profile)
    }

    /// Returns a signer whose certificate this CA issued for `profile`, with an embedded SCT
    /// from this PKI's CT log.
    pub fn issue_with_sct(&self, profile: &CertificateProfile) -> KeylessSigner {
        self.fulcio.issue_with_sct(profile, Some(&self.ct))
    }

    /// Returns [`TestPki::trusted_root_json`] with this PKI's CT log listed, so that
    /// certificates must carry its SCT.
    pub fn trusted_root_json_with_ct(&self) -> Vec<u8> {
        let mut root: Value = must(serde_json::from_slice(&self.trusted_root_json()), "trusted root");
        root["ctlogs"] = json!([self.ct.trust_root_entry()]);
        must(serde_json::to_vec_pretty(&root), "trusted root JSON")
    }

    /// Returns a keyless `.sig` layer for `digest`, certificate from this CA, logged in this log.
    pub fn sign_keyless(&self, profile: &CertificateProfile, repository: &str, digest: &Digest) -> SigLayer {
        self.issue(profile).sign_image(&self.rekor, repository, digest)
    }

    /// Returns a keyless Sigstore bundle v0.3 for `digest` as cosign v3 makes with Rekor v2:
    /// certificate from this CA, a `hashedrekord` 0.0.2 entry in the Rekor v2 log, and an RFC
    /// 3161 timestamp at [`SIGNING_TIME`] from this TSA.
    pub fn bundle_keyless_v2(
        &self,
        profile: &CertificateProfile,
        repository: &str,
        digest: &Digest,
    ) -> Vec<u8> {
        self.issue(profile)
            .sign_bundle_v2(&self.rekor_v2, &self.tsa, SIGNING_TIME, repository, digest)
    }

    /// Returns a keyless Sigstore bundle v0.3 for `digest`, certificate from this CA, logged in
    /// this log.
    pub fn bundle_keyless(&self, profile: &CertificateProfile, repository: &str, digest: &Digest) -> Vec<u8> {
        self.issue(profile).sign_bundle(&self.rekor, repository, digest)
    }
}
