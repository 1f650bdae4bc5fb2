//! RFC 3161 timestamps: the signing time of Rekor v2 entries (which carry no SET).
//!
//! sigstore 0.15 cannot verify RFC 3161 tokens, so this module does, with RustCrypto's `cms`
//! and `x509-tsp` types. A token is accepted when, for one timestamp authority of the trust
//! root whose `validFor` window contains the token's time:
//!
//! 1. the token is a granted `TimeStampResp` (or a bare `TimeStampToken`) holding CMS
//!    `SignedData` over a `TSTInfo`;
//! 2. the `TSTInfo` message imprint is the hash of the signature being timestamped;
//! 3. the single `SignerInfo`'s signed attributes name `TSTInfo` as content type and carry its
//!    digest, and its signature over them verifies with the authority's signing certificate
//!    (the first of its chain in the trust root; certificates embedded in the token are never
//!    trusted);
//! 4. that certificate chains to the authority's root and is valid for time stamping at the
//!    token's time.

use cms::cert::x509::der::asn1::{ObjectIdentifier as Oid07, OctetString};
use cms::cert::x509::der::{Decode as _, Encode as _};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::der::Decode as _;
use x509_cert::der::Encode as _;
use x509_tsp::{TimeStampResp, TstInfo};

use crate::certificate::verify_for;
use crate::trust_root::{Authority, TrustRoot};

const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const ID_CT_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const ID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const ID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// The DER value of the timeStamping extended key usage, 1.3.6.1.5.5.7.3.8.
const EKU_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// Returns the time (UNIX seconds) of the RFC 3161 token `token` over `signature`, once it
/// verifies against a timestamp authority of `root`, or why it does not.
pub(crate) fn verify(token: &[u8], signature: &[u8], root: &TrustRoot) -> Result<i64, String> {
    let parsed = Parsed::read(token)?;
    if parsed.imprint != hash(&parsed.imprint_alg, signature)? {
        return Err("RFC 3161 timestamp is over another signature (message imprint mismatch)".into());
    }
    if root.timestamp_authorities.is_empty() {
        return Err("RFC 3161 timestamp cannot be checked: the trust root has no timestamp authority".into());
    }
    let mut why = Vec::new();
    for tsa in &root.timestamp_authorities {
        if !tsa.validity.contains(parsed.time) {
            why.push(format!(
                "{}: not valid at {} ({})",
                tsa.uri, parsed.time, tsa.validity
            ));
            continue;
        }
        match parsed.verify_with(tsa) {
            Ok(()) => return Ok(parsed.time),
            Err(e) => why.push(format!("{}: {e}", tsa.uri)),
        }
    }
    Err(format!(
        "RFC 3161 timestamp is not from a trusted timestamp authority ({})",
        why.join("; ")
    ))
}

/// The parts of a token that are checked.
struct Parsed {
    time: i64,
    imprint_alg: Oid07,
    imprint: Vec<u8>,
    signer: SignerInfo,
    tst_info_der: Vec<u8>,
}

impl Parsed {
    fn read(token: &[u8]) -> Result<Self, String> {
        let bad = |what: &str, e: &dyn std::fmt::Display| format!("RFC 3161 timestamp: {what}: {e}");
        let content = match TimeStampResp::from_der(token) {
            Ok(resp) => {
                use cmpv2::status::PkiStatus;
                if !matches!(
                    resp.status.status,
                    PkiStatus::Accepted | PkiStatus::GrantedWithMods
                ) {
                    return Err(format!(
                        "RFC 3161 timestamp response status is {:?}",
                        resp.status.status
                    ));
                }
                resp.time_stamp_token
                    .ok_or("RFC 3161 timestamp response holds no token")?
            }
            Err(_) => ContentInfo::from_der(token).map_err(|e| bad("not a TimeStampResp or token", &e))?,
        };
        if content.content_type != oid(ID_SIGNED_DATA) {
            return Err(format!(
                "RFC 3161 token content type {} is not signed data",
                content.content_type
            ));
        }
        let signed: SignedData = content
            .content
            .decode_as()
            .map_err(|e| bad("signed data does not parse", &e))?;
        if signed.encap_content_info.econtent_type != oid(ID_CT_TST_INFO) {
            return Err("RFC 3161 token does not encapsulate a TSTInfo".into());
        }
        let tst_info_der = signed
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or("RFC 3161 token has no TSTInfo content")?
            .decode_as::<OctetString>()
            .map_err(|e| bad("TSTInfo is not an octet string", &e))?
            .into_bytes();
        let info = TstInfo::from_der(&tst_info_der).map_err(|e| bad("TSTInfo does not parse", &e))?;
        let time = i64::try_from(info.gen_time.to_unix_duration().as_secs())
            .map_err(|_| "RFC 3161 time is out of range".to_owned())?;
        let mut signers = signed.signer_infos.0.into_vec().into_iter();
        let (Some(signer), None) = (signers.next(), signers.next()) else {
            return Err("RFC 3161 token must have exactly one signer".into());
        };
        Ok(Self {
            time,
            imprint_alg: info.message_imprint.hash_algorithm.oid,
            imprint: info.message_imprint.hashed_message.as_bytes().to_vec(),
            signer,
            tst_info_der,
        })
    }

    /// Checks the signed attributes and the signature with `tsa`'s signing certificate.
    fn verify_with(&self, tsa: &Authority) -> Result<(), String> {
        let attrs = self
            .signer
            .signed_attrs
            .as_ref()
            .ok_or("token has no signed attributes")?;
        let value = |id: &str| {
            attrs
                .iter()
                .find(|a| a.oid == oid(id))
                .and_then(|a| a.values.get(0))
                .ok_or_else(|| format!("signed attribute {id} is missing"))
        };
        let content_type: Oid07 = value(ID_CONTENT_TYPE)?
            .decode_as()
            .map_err(|e| format!("content-type attribute: {e}"))?;
        if content_type != oid(ID_CT_TST_INFO) {
            return Err("content-type attribute is not TSTInfo".into());
        }
        let digest = value(ID_MESSAGE_DIGEST)?
            .decode_as::<OctetString>()
            .map_err(|e| format!("message-digest attribute: {e}"))?;
        if digest.as_bytes() != hash(&self.signer.digest_alg.oid, &self.tst_info_der)? {
            return Err("message-digest attribute does not match the TSTInfo".into());
        }
        let signed = attrs
            .to_der()
            .map_err(|e| format!("signed attributes do not encode: {e}"))?;
        let alg = self
            .signer
            .signature_algorithm
            .to_der()
            .map_err(|e| format!("signature algorithm does not encode: {e}"))?;
        let leaf = tsa.chain.first().ok_or("authority has no certificate")?;
        verify_signature(leaf, &alg, &signed, self.signer.signature.as_bytes())?;
        let anchor = [tsa.anchor()];
        let inters: Vec<&[u8]> = tsa
            .chain
            .get(1..tsa.chain.len().saturating_sub(1))
            .unwrap_or_default()
            .iter()
            .map(Vec::as_slice)
            .collect();
        if tsa.chain.len() > 1 {
            verify_for(leaf, &anchor, &inters, self.time, EKU_TIME_STAMPING)
                .map_err(|e| format!("signing certificate is not valid at {}: {e}", self.time))?;
        }
        Ok(())
    }
}

fn oid(text: &str) -> Oid07 {
    // The constants above are well-formed OIDs; `new_unwrap` is const-checked for literals.
    Oid07::new_unwrap(text)
}

fn hash(alg: &Oid07, data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match alg.to_string().as_str() {
        "2.16.840.1.101.3.4.2.1" => Sha256::digest(data).to_vec(),
        "2.16.840.1.101.3.4.2.2" => Sha384::digest(data).to_vec(),
        "2.16.840.1.101.3.4.2.3" => Sha512::digest(data).to_vec(),
        other => return Err(format!("RFC 3161 hash algorithm {other} is not supported")),
    })
}

/// Verifies `signature` over `message` with the key of the certificate `cert_der`, under the
/// signature algorithm `alg_der` (a DER AlgorithmIdentifier), with webpki's algorithms.
fn verify_signature(cert_der: &[u8], alg_der: &[u8], message: &[u8], signature: &[u8]) -> Result<(), String> {
    let cert = x509_cert::Certificate::from_der(cert_der).map_err(|e| format!("signing certificate: {e}"))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key_alg = spki
        .algorithm
        .to_der()
        .map_err(|e| format!("signing certificate key algorithm: {e}"))?;
    let key = spki.subject_public_key.raw_bytes();
    let (Some(key_alg), Some(sig_alg)) = (der_contents(&key_alg), der_contents(alg_der)) else {
        return Err("malformed algorithm identifier".into());
    };
    let alg = webpki::ALL_VERIFICATION_ALGS
        .iter()
        .find(|a| a.public_key_alg_id().as_ref() == key_alg && a.signature_alg_id().as_ref() == sig_alg)
        .ok_or("unsupported key and signature algorithm pair")?;
    alg.verify_signature(key, message, signature)
        .map_err(|_| "signature does not verify with the authority's signing certificate".to_owned())
}

/// Returns the contents of the DER TLV `der` (its value without tag and length).
fn der_contents(der: &[u8]) -> Option<&[u8]> {
    let len_byte = *der.get(1)?;
    let (len, start) = if len_byte < 0x80 {
        (usize::from(len_byte), 2)
    } else {
        let n = usize::from(len_byte & 0x7f);
        let bytes = der.get(2..2 + n)?;
        (
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            2 + n,
        )
    };
    der.get(start..start.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_contents_reads_short_and_long_lengths() {
        assert_eq!(der_contents(&[0x30, 0x02, 1, 2]), Some(&[1u8, 2][..]));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(vec![7u8; 128]);
        assert_eq!(der_contents(&long).map(<[u8]>::len), Some(128));
        assert_eq!(der_contents(&[0x30, 0x05, 1]), None);
        assert_eq!(der_contents(&[0x30]), None);
    }

    #[cfg(feature = "testing")]
    #[test]
    fn a_token_verifies_and_no_corruption_of_it_panics() {
        let tsa = crate::testing::FakeTsa::new();
        let token = tsa.timestamp(b"sig", 1_780_000_000);
        let root = root_with(&tsa);
        assert_eq!(verify(&token, b"sig", &root), Ok(1_780_000_000));
        for i in 0..token.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = token.clone();
                bad[i] ^= flip;
                let _ = verify(&bad, b"sig", &root);
            }
            assert!(verify(&token[..i], b"sig", &root).is_err());
        }
        // A one-certificate authority (no chain to check) still needs the signature.
        let mut single = root_with(&tsa);
        single.timestamp_authorities[0].chain.truncate(1);
        assert!(verify(&token, b"sig", &single).is_ok());
        single.timestamp_authorities[0].chain.clear();
        assert!(verify(&token, b"sig", &single).is_err());
    }

    #[cfg(feature = "testing")]
    fn root_with(tsa: &crate::testing::FakeTsa) -> TrustRoot {
        TrustRoot {
            timestamp_authorities: vec![Authority {
                uri: "https://tsa.invalid".into(),
                chain: tsa.chain_der(),
                validity: crate::trust_root::Validity {
                    start: Some(0),
                    end: None,
                },
            }],
            ..TrustRoot::default()
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let root = TrustRoot::default();
        for bytes in [&b""[..], b"\x30\x00", b"\x30\x03\x02\x01\x00", &[0xff; 40]] {
            assert!(verify(bytes, b"sig", &root).is_err());
        }
    }
}
