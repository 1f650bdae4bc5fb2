//! Fulcio certificates: the chain check against the trust root, and the identity they carry.
//!
//! sigstore 0.15 keeps its certificate pool and its `CertificateSignature` constructors private
//! and reads only the legacy OIDs, so this module does both itself: the chain is verified with
//! `rustls-webpki` (the verifier sigstore also uses) at the Rekor-attested signing time, and the
//! Sigstore OIDs are read with `x509-cert`, legacy (`1.3.6.1.4.1.57264.1.1`–`.6`, raw UTF-8) and
//! v2 (`.8`–`.22`, DER `UTF8String`). When a certificate carries both forms of a value they must
//! agree, otherwise it is refused.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use x509_cert::der::Decode as _;
use x509_cert::der::Encode as _;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::key::PublicKey;
use crate::trust_root::TrustRoot;

/// The DER value of the code-signing extended key usage, 1.3.6.1.5.5.7.3.3.
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// The Sigstore OID arc `1.3.6.1.4.1.57264.1`; the last component selects the field.
const SIGSTORE_ARC: &str = "1.3.6.1.4.1.57264.1";

/// Legacy OIDs (raw UTF-8 values).
const LEGACY_ISSUER: u32 = 1;
const LEGACY_WORKFLOW_SHA: u32 = 3;
const LEGACY_WORKFLOW_REPOSITORY: u32 = 5;
const LEGACY_WORKFLOW_REF: u32 = 6;
/// v2 OIDs (DER UTF8String values).
const V2_ISSUER: u32 = 8;
const V2_SOURCE_REPOSITORY_URI: u32 = 12;
const V2_SOURCE_REPOSITORY_DIGEST: u32 = 13;
const V2_SOURCE_REPOSITORY_REF: u32 = 14;

/// What a signing certificate says about its signer.
#[derive(Debug, Clone)]
pub struct CertificateIdentity {
    /// The SAN: a URI (workflow identity) or an e-mail address.
    pub identity: String,
    /// The OIDC issuer, from `.1.8` or the legacy `.1.1`.
    pub issuer: Option<String>,
    /// The GitHub repository `owner/name`, from legacy `.1.5` or v2 `.1.12` (URI, GitHub prefix
    /// removed).
    pub workflow_repository: Option<String>,
    /// The git ref, from legacy `.1.6` or v2 `.1.14`.
    pub workflow_ref: Option<String>,
    /// The source commit, from legacy `.1.3` or v2 `.1.13`.
    pub source_commit: Option<String>,
}

/// A parsed signing certificate.
#[derive(Debug, Clone)]
pub struct SigningCertificate {
    der: Vec<u8>,
    /// The subject public key.
    pub public_key: PublicKey,
    /// The identity fields.
    pub identity: CertificateIdentity,
}

impl SigningCertificate {
    /// Returns the certificate in the first `CERTIFICATE` block of `pem`.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let (label, der) =
            x509_cert::der::pem::decode_vec(pem).map_err(|e| format!("certificate is not PEM: {e}"))?;
        if label != "CERTIFICATE" {
            return Err(format!("expected a CERTIFICATE PEM block, found `{label}`"));
        }
        Self::from_der(&der)
    }

    /// Returns the certificate encoded as `der`, with its identity fields read.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|e| format!("certificate does not parse: {e}"))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| format!("certificate public key does not encode: {e}"))?;
        let public_key =
            PublicKey::from_spki_der(&spki).map_err(|e| format!("certificate public key: {e}"))?;
        let identity = read_identity(tbs)?;
        Ok(Self {
            der: der.to_vec(),
            public_key,
            identity,
        })
    }

    /// Returns the DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Checks that the certificate chains to a Fulcio CA of `root` whose window contains
    /// `signed_at` (UNIX seconds, from a verified Rekor entry or timestamp), possibly through
    /// `intermediates` (DER, e.g. from the `dev.sigstore.cosign/chain` annotation; untrusted),
    /// and is valid for code signing, as an end entity, at that time.
    pub fn verify_chain(
        &self,
        root: &TrustRoot,
        intermediates: &[Vec<u8>],
        signed_at: i64,
    ) -> Result<(), String> {
        if root.certificate_authorities.is_empty() {
            return Err("the trust root has no Fulcio certificate authority".into());
        }
        let valid: Vec<_> = root.fulcio_at(signed_at).collect();
        if valid.is_empty() {
            return Err(format!(
                "no Fulcio certificate authority of the trust root is valid at the signing time {signed_at}"
            ));
        }
        let anchors: Vec<&[u8]> = valid.iter().map(|a| a.anchor()).collect();
        let inters: Vec<&[u8]> = valid
            .iter()
            .flat_map(|a| &a.chain[..a.chain.len().saturating_sub(1)])
            .chain(intermediates)
            .map(Vec::as_slice)
            .collect();
        verify_for(&self.der, &anchors, &inters, signed_at, EKU_CODE_SIGNING).map_err(|e| {
            format!("certificate does not chain to a trusted Fulcio CA at the signing time {signed_at}: {e}")
        })
    }
}

/// Verifies the end-entity certificate `leaf` (DER) up to one of `anchors` through
/// `intermediates`, valid at `time` (UNIX seconds) for the extended key usage `eku` (DER OID
/// value); the error is webpki's, in its Debug form.
pub(crate) fn verify_for(
    leaf: &[u8],
    anchors: &[&[u8]],
    intermediates: &[&[u8]],
    time: i64,
    eku: &'static [u8],
) -> Result<(), String> {
    let time = u64::try_from(time).map_err(|_| format!("time {time} is negative"))?;
    let anchor_ders: Vec<CertificateDer<'_>> = anchors.iter().map(|d| CertificateDer::from(*d)).collect();
    let anchors = anchor_ders
        .iter()
        .filter_map(|d| webpki::anchor_from_trusted_cert(d).ok())
        .collect::<Vec<_>>();
    let inters: Vec<CertificateDer<'_>> = intermediates.iter().map(|d| CertificateDer::from(*d)).collect();
    let leaf_der = CertificateDer::from(leaf);
    let leaf =
        webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| format!("certificate is unusable: {e:?}"))?;
    leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &inters,
        UnixTime::since_unix_epoch(Duration::from_secs(time)),
        webpki::KeyUsage::required(eku),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| format!("{e:?}"))
}

fn read_identity(tbs: &x509_cert::TbsCertificate) -> Result<CertificateIdentity, String> {
    let (_, san) = tbs
        .get_extension::<SubjectAltName>()
        .map_err(|e| format!("certificate SAN does not parse: {e}"))?
        .ok_or("certificate has no subject alternative name")?;
    let mut names = san.0.iter().filter_map(|n| match n {
        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        GeneralName::Rfc822Name(e) => Some(e.to_string()),
        _ => None,
    });
    let identity = names
        .next()
        .ok_or("certificate SAN has no URI or e-mail identity")?;
    if names.next().is_some() {
        return Err("certificate SAN has more than one identity; refusing an ambiguous certificate".into());
    }
    let ext = SigstoreExtensions::read(tbs)?;
    let issuer = agree("OIDC issuer", ext.legacy(LEGACY_ISSUER)?, ext.v2(V2_ISSUER)?)?;
    let v2_repo = ext.v2(V2_SOURCE_REPOSITORY_URI)?.map(|uri| {
        uri.strip_prefix("https://github.com/")
            .map_or(uri.clone(), str::to_owned)
    });
    let workflow_repository = agree(
        "workflow repository",
        ext.legacy(LEGACY_WORKFLOW_REPOSITORY)?,
        v2_repo,
    )?;
    let workflow_ref = agree(
        "workflow ref",
        ext.legacy(LEGACY_WORKFLOW_REF)?,
        ext.v2(V2_SOURCE_REPOSITORY_REF)?,
    )?;
    let source_commit = agree(
        "source commit",
        ext.legacy(LEGACY_WORKFLOW_SHA)?,
        ext.v2(V2_SOURCE_REPOSITORY_DIGEST)?,
    )?;
    Ok(CertificateIdentity {
        identity,
        issuer,
        workflow_repository,
        workflow_ref,
        source_commit,
    })
}

fn agree(what: &str, legacy: Option<String>, v2: Option<String>) -> Result<Option<String>, String> {
    match (legacy, v2) {
        (Some(l), Some(v)) if l != v => Err(format!(
            "certificate's legacy and v2 extensions disagree on the {what} ({l:?} vs {v:?})"
        )),
        (l, v) => Ok(v.or(l)),
    }
}

/// The Sigstore extensions of a certificate, by last OID component; duplicates are refused.
struct SigstoreExtensions<'a> {
    values: Vec<(u32, &'a [u8])>,
}

impl<'a> SigstoreExtensions<'a> {
    fn read(tbs: &'a x509_cert::TbsCertificate) -> Result<Self, String> {
        let mut values: Vec<(u32, &'a [u8])> = Vec::new();
        let arc = ObjectIdentifier::new(SIGSTORE_ARC).map_err(|e| e.to_string())?;
        for ext in tbs.extensions().map(|e| e.as_slice()).unwrap_or_default() {
            let oid = ext.extn_id;
            if oid.parent() != Some(arc) {
                continue;
            }
            let Some(last) = oid.arcs().last() else { continue };
            if values.iter().any(|(n, _)| *n == last) {
                return Err(format!("certificate repeats the extension {oid}"));
            }
            values.push((last, ext.extn_value.as_bytes()));
        }
        Ok(Self { values })
    }

    fn raw(&self, n: u32) -> Option<&'a [u8]> {
        self.values.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
    }

    fn legacy(&self, n: u32) -> Result<Option<String>, String> {
        self.raw(n)
            .map(|v| {
                String::from_utf8(v.to_vec())
                    .map_err(|_| format!("certificate extension {SIGSTORE_ARC}.{n} is not UTF-8"))
            })
            .transpose()
    }

    fn v2(&self, n: u32) -> Result<Option<String>, String> {
        self.raw(n)
            .map(|v| {
                String::from_der(v).map_err(|e| {
                    format!("certificate extension {SIGSTORE_ARC}.{n} is not a DER UTF8String: {e}")
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_v2_values_must_agree() {
        assert_eq!(agree("x", Some("a".into()), None).unwrap(), Some("a".into()));
        assert_eq!(agree("x", None, Some("b".into())).unwrap(), Some("b".into()));
        assert_eq!(
            agree("x", Some("b".into()), Some("b".into())).unwrap(),
            Some("b".into())
        );
        assert_eq!(
            agree("OIDC issuer", Some("a".into()), Some("b".into())).unwrap_err(),
            "certificate's legacy and v2 extensions disagree on the OIDC issuer (\"a\" vs \"b\")"
        );
    }

    #[test]
    fn refuses_garbage() {
        assert!(SigningCertificate::from_der(b"\x30\x03\x02\x01\x01").is_err());
        assert!(
            SigningCertificate::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
    }
}
