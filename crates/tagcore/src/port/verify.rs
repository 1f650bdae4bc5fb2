//! The verifier port: what the signature gate answers.

use super::*;

/// What an accepted signature proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedSignature {
    /// The digest the signature's payload names; must equal the digest asked about.
    pub digest: Digest,
    /// Which signature layer satisfied the policy (for the audit trail).
    pub layer: String,
    /// The certificate identity (keyless), e.g. a workflow URL.
    pub identity: Option<String>,
    /// The OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// The public key's fingerprint (key-based).
    pub key: Option<String>,
    /// The GitHub workflow repository from the certificate.
    pub workflow_repository: Option<String>,
    /// The GitHub workflow ref from the certificate, e.g. `refs/heads/main`.
    pub workflow_ref: Option<String>,
    /// The source commit from the certificate, when it carries one (docs/behaviour.md#source-commit, first source).
    pub source_commit: Option<CommitSha>,
    /// When the signature was made, as attested by a verified transparency-log entry (its
    /// integrated time) or RFC 3161 timestamp; `None` when nothing attests it (key-based
    /// signatures made without a log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Timestamp>,
}

/// Checks that a digest carries a signature satisfying the configured policy. Fails closed.
pub trait Verifier: Send + Sync {
    /// Returns the accepted signature of `digest` in `repository`, or why none was accepted.
    fn verify(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> impl Future<Output = Result<VerifiedSignature, VerifyError>> + Send;
}
