//! A `[verify]` section as a test writes it, with the trust root it names already read.

use tagcore::policy::{SignaturePolicy, VerifySpec};

use crate::{Material, TrustedRootSource, VerificationPolicy};

/// A `[verify]` section (tagcore's [`VerifySpec`], a key given inline as PEM) and the trust
/// root its `trusted_root` would name: what a test hands to the verifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestPolicy {
    /// The section as written.
    pub spec: VerifySpec,
    /// The trust root, read.
    pub trusted_root: TrustedRootSource,
}

impl TestPolicy {
    /// Returns the policy validated by tagcore and made ready to verify, or the first problem.
    pub fn compile(&self) -> Result<VerificationPolicy, String> {
        let policy = SignaturePolicy::from_spec(&self.spec).map_err(|e| e.to_string())?;
        VerificationPolicy::new(
            &policy,
            Material {
                key_pem: None,
                trusted_root: self.trusted_root.clone(),
            },
        )
        .map_err(|e| format!("{}: {e}", e.field()))
    }
}
