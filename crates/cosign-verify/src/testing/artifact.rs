//! Signature artifacts in cosign's exact storage formats: the `.sig` manifest with
//! simple-signing layers and annotations, the bundle referrer manifest, and the referrers
//! fallback index.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tagcore::{Digest, Manifest};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::oci::{
    BUNDLE_ANNOTATION, BUNDLE_V03_MEDIA_TYPE, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, OCI_INDEX,
    OCI_MANIFEST, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE,
};

/// One cosign signature layer: the payload and what cosign puts in its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigLayer {
    /// The simple-signing payload (the layer's content).
    pub payload: Vec<u8>,
    /// The base64 signature (`dev.cosignproject.cosign/signature`).
    pub signature: String,
    /// The PEM certificate (`dev.sigstore.cosign/certificate`), keyless only.
    pub certificate_pem: Option<String>,
    /// The PEM chain (`dev.sigstore.cosign/chain`).
    pub chain_pem: Option<String>,
    /// The Rekor bundle JSON (`dev.sigstore.cosign/bundle`).
    pub bundle: Option<String>,
}

/// A manifest to store and the blobs it references; `tag` names it when it has a tag.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The tag to store the manifest under (`None` for referrers, stored by digest).
    pub tag: Option<String>,
    /// The manifest, exact bytes.
    pub manifest: Manifest,
    /// The blobs the manifest references (config and layers).
    pub blobs: Vec<Vec<u8>>,
}

/// Returns tagcore's in-memory registry, its clock at [`super::SIGNING_TIME`], answering the
/// referrers API when `referrers` is set.
pub fn memory_registry(referrers: bool) -> tagcore::testing::MemoryRegistry {
    let registry = tagcore::testing::MemoryRegistry::new(tagcore::Timestamp::from_unix(super::SIGNING_TIME));
    registry.answer_referrers(referrers);
    registry
}

impl Artifact {
    /// Stores the artifact in tagcore's in-memory registry: its blobs, its manifest, and its
    /// tag when it has one (referrers are stored by digest only). Returns the manifest's digest.
    pub fn store_in(
        &self,
        registry: &tagcore::testing::MemoryRegistry,
        repository: &tagcore::Repository,
    ) -> Digest {
        for blob in &self.blobs {
            registry.store_blob(repository, blob.clone());
        }
        let digest = registry.store_manifest(repository, self.manifest.clone());
        if let Some(tag) = &self.tag {
            registry.set_tag(
                repository,
                tag,
                &digest,
                tagcore::Timestamp::from_unix(super::SIGNING_TIME),
            );
        }
        digest
    }

    /// Returns the manifest's digest.
    pub fn digest(&self) -> Digest {
        self.manifest.digest()
    }
}

/// Returns the simple-signing payload cosign signs for `digest` in `repository`.
pub fn simple_signing_payload(repository: &str, digest: &Digest) -> Vec<u8> {
    json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest.as_str()},
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// Returns the in-toto statement cosign's bundle format signs for `digest`.
pub fn in_toto_statement(repository: &str, digest: &Digest) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": repository, "digest": {"sha256": digest.hex()}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    })
    .to_string()
    .into_bytes()
}

/// Returns a bundle v0.3 JSON from its parts.
pub(crate) fn bundle_json(certificate_der: &[u8], tlog_entry: Value, envelope: Value) -> Vec<u8> {
    json!({
        "mediaType": BUNDLE_V03_MEDIA_TYPE,
        "verificationMaterial": {
            "certificate": {"rawBytes": BASE64.encode(certificate_der)},
            "tlogEntries": [tlog_entry],
        },
        "dsseEnvelope": envelope,
    })
    .to_string()
    .into_bytes()
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": Digest::of(bytes).as_str(), "size": bytes.len()})
}

/// Returns the `sha256-<hex>.sig` artifact holding `layers` for `digest`, as cosign writes it.
pub fn sig_artifact(digest: &Digest, layers: &[SigLayer]) -> Artifact {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| Digest::of(&l.payload).to_string())
        .collect();
    let config = json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string()
    .into_bytes();
    let layer_descriptors: Vec<Value> = layers
        .iter()
        .map(|l| {
            let mut annotations = BTreeMap::new();
            annotations.insert(SIGNATURE_ANNOTATION, l.signature.clone());
            if let Some(c) = &l.certificate_pem {
                annotations.insert(CERTIFICATE_ANNOTATION, c.clone());
            }
            if let Some(c) = &l.chain_pem {
                annotations.insert(CHAIN_ANNOTATION, c.clone());
            }
            if let Some(b) = &l.bundle {
                annotations.insert(BUNDLE_ANNOTATION, b.clone());
            }
            let mut d = descriptor(SIMPLE_SIGNING_MEDIA_TYPE, &l.payload);
            d["annotations"] = json!(annotations);
            d
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": layer_descriptors,
    });
    let mut blobs = vec![config];
    blobs.extend(layers.iter().map(|l| l.payload.clone()));
    Artifact {
        tag: Some(digest.signature_tag()),
        manifest: Manifest::new(OCI_MANIFEST, manifest.to_string().into_bytes()),
        blobs,
    }
}

/// Returns the referrer artifact holding `bundle` (JSON) for the image manifest `subject`, as
/// cosign's new bundle format attaches it.
pub fn bundle_artifact(subject: &Manifest, bundle: &[u8]) -> Artifact {
    bundle_artifact_for(
        &subject.digest(),
        &subject.media_type,
        subject.bytes.len() as u64,
        bundle,
    )
}

/// Returns the referrer artifact holding `bundle` for the manifest `subject` of `media_type` and
/// `size` bytes, when the subject manifest itself is not at hand.
pub fn bundle_artifact_for(subject: &Digest, media_type: &str, size: u64, bundle: &[u8]) -> Artifact {
    let empty = b"{}".to_vec();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_V03_MEDIA_TYPE,
        "config": descriptor("application/vnd.oci.empty.v1+json", &empty),
        "layers": [descriptor(BUNDLE_V03_MEDIA_TYPE, bundle)],
        "subject": {"mediaType": media_type, "digest": subject.as_str(), "size": size},
        "annotations": {
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
        },
    });
    Artifact {
        tag: None,
        manifest: Manifest::new(OCI_MANIFEST, manifest.to_string().into_bytes()),
        blobs: vec![empty, bundle.to_vec()],
    }
}

/// Returns the referrers index listing `referrers` of `subject`: the referrers API answer, and,
/// tagged `sha256-<hex>`, the tag fallback registries without that API get.
pub fn referrers_index(subject: &Digest, referrers: &[&Artifact]) -> Artifact {
    let manifests: Vec<Value> = referrers
        .iter()
        .map(|a| {
            let parsed: Value = serde_json::from_slice(&a.manifest.bytes).unwrap_or(Value::Null);
            let mut d = descriptor(&a.manifest.media_type, &a.manifest.bytes);
            if let Some(t) = parsed.get("artifactType") {
                d["artifactType"] = t.clone();
            }
            d
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Artifact {
        tag: Some(format!("sha256-{}", subject.hex())),
        manifest: Manifest::new(OCI_INDEX, index.to_string().into_bytes()),
        blobs: Vec::new(),
    }
}

/// Returns a tiny single-layer image tagged `tag`; `seed` makes its digest unique.
pub fn image_artifact(tag: &str, seed: &str) -> Artifact {
    let layer = format!("layer of {seed}").into_bytes();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).as_str()]},
    })
    .to_string()
    .into_bytes();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    });
    Artifact {
        tag: Some(tag.to_owned()),
        manifest: Manifest::new(OCI_MANIFEST, manifest.to_string().into_bytes()),
        blobs: vec![config, layer],
    }
}
