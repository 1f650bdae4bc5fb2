//! Sigstore bundles (v0.1–v0.3), parsed with sigstore's protobuf `Bundle` type, and their
//! verification material turned into the parts of a [`Candidate`](crate::layer::Candidate).

use sigstore_protobuf_specs::dev::sigstore::bundle::v1::Bundle;
use sigstore_protobuf_specs::dev::sigstore::bundle::v1::VerificationMaterial;
use sigstore_protobuf_specs::dev::sigstore::bundle::v1::verification_material::Content as Material;
use x509_cert::der::Decode as _;

use crate::certificate::SigningCertificate;
use crate::layer::Evidence;
use crate::oci;

/// The bundle media types accepted, with whether their tlog entries must carry an inclusion
/// proof (v0.1 bundles may carry only the SET).
const MEDIA_TYPES: &[(&str, bool)] = &[
    ("application/vnd.dev.sigstore.bundle+json;version=0.1", false),
    ("application/vnd.dev.sigstore.bundle+json;version=0.2", true),
    ("application/vnd.dev.sigstore.bundle+json;version=0.3", true),
    (oci::BUNDLE_V03_MEDIA_TYPE, true),
];

/// A parsed bundle and whether its tlog entry needs an inclusion proof.
pub(crate) struct Parsed {
    /// The bundle.
    pub bundle: Bundle,
    /// Whether its version requires inclusion proofs (v0.2 and later).
    pub proof_required: bool,
}

/// Returns the bundle in `bytes`, refusing unknown media types.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| format!("bundle does not parse: {e}"))?;
    let proof_required = MEDIA_TYPES
        .iter()
        .find(|(t, _)| *t == bundle.media_type)
        .map(|(_, p)| *p)
        .ok_or_else(|| format!("bundle media type {:?} is not supported", bundle.media_type))?;
    Ok(Parsed {
        bundle,
        proof_required,
    })
}

/// The verification material of a bundle, in candidate form.
pub(crate) struct Parts {
    /// The signing certificate, when the material is one.
    pub certificate: Option<Result<SigningCertificate, String>>,
    /// Intermediates offered with it.
    pub chain: Vec<Vec<u8>>,
    /// The tlog evidence.
    pub evidence: Evidence,
    /// RFC 3161 tokens.
    pub timestamps: Vec<Vec<u8>>,
}

/// Returns the parts of `material`; a chain holding a root certificate (the trust root
/// supplies roots, never the bundle) makes the certificate unusable.
pub(crate) fn parts(material: Option<VerificationMaterial>, proof_required: bool) -> Result<Parts, String> {
    let material = material.ok_or("bundle has no verification material")?;
    let (certificate, chain) = match material.content {
        Some(Material::Certificate(c)) => (Some(SigningCertificate::from_der(&c.raw_bytes)), Vec::new()),
        Some(Material::X509CertificateChain(c)) => {
            let mut ders = c.certificates.into_iter().map(|c| c.raw_bytes);
            match ders.next() {
                Some(leaf) => {
                    let chain: Vec<Vec<u8>> = ders.collect();
                    if chain.iter().any(|c| is_self_signed(c)) {
                        (
                            Some(Err("bundle certificate chain contains a root certificate".into())),
                            Vec::new(),
                        )
                    } else {
                        (Some(SigningCertificate::from_der(&leaf)), chain)
                    }
                }
                None => (Some(Err("bundle certificate chain is empty".into())), Vec::new()),
            }
        }
        Some(Material::PublicKey(_)) | None => (None, Vec::new()),
    };
    let timestamps = material
        .timestamp_verification_data
        .map(|t| {
            t.rfc3161_timestamps
                .into_iter()
                .map(|t| t.signed_timestamp)
                .collect()
        })
        .unwrap_or_default();
    let mut entries = material.tlog_entries.into_iter();
    let evidence = match (entries.next(), entries.next()) {
        (None, _) => Evidence::None,
        (Some(entry), None) => Evidence::TlogEntry {
            entry: Box::new(entry),
            proof_required,
        },
        (Some(_), Some(_)) => Evidence::Invalid("bundle has more than one transparency log entry".into()),
    };
    Ok(Parts {
        certificate,
        chain,
        evidence,
        timestamps,
    })
}

fn is_self_signed(der: &[u8]) -> bool {
    x509_cert::Certificate::from_der(der)
        .is_ok_and(|c| c.tbs_certificate().subject() == c.tbs_certificate().issuer())
}
