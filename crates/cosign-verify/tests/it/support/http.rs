//! A minimal `tagcore::Registry` over plain HTTP for the loopback test registry (no auth, no
//! retries), plus the blob and manifest pushes the tests need. registry-hub replaces it in
//! production.

use cosign_verify::testing::Artifact;
use reqwest::StatusCode;
use tagcore::{Digest, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, Tag, TagListing};

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
                      application/vnd.docker.distribution.manifest.v2+json, \
                      application/vnd.docker.distribution.manifest.list.v2+json";

pub(crate) struct HttpRegistry {
    base: String,
    client: reqwest::Client,
}

fn transport(e: reqwest::Error) -> RegistryError {
    RegistryError::new(RegistryErrorKind::Transient, format!("request failed: {e}"))
}

fn status_error(status: StatusCode, what: &str) -> RegistryError {
    let kind = match status {
        StatusCode::NOT_FOUND => RegistryErrorKind::NotFound,
        StatusCode::UNAUTHORIZED => RegistryErrorKind::Unauthorized,
        StatusCode::FORBIDDEN => RegistryErrorKind::Forbidden,
        StatusCode::TOO_MANY_REQUESTS => RegistryErrorKind::RateLimited,
        s if s.is_server_error() => RegistryErrorKind::Transient,
        _ => RegistryErrorKind::InvalidResponse,
    };
    RegistryError::new(kind, format!("{what}: HTTP {status}"))
}

impl HttpRegistry {
    pub(crate) fn new(addr: &str) -> Self {
        assert!(
            addr.starts_with("127.0.0.1:"),
            "tests talk to loopback only: {addr}"
        );
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder().no_proxy().build().expect("client"),
        }
    }

    fn url(&self, repository: &Repository, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.base, repository.path())
    }

    /// Uploads the artifact's blobs, then its manifest (under its tag, or by digest).
    pub(crate) async fn push(&self, repository: &Repository, artifact: &Artifact) -> Digest {
        let addr = self.base.trim_start_matches("http://");
        cosign_verify::testing::push_to_registry(addr, repository.path(), artifact)
            .await
            .expect("push")
    }
}

impl Registry for HttpRegistry {
    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        let resp = self
            .client
            .head(self.url(repository, &format!("manifests/{tag}")))
            .header("Accept", ACCEPT)
            .send()
            .await
            .map_err(transport)?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::OK => {
                let d = resp
                    .headers()
                    .get("Docker-Content-Digest")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        RegistryError::new(RegistryErrorKind::InvalidResponse, "no Docker-Content-Digest")
                    })?;
                d.parse().map(Some).map_err(|e| {
                    RegistryError::new(RegistryErrorKind::InvalidResponse, format!("bad digest: {e}"))
                })
            }
            s => Err(status_error(s, &format!("resolving {tag}"))),
        }
    }

    async fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        let resp = self
            .client
            .get(self.url(repository, &format!("manifests/{digest}")))
            .header("Accept", ACCEPT)
            .send()
            .await
            .map_err(transport)?;
        if resp.status() != StatusCode::OK {
            return Err(status_error(resp.status(), &format!("manifest {digest}")));
        }
        let media_type = resp
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.bytes().await.map_err(transport)?.to_vec();
        let manifest = Manifest::new(media_type, bytes);
        if manifest.digest() != *digest {
            return Err(RegistryError::new(
                RegistryErrorKind::InvalidResponse,
                "manifest digest mismatch",
            ));
        }
        Ok(manifest)
    }

    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let resp = self
            .client
            .put(self.url(repository, &format!("manifests/{tag}")))
            .header("Content-Type", &manifest.media_type)
            .body(manifest.bytes.clone())
            .send()
            .await
            .map_err(transport)?;
        if resp.status() != StatusCode::CREATED {
            return Err(status_error(resp.status(), &format!("putting {tag}")));
        }
        Ok(manifest.digest())
    }

    async fn list_tags(&self, _repository: &Repository) -> Result<TagListing, RegistryError> {
        Err(RegistryError::new(
            RegistryErrorKind::Unsupported,
            "not needed by these tests",
        ))
    }

    async fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let resp = self
            .client
            .get(self.url(repository, &format!("blobs/{digest}")))
            .send()
            .await
            .map_err(transport)?;
        if resp.status() != StatusCode::OK {
            return Err(status_error(resp.status(), &format!("blob {digest}")));
        }
        let bytes = resp.bytes().await.map_err(transport)?.to_vec();
        if bytes.len() as u64 > max_bytes {
            return Err(RegistryError::new(
                RegistryErrorKind::InvalidResponse,
                "blob too large",
            ));
        }
        if Digest::of(&bytes) != *digest {
            return Err(RegistryError::new(
                RegistryErrorKind::InvalidResponse,
                "blob digest mismatch",
            ));
        }
        Ok(bytes)
    }

    async fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        let resp = self
            .client
            .get(self.url(repository, &format!("referrers/{digest}")))
            .send()
            .await
            .map_err(transport)?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::OK => Ok(Some(Manifest::new(
                "application/vnd.oci.image.index.v1+json",
                resp.bytes().await.map_err(transport)?.to_vec(),
            ))),
            s => Err(status_error(s, "referrers")),
        }
    }

    async fn image_revision(
        &self,
        _repository: &Repository,
        _digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        Ok(None)
    }
}

/// Lets a verifier borrow the scenario's registry.
impl Registry for &HttpRegistry {
    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        (**self).resolve_tag(repository, tag).await
    }
    async fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        (**self).fetch_manifest(repository, digest).await
    }
    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        (**self).put_manifest(repository, tag, manifest).await
    }
    async fn list_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        (**self).list_tags(repository).await
    }
    async fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        (**self).fetch_blob(repository, digest, max_bytes).await
    }
    async fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        (**self).fetch_referrers(repository, digest).await
    }
    async fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        (**self).image_revision(repository, digest).await
    }
}
