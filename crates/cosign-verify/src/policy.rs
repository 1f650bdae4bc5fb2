//! tagcore's validated signature policy, ready to verify: its key parsed and its trust root
//! loaded.
//!
//! The rules of a `[verify]` section live in one place, `tagcore::policy::SignaturePolicy`;
//! what is left here is reading the material the policy names (a PEM key, a
//! `trusted_root.json`), which the caller has read from wherever the policy points.

use tagcore::Repository;
use tagcore::policy::{KeylessPolicy, SignatureMethod, SignaturePolicy};

use crate::key::PublicKey;
use crate::trust_root::{TrustRoot, TrustRootError};

/// Where the trusted Fulcio certificate authorities and Rekor keys come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrustedRootSource {
    /// Sigstore's public-good trust root, pinned into this crate (see the crate docs).
    #[default]
    PublicGood,
    /// The bytes of a `trusted_root.json` file (cosign's `--trusted-root` format).
    Json(Vec<u8>),
}

/// The files a signature policy names, read by the caller (this crate does no file IO).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Material {
    /// The PEM text of the policy's key, when the policy names a key file. A key given inline
    /// in the policy (text starting with `-----BEGIN`) needs nothing here.
    pub key_pem: Option<String>,
    /// The trust root for keyless signatures and Rekor entries.
    pub trusted_root: TrustedRootSource,
}

/// Why the material a signature policy names cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaterialError {
    /// The policy names a key file whose text was not given.
    #[error("the key {0:?} names a file; its PEM text was not given")]
    KeyNotRead(String),
    /// The PEM key cannot be read.
    #[error("public key is not a supported PEM public key: {0}")]
    Key(String),
    /// The trust root cannot be read.
    #[error(transparent)]
    TrustRoot(#[from] TrustRootError),
}

impl MaterialError {
    /// Returns the policy field the problem comes from (`verify.key`, `verify.trusted_root`).
    pub fn field(&self) -> &'static str {
        match self {
            Self::KeyNotRead(_) | Self::Key(_) => "verify.key",
            Self::TrustRoot(_) => "verify.trusted_root",
        }
    }
}

/// What a verification policy requires.
#[derive(Debug, Clone)]
pub enum Requirement {
    /// A Fulcio certificate satisfying these constraints, logged in a trusted Rekor.
    Keyless(KeylessPolicy),
    /// A signature by this public key.
    Key(PublicKey),
}

/// A signature policy with its key parsed and its trust root loaded: what the verifier applies.
#[derive(Debug, Clone)]
pub struct VerificationPolicy {
    /// What a signature must satisfy.
    pub requirement: Requirement,
    /// The trusted Fulcio CAs and Rekor keys.
    pub trust_root: TrustRoot,
    /// Repositories besides the verified one that payloads may name.
    pub allowed_references: Vec<Repository>,
}

impl VerificationPolicy {
    /// Returns `policy` ready to verify with `material`, or why the key or trust root cannot
    /// be used.
    pub fn new(policy: &SignaturePolicy, material: Material) -> Result<Self, MaterialError> {
        let trust_root = match &material.trusted_root {
            TrustedRootSource::PublicGood => TrustRoot::public_good()?,
            TrustedRootSource::Json(bytes) => TrustRoot::from_json(bytes)?,
        };
        let requirement = match &policy.method {
            SignatureMethod::Keyless(k) => Requirement::Keyless(k.clone()),
            SignatureMethod::Key { key } => {
                let pem = match material.key_pem {
                    Some(pem) => pem,
                    None if key.trim_start().starts_with("-----BEGIN") => key.clone(),
                    None => return Err(MaterialError::KeyNotRead(key.clone())),
                };
                Requirement::Key(PublicKey::from_pem(&pem).map_err(MaterialError::Key)?)
            }
        };
        Ok(Self {
            requirement,
            trust_root,
            allowed_references: policy.allowed_references.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use tagcore::policy::VerifySpec;

    use super::*;

    fn key_policy(key: &str) -> SignaturePolicy {
        SignaturePolicy::from_spec(&VerifySpec {
            key: Some(key.into()),
            ..VerifySpec::default()
        })
        .unwrap()
    }

    #[test]
    fn refuses_a_key_that_is_not_pem() {
        let err = VerificationPolicy::new(&key_policy("-----BEGIN PUBLIC KEY-----"), Material::default())
            .unwrap_err();
        assert!(matches!(err, MaterialError::Key(_)), "{err}");
        assert_eq!(err.field(), "verify.key");
        let err = VerificationPolicy::new(
            &key_policy("cosign.pub"),
            Material {
                key_pem: Some("not a key".into()),
                ..Material::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, MaterialError::Key(_)), "{err}");
    }

    #[test]
    fn a_key_file_needs_its_text() {
        let err = VerificationPolicy::new(&key_policy("cosign.pub"), Material::default()).unwrap_err();
        assert!(matches!(err, MaterialError::KeyNotRead(_)), "{err}");
    }

    #[test]
    fn a_bad_trust_root_names_its_field() {
        let keyless = SignaturePolicy::from_spec(&VerifySpec {
            issuer: Some("https://issuer.example".into()),
            identity: Some("me".into()),
            ..VerifySpec::default()
        })
        .unwrap();
        let err = VerificationPolicy::new(
            &keyless,
            Material {
                trusted_root: TrustedRootSource::Json(b"{".to_vec()),
                ..Material::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.field(), "verify.trusted_root", "{err}");
    }
}
