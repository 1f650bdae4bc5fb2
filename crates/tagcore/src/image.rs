//! The content of an image to push, and the names of image sources.
//!
//! Pure: [`SourceImage::assemble`] walks a root manifest (an image manifest or an index) and its
//! children, checks every child against its descriptor, and orders the manifests so that
//! children are pushed before the index that names them. [`SourceName`] parses a source named
//! as skopeo names it (`oci-archive:PATH[:ref]`, `oci:DIR[:ref]`, `docker-archive:PATH[:ref]`);
//! reading it is the adapters' work (registry-hub's `source` module).

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::{Digest, Manifest};

/// The largest manifest a source may hold (the registries' usual limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// The OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// How deep an index may nest indexes (an index of indexes of manifests).
const MAX_DEPTH: usize = 3;

/// A content descriptor: what a manifest says about one blob or child manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// The media type of the content.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Why an image's manifests cannot be pushed as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImageError {
    /// What is wrong, naming the manifest or descriptor.
    pub message: String,
}

impl ImageError {
    /// Returns an error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// What one manifest refers to: child manifests (an index) or blobs (config and layers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// The child manifests of an index.
    pub manifests: Vec<Descriptor>,
    /// The config and layers of an image manifest.
    pub blobs: Vec<Descriptor>,
}

/// Returns the descriptors `manifest` refers to, refusing malformed ones with the field named.
pub fn references(manifest: &Manifest) -> Result<References, ImageError> {
    let d = manifest.digest();
    let v: Value = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| ImageError::new(format!("manifest {d} is not JSON: {e}")))?;
    let mut refs = References::default();
    if let Some(children) = v.get("manifests") {
        for (i, c) in array(children, &d, "manifests")?.iter().enumerate() {
            refs.manifests
                .push(descriptor(c, &d, &format!("manifests[{i}]"))?);
        }
        return Ok(refs);
    }
    let config = v
        .get("config")
        .ok_or_else(|| ImageError::new(format!("manifest {d} has neither `manifests` nor `config`")))?;
    refs.blobs.push(descriptor(config, &d, "config")?);
    if let Some(layers) = v.get("layers") {
        for (i, l) in array(layers, &d, "layers")?.iter().enumerate() {
            refs.blobs.push(descriptor(l, &d, &format!("layers[{i}]"))?);
        }
    }
    Ok(refs)
}

fn array<'a>(v: &'a Value, d: &Digest, field: &str) -> Result<&'a Vec<Value>, ImageError> {
    v.as_array()
        .ok_or_else(|| ImageError::new(format!("manifest {d}: `{field}` is not an array")))
}

fn descriptor(v: &Value, d: &Digest, field: &str) -> Result<Descriptor, ImageError> {
    let bad = |what: &str| ImageError::new(format!("manifest {d}: `{field}` {what}"));
    let digest = v
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("has no digest"))?
        .parse()
        .map_err(|e: crate::DigestError| bad(&e.to_string()))?;
    let size = v
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("has no size (a non-negative integer)"))?;
    let media_type = v
        .get("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("has no mediaType"))?
        .to_owned();
    Ok(Descriptor {
        media_type,
        digest,
        size,
    })
}

/// An image ready to push: its manifests in push order (children before the index that names
/// them, the root last) and every blob they need, once each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceImage {
    /// The root manifest's digest: what the registry will hold and publish reports.
    pub digest: Digest,
    /// The manifests, children first, the root last.
    pub manifests: Vec<Manifest>,
    /// The blobs (configs and layers), each once, in the order first met.
    pub blobs: Vec<Descriptor>,
}

impl SourceImage {
    /// Returns the image rooted at `root`, reading each child manifest with `child` (which
    /// returns its bytes; the media type comes from the descriptor). Every child must hash to
    /// its descriptor's digest and have its size.
    pub fn assemble(
        root: Manifest,
        mut child: impl FnMut(&Descriptor) -> Result<Vec<u8>, ImageError>,
    ) -> Result<Self, ImageError> {
        let mut image = Self {
            digest: root.digest(),
            manifests: Vec::new(),
            blobs: Vec::new(),
        };
        let mut seen_blobs = HashSet::new();
        let mut seen_manifests = HashSet::new();
        image.walk(root, 0, &mut child, &mut seen_blobs, &mut seen_manifests)?;
        Ok(image)
    }

    fn walk(
        &mut self,
        manifest: Manifest,
        depth: usize,
        child: &mut dyn FnMut(&Descriptor) -> Result<Vec<u8>, ImageError>,
        seen_blobs: &mut HashSet<Digest>,
        seen_manifests: &mut HashSet<Digest>,
    ) -> Result<(), ImageError> {
        if !seen_manifests.insert(manifest.digest()) {
            return Ok(());
        }
        let refs = references(&manifest)?;
        for c in &refs.manifests {
            if depth + 1 >= MAX_DEPTH {
                return Err(ImageError::new(format!(
                    "index {} nests deeper than {MAX_DEPTH} levels",
                    manifest.digest()
                )));
            }
            let bytes = checked(c, child(c)?)?;
            let m = Manifest::new(c.media_type.clone(), bytes);
            self.walk(m, depth + 1, child, seen_blobs, seen_manifests)?;
        }
        for b in refs.blobs {
            if seen_blobs.insert(b.digest.clone()) {
                self.blobs.push(b);
            }
        }
        self.manifests.push(manifest);
        Ok(())
    }

    /// Returns the total size of the blobs.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

/// Returns `bytes` when they are the content `d` describes.
pub fn checked(d: &Descriptor, bytes: Vec<u8>) -> Result<Vec<u8>, ImageError> {
    if bytes.len() as u64 != d.size || Digest::of(&bytes) != d.digest {
        return Err(ImageError::new(format!(
            "content of {} is {} bytes with digest {}; the descriptor says {} bytes",
            d.digest,
            bytes.len(),
            Digest::of(&bytes),
            d.size
        )));
    }
    Ok(bytes)
}

/// An image source, named as skopeo names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceName {
    /// `oci-archive:PATH[:ref]`: a tar of an OCI image layout.
    OciArchive {
        /// The archive file.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick, when the layout holds several.
        reference: Option<String>,
    },
    /// `oci:DIR[:ref]`: an OCI image-layout directory.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick, when the layout holds several.
        reference: Option<String>,
    },
    /// `docker-archive:PATH[:ref]`: a `docker save` tar.
    DockerArchive {
        /// The archive file.
        path: PathBuf,
        /// The `RepoTags` entry to pick, when the archive holds several images.
        reference: Option<String>,
    },
}

/// Why a source name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source {input:?}: {message}")]
pub struct SourceNameError {
    /// The rejected input.
    pub input: String,
    /// What was expected.
    pub message: String,
}

const EXPECTED: &str = "expected oci-archive:PATH[:ref], oci:DIR[:ref] or docker-archive:PATH[:ref]";

impl SourceName {
    /// Returns the source `input` names. Like skopeo, the path ends at the first `:` after the
    /// transport; what follows is the reference.
    pub fn parse(input: &str) -> Result<Self, SourceNameError> {
        let bad = |message: &str| SourceNameError {
            input: input.to_owned(),
            message: message.to_owned(),
        };
        let (transport, rest) = input.split_once(':').ok_or_else(|| bad(EXPECTED))?;
        let (path, reference) = match rest.split_once(':') {
            Some((p, r)) => (p, Some(r)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(bad(&format!("the path is empty; {EXPECTED}")));
        }
        if path.contains('\0') || reference.is_some_and(|r| r.contains('\0')) {
            return Err(bad("contains a NUL character"));
        }
        if reference.is_some_and(str::is_empty) {
            return Err(bad(
                "the reference after the path is empty; drop the trailing `:`",
            ));
        }
        let reference = reference.map(str::to_owned);
        let path = PathBuf::from(path);
        match transport {
            "oci-archive" => Ok(Self::OciArchive { path, reference }),
            "oci" => Ok(Self::OciLayout { dir: path, reference }),
            "docker-archive" => Ok(Self::DockerArchive { path, reference }),
            "docker" | "docker-daemon" | "containers-storage" | "dir" => Err(bad(&format!(
                "the {transport}: transport is not a file source tagcli reads; {EXPECTED}"
            ))),
            _ => Err(bad(&format!("unknown transport {transport:?}; {EXPECTED}"))),
        }
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, p, r) = match self {
            Self::OciArchive { path, reference } => ("oci-archive", path, reference),
            Self::OciLayout { dir, reference } => ("oci", dir, reference),
            Self::DockerArchive { path, reference } => ("docker-archive", path, reference),
        };
        write!(f, "{t}:{}", p.display())?;
        match r {
            Some(r) => write!(f, ":{r}"),
            None => Ok(()),
        }
    }
}

/// Returns the layout root an `oci:DIR` registry location names (a policy's `[registry] host`),
/// parsed as [`SourceName::parse`] parses `oci:` sources but without a reference; `None` when
/// `location` is not an `oci:` location, or an error naming what is expected.
pub fn layout_root(location: &str) -> Option<Result<PathBuf, String>> {
    if !location.starts_with("oci:") {
        return None;
    }
    Some(match SourceName::parse(location) {
        Ok(SourceName::OciLayout { dir, reference: None }) => Ok(dir),
        Ok(_) => Err(format!(
            "{location:?}: a layout registry is a directory only, e.g. oci:./local-layout (no `:ref`)"
        )),
        Err(_) => Err("`oci:` needs a directory, e.g. oci:./local-layout".to_owned()),
    })
}

/// Returns the source of every image of `policy` that takes part in publish, in unit order,
/// from `--from` values: bare (`oci-archive:app.tar`) for a single-image unit, else
/// `<image>=<source>` once per image. Checked before anything is read or requested.
pub fn unit_sources(
    raw: &[String],
    policy: &crate::policy::Policy,
) -> Result<Vec<(usize, SourceName)>, crate::InputError> {
    let bad = |message: String| crate::InputError {
        input: "--from".into(),
        message,
    };
    let published: Vec<usize> = (0..policy.images.len())
        .filter(|i| policy.images[*i].takes_part(crate::OperationKind::Publish))
        .collect();
    let mut out: Vec<Option<SourceName>> = vec![None; policy.images.len()];
    for value in raw {
        let (image, source) = match value.split_once('=') {
            Some((name, source)) if !name.contains(':') => {
                let i = policy
                    .find_image(name)
                    .ok_or_else(|| bad(format!("{name:?} is not an image of unit {}", policy.unit)))?;
                if !published.contains(&i) {
                    return Err(bad(format!(
                        "image {name:?} does not take part in publish (policy: operations)"
                    )));
                }
                (i, source)
            }
            _ if published.len() == 1 => (published[0], value.as_str()),
            _ => {
                return Err(bad(format!(
                    "{value:?}: this unit has several images: give each as <image>=<source>"
                )));
            }
        };
        let name = SourceName::parse(source).map_err(|e| bad(e.to_string()))?;
        if out[image].replace(name).is_some() {
            return Err(bad(format!(
                "image {} is given twice",
                policy.images[image].repository
            )));
        }
    }
    published
        .iter()
        .map(|&i| {
            out[i]
                .take()
                .map(|s| (i, s))
                .ok_or_else(|| bad(format!("missing for image {}", policy.images[i].repository)))
        })
        .collect()
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
