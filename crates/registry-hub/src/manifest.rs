//! Manifest media types, the `Accept` list, and reading an image's revision from its manifest.

use serde_json::Value;
use tagcore::{Digest, Manifest, Registry, RegistryError, Repository};

use crate::client::read_capped;
use crate::error_map;

/// The OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The Docker image manifest (schema 2) media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The Docker manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` header of every manifest request: OCI and Docker, manifest and index. A shorter
/// list makes registries answer 404 for OCI manifests or convert them (changing the digest).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// The annotation and label naming an image's source revision.
pub const REVISION_KEY: &str = "org.opencontainers.image.revision";

/// The largest config blob read for its labels.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Returns whether `media_type` is an index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Returns the media type of manifest `bytes` from their `mediaType` field, else inferred from
/// their shape (`manifests` → OCI index, `config` → OCI manifest).
pub fn media_type_of(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    if let Some(mt) = v
        .get("mediaType")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    {
        return Some(mt.to_owned());
    }
    if v.get("manifests").is_some_and(Value::is_array) {
        return Some(OCI_INDEX.to_owned());
    }
    v.get("config")
        .is_some_and(Value::is_object)
        .then(|| OCI_MANIFEST.to_owned())
}

/// Returns the media type from a `Content-Type` value without parameters, unless it is a generic
/// JSON type that says nothing about the manifest.
pub(crate) fn content_media_type(content_type: Option<&str>) -> Option<String> {
    let mt = content_type?.split(';').next()?.trim();
    (!mt.is_empty() && mt != "application/json" && mt != "text/plain").then(|| mt.to_owned())
}

fn revision_annotation(v: &Value) -> Option<String> {
    v.get("annotations")?
        .get(REVISION_KEY)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Returns the revision of the image at `digest`: the manifest's annotation, else its config's
/// `config.Labels`; for an index, the index's annotation, else the first platform manifest's
/// (attestation manifests, platform `unknown/unknown`, are skipped).
pub(crate) async fn image_revision<R: Registry>(
    registry: &R,
    repository: &Repository,
    digest: &Digest,
) -> Result<Option<String>, RegistryError> {
    let manifest = registry.fetch_manifest(repository, digest).await?;
    let what = format!("manifest {repository}@{digest}");
    let v = parse(&manifest, &what)?;
    if let Some(rev) = revision_annotation(&v) {
        return Ok(Some(rev));
    }
    if !is_index(&manifest.media_type) && v.get("manifests").is_none() {
        return config_revision(registry, repository, &v, &what).await;
    }
    let Some(child) = first_platform_manifest(&v) else {
        return Ok(None);
    };
    let child = child
        .parse::<Digest>()
        .map_err(|e| error_map::invalid(&what, format!("index entry has an invalid digest ({e})")))?;
    let child_manifest = registry.fetch_manifest(repository, &child).await?;
    let child_what = format!("manifest {repository}@{child}");
    let cv = parse(&child_manifest, &child_what)?;
    if let Some(rev) = revision_annotation(&cv) {
        return Ok(Some(rev));
    }
    if cv.get("manifests").is_some() {
        return Ok(None);
    }
    config_revision(registry, repository, &cv, &child_what).await
}

fn parse(manifest: &Manifest, what: &str) -> Result<Value, RegistryError> {
    serde_json::from_slice(&manifest.bytes).map_err(|_| error_map::invalid(what, "the manifest is not JSON"))
}

fn first_platform_manifest(index: &Value) -> Option<String> {
    index.get("manifests")?.as_array()?.iter().find_map(|m| {
        let platform = m.get("platform");
        let os = platform
            .and_then(|p| p.get("os"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let arch = platform
            .and_then(|p| p.get("architecture"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let attestation = m
            .get("annotations")
            .and_then(|a| a.get("vnd.docker.reference.type"))
            .is_some();
        let unknown = os == "unknown" || arch == "unknown";
        (!attestation && !unknown)
            .then(|| m.get("digest")?.as_str().map(str::to_owned))
            .flatten()
    })
}

async fn config_revision<R: Registry>(
    registry: &R,
    repository: &Repository,
    manifest: &Value,
    what: &str,
) -> Result<Option<String>, RegistryError> {
    let Some(config) = manifest
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let config: Digest = config
        .parse()
        .map_err(|e| error_map::invalid(what, format!("config has an invalid digest ({e})")))?;
    let blob = registry.fetch_blob(repository, &config, MAX_CONFIG_BYTES).await?;
    let v: Value = serde_json::from_slice(&blob)
        .map_err(|_| error_map::invalid(&format!("config {repository}@{config}"), "not JSON"))?;
    Ok(v.get("config")
        .and_then(|c| c.get("Labels"))
        .and_then(|l| l.get(REVISION_KEY))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

/// Returns the `rel="next"` target of a `Link` header value, e.g.
/// `</v2/a/tags/list?n=2&last=b>; rel="next"`.
pub(crate) fn link_next(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| target.to_owned())
    })
}

/// Returns the body (at most `max` bytes), refusing it unless its sha256 is `digest`.
pub(crate) async fn read_digest(
    resp: reqwest::Response,
    max: u64,
    digest: &Digest,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let bytes = read_capped(resp, max, what).await?;
    let actual = Digest::of(&bytes);
    if &actual != digest {
        return Err(error_map::invalid(
            what,
            format!("the bytes received hash to {actual}"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_media_types() {
        assert_eq!(
            media_type_of(br#"{"mediaType":"x/y","config":{}}"#).as_deref(),
            Some("x/y")
        );
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#).as_deref(),
            Some(OCI_INDEX)
        );
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"config":{},"layers":[]}"#).as_deref(),
            Some(OCI_MANIFEST)
        );
        assert_eq!(media_type_of(b"not json"), None);
        assert_eq!(
            content_media_type(Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8")).as_deref(),
            Some(OCI_MANIFEST)
        );
        assert_eq!(content_media_type(Some("application/json")), None);
    }

    #[test]
    fn parses_link_headers() {
        assert_eq!(
            link_next(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            link_next(r#"<https://x/p>; rel="prev", <https://x/n>; rel=next"#).as_deref(),
            Some("https://x/n")
        );
        assert_eq!(link_next("garbage"), None);
    }

    #[test]
    fn picks_the_first_real_platform() {
        let index: Value = serde_json::json!({"manifests": [
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}}
        ]});
        assert_eq!(first_platform_manifest(&index).as_deref(), Some("sha256:amd"));
    }
}
