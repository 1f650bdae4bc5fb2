//! A fake RFC 3161 timestamp authority: a P-256 root and a timeStamping leaf that sign
//! `TimeStampResp` tokens (CMS `SignedData` over a `TSTInfo`) for any time asked.

use std::time::Duration;

use cms::cert::x509::attr::Attribute;
use cms::cert::x509::der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec};
use cms::cert::x509::der::{Any, Decode as _, Encode as _};
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::{IssuerAndSerialNumber, x509::Certificate as Cert02};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SigningKey as _,
};
use sha2::{Digest as _, Sha256};
use x509_tsp::{MessageImprint, TimeStampResp, TspVersion, TstInfo};

use super::pki::{must, time};

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";

/// A fake timestamp authority: a self-signed root and a leaf for time stamping, valid 2020–2040.
pub struct FakeTsa {
    root_der: Vec<u8>,
    leaf_key: rcgen::KeyPair,
    leaf_der: Vec<u8>,
}

impl Default for FakeTsa {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeTsa {
    /// Returns an authority with fresh keys.
    pub fn new() -> Self {
        let root_key = must(
            rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
            "TSA root key",
        );
        let mut root = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "fake-tsa-root");
        root.distinguished_name = dn;
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        root.not_before = time(1_577_836_800);
        root.not_after = time(2_208_988_800);
        let root_cert = must(root.self_signed(&root_key), "TSA root");
        let leaf_key = must(rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256), "TSA key");
        let mut leaf = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "fake-tsa");
        leaf.distinguished_name = dn;
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping];
        leaf.not_before = time(1_577_836_800);
        leaf.not_after = time(2_208_988_800);
        let issuer = Issuer::from_params(&root, &root_key);
        let leaf_cert = must(leaf.signed_by(&leaf_key, &issuer), "TSA leaf");
        Self {
            root_der: root_cert.der().to_vec(),
            leaf_key,
            leaf_der: leaf_cert.der().to_vec(),
        }
    }

    /// Returns the chain for the trust root, DER: the signing certificate, then the root.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.leaf_der.clone(), self.root_der.clone()]
    }

    /// Returns a granted `TimeStampResp` (DER) over `signature` at `unix` seconds.
    pub fn timestamp(&self, signature: &[u8], unix: i64) -> Vec<u8> {
        let info_der = must(tst_info(signature, unix).to_der(), "TSTInfo");
        let signed = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: must(SetOfVec::try_from(vec![sha256()]), "digest algorithms"),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid(TST_INFO),
                econtent: Some(must(
                    Any::encode_from(&must(OctetString::new(info_der.clone()), "content")),
                    "content",
                )),
            },
            certificates: None,
            crls: None,
            signer_infos: SignerInfos(must(
                SetOfVec::try_from(vec![self.signer_info(&info_der)]),
                "signers",
            )),
        };
        let token = ContentInfo {
            content_type: oid(SIGNED_DATA),
            content: must(Any::encode_from(&signed), "signed data"),
        };
        let resp = TimeStampResp {
            status: cmpv2::status::PkiStatusInfo {
                status: cmpv2::status::PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        };
        must(resp.to_der(), "TimeStampResp")
    }

    /// Returns the signer info signing the content-type and message-digest attributes of
    /// `info_der` with the leaf key.
    fn signer_info(&self, info_der: &[u8]) -> SignerInfo {
        let attribute = |id: &str, value: Any| Attribute {
            oid: oid(id),
            values: must(SetOfVec::try_from(vec![value]), "attribute"),
        };
        let digest = must(OctetString::new(Sha256::digest(info_der).to_vec()), "digest");
        let attrs = must(
            SetOfVec::try_from(vec![
                attribute(
                    CONTENT_TYPE,
                    must(Any::encode_from(&oid(TST_INFO)), "content type"),
                ),
                attribute(MESSAGE_DIGEST, must(Any::encode_from(&digest), "digest")),
            ]),
            "attributes",
        );
        let signature = must(
            self.leaf_key.sign(&must(attrs.to_der(), "attributes")),
            "TSA signature",
        );
        let leaf = must(Cert02::from_der(&self.leaf_der), "TSA leaf");
        SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.tbs_certificate.issuer.clone(),
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256(),
            signed_attrs: Some(attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: oid(ECDSA_SHA256),
                parameters: None,
            },
            signature: must(OctetString::new(signature), "signature"),
            unsigned_attrs: None,
        }
    }
}

fn oid(text: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(text)
}

fn sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid(SHA256),
        parameters: None,
    }
}

/// Returns the `TSTInfo` of a timestamp over `signature` at `unix` seconds.
fn tst_info(signature: &[u8], unix: i64) -> TstInfo {
    let gen_time = must(
        GeneralizedTime::from_unix_duration(Duration::from_secs(must(u64::try_from(unix), "time"))),
        "time",
    );
    TstInfo {
        version: TspVersion::V1,
        policy: oid("1.3.6.1.4.1.57264.2"),
        message_imprint: MessageImprint {
            hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifier {
                oid: oid(SHA256),
                parameters: None,
            },
            hashed_message: must(OctetString::new(Sha256::digest(signature).to_vec()), "imprint"),
        },
        serial_number: must(Int::new(&[1]), "serial"),
        gen_time,
        accuracy: None,
        ordering: false,
        nonce: None,
        tsa: None,
        extensions: None,
    }
}
