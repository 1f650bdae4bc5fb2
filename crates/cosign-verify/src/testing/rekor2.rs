//! A fake Rekor v2 (tile-based) log: an Ed25519 key, a growing RFC 9162 Merkle tree, signed
//! checkpoints (C2SP signed notes) and inclusion proofs; its entries carry no SET.

use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{PKCS_ED25519, PublicKeyData as _, SigningKey as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::pki::must;
use crate::checkpoint::{leaf_hash, root_and_path};

/// A fake Rekor v2 log. Its log id is the signed-note key id of its Ed25519 key under its
/// origin, `sha256(origin || "\n" || 0x01 || key)`, as the public-good Rekor v2 log's is.
pub struct FakeRekorV2 {
    key: rcgen::KeyPair,
    origin: String,
    leaves: Mutex<Vec<[u8; 32]>>,
}

impl Default for FakeRekorV2 {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRekorV2 {
    /// Returns a log with a fresh key, already holding a few unrelated entries (so inclusion
    /// proofs have a path).
    pub fn new() -> Self {
        let leaves = (0..5u8).map(|i| leaf_hash(&[i])).collect();
        Self {
            key: must(rcgen::KeyPair::generate_for(&PKCS_ED25519), "Ed25519 key"),
            origin: "log2025-fake.rekor.invalid".into(),
            leaves: Mutex::new(leaves),
        }
    }

    /// Returns the checkpoint origin (the log's base URL without scheme).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Returns the public key, DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }

    /// Returns the log id (the checkpoint key id), raw bytes.
    pub fn log_id(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(self.origin.as_bytes());
        h.update(b"\n\x01");
        h.update(self.key.der_bytes());
        h.finalize().to_vec()
    }

    /// Returns the signed note for a tree of `size` entries with root `root`.
    pub fn checkpoint(&self, size: usize, root: &[u8]) -> String {
        let text = format!("{}\n{size}\n{}\n", self.origin, BASE64.encode(root));
        let mut sig = self.log_id()[..4].to_vec();
        sig.extend(must(self.key.sign(text.as_bytes()), "checkpoint signature"));
        format!("{text}\n\u{2014} {} {}\n", self.origin, BASE64.encode(sig))
    }

    /// Appends `body` and returns its protobuf-JSON `TransparencyLogEntry` of `kind` 0.0.2: an
    /// inclusion proof against a fresh checkpoint, no SET and no integrated time.
    pub fn entry(&self, kind: &str, body: &[u8]) -> Value {
        let (index, size, root, path) = {
            let mut leaves = self
                .leaves
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            leaves.push(leaf_hash(body));
            let index = leaves.len() - 1;
            let (root, path) = root_and_path(&leaves, index);
            (index, leaves.len(), root, path)
        };
        json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": BASE64.encode(self.log_id())},
            "kindVersion": {"kind": kind, "version": "0.0.2"},
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": BASE64.encode(root),
                "treeSize": size.to_string(),
                "hashes": path.iter().map(|h| BASE64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": self.checkpoint(size, &root)},
            },
            "canonicalizedBody": BASE64.encode(body),
        })
    }

    /// Returns the canonical `hashedrekord` 0.0.2 body logging `message`'s hash (for a DSSE
    /// envelope: the hash of its PAE), `signature` and the certificate `certificate_der`.
    pub fn hashedrekord_body(message: &[u8], signature: &[u8], certificate_der: &[u8]) -> Vec<u8> {
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {"hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": BASE64.encode(Sha256::digest(message))},
                "signature": {
                    "content": BASE64.encode(signature),
                    "verifier": {
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "x509Certificate": {"rawBytes": BASE64.encode(certificate_der)},
                    },
                },
            }},
        });
        must(serde_json_canonicalizer::to_vec(&body), "canonical JSON")
    }

    /// Returns the canonical `dsse` 0.0.2 body logging `payload`'s hash, `signature` and the
    /// certificate `certificate_der`.
    pub fn dsse_body(payload: &[u8], signature: &[u8], certificate_der: &[u8]) -> Vec<u8> {
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {"dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": BASE64.encode(Sha256::digest(payload))},
                "signatures": [{
                    "content": BASE64.encode(signature),
                    "verifier": {
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "x509Certificate": {"rawBytes": BASE64.encode(certificate_der)},
                    },
                }],
            }},
        });
        must(serde_json_canonicalizer::to_vec(&body), "canonical JSON")
    }
}
