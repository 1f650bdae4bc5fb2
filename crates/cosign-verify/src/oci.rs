//! The OCI documents signature artifacts are stored in, and bounded reads through the
//! `tagcore::Registry` port.

use tagcore::{Digest, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, VerifyError};

/// The media type of cosign's simple-signing layers.
pub(crate) const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type (and artifact type) of a Sigstore bundle v0.3.
pub(crate) const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The annotation holding a layer's base64 signature.
pub(crate) const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The annotation holding a layer's PEM certificate.
pub(crate) const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The annotation holding a layer's PEM certificate chain.
pub(crate) const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The annotation holding a layer's Rekor bundle (JSON).
pub(crate) const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// The OCI image manifest media type.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The Docker image manifest media type (cosign writes it on some registries).
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The OCI image index media type.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The largest signature layer or bundle read; cosign's are a few kilobytes.
pub(crate) const MAX_BLOB_BYTES: u64 = 1 << 20;
/// The most layers or referrers examined for one digest; more is refused, not truncated.
pub(crate) const MAX_ENTRIES: usize = 64;

// The OCI documents are read with oci-spec's types, for inspection only: what the verifier
// checks is always the exact bytes the registry returned (their digest is checked on read).
pub(crate) use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

/// Returns the annotation `key` of `descriptor`.
pub(crate) fn annotation<'a>(descriptor: &'a Descriptor, key: &str) -> Option<&'a String> {
    descriptor.annotations().as_ref()?.get(key)
}

/// Returns the media type of `descriptor` as written.
pub(crate) fn media_type(descriptor: &Descriptor) -> String {
    descriptor.media_type().to_string()
}

/// Returns the artifact type of `descriptor`, if any, as written.
pub(crate) fn artifact_type(descriptor: &Descriptor) -> Option<String> {
    descriptor.artifact_type().as_ref().map(ToString::to_string)
}

/// Returns a refusal-free "could not read" error for `what`, keeping `source`.
pub(crate) fn unavailable(what: String, source: RegistryError) -> VerifyError {
    VerifyError::Unavailable {
        message: format!("{what}: {source}"),
        source: Some(Box::new(source)),
    }
}

/// Returns the manifest at `digest` in `repository`; registry failures make the whole
/// verification unavailable.
pub(crate) async fn manifest<R: Registry>(
    registry: &R,
    repository: &Repository,
    digest: &Digest,
) -> Result<Manifest, VerifyError> {
    registry
        .fetch_manifest(repository, digest)
        .await
        .map_err(|e| unavailable(format!("reading signature manifest {digest} of {repository}"), e))
}

/// Returns the blob named by `descriptor`, checked against its digest, or why it cannot be
/// used (`Ok(Err)`: a reason about this artifact; `Err`: the registry failed).
pub(crate) async fn blob<R: Registry>(
    registry: &R,
    repository: &Repository,
    descriptor: &Descriptor,
) -> Result<Result<Vec<u8>, String>, VerifyError> {
    let digest: Digest = match descriptor.digest().to_string().parse() {
        Ok(d) => d,
        Err(e) => return Ok(Err(format!("layer digest is invalid: {e}"))),
    };
    if descriptor.size() > MAX_BLOB_BYTES {
        return Ok(Err(format!(
            "layer is {} bytes, more than the {MAX_BLOB_BYTES} accepted for a signature",
            descriptor.size()
        )));
    }
    match registry.fetch_blob(repository, &digest, MAX_BLOB_BYTES).await {
        Ok(bytes) if Digest::of(&bytes) == digest => Ok(Ok(bytes)),
        Ok(_) => Ok(Err(format!("layer content does not match its digest {digest}"))),
        Err(e) if e.kind == RegistryErrorKind::NotFound => {
            Ok(Err(format!("layer {digest} is missing from the registry")))
        }
        Err(e) => Err(unavailable(
            format!("reading signature layer {digest} of {repository}"),
            e,
        )),
    }
}

/// Returns the image manifest in `manifest`, or why it is not one.
pub(crate) fn image_manifest(manifest: &Manifest) -> Result<ImageManifest, String> {
    if manifest.media_type != OCI_MANIFEST && manifest.media_type != DOCKER_MANIFEST {
        return Err(format!(
            "signature manifest has media type {:?}; expected an image manifest",
            manifest.media_type
        ));
    }
    serde_json::from_slice(&manifest.bytes).map_err(|e| format!("signature manifest does not parse: {e}"))
}

/// Returns the image index in `manifest`, or why it is not one.
pub(crate) fn image_index(manifest: &Manifest) -> Result<ImageIndex, String> {
    if manifest.media_type != OCI_INDEX {
        return Err(format!(
            "referrers list has media type {:?}; expected an OCI image index",
            manifest.media_type
        ));
    }
    serde_json::from_slice(&manifest.bytes).map_err(|e| format!("referrers index does not parse: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unexpected_media_types_and_garbage() {
        let m = Manifest::new(OCI_INDEX, b"{}".to_vec());
        assert!(
            image_manifest(&m)
                .unwrap_err()
                .contains("expected an image manifest")
        );
        let m = Manifest::new(OCI_MANIFEST, b"{".to_vec());
        assert!(
            image_manifest(&m)
                .unwrap_err()
                .starts_with("signature manifest does not parse")
        );
        let m = Manifest::new(OCI_MANIFEST, b"{}".to_vec());
        assert!(
            image_index(&m)
                .unwrap_err()
                .contains("expected an OCI image index")
        );
    }
}
