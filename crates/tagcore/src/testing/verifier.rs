//! A verifier holding signatures in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{CommitSha, Digest, Repository, VerifiedSignature, Verifier, VerifyError};

/// A verifier that accepts exactly the digests signed in it, fails closed otherwise, and
/// records every digest it was asked about.
#[derive(Debug, Default)]
pub struct MemoryVerifier {
    signed: Mutex<HashMap<Digest, Result<VerifiedSignature, String>>>,
    asked: Mutex<Vec<Digest>>,
    unavailable: Mutex<usize>,
}

impl MemoryVerifier {
    /// Returns a verifier with no signatures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Signs `digest` by a GitHub Actions workflow of `repository` on `git_ref`, from `commit`.
    pub fn sign(&self, digest: &Digest, repository: &str, git_ref: &str, commit: Option<&str>) {
        let identity = format!("https://github.com/{repository}/.github/workflows/build.yml@{git_ref}");
        let v = VerifiedSignature {
            digest: digest.clone(),
            layer: "memory".into(),
            identity: Some(identity),
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            key: None,
            workflow_repository: Some(repository.to_owned()),
            workflow_ref: Some(git_ref.to_owned()),
            source_commit: commit.and_then(|c| c.parse::<CommitSha>().ok()),
            signed_at: None,
        };
        self.lock_signed().insert(digest.clone(), Ok(v));
    }

    /// Sets the signing time (the log's or the timestamp authority's) of `digest`'s accepted
    /// signature, signed before with [`Self::sign`].
    pub fn signed_at(&self, digest: &Digest, at: crate::Timestamp) {
        if let Some(Ok(v)) = self.lock_signed().get_mut(digest) {
            v.signed_at = Some(at);
        }
    }

    /// Makes the verifier answer for `digest` with the signature accepted for `other` (a
    /// verifier that names the wrong digest: the engine must refuse it).
    pub fn misattribute(&self, digest: &Digest, other: &Digest) {
        let answer = self.lock_signed().get(other).cloned();
        if let Some(a) = answer {
            self.lock_signed().insert(digest.clone(), a);
        }
    }

    /// Makes `digest` carry a signature that the policy refuses, for `reason`.
    pub fn refuse(&self, digest: &Digest, reason: &str) {
        self.lock_signed().insert(digest.clone(), Err(reason.to_owned()));
    }

    /// Makes the next `n` verifications fail as if the signatures could not be read.
    pub fn fail_next(&self, n: usize) {
        *self
            .unavailable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = n;
    }

    /// Returns the digests verified so far, in order.
    pub fn asked(&self) -> Vec<Digest> {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn lock_signed(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Result<VerifiedSignature, String>>> {
        self.signed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Verifier for MemoryVerifier {
    async fn verify(
        &self,
        _repository: &Repository,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(digest.clone());
        {
            let mut down = self
                .unavailable
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *down > 0 {
                *down -= 1;
                return Err(VerifyError::Unavailable {
                    message: "signature store unavailable (injected)".into(),
                    source: None,
                });
            }
        }
        match self.lock_signed().get(digest) {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(reason)) => Err(VerifyError::Refused {
                reasons: vec![reason.clone()],
            }),
            None => Err(VerifyError::Refused {
                reasons: vec![format!("no signature found for {digest}")],
            }),
        }
    }
}
