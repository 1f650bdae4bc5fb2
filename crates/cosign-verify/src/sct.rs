//! Signed certificate timestamps (RFC 6962): the proof, embedded in a Fulcio certificate, that a
//! certificate-transparency log of the trust root logged its precertificate. cosign verifies it
//! by default; so does this crate whenever the trust root lists CT logs (policy switch
//! `insecure_ignore_sct`).
//!
//! An SCT signs the precertificate: the certificate's TBS without the SCT-list extension, with
//! the hash of the issuer's public key. The certificate is accepted when one embedded SCT
//! verifies with the key of a trusted CT log whose window contains the SCT's time.

use cms::cert::x509::Certificate as Cert02;
use cms::cert::x509::der::{Decode as _, Encode as _};
use sha2::{Digest as _, Sha256};

use crate::trust_root::TrustRoot;

/// The SCT-list extension, 1.3.6.1.4.1.11129.2.4.2.
const SCT_LIST_OID: &str = "1.3.6.1.4.1.11129.2.4.2";

/// Checks that the certificate `leaf` (DER) carries an SCT from a CT log of `root`, trying each
/// of `issuers` (DER certificates named as the leaf's issuer) for the issuer key hash.
pub(crate) fn verify(leaf: &[u8], issuers: &[&[u8]], root: &TrustRoot) -> Result<(), String> {
    let cert = Cert02::from_der(leaf).map_err(|e| format!("certificate does not parse: {e}"))?;
    let mut tbs = cert.tbs_certificate.clone();
    let oid = cms::cert::x509::der::asn1::ObjectIdentifier::new_unwrap(SCT_LIST_OID);
    let extensions = tbs.extensions.take().unwrap_or_default();
    let (sct_ext, others): (Vec<_>, Vec<_>) = extensions.into_iter().partition(|e| e.extn_id == oid);
    let [sct_ext] = sct_ext.as_slice() else {
        return Err("certificate carries no embedded SCT, and the trust root lists CT logs".into());
    };
    tbs.extensions = (!others.is_empty()).then_some(others);
    let precert = tbs
        .to_der()
        .map_err(|e| format!("precertificate does not encode: {e}"))?;
    let list = cms::cert::x509::der::asn1::OctetString::from_der(sct_ext.extn_value.as_bytes())
        .map_err(|e| format!("SCT list does not parse: {e}"))?;
    let scts = split_list(list.as_bytes()).ok_or("SCT list is malformed")?;
    let issuer_hashes: Vec<[u8; 32]> = issuers
        .iter()
        .filter_map(|der| Cert02::from_der(der).ok())
        .filter(|c| c.tbs_certificate.subject == cert.tbs_certificate.issuer)
        .filter_map(|c| c.tbs_certificate.subject_public_key_info.to_der().ok())
        .map(|spki| Sha256::digest(spki).into())
        .collect();
    let mut why = Vec::new();
    for sct in scts {
        match check_one(sct, &precert, &issuer_hashes, root) {
            Ok(()) => return Ok(()),
            Err(e) => why.push(e),
        }
    }
    Err(format!(
        "no embedded SCT verifies against the trust root's CT logs ({})",
        why.join("; ")
    ))
}

/// Returns the SCTs of a TLS-encoded `SignedCertificateTimestampList`.
fn split_list(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let (total, mut rest) = take_u16(bytes)?;
    if total != rest.len() {
        return None;
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = take_u16(rest)?;
        out.push(after.get(..len)?);
        rest = after.get(len..)?;
    }
    Some(out)
}

fn take_u16(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let len = usize::from(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]));
    Some((len, bytes.get(2..)?))
}

fn check_one(sct: &[u8], precert: &[u8], issuer_hashes: &[[u8; 32]], root: &TrustRoot) -> Result<(), String> {
    let malformed = || "an SCT is malformed".to_owned();
    if sct.first() != Some(&0) {
        return Err("an SCT is not version 1".into());
    }
    let log_id = hex::encode(sct.get(1..33).ok_or_else(malformed)?);
    let timestamp = sct.get(33..41).ok_or_else(malformed)?;
    let (ext_len, rest) = take_u16(sct.get(41..).ok_or_else(malformed)?).ok_or_else(malformed)?;
    let extensions = rest.get(..ext_len).ok_or_else(malformed)?;
    let rest = rest.get(ext_len..).ok_or_else(malformed)?;
    // DigitallySigned: hash algorithm, signature algorithm, then the signature.
    let (sig_len, sig) = take_u16(rest.get(2..).ok_or_else(malformed)?).ok_or_else(malformed)?;
    let signature = sig
        .get(..sig_len)
        .filter(|s| s.len() == sig_len && sig.len() == sig_len)
        .ok_or_else(malformed)?;
    let log = root
        .ctlogs
        .get(&log_id)
        .ok_or_else(|| format!("SCT from CT log {log_id}, which is not in the trust root"))?;
    let millis = u64::from_be_bytes(timestamp.try_into().map_err(|_| malformed())?);
    let seconds = i64::try_from(millis / 1000).map_err(|_| malformed())?;
    if !log.validity.contains(seconds) {
        return Err(format!(
            "CT log {log_id} is not trusted at the SCT time {seconds} ({})",
            log.validity
        ));
    }
    let tbs_len = u32::try_from(precert.len())
        .ok()
        .filter(|l| *l < 1 << 24)
        .ok_or_else(malformed)?;
    for issuer_hash in issuer_hashes {
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(timestamp);
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(issuer_hash);
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(precert);
        signed.extend_from_slice(
            &u16::try_from(extensions.len())
                .map_err(|_| malformed())?
                .to_be_bytes(),
        );
        signed.extend_from_slice(extensions);
        if log.key.verifies(signature, &signed) {
            return Ok(());
        }
    }
    Err(format!("the SCT of CT log {log_id} does not verify"))
}

/// Returns the TLS-encoded SCT list extension value (DER OCTET STRING) for one SCT of the log
/// `log_id` at `millis`, signed by `sign` over the precertificate `precert` issued by the key
/// whose SPKI hash is `issuer_hash`; for the test PKI's CT log.
#[cfg(feature = "testing")]
pub(crate) fn embedded_list(
    log_id: &[u8; 32],
    millis: u64,
    issuer_hash: &[u8; 32],
    precert: &[u8],
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut signed = vec![0u8, 0u8];
    signed.extend_from_slice(&millis.to_be_bytes());
    signed.extend_from_slice(&[0, 1]);
    signed.extend_from_slice(issuer_hash);
    signed.extend_from_slice(&(precert.len() as u32).to_be_bytes()[1..]);
    signed.extend_from_slice(precert);
    signed.extend_from_slice(&[0, 0]);
    let signature = sign(&signed);
    let mut sct = vec![0u8];
    sct.extend_from_slice(log_id);
    sct.extend_from_slice(&millis.to_be_bytes());
    sct.extend_from_slice(&[0, 0, 4, 3]);
    sct.extend_from_slice(&(signature.len() as u16).to_be_bytes());
    sct.extend_from_slice(&signature);
    let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
    list.extend_from_slice(&sct);
    cms::cert::x509::der::asn1::OctetString::new(list)
        .and_then(|o| o.to_der())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lists_are_refused_without_panicking() {
        assert_eq!(split_list(&[0, 0]), Some(vec![]));
        assert_eq!(split_list(&[0, 3, 0, 1, 9]), Some(vec![&[9u8][..]]));
        assert_eq!(split_list(&[0, 4, 0, 5, 9]), None);
        assert_eq!(split_list(&[0]), None);
        let root = TrustRoot::default();
        for sct in [&[][..], &[1u8], &[0u8; 40], &[0u8; 50]] {
            assert!(check_one(sct, b"tbs", &[[0; 32]], &root).is_err());
        }
    }
}
