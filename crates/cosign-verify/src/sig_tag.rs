//! The `sha256-<hex>.sig` layout: an image manifest whose simple-signing layers carry the
//! signature, certificate, chain and Rekor bundle as annotations.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use tagcore::{Digest, Registry, Repository, Tag, VerifyError};

use crate::certificate::SigningCertificate;
use crate::layer::{Candidate, Evidence, Examined, Unreadable, pem_certificates};
use crate::oci::{self, Descriptor};

/// The `critical.type` of cosign's simple-signing payloads.
const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// Returns every layer of the `.sig` manifest of `digest` as a candidate (or why it is not
/// one); empty when there is no `.sig` tag.
pub(crate) async fn read<R: Registry>(
    registry: &R,
    repository: &Repository,
    digest: &Digest,
) -> Result<Vec<Examined>, VerifyError> {
    let tag_name = digest.signature_tag();
    let tag: Tag = tag_name.parse().map_err(|e| VerifyError::Unavailable {
        message: format!("signature tag {tag_name} is not a valid tag: {e}"),
        source: None,
    })?;
    // One GET by tag: the bytes are needed, so no HEAD first.
    let Some(manifest) = registry
        .fetch_manifest_by_tag(repository, &tag)
        .await
        .map_err(|e| oci::unavailable(format!("resolving {repository}:{tag_name}"), e))?
    else {
        return Ok(Vec::new());
    };
    let sig_digest = manifest.digest();
    let origin = format!("{tag_name} ({sig_digest})");
    let parsed = match oci::image_manifest(&manifest) {
        Ok(m) => m,
        Err(reason) => return Ok(vec![Err(Unreadable { origin, reason })]),
    };
    if parsed.layers.is_empty() {
        let reason = "signature manifest has no layers".to_owned();
        return Ok(vec![Err(Unreadable { origin, reason })]);
    }
    if parsed.layers.len() > oci::MAX_ENTRIES {
        let reason = format!(
            "signature manifest has {} layers, more than {} examined",
            parsed.layers.len(),
            oci::MAX_ENTRIES
        );
        return Ok(vec![Err(Unreadable { origin, reason })]);
    }
    let count = parsed.layers.len();
    let mut out = Vec::with_capacity(count);
    for (i, layer) in parsed.layers.iter().enumerate() {
        let origin = format!("{tag_name} layer {}/{count} ({})", i + 1, layer.digest);
        if layer.media_type != oci::SIMPLE_SIGNING_MEDIA_TYPE {
            let reason = format!(
                "layer media type {:?} is not cosign's simple-signing type",
                layer.media_type
            );
            out.push(Err(Unreadable { origin, reason }));
            continue;
        }
        match oci::blob(registry, repository, layer).await? {
            Ok(payload) => out.push(Ok(candidate(origin, layer, payload))),
            Err(reason) => out.push(Err(Unreadable { origin, reason })),
        }
    }
    Ok(out)
}

fn candidate(origin: String, layer: &Descriptor, payload: Vec<u8>) -> Candidate {
    let a = &layer.annotations;
    let signature = a
        .get(oci::SIGNATURE_ANNOTATION)
        .ok_or_else(|| format!("layer has no {} annotation", oci::SIGNATURE_ANNOTATION))
        .and_then(|s| {
            BASE64
                .decode(s.trim())
                .map_err(|e| format!("layer signature is not base64: {e}"))
        });
    let certificate = a
        .get(oci::CERTIFICATE_ANNOTATION)
        .filter(|c| !c.trim().is_empty())
        .map(|pem| SigningCertificate::from_pem(pem.as_bytes()));
    let (chain, chain_error) = match a.get(oci::CHAIN_ANNOTATION).map(|c| pem_certificates(c)) {
        None => (Vec::new(), None),
        Some(Ok(chain)) => (chain, None),
        Some(Err(e)) => (Vec::new(), Some(e)),
    };
    // A malformed chain makes the certificate unusable rather than silently ignored.
    let certificate = match (certificate, chain_error) {
        (Some(Ok(_)), Some(e)) => Some(Err(e)),
        (c, _) => c,
    };
    let evidence = match a.get(oci::BUNDLE_ANNOTATION) {
        None => Evidence::None,
        Some(json) => Evidence::CosignBundle(json.clone()),
    };
    let (claimed_digest, claimed_reference) = match claimed(&payload) {
        Ok((digest, reference)) => (Ok(digest), Some(reference)),
        Err(e) => (Err(e), None),
    };
    Candidate {
        origin,
        claimed_digest,
        claimed_reference,
        timestamps: Vec::new(),
        message: payload.clone(),
        logged_payload: payload,
        signature,
        certificate,
        chain,
        evidence,
    }
}

/// cosign's simple-signing payload (the fields checked; others are ignored).
#[derive(Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    type_name: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Returns the image digest and the docker reference a simple-signing payload names, or why it
/// names none.
fn claimed(payload: &[u8]) -> Result<(String, String), String> {
    let ss: SimpleSigning = serde_json::from_slice(payload)
        .map_err(|e| format!("payload is not a simple-signing document: {e}"))?;
    if ss.critical.type_name != SIMPLE_SIGNING_TYPE {
        return Err(format!(
            "payload type is {:?}, not {SIMPLE_SIGNING_TYPE:?}",
            ss.critical.type_name
        ));
    }
    Ok((
        ss.critical.image.docker_manifest_digest,
        ss.critical.identity.docker_reference,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_digest_a_payload_names() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let p = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r/x"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(claimed(p.as_bytes()).unwrap(), (d.to_owned(), "r/x".to_owned()));
        let other = p.replace("cosign container image signature", "something else");
        assert!(claimed(other.as_bytes()).unwrap_err().contains("payload type"));
        assert!(
            claimed(b"[]")
                .unwrap_err()
                .starts_with("payload is not a simple-signing document")
        );
    }
}
