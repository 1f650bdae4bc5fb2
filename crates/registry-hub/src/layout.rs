//! A local OCI image-layout directory used as a registry (the no-network backend).
//!
//! The root directory holds one OCI image layout per repository, at `root/<repository path>`
//! (the registry part of the [`Repository`] is ignored): `oci-layout`, `index.json` whose entries
//! carry the tag in the `org.opencontainers.image.ref.name` annotation, and `blobs/sha256/<hex>`.
//! The CLI names such a root with the reference form `oci:./path/to/dir`.
//!
//! Every file is written to a temporary file in the same directory and renamed into place, so a
//! reader never sees a partial file. Changes of `index.json` happen under an exclusive lock on
//! `<repository>/.tagcli.lock` (an advisory `flock`), so two processes never lose each other's
//! tag writes; a writer waits up to the lock timeout, then fails with `Conflict`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tagcore::{
    Digest, ListedTag, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, Tag, TagListing,
};

use crate::error_map;
use crate::layout_files::{entries, open_lock_file, ref_name, set_tag, tag_digest, write_atomic};
use crate::manifest::{self, OCI_INDEX, media_type_of};

/// The annotation holding a tag in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The largest manifest read from a layout.
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// What this handle last read of each tag: `(repository, tag)` → digest (`None`: absent).
type Observed = Arc<Mutex<HashMap<(String, String), Option<Digest>>>>;

/// A directory of OCI image layouts, one per repository, usable as a [`Registry`].
///
/// [`Registry::put_manifest`] is a compare-and-swap against this handle's last read of the tag
/// (the engine re-reads each tag right before writing it): under the repository's lock the tag
/// is read again, and if another writer moved it since, the write is refused with `Conflict`.
/// A tag this handle never read is written unconditionally. [`LayoutRegistry::put_manifest_if`]
/// takes the expected digest explicitly.
#[derive(Debug, Clone)]
pub struct LayoutRegistry {
    root: PathBuf,
    lock_timeout: Duration,
    observed: Observed,
}

/// An exclusive lock on a repository's layout, released when dropped.
#[derive(Debug)]
pub struct LayoutLock {
    _file: File,
}

impl LayoutRegistry {
    /// Returns a layout registry rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            lock_timeout: Duration::from_secs(10),
            observed: Arc::default(),
        }
    }

    /// Returns the layout root named by an `oci:<dir>` reference, e.g. `oci:./local-layout`.
    pub fn from_reference(reference: &str) -> Option<Self> {
        tagcore::image::layout_root(reference)
            .and_then(Result::ok)
            .map(Self::new)
    }

    /// Returns this registry waiting at most `timeout` for another writer's lock.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Returns the root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the layout directory of `repository` (`root/<path>`).
    pub fn repository_dir(&self, repository: &Repository) -> PathBuf {
        self.root.join(repository.path())
    }

    /// Returns the lock file of `repository`'s layout.
    pub fn lock_path(&self, repository: &Repository) -> PathBuf {
        self.repository_dir(repository).join(".tagcli.lock")
    }

    pub(crate) fn blob_path(&self, repository: &Repository, digest: &Digest) -> PathBuf {
        self.repository_dir(repository)
            .join("blobs")
            .join("sha256")
            .join(digest.hex())
    }

    /// Takes the exclusive lock of `repository`'s layout, waiting up to the lock timeout.
    pub async fn lock(&self, repository: &Repository) -> Result<LayoutLock, RegistryError> {
        let dir = self.repository_dir(repository);
        let what = format!("lock layout {}", dir.display());
        fs::create_dir_all(&dir).map_err(|e| error_map::from_io(e, &what))?;
        let path = self.lock_path(repository);
        let file = open_lock_file(&path).map_err(|e| error_map::from_io(e, &what))?;
        let deadline = Instant::now() + self.lock_timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LayoutLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(RegistryError::new(
                        RegistryErrorKind::Conflict,
                        format!(
                            "{what}: another process holds {} (waited {:?})",
                            path.display(),
                            self.lock_timeout
                        ),
                    ));
                }
                Err(fs::TryLockError::Error(e)) => return Err(error_map::from_io(e, &what)),
            }
        }
    }

    /// Stores `bytes` as a blob of `repository` and returns its digest (idempotent).
    pub async fn put_blob(&self, repository: &Repository, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        self.ensure_layout(repository)?;
        let path = self.blob_path(repository, &digest);
        // An existing blob is kept only when its bytes hash to its name: a corrupt blob of the
        // right size is replaced.
        if fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64)
            && fs::read(&path).is_ok_and(|stored| Digest::of(&stored) == digest)
        {
            return Ok(digest);
        }
        let what = format!("write blob {repository}@{digest}");
        write_atomic(&path, bytes).map_err(|e| error_map::from_io(e, &what))?;
        Ok(digest)
    }

    /// Stores `manifest` by digest (no tag), e.g. a platform manifest of an index or a signature
    /// artifact, and returns its digest.
    pub async fn put_manifest_by_digest(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        self.put_blob(repository, &manifest.bytes).await
    }

    /// Points `tag` at `manifest` only if the tag is at `expected` (`None`: absent) or already
    /// at the manifest, re-reading it under the repository's lock; otherwise `Conflict`, with
    /// nothing written but the (content-addressed) blob.
    pub async fn put_manifest_if(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
        expected: Option<&Digest>,
    ) -> Result<Digest, RegistryError> {
        self.put_tag(repository, tag, manifest, Some(expected)).await
    }

    /// Writes the tag under the lock; with `expected`, only if the tag is still there.
    async fn put_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
        expected: Option<Option<&Digest>>,
    ) -> Result<Digest, RegistryError> {
        let digest = self.put_blob(repository, &manifest.bytes).await?;
        let what = format!("tag {repository}:{tag} in layout");
        let _lock = self.lock(repository).await?;
        let mut index = self
            .read_index(repository)?
            .unwrap_or_else(|| json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}));
        if let Some(expected) = expected {
            let now = tag_digest(&index, tag, &what)?;
            if now.as_ref() != expected && now.as_ref() != Some(&digest) {
                let show = |d: Option<&Digest>| d.map_or_else(|| "(absent)".to_owned(), ToString::to_string);
                return Err(RegistryError::new(
                    RegistryErrorKind::Conflict,
                    format!(
                        "{what}: another writer moved it to {} since it was read at {}; not overwriting",
                        show(now.as_ref()),
                        show(expected)
                    ),
                ));
            }
        }
        set_tag(&mut index, tag, manifest, &digest, &what)?;
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| error_map::invalid(&what, e))?;
        write_atomic(&self.repository_dir(repository).join("index.json"), &bytes)
            .map_err(|e| error_map::from_io(e, &what))?;
        self.observe(repository, tag, Some(digest.clone()));
        Ok(digest)
    }

    /// Removes `tag` from `index.json` under the repository's lock (the manifest and its blobs
    /// stay). A tag already gone counts as deleted; a tag moved to another digest since the plan
    /// read it is refused with `Conflict`.
    pub async fn delete_tag_if(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let what = format!("delete tag {repository}:{tag} in layout");
        let _lock = self.lock(repository).await?;
        let Some(mut index) = self.read_index(repository)? else {
            return Ok(());
        };
        match tag_digest(&index, tag, &what)? {
            None => return Ok(()),
            Some(now) if &now != digest => {
                return Err(RegistryError::new(
                    RegistryErrorKind::Conflict,
                    format!("{what}: it moved to {now} since it was read at {digest}; not deleted"),
                ));
            }
            Some(_) => {}
        }
        if let Some(list) = index.get_mut("manifests").and_then(Value::as_array_mut) {
            list.retain(|e| ref_name(e) != Some(tag.as_str()));
        }
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| error_map::invalid(&what, e))?;
        write_atomic(&self.repository_dir(repository).join("index.json"), &bytes)
            .map_err(|e| error_map::from_io(e, &what))?;
        self.observe(repository, tag, None);
        Ok(())
    }

    fn observe(&self, repository: &Repository, tag: &Tag, digest: Option<Digest>) {
        if let Ok(mut seen) = self.observed.lock() {
            seen.insert((repository.to_string(), tag.to_string()), digest);
        }
    }

    fn observed(&self, repository: &Repository, tag: &Tag) -> Option<Option<Digest>> {
        let seen = self.observed.lock().ok()?;
        seen.get(&(repository.to_string(), tag.to_string())).cloned()
    }

    pub(crate) fn ensure_layout(&self, repository: &Repository) -> Result<(), RegistryError> {
        let dir = self.repository_dir(repository);
        let what = format!("create layout {}", dir.display());
        fs::create_dir_all(dir.join("blobs").join("sha256")).map_err(|e| error_map::from_io(e, &what))?;
        let marker = dir.join("oci-layout");
        if !marker.exists() {
            write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)
                .map_err(|e| error_map::from_io(e, &what))?;
        }
        Ok(())
    }

    /// Returns `index.json` of `repository`, or `None` when the layout does not exist.
    fn read_index(&self, repository: &Repository) -> Result<Option<Value>, RegistryError> {
        let path = self.repository_dir(repository).join("index.json");
        let what = format!("read {}", path.display());
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| error_map::invalid(&what, "not a JSON image index")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(error_map::from_io(e, &what)),
        }
    }

    fn read_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
        what: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let path = self.blob_path(repository, digest);
        let meta = fs::metadata(&path).map_err(|e| error_map::from_io(e, what))?;
        if meta.len() > max_bytes {
            return Err(error_map::invalid(
                what,
                format!("blob of {} bytes exceeds the limit of {max_bytes}", meta.len()),
            ));
        }
        let bytes = fs::read(&path).map_err(|e| error_map::from_io(e, what))?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(error_map::invalid(
                what,
                format!("the stored bytes hash to {actual} (corrupt layout)"),
            ));
        }
        Ok(bytes)
    }
}

impl Registry for LayoutRegistry {
    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        let what = format!("resolve {repository}:{tag} in layout");
        let found = match self.read_index(repository)? {
            Some(index) => tag_digest(&index, tag, &what)?,
            None => None,
        };
        self.observe(repository, tag, found.clone());
        Ok(found)
    }

    async fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        let what = format!("read manifest {repository}@{digest} from layout");
        let bytes = self.read_blob(repository, digest, MAX_MANIFEST_BYTES, &what)?;
        let from_index = self.read_index(repository)?.and_then(|index| {
            entries(&index)
                .find(|e| e.get("digest").and_then(Value::as_str) == Some(digest.as_str()))
                .and_then(|e| e.get("mediaType").and_then(Value::as_str).map(str::to_owned))
        });
        let media_type = from_index
            .or_else(|| media_type_of(&bytes))
            .ok_or_else(|| error_map::invalid(&what, "not a manifest (no media type)"))?;
        Ok(Manifest::new(media_type, bytes))
    }

    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let expected = self.observed(repository, tag);
        self.put_tag(repository, tag, manifest, expected.as_ref().map(Option::as_ref))
            .await
    }

    async fn list_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        // A repository without a layout yet has no tags (as a registry's unknown repository).
        let index = self.read_index(repository)?.unwrap_or(Value::Null);
        let mut listing = TagListing::default();
        for e in entries(&index) {
            let Some(name) = ref_name(e) else { continue };
            match name.parse::<Tag>() {
                Ok(tag) => listing.tags.push(ListedTag {
                    tag,
                    digest: e
                        .get("digest")
                        .and_then(Value::as_str)
                        .and_then(|d| d.parse().ok()),
                    pushed: None,
                }),
                Err(_) => listing.skipped_invalid.push(crate::sanitize::foreign(name)),
            }
        }
        Ok(listing)
    }

    async fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("read blob {repository}@{digest} from layout");
        self.read_blob(repository, digest, max_bytes, &what)
    }

    async fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        let dir = self.repository_dir(repository).join("blobs").join("sha256");
        let what = format!("referrers of {repository}@{digest} in layout");
        let mut found = Vec::new();
        let listing = match fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(Manifest::new(OCI_INDEX, referrers_index(found))));
            }
            Err(e) => return Err(error_map::from_io(e, &what)),
        };
        for entry in listing.flatten() {
            let small = entry
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= MAX_MANIFEST_BYTES);
            let name = entry.file_name().to_string_lossy().into_owned();
            if !small || name.starts_with('.') {
                continue;
            }
            let Ok(bytes) = fs::read(entry.path()) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            if v.get("subject")
                .and_then(|s| s.get("digest"))
                .and_then(Value::as_str)
                != Some(digest.as_str())
            {
                continue;
            }
            let media_type = media_type_of(&bytes).unwrap_or_default();
            let artifact_type = v
                .get("artifactType")
                .or_else(|| v.get("config").and_then(|c| c.get("mediaType")))
                .cloned()
                .unwrap_or(Value::Null);
            let mut d = json!({
                "mediaType": media_type,
                "digest": Digest::of(&bytes).as_str(),
                "size": bytes.len(),
                "artifactType": artifact_type,
            });
            if let (Some(a), Some(obj)) = (v.get("annotations"), d.as_object_mut()) {
                obj.insert("annotations".to_owned(), a.clone());
            }
            found.push(d);
        }
        found.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
        Ok(Some(Manifest::new(OCI_INDEX, referrers_index(found))))
    }

    async fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        manifest::image_revision(self, repository, digest).await
    }

    fn delete_mode(&self) -> Option<tagcore::retention::DeleteMode> {
        Some(tagcore::retention::DeleteMode::ByTag)
    }

    async fn delete_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        self.delete_tag_if(repository, tag, digest).await
    }

    async fn has_blob(&self, repository: &Repository, digest: &Digest) -> Result<bool, RegistryError> {
        Ok(self.holds_blob(repository, digest))
    }

    async fn mount_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool, RegistryError> {
        self.link_blob(repository, digest, from)
    }

    async fn upload_blob(
        &self,
        repository: &Repository,
        blob: &tagcore::BlobUpload<'_>,
    ) -> Result<(), RegistryError> {
        self.write_blob(repository, blob)
    }

    async fn put_manifest_by_digest(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        Self::put_manifest_by_digest(self, repository, manifest).await
    }
}

fn referrers_index(manifests: Vec<Value>) -> Vec<u8> {
    let v = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    serde_json::to_vec(&v).unwrap_or_default()
}
