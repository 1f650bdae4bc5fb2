//! The constraints, evaluated all together on one candidate at a time.
//!
//! This replaces sigstore's `verify_constraints`, which accepts different layers satisfying
//! different constraints (docs/behaviour.md#signature-verification). Here a candidate is accepted only when *every*
//! constraint holds for it, and when it is not, *every* failed constraint is reported.

use tagcore::{Digest, Repository, Timestamp, VerifiedSignature};

use crate::certificate::{CertificateIdentity, SigningCertificate};
use crate::key::PublicKey;
use crate::layer::{Candidate, Evidence};
use tagcore::policy::{IdentityMatcher, KeylessPolicy};

use crate::policy::{Requirement, VerificationPolicy};
use crate::rekor::{self, Binding};
use crate::trust_root::TrustRoot;
use crate::tsa;

/// Returns the verdict for `candidate` when it satisfies every constraint of `policy` for
/// `digest` in `repository`, or one reason per failed constraint.
pub(crate) fn evaluate(
    candidate: &Candidate,
    repository: &Repository,
    digest: &Digest,
    policy: &VerificationPolicy,
) -> Result<VerifiedSignature, Vec<String>> {
    let mut failed = Vec::new();
    match &candidate.claimed_digest {
        Ok(claimed) if claimed == digest.as_str() => {}
        Ok(claimed) => failed.push(format!("payload is a signature for {claimed}, not {digest}")),
        Err(e) => failed.push(e.clone()),
    }
    if let Err(e) = crate::reference::check(
        candidate.claimed_reference.as_deref(),
        repository,
        &policy.allowed_references,
    ) {
        failed.push(e);
    }
    let signature = match &candidate.signature {
        Ok(s) => Some(s.as_slice()),
        Err(e) => {
            failed.push(e.clone());
            None
        }
    };
    let verdict = match &policy.requirement {
        Requirement::Keyless(k) => keyless(candidate, signature, k, &policy.trust_root, &mut failed),
        Requirement::Key(key) => key_based(candidate, signature, key, &policy.trust_root, &mut failed),
    };
    match verdict {
        Some(mut v) if failed.is_empty() => {
            v.digest = digest.clone();
            v.layer = candidate.origin.clone();
            Ok(v)
        }
        _ => Err(failed),
    }
}

fn empty_verdict() -> VerifiedSignature {
    VerifiedSignature {
        digest: Digest::of(b""),
        layer: String::new(),
        identity: None,
        issuer: None,
        key: None,
        workflow_repository: None,
        workflow_ref: None,
        source_commit: None,
        signed_at: None,
    }
}

fn key_based(
    candidate: &Candidate,
    signature: Option<&[u8]>,
    key: &PublicKey,
    root: &TrustRoot,
    failed: &mut Vec<String>,
) -> Option<VerifiedSignature> {
    let signature = signature?;
    if !key.verifies(signature, &candidate.message) {
        failed.push(format!(
            "signature does not verify with the policy key {}",
            key.fingerprint()
        ));
        return None;
    }
    // Key-based signatures may be made without a transparency log (air-gapped signing); when
    // evidence is attached it must still verify and describe this signature.
    let binding = Binding {
        payload: &candidate.logged_payload,
        message: &candidate.message,
        signature,
        verifier_der: key.spki_der(),
    };
    let signed_at = match attest(candidate, root, binding) {
        Ok(attested) => attested.and_then(|a| a.times.first().copied()),
        Err(e) => {
            failed.push(e);
            None
        }
    };
    Some(VerifiedSignature {
        key: Some(key.fingerprint()),
        signed_at: signed_at.map(Timestamp::from_unix),
        ..empty_verdict()
    })
}

fn keyless(
    candidate: &Candidate,
    signature: Option<&[u8]>,
    policy: &KeylessPolicy,
    root: &TrustRoot,
    failed: &mut Vec<String>,
) -> Option<VerifiedSignature> {
    let cert: &SigningCertificate = match &candidate.certificate {
        None => {
            failed.push("layer has no certificate; the keyless policy needs one".into());
            return None;
        }
        Some(Err(e)) => {
            failed.push(e.clone());
            return None;
        }
        Some(Ok(c)) => c,
    };
    let signed_at = signature.and_then(|s| certified_signature(candidate, s, cert, policy, root, failed));
    let id = &cert.identity;
    check_identity(id, policy, failed);
    Some(VerifiedSignature {
        identity: Some(id.identity.clone()),
        issuer: id.issuer.clone(),
        workflow_repository: id.workflow_repository.clone(),
        workflow_ref: id.workflow_ref.clone(),
        source_commit: id.source_commit.as_deref().and_then(|s| s.parse().ok()),
        signed_at: signed_at.map(Timestamp::from_unix),
        ..empty_verdict()
    })
}

/// Checks that `signature` is made by the certificate's key, logged, and that the certificate
/// chains to a trusted CA at every attested time (and carries a valid SCT when required);
/// returns the first attested signing time.
fn certified_signature(
    candidate: &Candidate,
    signature: &[u8],
    cert: &SigningCertificate,
    policy: &KeylessPolicy,
    root: &TrustRoot,
    failed: &mut Vec<String>,
) -> Option<i64> {
    // The signature must be made by the certificate's key (docs/behaviour.md#signature-verification).
    if !cert.public_key.verifies(signature, &candidate.message) {
        failed.push("signature does not verify with the certificate's key".into());
    }
    let binding = Binding {
        payload: &candidate.logged_payload,
        message: &candidate.message,
        signature,
        verifier_der: cert.der(),
    };
    match attest(candidate, root, binding) {
        Ok(Some(attested)) if attested.logged => {
            // The certificate must be valid at every attested time (Rekor and TSA).
            if let Some(e) = attested
                .times
                .iter()
                .find_map(|t| cert.verify_chain(root, &candidate.chain, *t).err())
            {
                failed.push(e);
            }
            if policy.verify_sct
                && !root.ctlogs.is_empty()
                && let Err(e) = check_sct(cert, &candidate.chain, root)
            {
                failed.push(e);
            }
            attested.times.first().copied()
        }
        Ok(_) => {
            failed.push("layer has no Rekor entry; the keyless policy requires one".into());
            None
        }
        Err(e) => {
            failed.push(e);
            None
        }
    }
}

/// Returns how a refusal names the identity the policy wants: quoted, or the anchored regex.
fn wanted_identity(identity: &IdentityMatcher) -> String {
    match identity {
        IdentityMatcher::Exact(e) => format!("{e:?}"),
        IdentityMatcher::Regex(r) => format!("regex {}", r.as_str()),
    }
}

/// Checks the certificate's issuer, identity, workflow repository and ref against the policy.
fn check_identity(id: &CertificateIdentity, policy: &KeylessPolicy, failed: &mut Vec<String>) {
    match &id.issuer {
        Some(issuer) if *issuer == policy.issuer => {}
        Some(issuer) => failed.push(format!(
            "certificate issuer is {issuer:?}, expected {:?}",
            policy.issuer
        )),
        None => failed.push(format!(
            "certificate names no OIDC issuer, expected {:?}",
            policy.issuer
        )),
    }
    if !policy.identity.matches(&id.identity) {
        failed.push(format!(
            "certificate identity {:?} does not match {}",
            id.identity,
            wanted_identity(&policy.identity)
        ));
    }
    if let Some(wanted) = &policy.workflow_repository {
        match &id.workflow_repository {
            Some(repo) if repo == wanted => {}
            Some(repo) => failed.push(format!("workflow repository is {repo:?}, expected {wanted:?}")),
            None => failed.push(format!(
                "certificate names no workflow repository, expected {wanted:?}"
            )),
        }
    }
    if !policy.workflow_refs.is_empty() {
        let allowed = policy
            .workflow_refs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match &id.workflow_ref {
            Some(r) if policy.workflow_refs.iter().any(|p| p.matches(r)) => {}
            Some(r) => failed.push(format!("workflow ref {r:?} is not allowed (allowed: {allowed})")),
            None => failed.push(format!("certificate names no workflow ref (allowed: {allowed})")),
        }
    }
}

/// Checks the certificate's embedded SCT; its issuer is looked up among the trust root's CA
/// certificates and the offered chain.
fn check_sct(cert: &SigningCertificate, chain: &[Vec<u8>], root: &TrustRoot) -> Result<(), String> {
    let issuers: Vec<&[u8]> = root
        .certificate_authorities
        .iter()
        .flat_map(|a| &a.chain)
        .chain(chain)
        .map(Vec::as_slice)
        .collect();
    crate::sct::verify(cert.der(), &issuers, root)
}

/// The signing times that verified evidence attests.
struct Attested {
    /// Whether a transparency-log entry was verified.
    logged: bool,
    /// The SET-attested integrated time first, then every RFC 3161 time; never empty.
    times: Vec<i64>,
}

/// Returns the attested signing times, `None` when no evidence is attached, or why the attached
/// evidence is refused. A Rekor v2 entry (no SET) needs an RFC 3161 timestamp, and its log must
/// be trusted at that time; every attached timestamp must verify.
fn attest(candidate: &Candidate, root: &TrustRoot, binding: Binding<'_>) -> Result<Option<Attested>, String> {
    let logged = match &candidate.evidence {
        Evidence::None => None,
        Evidence::Invalid(e) => return Err(e.clone()),
        Evidence::CosignBundle(json) => Some(rekor::verify_cosign_bundle(json, root, binding)?),
        Evidence::TlogEntry {
            entry,
            proof_required,
        } => Some(rekor::verify_tlog_entry(entry, *proof_required, root, binding)?),
    };
    let stamped = candidate
        .timestamps
        .iter()
        .map(|t| tsa::verify(t, binding.signature, root))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(l) = &logged
        && l.integrated_time.is_none()
    {
        if stamped.is_empty() {
            return Err(
                "transparency log entry has no inclusion promise (SET) and no RFC 3161 timestamp attests its time"
                    .into(),
            );
        }
        stamped.iter().try_for_each(|t| l.check_window(*t))?;
    }
    let times: Vec<i64> = logged
        .as_ref()
        .and_then(|l| l.integrated_time)
        .into_iter()
        .chain(stamped)
        .collect();
    Ok((!times.is_empty()).then_some(Attested {
        logged: logged.is_some(),
        times,
    }))
}
