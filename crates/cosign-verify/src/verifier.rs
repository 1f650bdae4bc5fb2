//! The verifier: reads both cosign layouts through `tagcore::Registry` and applies the policy.

use tagcore::{Digest, Registry, Repository, VerifiedSignature, Verifier, VerifyError};

use crate::constraint;
use crate::layer::Examined;
use crate::policy::{Material, MaterialError, VerificationPolicy};
use crate::{referrer, sig_tag};

/// Verifies cosign signatures of digests stored in any `tagcore::Registry` (HTTP registry,
/// OCI-layout directory, in-memory fake). Fails closed.
///
/// See [`VerificationPolicy::verify`] for what is read and checked; the first candidate satisfying every
/// constraint is the verdict, and when none does the refusal lists every reason of every
/// candidate. To verify through a registry the verifier does not own, call
/// [`VerificationPolicy::verify`] directly.
#[derive(Debug)]
pub struct CosignVerifier<R> {
    registry: R,
    policy: VerificationPolicy,
}

impl<R: Registry> CosignVerifier<R> {
    /// Returns a verifier reading signatures through `registry` and applying `policy`, or why
    /// the policy cannot be used.
    pub fn new(
        registry: R,
        policy: &tagcore::policy::SignaturePolicy,
        material: Material,
    ) -> Result<Self, MaterialError> {
        Ok(Self::with_policy(
            registry,
            VerificationPolicy::new(policy, material)?,
        ))
    }

    /// Returns a verifier applying an already compiled `policy`.
    pub fn with_policy(registry: R, policy: VerificationPolicy) -> Self {
        Self { registry, policy }
    }

    /// Returns the registry signatures are read through.
    pub fn registry(&self) -> &R {
        &self.registry
    }

    /// Returns the compiled policy.
    pub fn policy(&self) -> &VerificationPolicy {
        &self.policy
    }
}

impl<R: Registry> Verifier for CosignVerifier<R> {
    async fn verify(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        self.policy.verify(&self.registry, repository, digest).await
    }
}

impl VerificationPolicy {
    /// Returns the first signature of `digest` in `repository`, read through `registry`, that
    /// satisfies every constraint of this policy, or every reason why none does.
    ///
    /// The candidates are every layer of the `sha256-<hex>.sig` manifest, then every Sigstore
    /// bundle v0.3 referring to the digest (referrers API, else the `sha256-<hex>` tag
    /// fallback). Registry failures make the result [`VerifyError::Unavailable`].
    pub async fn verify<Q: Registry>(
        &self,
        registry: &Q,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        let mut reasons = Vec::new();
        let mut examined_any = false;
        // The `.sig` layers first: when one is accepted, the referrers are not even listed.
        let sig_layers = sig_tag::read(registry, repository, digest).await?;
        examined_any |= !sig_layers.is_empty();
        if let Some(verdict) = self.first_accepted(&sig_layers, repository, digest, &mut reasons) {
            return Ok(verdict);
        }
        let bundles = referrer::read(registry, repository, digest).await?;
        examined_any |= !bundles.is_empty();
        if let Some(verdict) = self.first_accepted(&bundles, repository, digest, &mut reasons) {
            return Ok(verdict);
        }
        if !examined_any {
            reasons.push(format!(
                "{repository}@{digest} is not signed: no {} tag and no Sigstore bundle referrer",
                digest.signature_tag()
            ));
        }
        Err(VerifyError::Refused { reasons })
    }

    /// Returns the verdict of the first acceptable candidate in `examined`, adding the reasons
    /// of the ones before it to `reasons`.
    fn first_accepted(
        &self,
        examined: &[Examined],
        repository: &Repository,
        digest: &Digest,
        reasons: &mut Vec<String>,
    ) -> Option<VerifiedSignature> {
        for item in examined {
            match item {
                Err(u) => reasons.push(format!("{}: {}", u.origin, u.reason)),
                Ok(candidate) => match constraint::evaluate(candidate, repository, digest, self) {
                    Ok(verdict) => return Some(verdict),
                    Err(failed) => {
                        reasons.extend(failed.into_iter().map(|f| format!("{}: {f}", candidate.origin)))
                    }
                },
            }
        }
        None
    }
}
