//! Public keys: a policy's `cosign.pub`, a Rekor log key, or a certificate's subject key.

use sha2::{Digest as _, Sha256};
use sigstore::crypto::{CosignVerificationKey, Signature};

/// A public key that verifies signatures, with its SubjectPublicKeyInfo kept for comparisons.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: CosignVerificationKey,
    spki_der: Vec<u8>,
}

impl PublicKey {
    /// Returns the key in the PEM `PUBLIC KEY` block of `pem` (ECDSA P-256/384/521, Ed25519, RSA).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) =
            x509_cert::der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| e.to_string())?;
        if label != "PUBLIC KEY" {
            return Err(format!("expected a `PUBLIC KEY` PEM block, found `{label}`"));
        }
        Self::from_spki_der(&der)
    }

    /// Returns the key encoded as a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, String> {
        let key = CosignVerificationKey::try_from_der(der).map_err(|e| e.to_string())?;
        Ok(Self {
            key,
            spki_der: der.to_vec(),
        })
    }

    /// Returns the DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Returns `sha256:<hex>` of the DER SubjectPublicKeyInfo, the key's printed fingerprint.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki_der)))
    }

    /// Returns whether `signature` (raw bytes, DER for ECDSA) over `message` verifies.
    pub fn verifies(&self, signature: &[u8], message: &[u8]) -> bool {
        self.key
            .verify_signature(Signature::Raw(signature), message)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_certificate_or_private_key_block() {
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            PublicKey::from_pem(cert).unwrap_err(),
            "expected a `PUBLIC KEY` PEM block, found `CERTIFICATE`"
        );
        assert!(PublicKey::from_pem("garbage").is_err());
    }
}
