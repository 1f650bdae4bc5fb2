//! A keyless signer: an ephemeral key with its fake Fulcio certificate, producing cosign's
//! signature formats (`.sig` layers, bundles with Rekor v1 or Rekor v2 entries).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tagcore::Digest;

use super::artifact::{SigLayer, bundle_json, in_toto_statement, simple_signing_payload};
use super::pki::{FakeRekor, KeyPair, SIGNING_TIME, must};
use super::rekor2::FakeRekorV2;
use super::tsa::FakeTsa;
use crate::layer::dsse_pae;

/// A key with its Fulcio certificate: what `cosign sign` holds during a keyless signing.
pub struct KeylessSigner {
    /// The ephemeral key.
    pub key: KeyPair,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The certificate, PEM.
    pub certificate_pem: String,
}

impl KeylessSigner {
    /// Returns a keyless cosign `.sig` layer for `digest`: simple-signing payload, signature,
    /// certificate, and a Rekor bundle from `rekor` logging a `hashedrekord` entry.
    pub fn sign_image(&self, rekor: &FakeRekor, repository: &str, digest: &Digest) -> SigLayer {
        self.sign_image_at(rekor, repository, digest, SIGNING_TIME)
    }

    /// Returns [`KeylessSigner::sign_image`]'s layer, logged at `time` (UNIX seconds).
    pub fn sign_image_at(&self, rekor: &FakeRekor, repository: &str, digest: &Digest, time: i64) -> SigLayer {
        let payload = simple_signing_payload(repository, digest);
        let signature = self.key.sign(&payload);
        let body = FakeRekor::hashedrekord_body(&payload, &signature, &self.certificate_pem);
        SigLayer {
            bundle: Some(rekor.cosign_bundle(&body, time)),
            signature: BASE64.encode(signature),
            payload,
            certificate_pem: Some(self.certificate_pem.clone()),
            chain_pem: None,
        }
    }

    /// Returns a Sigstore bundle v0.3 (JSON) for `digest`, as cosign's new bundle format makes:
    /// a DSSE envelope of an in-toto statement, the certificate, and a `dsse` tlog entry.
    pub fn sign_bundle(&self, rekor: &FakeRekor, repository: &str, digest: &Digest) -> Vec<u8> {
        let statement = in_toto_statement(repository, digest);
        let payload_type = "application/vnd.in-toto+json";
        let signature = self.key.sign(&dsse_pae(payload_type, &statement));
        let envelope = json!({
            "payload": BASE64.encode(&statement),
            "payloadType": payload_type,
            "signatures": [{"sig": BASE64.encode(&signature)}],
        });
        let envelope_bytes = must(serde_json_canonicalizer::to_vec(&envelope), "canonical JSON");
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&envelope_bytes))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&statement))},
                "signatures": [{"signature": BASE64.encode(&signature), "verifier": BASE64.encode(&self.certificate_pem)}],
            },
        });
        let body = must(serde_json_canonicalizer::to_vec(&body), "canonical JSON");
        let entry = rekor.tlog_entry("dsse", &body, SIGNING_TIME);
        bundle_json(&self.certificate_der, entry, envelope)
    }
}

impl KeylessSigner {
    /// Returns a Sigstore bundle v0.3 (JSON) for `digest` as cosign v3 makes with Rekor v2: a
    /// DSSE envelope of an in-toto statement, the certificate, a `hashedrekord` 0.0.2 entry of
    /// the envelope's PAE in `log`, and a timestamp of the signature from `tsa` at `time`.
    pub fn sign_bundle_v2(
        &self,
        log: &FakeRekorV2,
        tsa: &FakeTsa,
        time: i64,
        repository: &str,
        digest: &Digest,
    ) -> Vec<u8> {
        self.bundle_v2(log, tsa, time, repository, digest, false)
    }

    /// Returns [`KeylessSigner::sign_bundle_v2`]'s bundle with a `dsse` 0.0.2 entry (the
    /// payload hash) instead of a `hashedrekord` one.
    pub fn sign_bundle_v2_dsse(
        &self,
        log: &FakeRekorV2,
        tsa: &FakeTsa,
        time: i64,
        repository: &str,
        digest: &Digest,
    ) -> Vec<u8> {
        self.bundle_v2(log, tsa, time, repository, digest, true)
    }

    fn bundle_v2(
        &self,
        log: &FakeRekorV2,
        tsa: &FakeTsa,
        time: i64,
        repository: &str,
        digest: &Digest,
        dsse_entry: bool,
    ) -> Vec<u8> {
        let statement = in_toto_statement(repository, digest);
        let payload_type = "application/vnd.in-toto+json";
        let pae = dsse_pae(payload_type, &statement);
        let signature = self.key.sign(&pae);
        let envelope = json!({
            "payload": BASE64.encode(&statement),
            "payloadType": payload_type,
            "signatures": [{"sig": BASE64.encode(&signature)}],
        });
        let entry = if dsse_entry {
            log.entry(
                "dsse",
                &FakeRekorV2::dsse_body(&statement, &signature, &self.certificate_der),
            )
        } else {
            let body = FakeRekorV2::hashedrekord_body(&pae, &signature, &self.certificate_der);
            log.entry("hashedrekord", &body)
        };
        let mut bundle: Value = must(
            serde_json::from_slice(&bundle_json(&self.certificate_der, entry, envelope)),
            "bundle JSON",
        );
        bundle["verificationMaterial"]["timestampVerificationData"] = json!({"rfc3161Timestamps": [{"signedTimestamp": BASE64.encode(tsa.timestamp(&signature, time))}]});
        must(serde_json::to_vec(&bundle), "bundle JSON")
    }
}
