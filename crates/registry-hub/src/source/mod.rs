//! Image sources for `publish --from`: an OCI archive, an OCI layout directory, a
//! `docker save` archive. Opening one reads only the small files (`index.json`, manifests,
//! `manifest.json`, configs) and indexes where every blob lies; blobs are streamed from the
//! files at upload time, each checked against its digest as it is read.
//!
//! Everything is checked when the source is opened, before any request: the image the
//! reference picks, every manifest against its descriptor, and that every blob is there.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tagcore::image::{Descriptor, ImageError, MAX_MANIFEST_BYTES, SourceImage, SourceName, checked};
use tagcore::{BlobSource, Digest};

mod docker;
mod oci;

/// An opened source: the image to push and where its blobs lie.
pub struct OpenedSource {
    /// The source as named.
    pub name: SourceName,
    /// The image: manifests in push order, blobs.
    pub image: SourceImage,
    blobs: FileBlobs,
}

impl std::fmt::Debug for OpenedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSource")
            .field("name", &self.name)
            .field("digest", &self.image.digest)
            .finish_non_exhaustive()
    }
}

impl OpenedSource {
    /// Returns the reader of this source's blobs.
    pub fn blobs(&self) -> &dyn BlobSource {
        &self.blobs
    }
}

/// Opens the source `name` names, reading its index and manifests (not its layers). Errors
/// name the source.
pub fn open_source(name: &SourceName) -> Result<OpenedSource, ImageError> {
    let named = |e: ImageError| ImageError::new(format!("source {name}: {}", e.message));
    let (image, blobs) = match name {
        SourceName::OciArchive { path, reference } => {
            let files = FileBlobs::from_tar(path).map_err(named)?;
            oci::open(files, reference.as_deref()).map_err(named)?
        }
        SourceName::OciLayout { dir, reference } => {
            let files = FileBlobs::from_dir(dir).map_err(named)?;
            oci::open(files, reference.as_deref()).map_err(named)?
        }
        SourceName::DockerArchive { path, reference } => {
            let files = FileBlobs::from_tar(path).map_err(named)?;
            if files.has_file("index.json") && files.has_file("oci-layout") && reference.is_none() {
                oci::open(files, None).map_err(named)?
            } else {
                docker::open(files, reference.as_deref()).map_err(named)?
            }
        }
    };
    for b in &image.blobs {
        if !blobs.blobs.contains_key(&b.digest) {
            return Err(named(ImageError::new(format!("blob {} is missing", b.digest))));
        }
    }
    Ok(OpenedSource {
        name: name.clone(),
        image,
        blobs,
    })
}

/// Where a file's bytes lie: a whole file, or a range of an archive.
#[derive(Debug, Clone)]
struct Span {
    path: PathBuf,
    start: u64,
    len: u64,
}

/// The files of a source by name, and its blobs by digest.
#[derive(Debug, Default)]
pub(crate) struct FileBlobs {
    files: HashMap<String, Span>,
    blobs: HashMap<Digest, Span>,
}

impl FileBlobs {
    /// Indexes the regular files of the tar at `path` (no data read).
    fn from_tar(path: &Path) -> Result<Self, ImageError> {
        let io = |e: std::io::Error| ImageError::new(format!("reading {}: {e}", path.display()));
        let mut magic = [0u8; 2];
        let n = File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(io)?;
        if n == 2 && magic == [0x1f, 0x8b] {
            return Err(ImageError::new(format!(
                "{} is gzip-compressed; expected a plain tar (as skopeo writes it)",
                path.display()
            )));
        }
        let mut archive = tar::Archive::new(File::open(path).map_err(io)?);
        let mut out = Self::default();
        for entry in archive.entries().map_err(io)? {
            let entry = entry.map_err(io)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry.path().map_err(io)?.to_string_lossy().into_owned();
            let span = Span {
                path: path.to_owned(),
                start: entry.raw_file_position(),
                len: entry.size(),
            };
            out.add(normalise(&name), span);
        }
        Ok(out)
    }

    /// Indexes an OCI layout directory's `index.json` and `blobs/sha256/*`.
    fn from_dir(dir: &Path) -> Result<Self, ImageError> {
        let io = |e: std::io::Error| ImageError::new(format!("reading {}: {e}", dir.display()));
        let mut out = Self::default();
        for name in ["index.json", "oci-layout"] {
            let p = dir.join(name);
            if let Ok(m) = std::fs::metadata(&p) {
                out.add(
                    name.to_owned(),
                    Span {
                        path: p,
                        start: 0,
                        len: m.len(),
                    },
                );
            }
        }
        let blobs = dir.join("blobs").join("sha256");
        for entry in std::fs::read_dir(&blobs).map_err(io)? {
            let entry = entry.map_err(io)?;
            let meta = entry.metadata().map_err(io)?;
            if meta.is_file() {
                let name = format!("blobs/sha256/{}", entry.file_name().to_string_lossy());
                out.add(
                    name,
                    Span {
                        path: entry.path(),
                        start: 0,
                        len: meta.len(),
                    },
                );
            }
        }
        Ok(out)
    }

    fn add(&mut self, name: String, span: Span) {
        if let Some(hex) = name.strip_prefix("blobs/sha256/")
            && let Ok(d) = format!("sha256:{hex}").parse::<Digest>()
        {
            self.blobs.insert(d, span.clone());
        }
        self.files.insert(name, span);
    }

    fn has_file(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Returns a small file's bytes (at most the manifest limit).
    fn read_file(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let span = self
            .files
            .get(name)
            .ok_or_else(|| ImageError::new(format!("{name} is missing")))?;
        read_span(span, name)
    }

    /// Registers `span` (a file of the archive) as the blob `digest` (docker archives).
    fn alias_blob(&mut self, file: &str, digest: Digest) -> Result<u64, ImageError> {
        let span = self
            .files
            .get(file)
            .ok_or_else(|| ImageError::new(format!("{file} is missing")))?;
        let len = span.len;
        self.blobs.insert(digest, span.clone());
        Ok(len)
    }

    /// Returns the bytes `d` describes, checked against it (manifests only: size-capped).
    fn read_descriptor(&self, d: &Descriptor) -> Result<Vec<u8>, ImageError> {
        let span = self
            .blobs
            .get(&d.digest)
            .ok_or_else(|| ImageError::new(format!("blob {} is missing", d.digest)))?;
        checked(d, read_span(span, d.digest.as_str())?)
    }
}

fn read_span(span: &Span, name: &str) -> Result<Vec<u8>, ImageError> {
    if span.len > MAX_MANIFEST_BYTES {
        return Err(ImageError::new(format!(
            "{name} is {} bytes, over the {MAX_MANIFEST_BYTES}-byte limit",
            span.len
        )));
    }
    let io = |e: std::io::Error| ImageError::new(format!("reading {name} from {}: {e}", span.path.display()));
    let mut f = File::open(&span.path).map_err(io)?;
    f.seek(SeekFrom::Start(span.start)).map_err(io)?;
    let mut buf = Vec::new();
    f.take(span.len).read_to_end(&mut buf).map_err(io)?;
    Ok(buf)
}

fn normalise(name: &str) -> String {
    name.trim_start_matches("./").to_owned()
}

impl BlobSource for FileBlobs {
    fn open_blob(&self, digest: &Digest, offset: u64) -> std::io::Result<Box<dyn Read + Send>> {
        let span = self.blobs.get(digest).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("blob {digest} is not in the source"),
            )
        })?;
        if span.len == 0 && *digest != Digest::of(b"") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("blob {digest} is empty in the source; refusing it"),
            ));
        }
        let mut f = File::open(&span.path)?;
        f.seek(SeekFrom::Start(span.start))?;
        let mut reader = Verified {
            inner: f.take(span.len),
            hasher: Sha256::new(),
            remaining: span.len,
            digest: digest.clone(),
        };
        // The bytes before `offset` are hashed, not handed out: the check covers the whole blob.
        std::io::copy(&mut (&mut reader).take(offset), &mut std::io::sink())?;
        Ok(Box::new(reader))
    }
}

/// A reader of one blob that fails instead of handing out its last bytes when the whole does
/// not hash to the digest.
struct Verified {
    inner: std::io::Take<File>,
    hasher: Sha256,
    remaining: u64,
    digest: Digest,
}

impl Read for Verified {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("blob {} ends {} bytes early", self.digest, self.remaining),
            ));
        }
        self.hasher.update(&buf[..n]);
        self.remaining -= n as u64;
        if self.remaining == 0 {
            let got = hex::encode(self.hasher.clone().finalize());
            if got != self.digest.hex() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("blob {} hashes to sha256:{got}; refusing it", self.digest),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
