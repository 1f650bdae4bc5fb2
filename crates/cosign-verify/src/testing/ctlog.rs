//! A fake certificate-transparency log: a P-256 key that signs SCTs for the precertificates
//! of the fake Fulcio, embedded in the certificates it issues.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::CustomExtension;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use x509_cert::der::{Decode as _, Encode as _};

use super::pki::{KeyPair, SIGNING_TIME, must};

/// A fake CT log; its log id is `sha256(SPKI)`, as RFC 6962 logs' are.
#[derive(Default)]
pub struct FakeCtLog {
    key: KeyPair,
}

impl FakeCtLog {
    /// Returns a log with a fresh key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the log id.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.key.public_key_der()).into()
    }

    /// Returns the log's `ctlogs` entry for a `trusted_root.json`.
    pub fn trust_root_entry(&self) -> Value {
        json!({
            "baseUrl": "https://ctfe.invalid",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": BASE64.encode(self.key.public_key_der()),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            },
            "logId": {"keyId": BASE64.encode(self.log_id())},
        })
    }

    /// Returns the SCT-list extension for the certificate `precert` (DER, without the
    /// extension) issued by `issuer` (DER), timestamped at [`SIGNING_TIME`].
    pub(super) fn sct_extension(&self, precert: &[u8], issuer: &[u8]) -> CustomExtension {
        let tbs = must(
            <cms::cert::x509::Certificate as cms::cert::x509::der::Decode>::from_der(precert),
            "precertificate",
        )
        .tbs_certificate;
        let tbs = must(cms::cert::x509::der::Encode::to_der(&tbs), "precertificate TBS");
        let issuer = must(x509_cert::Certificate::from_der(issuer), "issuer");
        let spki = must(
            issuer.tbs_certificate().subject_public_key_info().to_der(),
            "issuer key",
        );
        let issuer_hash: [u8; 32] = Sha256::digest(spki).into();
        let millis = u64::try_from(SIGNING_TIME).unwrap_or_default() * 1000;
        let value =
            crate::sct::embedded_list(&self.log_id(), millis, &issuer_hash, &tbs, |m| self.key.sign(m));
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2], value)
    }
}
