//! The files of an OCI layout: `index.json` entries, the lock file, and atomic writes.

use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tagcore::{Digest, Manifest, RegistryError, Tag};

use crate::error_map;
use crate::layout::REF_NAME;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn entries(index: &Value) -> impl Iterator<Item = &Value> {
    index
        .get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

pub(crate) fn ref_name(entry: &Value) -> Option<&str> {
    entry.get("annotations")?.get(REF_NAME)?.as_str()
}

/// Returns the digest `tag` points at in `index`, `None` when it has no entry.
pub(crate) fn tag_digest(index: &Value, tag: &Tag, what: &str) -> Result<Option<Digest>, RegistryError> {
    entries(index)
        .find(|e| ref_name(e) == Some(tag.as_str()))
        .map(|e| {
            let d = e.get("digest").and_then(Value::as_str).unwrap_or("");
            d.parse::<Digest>()
                .map_err(|err| error_map::invalid(what, format!("index.json entry has digest {d:?} ({err})")))
        })
        .transpose()
}

/// Replaces `tag`'s entry in `index` by one for `manifest`.
pub(crate) fn set_tag(
    index: &mut Value,
    tag: &Tag,
    manifest: &Manifest,
    digest: &Digest,
    what: &str,
) -> Result<(), RegistryError> {
    let Some(obj) = index.as_object_mut() else {
        return Err(error_map::invalid(what, "index.json is not an object"));
    };
    let list = obj.entry("manifests").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(list) = list.as_array_mut() {
        list.retain(|e| ref_name(e) != Some(tag.as_str()));
        list.push(json!({
            "mediaType": manifest.media_type,
            "digest": digest.as_str(),
            "size": manifest.bytes.len(),
            "annotations": {REF_NAME: tag.as_str()},
        }));
    }
    Ok(())
}

/// Opens the lock file, creating it exclusively when absent; an existing one must be a regular
/// file (a symbolic link planted there is refused, never followed).
pub(crate) fn open_lock_file(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if !fs::symlink_metadata(path)?.file_type().is_file() {
                return Err(std::io::Error::other(format!(
                    "{} is not a regular file; refusing to use it as the lock",
                    path.display()
                )));
            }
            OpenOptions::new().write(true).open(path)
        }
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_from(path, &mut &bytes[..]).map(|_| ())
}

/// Streams `reader` into a temporary file beside `path`, syncs it and renames it over `path`;
/// returns the bytes written. Nothing lands at `path` when reading fails.
pub(crate) fn write_atomic_from(path: &Path, reader: &mut dyn std::io::Read) -> std::io::Result<u64> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".tmp-{}-{nanos}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        // Exclusive create: never reuse or follow whatever already sits at the temporary name.
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let n = std::io::copy(reader, &mut f)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(n)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
