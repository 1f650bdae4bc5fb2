//! Release notes: a commit derived from the digest is shown as unknown, never as a commit.

use tagcore::policy::{SourceMode, StepMode, VerifySpec};
use tagcore::request::{PromoteRequest, PromoteSource, Request};
use tagcore::testing::{MemoryAudit, MemoryRegistry, MemoryVerifier, block_on};
use tagcore::{Digest, Engine, Repository, VerifiedSignature, Verifier, VerifyError};

use crate::support::{policy, spec};

#[test]
fn the_notes_of_a_promotion_whose_commit_is_unknown_say_so() {
    let mut s = spec();
    s.release.mode = StepMode::Required;
    s.promote.sources = vec![SourceMode::Digest];
    let p = policy(&s);
    let now = "2026-06-01T00:00:00Z".parse().expect("time");
    let reg = MemoryRegistry::new(now);
    let digest = reg.add_image(&p.images[0].repository, "no-commit");
    let (ver, audit) = (MemoryVerifier::new(), MemoryAudit::new());
    let request = Request::Promote(PromoteRequest {
        source: PromoteSource::Digest(digest.clone()),
        confirm: None,
        expect_digest: None,
        allow_older: false,
    });
    block_on(Engine::new(&p, &reg, &ver, &audit).run(&request, now, false)).expect("promoted");
    let releases = audit.releases();
    let notes = &releases.values().next().expect("a release").request.notes;
    assert!(
        notes.contains(&format!(
            "- Source commit: **unknown** (`{}` derived from digest, commit unknown)",
            digest.short()
        )),
        "{notes}"
    );
    assert!(!notes.contains("(from derived"), "{notes}");
}

/// A verifier that accepts every digest with the signer `(identity, key)`.
struct Signer(Option<&'static str>, Option<&'static str>);

impl Verifier for Signer {
    async fn verify(&self, _: &Repository, digest: &Digest) -> Result<VerifiedSignature, VerifyError> {
        Ok(VerifiedSignature {
            digest: digest.clone(),
            layer: "sha256-….sig layer 1/1".into(),
            identity: self.0.map(str::to_owned),
            issuer: None,
            key: self.1.map(str::to_owned),
            workflow_repository: None,
            workflow_ref: None,
            source_commit: None,
            signed_at: None,
        })
    }
}

/// Returns the notes of a verified promotion by digest, the signature accepted by `signer`.
fn notes_signed_by(signer: &Signer) -> String {
    let mut s = spec();
    s.release.mode = StepMode::Required;
    s.promote.sources = vec![SourceMode::Digest];
    s.images[0].verify = true;
    s.verify = Some(VerifySpec {
        key: Some("cosign.pub".into()),
        ..Default::default()
    });
    let p = policy(&s);
    let now = "2026-06-01T00:00:00Z".parse().expect("time");
    let reg = MemoryRegistry::new(now);
    let digest = reg.add_image(&p.images[0].repository, "keyed");
    let audit = MemoryAudit::new();
    let request = Request::Promote(PromoteRequest {
        source: PromoteSource::Digest(digest),
        confirm: None,
        expect_digest: None,
        allow_older: false,
    });
    block_on(Engine::new(&p, &reg, signer, &audit).run(&request, now, false)).expect("promoted");
    let releases = audit.releases();
    releases.values().next().expect("a release").request.notes.clone()
}

#[test]
fn the_notes_name_the_key_or_the_identity_that_signed() {
    let notes = notes_signed_by(&Signer(None, Some("SHA256:abcdef")));
    assert!(
        notes.contains("- Verified `docker.io/nearai/cloud-api`: public key SHA256:abcdef\n"),
        "{notes}"
    );
    let notes = notes_signed_by(&Signer(Some("alice@example.com"), None));
    assert!(
        notes.contains("- Verified `docker.io/nearai/cloud-api`: alice@example.com\n"),
        "{notes}"
    );
}
