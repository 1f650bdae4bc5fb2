//! OCI image layouts (a directory, or a tar of one): `index.json` names the image.

use serde_json::Value;
use tagcore::Manifest;
use tagcore::image::{Descriptor, ImageError, SourceImage};

use super::FileBlobs;
use crate::layout::REF_NAME;

/// Returns the image `reference` names in the layout (the only one when `None`).
pub(super) fn open(
    files: FileBlobs,
    reference: Option<&str>,
) -> Result<(SourceImage, FileBlobs), ImageError> {
    if !files.has_file("oci-layout") {
        return Err(ImageError::new("not an OCI image layout (no oci-layout file)"));
    }
    let index: Value = serde_json::from_slice(&files.read_file("index.json")?)
        .map_err(|e| ImageError::new(format!("index.json is not JSON: {e}")))?;
    let entries = index
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| ImageError::new("index.json has no `manifests` array"))?;
    let root = pick(entries, reference)?;
    let refs = tagcore::image::references(&Manifest::new(
        tagcore::image::OCI_INDEX,
        serde_json::to_vec(&serde_json::json!({"manifests": [root]}))
            .map_err(|e| ImageError::new(e.to_string()))?,
    ))?;
    let d: &Descriptor = refs
        .manifests
        .first()
        .ok_or_else(|| ImageError::new("index.json names no image"))?;
    let root = Manifest::new(d.media_type.clone(), files.read_descriptor(d)?);
    let image = SourceImage::assemble(root, |c| files.read_descriptor(c))?;
    Ok((image, files))
}

/// Returns the entry of `index.json` that `reference` names (by `org.opencontainers.image.ref.name`).
fn pick<'a>(entries: &'a [Value], reference: Option<&str>) -> Result<&'a Value, ImageError> {
    let name = |e: &Value| {
        e.get("annotations")
            .and_then(|a| a.get(REF_NAME))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match reference {
        Some(r) => entries
            .iter()
            .find(|e| name(e).as_deref() == Some(r))
            .ok_or_else(|| {
                let names: Vec<String> = entries.iter().filter_map(name).collect();
                ImageError::new(format!(
                    "no image named {r:?} in index.json (it has: {})",
                    names.join(", ")
                ))
            }),
        None => match entries {
            [one] => Ok(one),
            [] => Err(ImageError::new("index.json holds no image")),
            _ => {
                let names: Vec<String> = entries.iter().filter_map(name).collect();
                Err(ImageError::new(format!(
                    "index.json holds {} images; name one after the path (`:<ref>`; it has: {})",
                    entries.len(),
                    names.join(", ")
                )))
            }
        },
    }
}
