//! `docker save` archives (`manifest.json` with `Config`, `RepoTags`, `Layers`): the image is
//! pushed as an OCI manifest of the config and the uncompressed layers, whose digests are the
//! config's `rootfs.diff_ids` (checked as each layer is read).

use serde_json::{Value, json};
use tagcore::image::{ImageError, OCI_MANIFEST, SourceImage};
use tagcore::{Digest, Manifest};

use super::FileBlobs;

/// Returns the image `reference` (a `RepoTags` entry) names (the only one when `None`).
pub(super) fn open(
    mut files: FileBlobs,
    reference: Option<&str>,
) -> Result<(SourceImage, FileBlobs), ImageError> {
    let list: Value = serde_json::from_slice(&files.read_file("manifest.json")?)
        .map_err(|e| ImageError::new(format!("manifest.json is not JSON: {e}")))?;
    let entries = list
        .as_array()
        .ok_or_else(|| ImageError::new("manifest.json is not an array (not a docker-archive)"))?;
    let entry = pick(entries, reference)?;
    let config_file = entry
        .get("Config")
        .and_then(Value::as_str)
        .ok_or_else(|| ImageError::new("manifest.json: the image has no Config"))?;
    let config = files.read_file(config_file)?;
    let config_digest = Digest::of(&config);
    files.alias_blob(config_file, config_digest.clone())?;
    let diff_ids = diff_ids(&config)?;
    let layers: Vec<&str> = entry
        .get("Layers")
        .and_then(Value::as_array)
        .ok_or_else(|| ImageError::new("manifest.json: the image has no Layers"))?
        .iter()
        .map(|l| {
            l.as_str()
                .ok_or_else(|| ImageError::new("manifest.json: a layer is not a file name"))
        })
        .collect::<Result<_, _>>()?;
    if layers.len() != diff_ids.len() {
        return Err(ImageError::new(format!(
            "manifest.json lists {} layers; the config's rootfs.diff_ids {}",
            layers.len(),
            diff_ids.len()
        )));
    }
    let mut descriptors = Vec::new();
    for (file, digest) in layers.iter().zip(diff_ids) {
        let size = files.alias_blob(file, digest.clone())?;
        descriptors.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest.as_str(),
            "size": size,
        }));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest.as_str(),
            "size": config.len(),
        },
        "layers": descriptors,
    });
    let bytes = serde_json::to_vec(&manifest).map_err(|e| ImageError::new(e.to_string()))?;
    let image = SourceImage::assemble(Manifest::new(OCI_MANIFEST, bytes), |d| {
        Err(ImageError::new(format!("unexpected child {}", d.digest)))
    })?;
    Ok((image, files))
}

fn pick<'a>(entries: &'a [Value], reference: Option<&str>) -> Result<&'a Value, ImageError> {
    let tags = |e: &Value| -> Vec<String> {
        e.get("RepoTags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    match (reference, entries) {
        (None, [one]) => Ok(one),
        (None, []) => Err(ImageError::new("manifest.json holds no image")),
        (None, _) => Err(ImageError::new(format!(
            "the archive holds {} images; name one after the path (`:<repo:tag>`)",
            entries.len()
        ))),
        (Some(r), _) => entries
            .iter()
            .find(|e| tags(e).iter().any(|t| t == r))
            .ok_or_else(|| ImageError::new(format!("no image tagged {r:?} in manifest.json"))),
    }
}

fn diff_ids(config: &[u8]) -> Result<Vec<Digest>, ImageError> {
    let v: Value = serde_json::from_slice(config)
        .map_err(|e| ImageError::new(format!("the image config is not JSON: {e}")))?;
    v.get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array)
        .ok_or_else(|| ImageError::new("the image config has no rootfs.diff_ids"))?
        .iter()
        .map(|d| {
            d.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| ImageError::new(format!("rootfs.diff_ids holds {d}, not a sha256 digest")))
        })
        .collect()
}
