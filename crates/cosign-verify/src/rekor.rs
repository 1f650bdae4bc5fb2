//! Rekor evidence: the signed entry timestamp (SET) and the binding of the logged entry to the
//! signature being verified.
//!
//! sigstore 0.15 verifies a cosign bundle's SET only inside its private layer constructor, and
//! never checks that the logged entry describes the layer (FACTS.md, gap 1). This module uses
//! sigstore's public pieces — the `cosign::bundle::Bundle` format, the protobuf
//! `TransparencyLogEntry`, the `InclusionProof`/`SignedCheckpoint` models and
//! `CosignVerificationKey` — to verify the SET against a trusted Rekor key, and then checks the
//! entry body (`hashedrekord` or `dsse`, API version 0.0.1) names exactly this payload hash,
//! this signature and this certificate or key.
//!
//! A `dsse` entry's `envelopeHash` is not recomputed: clients serialise the envelope JSON
//! differently, so the hash cannot be reproduced reliably. The payload hash, the signature bytes
//! (which sign the DSSE PAE, covering the payload type) and the verifier already bind the entry
//! to this envelope.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sigstore::cosign::bundle::Bundle as CosignBundle;
use sigstore_protobuf_specs::dev::sigstore::rekor::v1::{
    InclusionProof as ProtoInclusionProof, TransparencyLogEntry,
};

use crate::trust_root::{LogKey, TrustRoot};

/// What a logged entry must describe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding<'a> {
    /// The signed artifact: the simple-signing payload, or the DSSE payload.
    pub payload: &'a [u8],
    /// The raw signature bytes.
    pub signature: &'a [u8],
    /// The DER of the signing certificate, or of the public key's SubjectPublicKeyInfo.
    pub verifier_der: &'a [u8],
}

/// Verifies the cosign `dev.sigstore.cosign/bundle` annotation `json` and returns its
/// integrated time (UNIX seconds), once the SET verifies against a trusted Rekor key and the
/// logged `hashedrekord` entry describes `binding`.
pub(crate) fn verify_cosign_bundle(
    json: &str,
    root: &TrustRoot,
    binding: Binding<'_>,
) -> Result<i64, String> {
    let bundle: CosignBundle =
        serde_json::from_str(json).map_err(|e| format!("Rekor bundle does not parse: {e}"))?;
    let log = root.rekor_keys.get(&bundle.payload.log_id).ok_or_else(|| {
        format!(
            "Rekor bundle is from log {} which is not in the trust root",
            bundle.payload.log_id
        )
    })?;
    check_window(&bundle.payload.log_id, log, bundle.payload.integrated_time)?;
    let key = &log.key;
    let canonical = serde_json_canonicalizer::to_vec(&bundle.payload)
        .map_err(|e| format!("Rekor bundle payload does not canonicalise: {e}"))?;
    let set = BASE64
        .decode(bundle.signed_entry_timestamp.as_bytes())
        .map_err(|e| format!("Rekor bundle SET is not base64: {e}"))?;
    if !key.verifies(&set, &canonical) {
        return Err("Rekor bundle SET does not verify against the trusted Rekor key".into());
    }
    let body = BASE64
        .decode(bundle.payload.body.as_bytes())
        .map_err(|e| format!("Rekor entry body is not base64: {e}"))?;
    check_body(&body, binding)?;
    Ok(bundle.payload.integrated_time)
}

/// Verifies a Sigstore bundle's transparency-log entry and returns its integrated time, once
/// its inclusion promise (SET) verifies against a trusted Rekor key, its inclusion proof (when
/// present) verifies against that key's signed checkpoint, and its body describes `binding`.
pub(crate) fn verify_tlog_entry(
    entry: &TransparencyLogEntry,
    root: &TrustRoot,
    binding: Binding<'_>,
) -> Result<i64, String> {
    let log_id = entry
        .log_id
        .as_ref()
        .ok_or("transparency log entry has no log id")?;
    let log_id = hex::encode(&log_id.key_id);
    let log = root.rekor_keys.get(&log_id).ok_or_else(|| {
        format!("transparency log entry is from log {log_id} which is not in the trust root")
    })?;
    check_window(&log_id, log, entry.integrated_time)?;
    let key = &log.key;
    let promise = entry
        .inclusion_promise
        .as_ref()
        .ok_or("transparency log entry has no inclusion promise (SET); refusing an unverifiable time")?;
    let payload = serde_json::json!({
        "body": BASE64.encode(&entry.canonicalized_body),
        "integratedTime": entry.integrated_time,
        "logIndex": entry.log_index,
        "logID": log_id,
    });
    let canonical = serde_json_canonicalizer::to_vec(&payload).map_err(|e| format!("SET payload: {e}"))?;
    if !key.verifies(&promise.signed_entry_timestamp, &canonical) {
        return Err("transparency log entry SET does not verify against the trusted Rekor key".into());
    }
    if let Some(proof) = &entry.inclusion_proof {
        verify_inclusion_proof(proof, &entry.canonicalized_body, key)?;
    }
    let kind = entry
        .kind_version
        .as_ref()
        .ok_or("transparency log entry has no kind")?;
    let body = check_body(&entry.canonicalized_body, binding)?;
    if kind.kind != body {
        return Err(format!(
            "transparency log entry says kind {:?} but its body is {body:?}",
            kind.kind
        ));
    }
    Ok(entry.integrated_time)
}

/// Checks that `log` was valid at `time`, the integrated time it attests.
fn check_window(log_id: &str, log: &LogKey, time: i64) -> Result<(), String> {
    if log.validity.contains(time) {
        Ok(())
    } else {
        Err(format!(
            "Rekor log {log_id} is not trusted at the integrated time {time} ({})",
            log.validity
        ))
    }
}

fn verify_inclusion_proof(
    proof: &ProtoInclusionProof,
    body: &[u8],
    key: &crate::key::PublicKey,
) -> Result<(), String> {
    use sigstore::rekor::models::checkpoint::SignedCheckpoint;
    use sigstore::rekor::models::inclusion_proof::InclusionProof;
    let to32 =
        |h: &[u8]| <[u8; 32]>::try_from(h).map_err(|_| format!("inclusion proof hash has {} bytes", h.len()));
    let checkpoint = proof
        .checkpoint
        .as_ref()
        .ok_or("inclusion proof has no checkpoint")?;
    let checkpoint: SignedCheckpoint = serde_json::from_value(Value::String(checkpoint.envelope.clone()))
        .map_err(|e| format!("inclusion proof checkpoint does not parse: {e}"))?;
    let tree_size =
        u64::try_from(proof.tree_size).map_err(|_| "inclusion proof tree size is negative".to_owned())?;
    let hashes = proof
        .hashes
        .iter()
        .map(|h| to32(h))
        .collect::<Result<Vec<_>, _>>()?;
    InclusionProof::new(
        proof.log_index,
        to32(&proof.root_hash)?,
        tree_size,
        hashes,
        Some(checkpoint),
    )
    .verify(body, key.inner())
    .map_err(|e| format!("inclusion proof does not verify: {e}"))
}

/// Checks the entry `body` describes `binding`; returns its kind.
fn check_body(body: &[u8], binding: Binding<'_>) -> Result<&'static str, String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("Rekor entry body is not JSON: {e}"))?;
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("Rekor entry body lacks {pointer}"))
    };
    let api = text("/apiVersion")?;
    let kind = text("/kind")?;
    let payload_hash = hex::encode(Sha256::digest(binding.payload));
    let (kind, hash_alg, hash, sig, verifier) = match (kind, api) {
        ("hashedrekord", "0.0.1") => (
            "hashedrekord",
            text("/spec/data/hash/algorithm")?,
            text("/spec/data/hash/value")?,
            text("/spec/signature/content")?,
            text("/spec/signature/publicKey/content")?,
        ),
        ("dsse", "0.0.1") => {
            let count = body
                .pointer("/spec/signatures")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if count != 1 {
                return Err(format!(
                    "Rekor dsse entry has {count} signatures; expected exactly 1"
                ));
            }
            (
                "dsse",
                text("/spec/payloadHash/algorithm")?,
                text("/spec/payloadHash/value")?,
                text("/spec/signatures/0/signature")?,
                text("/spec/signatures/0/verifier")?,
            )
        }
        (kind, api) => {
            return Err(format!(
                "Rekor entry kind {kind:?} version {api:?} is not supported"
            ));
        }
    };
    if hash_alg != "sha256" || hash != payload_hash {
        return Err(format!(
            "Rekor entry is for another payload ({hash_alg}:{hash}, this payload is sha256:{payload_hash})"
        ));
    }
    let logged_sig = BASE64
        .decode(sig.as_bytes())
        .map_err(|e| format!("Rekor entry signature is not base64: {e}"))?;
    if logged_sig != binding.signature {
        return Err("Rekor entry records another signature than this layer's".into());
    }
    let pem = BASE64
        .decode(verifier.as_bytes())
        .map_err(|e| format!("Rekor entry verifier is not base64: {e}"))?;
    let (_, der) =
        x509_cert::der::pem::decode_vec(&pem).map_err(|e| format!("Rekor entry verifier is not PEM: {e}"))?;
    if der != binding.verifier_der {
        return Err("Rekor entry records another certificate or key than this layer's".into());
    }
    Ok(kind)
}
