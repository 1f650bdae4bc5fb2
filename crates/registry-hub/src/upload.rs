//! Blob presence, cross-repository mounts and uploads over the OCI distribution API.
//!
//! - `HEAD /v2/<name>/blobs/<digest>`: whether the repository holds a blob.
//! - `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>`: `201` mounted; `202` not
//!   mounted, and the upload session it opened is kept for the upload that follows.
//! - Blobs up to the chunk size: one monolithic `PUT <location>?digest=` with the bytes.
//! - Larger blobs: `PATCH` chunks with `Content-Range`, then `PUT <location>?digest=`. When a
//!   chunk fails, `GET <location>` tells how much arrived and the upload resumes from there; if
//!   the session is gone, it restarts once with a new session.
//!
//! The source's reader checks the blob's digest as it hands out the last bytes, and the final
//! `PUT` names the digest, so the registry commits only a blob that hashes to it. Reading and
//! hashing run on tokio's blocking pool ([`blocking`]), not on the runtime's thread (the CLI's
//! runtime has only one); a source is opened at offset 0 (a file open and a seek) and any bytes
//! to skip are hashed there too.

use std::io::Read;
use std::sync::atomic::Ordering;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Response};
use tagcore::{BlobUpload, Digest, RegistryError, RegistryErrorKind, Repository};

use crate::auth::Access;
use crate::error_map;
use crate::remote::RemoteRegistry;

/// The default chunk size: blobs up to this size go in one `PUT`, larger ones in chunks of it.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// An open upload session: where to send the next bytes, and how many the registry has.
struct Session {
    location: String,
    offset: u64,
}

impl RemoteRegistry {
    /// Sets the upload chunk size: blobs up to `bytes` go in one `PUT`, larger ones in
    /// `PATCH` chunks of `bytes` (at least 1).
    pub fn set_upload_chunk_size(&self, bytes: u64) {
        self.inner.upload_chunk.store(bytes.max(1), Ordering::Relaxed);
    }

    pub(crate) fn chunk_size(&self) -> u64 {
        self.inner.upload_chunk.load(Ordering::Relaxed)
    }

    /// Keeps the upload session a refused mount opened for `digest`.
    pub(crate) fn keep_session(&self, repository: &Repository, digest: &Digest, location: String) {
        if let Ok(mut m) = self.inner.sessions.lock() {
            m.insert(format!("{repository}@{digest}"), location);
        }
    }

    /// Takes the session kept for `digest`, if any.
    pub(crate) fn take_session(&self, repository: &Repository, digest: &Digest) -> Option<String> {
        self.inner
            .sessions
            .lock()
            .ok()?
            .remove(&format!("{repository}@{digest}"))
    }

    /// Uploads `bytes` as a blob of `repository` (skipped when the registry already has it) and
    /// returns its digest. Used to create images (tests, demo); a retag never needs it.
    pub async fn push_blob(&self, repository: &Repository, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        let what = format!("upload blob {repository}@{digest}");
        let head = self.req(
            Method::HEAD,
            repository,
            &format!("blobs/{digest}"),
            Access::Push,
            &what,
        )?;
        let resp = self.send(&head).await?;
        if resp.status().is_success() {
            return Ok(digest);
        }
        let start = self.req(Method::POST, repository, "blobs/uploads/", Access::Push, &what)?;
        let resp = self.send(&start).await?;
        if resp.status().as_u16() != 202 {
            return Err(self.refused(resp, &what, repository).await);
        }
        let location = header(&resp, "location")
            .ok_or_else(|| error_map::invalid(&what, "upload session without Location"))?
            .to_owned();
        let mut url = crate::listing::resolve_url(&start.url, &location)
            .ok_or_else(|| error_map::invalid(&what, "upload Location is not a URL on the registry"))?;
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let mut put = self.req(Method::PUT, repository, "", Access::Push, &what)?;
        put.url = url;
        put.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        put.body = Some(bytes.to_vec());
        put.idempotent = false;
        let resp = self.send(&put).await?;
        if resp.status().as_u16() != 201 {
            return Err(self.refused(resp, &what, repository).await);
        }
        if let Some(reported) = header(&resp, "docker-content-digest")
            && reported != digest.as_str()
        {
            return Err(error_map::invalid(
                &what,
                format!("registry reported digest {reported}"),
            ));
        }
        Ok(digest)
    }

    /// Returns whether `repository` holds blob `digest` (`HEAD`, `pull` scope).
    pub(crate) async fn head_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let what = format!("HEAD blob {repository}@{digest}");
        let req = self.req(
            Method::HEAD,
            repository,
            &format!("blobs/{digest}"),
            Access::Pull,
            &what,
        )?;
        let resp = self.send(&req).await?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.refused(resp, &what, repository).await),
        }
    }

    /// Mounts blob `digest` from `from` into `repository`; `false` when the registry opened an
    /// upload session instead (kept for [`Self::upload`]).
    pub(crate) async fn mount(
        &self,
        repository: &Repository,
        digest: &Digest,
        from: &Repository,
    ) -> Result<bool, RegistryError> {
        if from.registry() != repository.registry() {
            return Ok(false);
        }
        let what = format!("mount blob {digest} from {from} into {repository}");
        let suffix = format!("blobs/uploads/?mount={digest}&from={}", from.path());
        let mut req = self.req(Method::POST, repository, &suffix, Access::Push, &what)?;
        req.mount_from = Some(from);
        req.idempotent = false;
        let resp = self.send(&req).await?;
        match resp.status().as_u16() {
            201 => Ok(true),
            202 => {
                let location = self.location(&req.url, &resp, &what)?;
                self.keep_session(repository, digest, location);
                Ok(false)
            }
            _ => Err(self.refused(resp, &what, repository).await),
        }
    }

    /// Uploads `blob` to `repository`: one `PUT` up to the chunk size, else chunked `PATCH`es
    /// that resume (or restart once) after a failed chunk.
    pub(crate) async fn upload(
        &self,
        repository: &Repository,
        blob: &BlobUpload<'_>,
    ) -> Result<(), RegistryError> {
        let what = format!("upload blob {repository}@{}", blob.digest);
        blob.progress.blob_started(blob.digest, blob.size);
        let chunk = self.chunk_size();
        let session = match self.take_session(repository, blob.digest) {
            Some(location) => Session { location, offset: 0 },
            None => self.start_session(repository, &what).await?,
        };
        if blob.size <= chunk {
            let bytes = read_whole(blob).await.map_err(|e| source_error(&what, &e))?;
            return self.finish(repository, blob, session, bytes, &what).await;
        }
        match self.send_chunks(repository, blob, session, chunk, &what).await {
            Ok(session) => self.finish(repository, blob, session, Vec::new(), &what).await,
            Err(e) if e.kind == RegistryErrorKind::InvalidInput => Err(e),
            Err(_) => {
                // The session is gone or unreadable: one fresh start.
                let session = self.start_session(repository, &what).await?;
                let session = self.send_chunks(repository, blob, session, chunk, &what).await?;
                self.finish(repository, blob, session, Vec::new(), &what).await
            }
        }
    }

    /// Sends the blob from the session's offset in chunks; after a failed chunk, asks the
    /// registry how much it has (`GET <location>`) and goes on from there (at most 3 times).
    async fn send_chunks(
        &self,
        repository: &Repository,
        blob: &BlobUpload<'_>,
        mut session: Session,
        chunk: u64,
        what: &str,
    ) -> Result<Session, RegistryError> {
        let mut resumes = 0;
        let mut reader = open_at(blob, session.offset)
            .await
            .map_err(|e| source_error(what, &e))?;
        while session.offset < blob.size {
            let len = chunk.min(blob.size - session.offset);
            let (back, bytes) = read_chunk(reader, len)
                .await
                .map_err(|e| source_error(what, &e))?;
            reader = back;
            match self.patch(repository, &session, bytes, what).await {
                Ok(location) => {
                    session.location = location;
                    session.offset += len;
                    blob.progress.bytes_sent(len);
                }
                Err(e) if resumes < 3 => {
                    resumes += 1;
                    let before = session.offset;
                    session = self
                        .status(repository, &session.location, what)
                        .await
                        .map_err(|_| e)?;
                    if session.offset > blob.size {
                        return Err(error_map::invalid(
                            what,
                            "the registry holds more bytes than the blob",
                        ));
                    }
                    if session.offset > before {
                        blob.progress.bytes_sent(session.offset - before);
                    }
                    reader = open_at(blob, session.offset)
                        .await
                        .map_err(|e| source_error(what, &e))?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(session)
    }

    /// Sends one chunk at the session's offset; returns the next location.
    async fn patch(
        &self,
        repository: &Repository,
        session: &Session,
        bytes: Vec<u8>,
        what: &str,
    ) -> Result<String, RegistryError> {
        let mut req = self.req(Method::PATCH, repository, "", Access::Push, what)?;
        req.url.clone_from(&session.location);
        let end = session.offset + bytes.len() as u64 - 1;
        req.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        req.headers.insert(
            "content-range",
            HeaderValue::from_str(&format!("{}-{end}", session.offset))
                .map_err(|_| error_map::invalid_input(what, "bad Content-Range"))?,
        );
        req.body = Some(bytes);
        req.idempotent = false;
        let resp = self.send(&req).await?;
        if resp.status().as_u16() != 202 {
            return Err(self.refused(resp, what, repository).await);
        }
        self.location(&req.url, &resp, what)
    }

    /// Returns the session at `location` as the registry sees it (`GET`, `Range: 0-<last>`).
    async fn status(
        &self,
        repository: &Repository,
        location: &str,
        what: &str,
    ) -> Result<Session, RegistryError> {
        let mut req = self.req(Method::GET, repository, "", Access::Push, what)?;
        req.url = location.to_owned();
        let resp = self.send(&req).await?;
        if resp.status().as_u16() != 204 {
            return Err(self.refused(resp, what, repository).await);
        }
        let offset = match header(&resp, "range") {
            Some(r) => {
                parse_range_end(r).ok_or_else(|| error_map::invalid(what, format!("bad Range {r:?}")))?
            }
            None => 0,
        };
        let location = match header(&resp, "location") {
            Some(_) => self.location(&req.url, &resp, what)?,
            None => location.to_owned(),
        };
        Ok(Session { location, offset })
    }

    /// Commits the session with `PUT <location>?digest=` and `body` (the whole blob, or nothing
    /// after chunks); checks the digest the registry reports.
    async fn finish(
        &self,
        repository: &Repository,
        blob: &BlobUpload<'_>,
        session: Session,
        body: Vec<u8>,
        what: &str,
    ) -> Result<(), RegistryError> {
        let sent = body.len() as u64;
        let mut url = session.location;
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={}", blob.digest));
        let mut req = self.req(Method::PUT, repository, "", Access::Push, what)?;
        req.url = url;
        req.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        req.headers.insert(CONTENT_LENGTH, HeaderValue::from(sent));
        req.body = Some(body);
        req.idempotent = false;
        let resp = self.send(&req).await?;
        if resp.status().as_u16() != 201 {
            return Err(self.refused(resp, what, repository).await);
        }
        if let Some(reported) = header(&resp, "docker-content-digest")
            && reported != blob.digest.as_str()
        {
            return Err(error_map::invalid(
                what,
                format!("registry reported digest {reported}"),
            ));
        }
        blob.progress.bytes_sent(sent);
        Ok(())
    }

    /// Opens an upload session (`POST /v2/<name>/blobs/uploads/`).
    async fn start_session(&self, repository: &Repository, what: &str) -> Result<Session, RegistryError> {
        let mut req = self.req(Method::POST, repository, "blobs/uploads/", Access::Push, what)?;
        req.idempotent = false;
        let resp = self.send(&req).await?;
        if resp.status().as_u16() != 202 {
            return Err(self.refused(resp, what, repository).await);
        }
        Ok(Session {
            location: self.location(&req.url, &resp, what)?,
            offset: 0,
        })
    }

    /// Returns the absolute URL of the response's `Location`, which must be on the registry.
    fn location(&self, base: &str, resp: &Response, what: &str) -> Result<String, RegistryError> {
        let location = header(resp, "location")
            .ok_or_else(|| error_map::invalid(what, "upload session without Location"))?;
        let url = crate::listing::resolve_url(base, location)
            .ok_or_else(|| error_map::invalid(what, "upload Location is not a URL on the registry"))?;
        Ok(url)
    }
}

fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Returns the offset after `0-<last>` (the bytes the registry holds), `0-0` meaning none when
/// sent by registries that cannot express an empty range.
fn parse_range_end(range: &str) -> Option<u64> {
    let range = range.strip_prefix("bytes=").unwrap_or(range);
    let (start, end) = range.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    // distribution answers `0--1` for a session that holds nothing yet.
    if end.trim() == "-1" {
        return Some(0);
    }
    let end: u64 = end.trim().parse().ok()?;
    Some(end + 1)
}

/// A blob's reader, handed to the blocking pool and back.
type Reader = Box<dyn Read + Send>;

/// Runs `f` (file reads, hashing) on tokio's blocking pool, off the async runtime's thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| std::io::Error::other(format!("the read task failed: {e}")))?
}

/// Opens `blob` at `offset`: the bytes before it are read and hashed (as the source's own
/// `open_blob(digest, offset)` does), in the blocking pool.
async fn open_at(blob: &BlobUpload<'_>, offset: u64) -> std::io::Result<Reader> {
    let mut reader = blob.source.open_blob(blob.digest, 0)?;
    if offset == 0 {
        return Ok(reader);
    }
    blocking(move || {
        std::io::copy(&mut (&mut reader).take(offset), &mut std::io::sink())?;
        Ok(reader)
    })
    .await
}

/// Reads exactly `len` bytes (one chunk) from `reader` in the blocking pool; hands the reader
/// back with them.
async fn read_chunk(mut reader: Reader, len: u64) -> std::io::Result<(Reader, Vec<u8>)> {
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("chunk too large"))?;
    blocking(move || {
        let mut buf = vec![0; len];
        reader.read_exact(&mut buf)?;
        Ok((reader, buf))
    })
    .await
}

/// Reads the whole of a small blob in the blocking pool, checked against its size and digest
/// (as [`BlobUpload::read_all`] does).
async fn read_whole(blob: &BlobUpload<'_>) -> std::io::Result<Vec<u8>> {
    let mut reader = blob.source.open_blob(blob.digest, 0)?;
    let (size, digest) = (blob.size, blob.digest.clone());
    blocking(move || {
        let mut out = Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0));
        reader.read_to_end(&mut out)?;
        if out.len() as u64 != size || Digest::of(&out) != digest {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("blob {digest} does not match its size and digest"),
            ));
        }
        Ok(out)
    })
    .await
}

fn source_error(what: &str, e: &std::io::Error) -> RegistryError {
    RegistryError::new(
        RegistryErrorKind::InvalidInput,
        format!("{what}: reading the source: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_range_end;

    #[test]
    fn ranges_give_the_next_offset() {
        assert_eq!(parse_range_end("0-99"), Some(100));
        assert_eq!(parse_range_end("bytes=0-0"), Some(1));
        assert_eq!(parse_range_end("0--1"), Some(0));
        assert_eq!(parse_range_end("5-9"), None);
        assert_eq!(parse_range_end("0-x"), None);
    }
}
