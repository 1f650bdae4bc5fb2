//! The trust root: Fulcio certificate authorities and Rekor log keys, from a `trusted_root.json`.
//!
//! Parsing is sigstore's (`SigstoreTrustRoot::from_trusted_root_json_unchecked` and its
//! `TrustRoot` view). This module only sorts the Fulcio certificates into self-signed roots
//! (trust anchors) and intermediates, and turns the Rekor keys into [`PublicKey`]s keyed by
//! their log id (hex of the key id).

use std::collections::BTreeMap;

use sigstore::trust::TrustRoot as _;
use sigstore::trust::sigstore::SigstoreTrustRoot;
use x509_cert::der::Decode as _;

use crate::key::PublicKey;

/// Sigstore's public-good `trusted_root.json`, pinned. See the crate docs for its provenance.
pub const PUBLIC_GOOD_TRUSTED_ROOT: &[u8] = include_bytes!("../trust/public-good-trusted_root.json");

/// Why a trust root cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustRootError {
    /// The JSON is not a `trusted_root.json`.
    #[error("trusted root is not a valid trusted_root.json: {0}")]
    Parse(String),
    /// A Rekor key in it cannot be used.
    #[error("trusted root Rekor key {log_id} is unusable: {reason}")]
    RekorKey {
        /// The hex log id.
        log_id: String,
        /// Why.
        reason: String,
    },
    /// A Fulcio certificate in it cannot be parsed.
    #[error("trusted root Fulcio certificate #{index} is unusable: {reason}")]
    Certificate {
        /// Its position in the root's flattened list.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// The trusted Fulcio roots and intermediates (DER) and the trusted Rekor keys.
#[derive(Debug, Clone, Default)]
pub struct TrustRoot {
    /// Self-signed Fulcio CA certificates: the trust anchors.
    pub fulcio_roots: Vec<Vec<u8>>,
    /// Other Fulcio CA certificates: intermediates offered to path building.
    pub fulcio_intermediates: Vec<Vec<u8>>,
    /// Rekor public keys by hex log id (`hex(sha256(SPKI DER))` for Rekor v1 logs).
    pub rekor_keys: BTreeMap<String, PublicKey>,
}

impl TrustRoot {
    /// Returns the pinned public-good trust root.
    pub fn public_good() -> Result<Self, TrustRootError> {
        Self::from_json(PUBLIC_GOOD_TRUSTED_ROOT)
    }

    /// Returns the trust root described by the `trusted_root.json` bytes `json`.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustRootError> {
        let root = SigstoreTrustRoot::from_trusted_root_json_unchecked(json)
            .map_err(|e| TrustRootError::Parse(e.to_string()))?;
        // sigstore reports "no Fulcio certificates" as an error; a key-only root is legitimate
        // (keyless verification then refuses every certificate).
        let certs = root.fulcio_certs().unwrap_or_default();
        let mut fulcio_roots = Vec::new();
        let mut fulcio_intermediates = Vec::new();
        for (index, der) in certs.iter().enumerate() {
            let cert =
                x509_cert::Certificate::from_der(der.as_ref()).map_err(|e| TrustRootError::Certificate {
                    index,
                    reason: e.to_string(),
                })?;
            let tbs = cert.tbs_certificate();
            if tbs.subject() == tbs.issuer() {
                fulcio_roots.push(der.as_ref().to_vec());
            } else {
                fulcio_intermediates.push(der.as_ref().to_vec());
            }
        }
        let mut rekor_keys = BTreeMap::new();
        let keys = root
            .rekor_keys()
            .map_err(|e| TrustRootError::Parse(e.to_string()))?;
        for (log_id, spki) in keys {
            let key = PublicKey::from_spki_der(spki).map_err(|reason| TrustRootError::RekorKey {
                log_id: log_id.clone(),
                reason,
            })?;
            rekor_keys.insert(log_id, key);
        }
        Ok(Self {
            fulcio_roots,
            fulcio_intermediates,
            rekor_keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_pinned_public_good_root() {
        let root = TrustRoot::public_good().unwrap();
        assert!(!root.fulcio_roots.is_empty());
        assert!(!root.fulcio_intermediates.is_empty());
        // rekor.sigstore.dev's log id (base64 wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=).
        let id = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d";
        let key = root.rekor_keys.get(id).expect("rekor.sigstore.dev key");
        assert_eq!(key.fingerprint(), format!("sha256:{id}"));
    }

    #[test]
    fn refuses_json_that_is_not_a_trusted_root() {
        let err = TrustRoot::from_json(b"{\"tlogs\": 3}").unwrap_err();
        assert!(matches!(err, TrustRootError::Parse(_)), "{err}");
        assert!(TrustRoot::from_json(b"not json").is_err());
    }
}
