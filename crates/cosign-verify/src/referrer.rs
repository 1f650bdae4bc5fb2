//! The Sigstore bundle layout: a bundle v0.3 (DSSE envelope of an in-toto statement) stored as an
//! OCI referrer of the image, found through the referrers API or its `sha256-<hex>` tag fallback.
//!
//! The bundle JSON is parsed with sigstore's protobuf `Bundle` type (protobuf JSON mapping);
//! the in-toto statement and the DSSE pre-authentication encoding are read here because
//! sigstore 0.15 keeps them crate-private.

use serde::Deserialize;
use sigstore_protobuf_specs::dev::sigstore::bundle::v1::bundle::Content;
use sigstore_protobuf_specs::io::intoto::Envelope;
use tagcore::{Digest, Registry, Repository, Tag, VerifyError};

use crate::bundle;
use crate::layer::{Candidate, Examined, Unreadable, dsse_pae};
use crate::oci::{self, Descriptor};

/// The DSSE payload type of in-toto statements.
pub(crate) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto statement type.
const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The predicate type cosign uses for image signatures in bundles.
const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Returns every Sigstore bundle referring to `digest` as a candidate (or why it is not one);
/// empty when there is none. Referrers of other artifact types are not signatures and are
/// skipped.
pub(crate) async fn read<R: Registry>(
    registry: &R,
    repository: &Repository,
    digest: &Digest,
) -> Result<Vec<Examined>, VerifyError> {
    let fallback = format!("sha256-{}", digest.hex());
    let (index, source) = match registry
        .fetch_referrers(repository, digest)
        .await
        .map_err(|e| oci::unavailable(format!("listing referrers of {digest} in {repository}"), e))?
    {
        Some(index) => (index, "referrers API".to_owned()),
        None => {
            let tag: Tag = fallback.parse().map_err(|e| VerifyError::Unavailable {
                message: format!("referrers tag {fallback} is not a valid tag: {e}"),
                source: None,
            })?;
            let resolved = registry
                .resolve_tag(repository, &tag)
                .await
                .map_err(|e| oci::unavailable(format!("resolving {repository}:{fallback}"), e))?;
            let Some(index_digest) = resolved else {
                return Ok(Vec::new());
            };
            let index = oci::manifest(registry, repository, &index_digest).await?;
            (index, format!("referrers tag {fallback} ({index_digest})"))
        }
    };
    let index = match oci::image_index(&index) {
        Ok(i) => i,
        Err(reason) => {
            return Ok(vec![Err(Unreadable {
                origin: source,
                reason,
            })]);
        }
    };
    let bundles: Vec<&Descriptor> = index
        .manifests()
        .iter()
        .filter(|d| oci::artifact_type(d).is_some_and(|t| is_bundle_type(&t)))
        .collect();
    if bundles.len() > oci::MAX_ENTRIES {
        let reason = format!(
            "{} bundles refer to the image, more than {} examined",
            bundles.len(),
            oci::MAX_ENTRIES
        );
        return Ok(vec![Err(Unreadable {
            origin: source,
            reason,
        })]);
    }
    let mut out = Vec::with_capacity(bundles.len());
    for descriptor in bundles {
        let origin = format!("Sigstore bundle {} (via {source})", descriptor.digest());
        out.push(read_one(registry, repository, digest, descriptor, origin).await?);
    }
    Ok(out)
}

fn is_bundle_type(artifact_type: &str) -> bool {
    artifact_type.starts_with("application/vnd.dev.sigstore.bundle")
}

async fn read_one<R: Registry>(
    registry: &R,
    repository: &Repository,
    digest: &Digest,
    descriptor: &Descriptor,
    origin: String,
) -> Result<Examined, VerifyError> {
    let unreadable = |reason: String| {
        Ok(Err(Unreadable {
            origin: origin.clone(),
            reason,
        }))
    };
    let descriptor_type = oci::artifact_type(descriptor);
    if descriptor_type.as_deref() != Some(oci::BUNDLE_V03_MEDIA_TYPE) {
        return unreadable(format!(
            "bundle artifact type {:?} is not supported; expected {}",
            descriptor_type.unwrap_or_default(),
            oci::BUNDLE_V03_MEDIA_TYPE
        ));
    }
    let manifest_digest: Digest = match descriptor.digest().to_string().parse() {
        Ok(d) => d,
        Err(e) => return unreadable(format!("referrer digest is invalid: {e}")),
    };
    let manifest = oci::manifest(registry, repository, &manifest_digest).await?;
    let manifest = match oci::image_manifest(&manifest) {
        Ok(m) => m,
        Err(reason) => return unreadable(reason),
    };
    if manifest
        .subject()
        .as_ref()
        .map(|s| s.digest().to_string())
        .as_deref()
        != Some(digest.as_str())
    {
        return unreadable(format!("bundle manifest's subject is not {digest}"));
    }
    let artifact_type = manifest
        .artifact_type()
        .as_ref()
        .unwrap_or_else(|| manifest.config().media_type())
        .to_string();
    if artifact_type != oci::BUNDLE_V03_MEDIA_TYPE {
        return unreadable(format!("bundle manifest's artifact type is {artifact_type:?}"));
    }
    let [layer] = manifest.layers().as_slice() else {
        return unreadable(format!(
            "bundle manifest has {} layers; expected 1",
            manifest.layers().len()
        ));
    };
    let layer_type = oci::media_type(layer);
    if layer_type != oci::BUNDLE_V03_MEDIA_TYPE {
        return unreadable(format!(
            "bundle layer media type {layer_type:?} is not {}",
            oci::BUNDLE_V03_MEDIA_TYPE
        ));
    }
    let bytes = match oci::blob(registry, repository, layer).await? {
        Ok(bytes) => bytes,
        Err(reason) => return unreadable(reason),
    };
    Ok(candidate(origin.clone(), &bytes).map_err(|reason| Unreadable { origin, reason }))
}

/// Returns the candidate in the bundle JSON `bytes`, or why there is none.
pub(crate) fn candidate(origin: String, bytes: &[u8]) -> Result<Candidate, String> {
    let parsed = bundle::parse(bytes)?;
    if parsed.bundle.media_type != oci::BUNDLE_V03_MEDIA_TYPE {
        return Err(format!(
            "bundle media type {:?} is not {}",
            parsed.bundle.media_type,
            oci::BUNDLE_V03_MEDIA_TYPE
        ));
    }
    let envelope = match parsed.bundle.content {
        Some(Content::DsseEnvelope(e)) => e,
        Some(Content::MessageSignature(_)) => {
            return Err(
                "bundle holds a message signature; cosign image signatures are DSSE envelopes".into(),
            );
        }
        None => return Err("bundle has no content".into()),
    };
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "DSSE payload type {:?} is not {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        ));
    }
    let signature = dsse_signature(&envelope);
    let parts = bundle::parts(parsed.bundle.verification_material, parsed.proof_required)?;
    let (claimed_digest, claimed_reference) = match statement_subject(&envelope.payload) {
        Ok((digest, name)) => (Ok(digest), name),
        Err(e) => (Err(e), None),
    };
    Ok(Candidate {
        origin,
        message: dsse_pae(&envelope.payload_type, &envelope.payload),
        claimed_digest,
        claimed_reference,
        timestamps: parts.timestamps,
        logged_payload: envelope.payload,
        signature,
        certificate: parts.certificate,
        chain: parts.chain,
        evidence: parts.evidence,
    })
}

/// Returns the single signature of a DSSE envelope, or why there is not exactly one.
pub(crate) fn dsse_signature(envelope: &Envelope) -> Result<Vec<u8>, String> {
    match envelope.signatures.as_slice() {
        [one] => Ok(one.sig.clone()),
        many => Err(format!(
            "DSSE envelope has {} signatures; expected exactly 1",
            many.len()
        )),
    }
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    statement_type: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    subject: Vec<Subject>,
}

#[derive(Deserialize)]
struct Subject {
    #[serde(default)]
    name: Option<String>,
    digest: std::collections::BTreeMap<String, String>,
}

/// Returns the image digest an in-toto statement names, and its subject name when it has one
/// (cosign v3 writes none), or why it names no digest.
fn statement_subject(payload: &[u8]) -> Result<(String, Option<String>), String> {
    let s: Statement = serde_json::from_slice(payload)
        .map_err(|e| format!("DSSE payload is not an in-toto statement: {e}"))?;
    if s.statement_type != IN_TOTO_STATEMENT_V1 {
        return Err(format!(
            "in-toto statement type {:?} is not {IN_TOTO_STATEMENT_V1}",
            s.statement_type
        ));
    }
    if s.predicate_type != COSIGN_SIGN_PREDICATE {
        return Err(format!(
            "in-toto predicate type {:?} is not {COSIGN_SIGN_PREDICATE}",
            s.predicate_type
        ));
    }
    let [subject] = s.subject.as_slice() else {
        return Err(format!(
            "in-toto statement has {} subjects; expected 1",
            s.subject.len()
        ));
    };
    let hex = subject
        .digest
        .get("sha256")
        .ok_or("in-toto subject has no sha256 digest")?;
    Ok((
        format!("sha256:{hex}"),
        subject.name.clone().filter(|n| !n.is_empty()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_must_be_cosign_signatures_of_one_subject() {
        let ok = r#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://sigstore.dev/cosign/sign/v1","subject":[{"digest":{"sha256":"ab"}}]}"#;
        assert_eq!(
            statement_subject(ok.as_bytes()).unwrap(),
            ("sha256:ab".to_owned(), None)
        );
        let named = ok.replace(r#"[{"digest""#, r#"[{"name":"ghcr.io/o/n","digest""#);
        assert_eq!(
            statement_subject(named.as_bytes()).unwrap().1.as_deref(),
            Some("ghcr.io/o/n")
        );
        let two = ok.replace(
            r#"[{"digest":{"sha256":"ab"}}]"#,
            r#"[{"digest":{"sha256":"ab"}},{"digest":{"sha256":"cd"}}]"#,
        );
        assert_eq!(
            statement_subject(two.as_bytes()).unwrap_err(),
            "in-toto statement has 2 subjects; expected 1"
        );
        let slsa = ok.replace(
            "https://sigstore.dev/cosign/sign/v1",
            "https://slsa.dev/provenance/v1",
        );
        assert!(
            statement_subject(slsa.as_bytes())
                .unwrap_err()
                .contains("predicate type")
        );
    }

    #[test]
    fn refuses_bundles_that_are_not_v03_dsse() {
        let err = candidate("x".into(), b"{}").unwrap_err();
        assert!(err.starts_with("bundle media type"), "{err}");
        assert!(
            candidate("x".into(), b"[")
                .unwrap_err()
                .starts_with("bundle does not parse")
        );
    }
}
