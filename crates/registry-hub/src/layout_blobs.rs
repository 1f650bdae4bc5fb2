//! The blob half of the OCI-layout backend: presence, mounts (a hard link, else a copy, from
//! another repository's layout under the same root) and streamed uploads.

use std::fs;

use tagcore::{BlobUpload, Digest, RegistryError, RegistryErrorKind, Repository};

use crate::error_map;
use crate::layout::LayoutRegistry;
use crate::layout_files::write_atomic_from;

impl LayoutRegistry {
    /// Returns whether `repository`'s layout holds blob `digest`.
    pub(crate) fn holds_blob(&self, repository: &Repository, digest: &Digest) -> bool {
        self.blob_path(repository, digest).is_file()
    }

    /// Links blob `digest` of `from`'s layout into `repository`'s; `false` when `from` lacks it.
    pub(crate) fn link_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool, RegistryError> {
        let source = self.blob_path(from, digest);
        if !source.is_file() {
            return Ok(false);
        }
        self.ensure_layout(repository)?;
        let target = self.blob_path(repository, digest);
        let what = format!("mount blob {digest} from {from} into {repository}");
        if fs::hard_link(&source, &target).is_ok() || target.is_file() {
            return Ok(true);
        }
        let mut f = fs::File::open(&source).map_err(|e| error_map::from_io(e, &what))?;
        write_atomic_from(&target, &mut f).map_err(|e| error_map::from_io(e, &what))?;
        Ok(true)
    }

    /// Streams `blob` from its source into `repository`'s layout; the source's reader refuses
    /// content that does not hash to the digest, and nothing is renamed into place then.
    pub(crate) fn write_blob(
        &self,
        repository: &Repository,
        blob: &BlobUpload<'_>,
    ) -> Result<(), RegistryError> {
        self.ensure_layout(repository)?;
        let what = format!("write blob {repository}@{}", blob.digest);
        blob.progress.blob_started(blob.digest, blob.size);
        let mut reader = blob
            .source
            .open_blob(blob.digest, 0)
            .map_err(|e| source_error(&what, &e))?;
        let mut counted = Counted {
            inner: &mut reader,
            blob,
        };
        let n = write_atomic_from(&self.blob_path(repository, blob.digest), &mut counted)
            .map_err(|e| source_error(&what, &e))?;
        if n != blob.size {
            let _ = fs::remove_file(self.blob_path(repository, blob.digest));
            return Err(source_error(
                &what,
                &std::io::Error::other(format!("{n} bytes read; the manifest says {}", blob.size)),
            ));
        }
        Ok(())
    }
}

/// A reader that reports the bytes read as sent.
struct Counted<'a, 'b> {
    inner: &'a mut dyn std::io::Read,
    blob: &'a BlobUpload<'b>,
}

impl std::io::Read for Counted<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.blob.progress.bytes_sent(n as u64);
        Ok(n)
    }
}

fn source_error(what: &str, e: &std::io::Error) -> RegistryError {
    RegistryError::new(
        RegistryErrorKind::InvalidInput,
        format!("{what}: reading the source: {e}"),
    )
}
