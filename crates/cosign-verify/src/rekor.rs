//! Rekor evidence: the signed entry timestamp (SET) of Rekor v1, the inclusion proof and signed
//! checkpoint of Rekor v1 and v2, and the binding of the logged entry to the signature being
//! verified.
//!
//! sigstore 0.15 verifies a cosign bundle's SET only inside its private layer constructor, never
//! checks that the logged entry describes the layer (docs/behaviour.md#signature-verification), and knows nothing of
//! Rekor v2. This module uses sigstore's public pieces — the `cosign::bundle::Bundle` format, the
//! protobuf `TransparencyLogEntry` and `CosignVerificationKey` — to verify the SET against a
//! trusted Rekor key, verifies inclusion proofs itself (`checkpoint`), and then checks the entry
//! body (`hashedrekord` or `dsse`, API version 0.0.1 of Rekor v1 or 0.0.2 of Rekor v2) names
//! exactly this payload hash, this signature and this certificate or key.
//!
//! A Rekor v2 entry has no SET and no integrated time: the caller takes the signing time from
//! an RFC 3161 timestamp and checks the log's window at that time.
//!
//! A `dsse` 0.0.1 entry's `envelopeHash` is not recomputed: clients serialise the envelope JSON
//! differently, so the hash cannot be reproduced reliably. The payload hash, the signature bytes
//! (which sign the DSSE PAE, covering the payload type) and the verifier already bind the entry
//! to this envelope.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sigstore_protobuf_specs::dev::sigstore::rekor::v1::{
    InclusionProof as ProtoInclusionProof, TransparencyLogEntry,
};

use crate::checkpoint;
use crate::trust_root::{TrustRoot, Validity};

/// cosign's `dev.sigstore.cosign/bundle` annotation: a Rekor v1 entry and its SET.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CosignBundle {
    signed_entry_timestamp: String,
    payload: SetPayload,
}

/// The Rekor v1 entry a SET signs (canonical JSON of these four fields).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetPayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// What a logged entry must describe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding<'a> {
    /// The signed artifact: the simple-signing payload, or the DSSE payload.
    pub payload: &'a [u8],
    /// The exact bytes signed: the payload, or the DSSE PAE (Rekor v2 `hashedrekord` logs their
    /// hash for DSSE envelopes).
    pub message: &'a [u8],
    /// The raw signature bytes.
    pub signature: &'a [u8],
    /// The DER of the signing certificate, or of the public key's SubjectPublicKeyInfo.
    pub verifier_der: &'a [u8],
}

/// What a verified transparency-log entry attests.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    /// The SET-attested integrated time (Rekor v1); `None` for a Rekor v2 entry.
    pub integrated_time: Option<i64>,
    /// The hex log id.
    pub log_id: String,
    /// The log's trust window, to check at a timestamp's time when there is no integrated time.
    pub validity: Validity,
}

impl Logged {
    /// Checks that the log was trusted at `time`.
    pub(crate) fn check_window(&self, time: i64) -> Result<(), String> {
        if self.validity.contains(time) {
            Ok(())
        } else {
            Err(format!(
                "Rekor log {} is not trusted at the signing time {time} ({})",
                self.log_id, self.validity
            ))
        }
    }
}
/// Verifies the cosign `dev.sigstore.cosign/bundle` annotation `json` and returns its
/// integrated time (UNIX seconds), once the SET verifies against a trusted Rekor key and the
/// logged `hashedrekord` entry describes `binding`.
pub(crate) fn verify_cosign_bundle(
    json: &str,
    root: &TrustRoot,
    binding: Binding<'_>,
) -> Result<Logged, String> {
    let bundle: CosignBundle =
        serde_json::from_str(json).map_err(|e| format!("Rekor bundle does not parse: {e}"))?;
    let log = root.rekor_keys.get(&bundle.payload.log_id).ok_or_else(|| {
        format!(
            "Rekor bundle is from log {} which is not in the trust root",
            bundle.payload.log_id
        )
    })?;
    let logged = Logged {
        integrated_time: Some(bundle.payload.integrated_time),
        log_id: bundle.payload.log_id.clone(),
        validity: log.validity,
    };
    logged.check_window(bundle.payload.integrated_time)?;
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
    Ok(logged)
}

/// Verifies a Sigstore bundle's transparency-log entry: its inclusion proof against a
/// checkpoint signed by a trusted log key, its inclusion promise (SET) when it has one (Rekor
/// v1), and that its body describes `binding` with the kind and version the entry claims.
pub(crate) fn verify_tlog_entry(
    entry: &TransparencyLogEntry,
    proof_required: bool,
    root: &TrustRoot,
    binding: Binding<'_>,
) -> Result<Logged, String> {
    if entry.log_index < 0 {
        return Err(format!(
            "transparency log entry has a negative log index {}",
            entry.log_index
        ));
    }
    let log_id_bytes = &entry
        .log_id
        .as_ref()
        .ok_or("transparency log entry has no log id")?
        .key_id;
    let log_id = hex::encode(log_id_bytes);
    let log = root.rekor_keys.get(&log_id).ok_or_else(|| {
        format!("transparency log entry is from log {log_id} which is not in the trust root")
    })?;
    match &entry.inclusion_proof {
        Some(proof) => verify_inclusion_proof(proof, &entry.canonicalized_body, log_id_bytes, &log.key)?,
        None if proof_required || entry.inclusion_promise.is_none() => {
            return Err("transparency log entry has no inclusion proof".into());
        }
        None => {}
    }
    let mut logged = Logged {
        integrated_time: None,
        log_id: log_id.clone(),
        validity: log.validity,
    };
    if let Some(promise) = &entry.inclusion_promise {
        logged.check_window(entry.integrated_time)?;
        let payload = serde_json::json!({
            "body": BASE64.encode(&entry.canonicalized_body),
            "integratedTime": entry.integrated_time,
            "logIndex": entry.log_index,
            "logID": log_id,
        });
        let canonical =
            serde_json_canonicalizer::to_vec(&payload).map_err(|e| format!("SET payload: {e}"))?;
        if !log.key.verifies(&promise.signed_entry_timestamp, &canonical) {
            return Err("transparency log entry SET does not verify against the trusted Rekor key".into());
        }
        logged.integrated_time = Some(entry.integrated_time);
    }
    let kind = entry
        .kind_version
        .as_ref()
        .ok_or("transparency log entry has no kind")?;
    let (body_kind, body_version) = check_body(&entry.canonicalized_body, binding)?;
    if kind.kind != body_kind {
        return Err(format!(
            "transparency log entry says kind {:?} but its body is {body_kind:?}",
            kind.kind
        ));
    }
    if kind.version != body_version {
        return Err(format!(
            "transparency log entry says version {:?} but its body is {body_version:?}",
            kind.version
        ));
    }
    Ok(logged)
}

/// Verifies `proof` for the entry `body` against a checkpoint signed by the log `log_id` with
/// `key`.
fn verify_inclusion_proof(
    proof: &ProtoInclusionProof,
    body: &[u8],
    log_id: &[u8],
    key: &crate::key::PublicKey,
) -> Result<(), String> {
    let envelope = &proof
        .checkpoint
        .as_ref()
        .ok_or("inclusion proof has no checkpoint")?
        .envelope;
    let checkpoint = checkpoint::verify_note(envelope, log_id, key)?;
    let size =
        u64::try_from(proof.tree_size).map_err(|_| "inclusion proof tree size is negative".to_owned())?;
    let index =
        u64::try_from(proof.log_index).map_err(|_| "inclusion proof log index is negative".to_owned())?;
    if checkpoint.size != size || checkpoint.root_hash != proof.root_hash {
        return Err("inclusion proof disagrees with its checkpoint (tree size or root hash)".into());
    }
    if !checkpoint::verify_inclusion(
        index,
        size,
        checkpoint::leaf_hash(body),
        &proof.hashes,
        &proof.root_hash,
    ) {
        return Err("inclusion proof does not verify: the entry is not in the checkpointed tree".into());
    }
    Ok(())
}

/// The fields of an entry body that bind it to a signature.
struct EntryFields {
    /// The hash the entry records, raw bytes.
    hash: Vec<u8>,
    /// What that hash is of.
    hashed: Hashed,
    /// The signature, base64.
    signature: String,
    /// The verifier, DER (certificate or SubjectPublicKeyInfo).
    verifier_der: Vec<u8>,
}

/// Which bytes an entry hashes.
#[derive(Clone, Copy)]
enum Hashed {
    /// The payload (hashedrekord 0.0.1; dsse 0.0.1 and 0.0.2 payload hash).
    Payload,
    /// The signed message (hashedrekord 0.0.2: the PAE for a DSSE envelope).
    Message,
}

/// Checks the entry `body` describes `binding`; returns its kind and API version.
fn check_body(body: &[u8], binding: Binding<'_>) -> Result<(&'static str, &'static str), String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("Rekor entry body is not JSON: {e}"))?;
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("Rekor entry body lacks {pointer}"))
    };
    let api = text("/apiVersion")?;
    let kind = text("/kind")?;
    let (kind, version, fields) = match (kind, api) {
        ("hashedrekord", "0.0.1") => ("hashedrekord", "0.0.1", v1_fields(&body, "hashedrekord")?),
        ("dsse", "0.0.1") => ("dsse", "0.0.1", v1_fields(&body, "dsse")?),
        ("intoto", "0.0.2") => ("intoto", "0.0.2", intoto_fields(&body)?),
        ("hashedrekord", "0.0.2") => ("hashedrekord", "0.0.2", v2_fields(&body, "hashedrekord")?),
        ("dsse", "0.0.2") => ("dsse", "0.0.2", v2_fields(&body, "dsse")?),
        (kind, api) => {
            return Err(format!(
                "Rekor entry kind {kind:?} version {api:?} is not supported"
            ));
        }
    };
    let hashed = match fields.hashed {
        Hashed::Payload => binding.payload,
        Hashed::Message => binding.message,
    };
    let expected = Sha256::digest(hashed);
    if fields.hash != expected.as_slice() {
        return Err(format!(
            "Rekor entry is for another payload (sha256:{}, this payload is sha256:{})",
            hex::encode(&fields.hash),
            hex::encode(expected)
        ));
    }
    let logged_sig = BASE64
        .decode(fields.signature.as_bytes())
        .map_err(|e| format!("Rekor entry signature is not base64: {e}"))?;
    if logged_sig != binding.signature {
        return Err("Rekor entry records another signature than this layer's".into());
    }
    if fields.verifier_der != binding.verifier_der {
        return Err("Rekor entry records another certificate or key than this layer's".into());
    }
    Ok((kind, version))
}

fn str_at<'v>(body: &'v Value, pointer: &str) -> Result<&'v str, String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Rekor entry body lacks {pointer}"))
}

fn b64_at(body: &Value, pointer: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(str_at(body, pointer)?.as_bytes())
        .map_err(|e| format!("Rekor entry {pointer} is not base64: {e}"))
}

fn one_signature(body: &Value, pointer: &str) -> Result<(), String> {
    let count = body
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if count == 1 {
        Ok(())
    } else {
        Err(format!(
            "Rekor dsse entry has {count} signatures; expected exactly 1"
        ))
    }
}

/// Reads a Rekor v1 (0.0.1) body: hex hash, PEM verifier.
fn v1_fields(body: &Value, kind: &str) -> Result<EntryFields, String> {
    let (alg, hash, sig, verifier) = if kind == "dsse" {
        one_signature(body, "/spec/signatures")?;
        (
            "/spec/payloadHash/algorithm",
            "/spec/payloadHash/value",
            "/spec/signatures/0/signature",
            "/spec/signatures/0/verifier",
        )
    } else {
        (
            "/spec/data/hash/algorithm",
            "/spec/data/hash/value",
            "/spec/signature/content",
            "/spec/signature/publicKey/content",
        )
    };
    let alg = str_at(body, alg)?;
    if alg != "sha256" {
        return Err(format!("Rekor entry hash algorithm {alg:?} is not sha256"));
    }
    let hash = hex::decode(str_at(body, hash)?).map_err(|e| format!("Rekor entry hash is not hex: {e}"))?;
    let pem = b64_at(body, verifier)?;
    let verifier_der = pem_der(&pem)?;
    Ok(EntryFields {
        hash,
        hashed: Hashed::Payload,
        signature: str_at(body, sig)?.to_owned(),
        verifier_der,
    })
}

/// Returns the DER of the single PEM block in `pem`, accepting any base64 line length (some
/// clients write the whole block on one line).
fn pem_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "Rekor entry verifier is not PEM text".to_owned())?;
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    let framed = text.trim_start().starts_with("-----BEGIN ") && text.trim_end().ends_with("-----");
    if !framed {
        return Err("Rekor entry verifier is not PEM".into());
    }
    BASE64
        .decode(body.as_bytes())
        .map_err(|e| format!("Rekor entry verifier is not PEM: {e}"))
}

/// Reads a Rekor v1 `intoto` 0.0.2 body: hex payload hash, doubly base64-encoded signature,
/// PEM verifier.
fn intoto_fields(body: &Value) -> Result<EntryFields, String> {
    one_signature(body, "/spec/content/envelope/signatures")?;
    let alg = str_at(body, "/spec/content/payloadHash/algorithm")?;
    if alg != "sha256" {
        return Err(format!("Rekor entry hash algorithm {alg:?} is not sha256"));
    }
    let hash = hex::decode(str_at(body, "/spec/content/payloadHash/value")?)
        .map_err(|e| format!("Rekor entry hash is not hex: {e}"))?;
    let signature = String::from_utf8(b64_at(body, "/spec/content/envelope/signatures/0/sig")?)
        .map_err(|_| "Rekor intoto entry signature is not base64 text".to_owned())?;
    let pem = b64_at(body, "/spec/content/envelope/signatures/0/publicKey")?;
    let verifier_der = pem_der(&pem)?;
    Ok(EntryFields {
        hash,
        hashed: Hashed::Payload,
        signature,
        verifier_der,
    })
}

/// Reads a Rekor v2 (0.0.2) body: base64 digest, DER verifier.
fn v2_fields(body: &Value, kind: &str) -> Result<EntryFields, String> {
    let (alg, hash, sig, verifier, hashed) = if kind == "dsse" {
        one_signature(body, "/spec/dsseV002/signatures")?;
        (
            "/spec/dsseV002/payloadHash/algorithm",
            "/spec/dsseV002/payloadHash/digest",
            "/spec/dsseV002/signatures/0/content",
            "/spec/dsseV002/signatures/0/verifier",
            Hashed::Payload,
        )
    } else {
        (
            "/spec/hashedRekordV002/data/algorithm",
            "/spec/hashedRekordV002/data/digest",
            "/spec/hashedRekordV002/signature/content",
            "/spec/hashedRekordV002/signature/verifier",
            Hashed::Message,
        )
    };
    let alg = str_at(body, alg)?;
    if alg != "SHA2_256" {
        return Err(format!("Rekor entry hash algorithm {alg:?} is not SHA2_256"));
    }
    let verifier_der = b64_at(body, &format!("{verifier}/x509Certificate/rawBytes"))
        .or_else(|_| b64_at(body, &format!("{verifier}/publicKey/rawBytes")))?;
    Ok(EntryFields {
        hash: b64_at(body, hash)?,
        hashed,
        signature: str_at(body, sig)?.to_owned(),
        verifier_der,
    })
}

#[cfg(test)]
#[path = "rekor_tests.rs"]
mod tests;
