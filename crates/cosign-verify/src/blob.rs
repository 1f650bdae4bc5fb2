//! Sigstore bundles over arbitrary artifacts (what `cosign verify-blob --bundle` checks): a
//! message signature over the artifact, or a DSSE envelope of an in-toto statement naming the
//! artifact's digest. The same constraints as for images apply; only the candidate differs.
//! This is the entry point of the public conformance suite's adapter.

use sigstore_protobuf_specs::dev::sigstore::bundle::v1::bundle::Content;
use sigstore_protobuf_specs::dev::sigstore::common::v1::HashAlgorithm;
use tagcore::{Digest, Repository, VerifiedSignature};

use crate::bundle;
use crate::constraint;
use crate::layer::{Candidate, dsse_pae};
use crate::policy::VerificationPolicy;
use crate::referrer::{IN_TOTO_PAYLOAD_TYPE, dsse_signature};

impl VerificationPolicy {
    /// Returns what the Sigstore bundle `bundle` (JSON, v0.1–v0.3) proves about `artifact`, once
    /// every constraint of this policy holds, or every reason why not.
    ///
    /// A message-signature bundle must sign `artifact` itself (its recorded digest must also
    /// match); a DSSE bundle must carry an in-toto statement with a subject whose sha256 is the
    /// artifact's. Payload repository checks do not apply: an artifact has no repository.
    pub fn verify_bundle(&self, bundle: &[u8], artifact: &[u8]) -> Result<VerifiedSignature, Vec<String>> {
        let candidate = artifact_candidate(bundle, artifact).map_err(|e| vec![e])?;
        let digest = Digest::of(artifact);
        // No payload names a repository (`claimed_reference` is `None`), so this one is unused.
        let unused = Repository::new("artifact.invalid", "artifact").map_err(|e| vec![e.to_string()])?;
        constraint::evaluate(&candidate, &unused, &digest, self)
    }
}

fn artifact_candidate(bytes: &[u8], artifact: &[u8]) -> Result<Candidate, String> {
    let parsed = bundle::parse(bytes)?;
    let parts = bundle::parts(parsed.bundle.verification_material, parsed.proof_required)?;
    let artifact_digest = Digest::of(artifact);
    let (message, logged_payload, signature, claimed_digest) = match parsed.bundle.content {
        Some(Content::MessageSignature(m)) => {
            let claimed = match m.message_digest {
                Some(d) if d.algorithm == HashAlgorithm::Sha2256 as i32 => {
                    Ok(format!("sha256:{}", hex::encode(&d.digest)))
                }
                Some(_) => Err("bundle message digest is not SHA2_256".to_owned()),
                // The digest is an unauthenticated hint; without it the signature alone binds.
                None => Ok(artifact_digest.to_string()),
            };
            (artifact.to_vec(), artifact.to_vec(), Ok(m.signature), claimed)
        }
        Some(Content::DsseEnvelope(envelope)) => {
            if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
                return Err(format!(
                    "DSSE payload type {:?} is not {IN_TOTO_PAYLOAD_TYPE}",
                    envelope.payload_type
                ));
            }
            let claimed = statement_names(&envelope.payload, &artifact_digest);
            (
                dsse_pae(&envelope.payload_type, &envelope.payload),
                envelope.payload.clone(),
                dsse_signature(&envelope),
                claimed,
            )
        }
        None => return Err("bundle has no content".into()),
    };
    Ok(Candidate {
        origin: "bundle".into(),
        message,
        logged_payload,
        claimed_digest,
        claimed_reference: None,
        timestamps: parts.timestamps,
        signature,
        certificate: parts.certificate,
        chain: parts.chain,
        evidence: parts.evidence,
    })
}

/// Returns `digest` when the in-toto statement `payload` has a subject with its sha256, or why
/// not.
fn statement_names(payload: &[u8], digest: &Digest) -> Result<String, String> {
    let statement: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| format!("DSSE payload is not an in-toto statement: {e}"))?;
    let subjects = statement
        .get("subject")
        .and_then(serde_json::Value::as_array)
        .ok_or("in-toto statement has no subjects")?;
    let named = subjects.iter().any(|s| {
        s.pointer("/digest/sha256")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|h| h.eq_ignore_ascii_case(digest.hex()))
    });
    if named {
        Ok(digest.to_string())
    } else {
        Err(format!(
            "in-toto statement names no subject with the artifact's digest {digest}"
        ))
    }
}
