//! Signature candidates: one signature layer of either cosign layout, normalised so that the
//! same constraints apply to both.

use sigstore_protobuf_specs::dev::sigstore::rekor::v1::TransparencyLogEntry;

use crate::certificate::SigningCertificate;

/// The transparency-log evidence a candidate carries.
#[derive(Debug, Clone)]
pub(crate) enum Evidence {
    /// None was attached.
    None,
    /// A cosign `dev.sigstore.cosign/bundle` annotation (JSON).
    CosignBundle(String),
    /// The single tlog entry of a Sigstore bundle.
    TlogEntry {
        /// The entry.
        entry: Box<TransparencyLogEntry>,
        /// Whether it must carry an inclusion proof (bundles v0.2 and later).
        proof_required: bool,
    },
    /// Evidence was attached but is malformed.
    Invalid(String),
}

/// One signature found for a digest, not yet trusted in any way.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Where it was found, e.g. `sha256-….sig layer 1/2 (sha256:…)`; used in every reason.
    pub origin: String,
    /// The exact bytes the signature covers (the payload, or the DSSE PAE).
    pub message: Vec<u8>,
    /// The bytes the transparency log hashes (the payload; the DSSE payload for bundles).
    pub logged_payload: Vec<u8>,
    /// The digest the payload names, or why it names none.
    pub claimed_digest: Result<String, String>,
    /// The repository the payload names (simple-signing `docker-reference`, in-toto subject
    /// `name`), when it names one.
    pub claimed_reference: Option<String>,
    /// RFC 3161 timestamp tokens (DER) over the signature, from a Sigstore bundle.
    pub timestamps: Vec<Vec<u8>>,
    /// The raw signature bytes, or why there are none.
    pub signature: Result<Vec<u8>, String>,
    /// The signing certificate: `None` when absent, `Some(Err)` when unparseable.
    pub certificate: Option<Result<SigningCertificate, String>>,
    /// Untrusted intermediate certificates offered with it (DER).
    pub chain: Vec<Vec<u8>>,
    /// Transparency-log evidence.
    pub evidence: Evidence,
}

/// A signature artifact that could not even be read as a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// Where it was found.
    pub origin: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// What examining one signature artifact produced.
pub(crate) type Examined = Result<Candidate, Unreadable>;

/// Returns the DER of every `CERTIFICATE` block in `pem` (a cosign chain annotation), or why not.
pub(crate) fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start..];
        let end = after
            .find(END)
            .ok_or("certificate chain has an unterminated PEM block")?
            + END.len();
        let (label, der) = x509_cert::der::pem::decode_vec(&after.as_bytes()[..end])
            .map_err(|e| format!("certificate chain PEM does not decode: {e}"))?;
        if label != "CERTIFICATE" {
            return Err(format!("certificate chain holds a `{label}` block"));
        }
        out.push(der);
        rest = &after[end..];
    }
    if out.is_empty() && !pem.trim().is_empty() {
        return Err("certificate chain annotation holds no certificate".into());
    }
    Ok(out)
}

/// Returns the DSSE pre-authentication encoding of `payload` with `payload_type`.
pub(crate) fn dsse_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_follows_the_dsse_spec() {
        assert_eq!(dsse_pae("t", b"hello"), b"DSSEv1 1 t 5 hello".to_vec());
    }

    #[test]
    fn chain_blocks_are_split_and_garbage_refused() {
        assert_eq!(pem_certificates("").unwrap(), Vec::<Vec<u8>>::new());
        let one = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_certificates(&format!("{one}{one}")).unwrap(),
            vec![vec![1, 2, 3], vec![1, 2, 3]]
        );
        assert!(pem_certificates("junk").is_err());
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\nAQID").is_err());
    }
}
