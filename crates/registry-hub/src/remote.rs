//! The OCI distribution API client: implements [`tagcore::Registry`] for any registry.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Response};
use tagcore::{Digest, Manifest, Registry, RegistryError, RegistryErrorKind, Repository, Tag, TagListing};

use crate::auth::Access;
use crate::by_tag::Counter;
use crate::client::{OciConfig, Req, Transport, read_capped, unexpected};
use crate::error_map;
use crate::hub::HubClient;
use crate::manifest::{self, MANIFEST_ACCEPT, OCI_INDEX, content_media_type, media_type_of, read_digest};
use crate::retry::RateLimit;

/// A registry reached over the OCI distribution API (Docker Hub, GHCR, distribution, zot…).
///
/// Cloning is cheap and shares the connection pool and token cache. With
/// [`RemoteRegistry::with_hub`], `list_tags` on `docker.io` repositories uses Docker Hub's Hub
/// API to get push times and digests.
#[derive(Clone)]
pub struct RemoteRegistry {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    hub: Option<HubClient>,
    /// The registry whose listings the Hub API serves (`docker.io`, or a Hub-compatible
    /// service's registry).
    hub_host: String,
    multi_tag: Mutex<HashMap<String, bool>>,
    /// Requests sent and manifest GETs among them.
    counter: Counter,
}

impl std::fmt::Debug for RemoteRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteRegistry")
            .field("config", &self.inner.transport.config)
            .field("hub", &self.inner.hub.is_some())
            .finish()
    }
}

impl RemoteRegistry {
    /// Returns a client with `config`; fails only when the CA bundle cannot be read.
    pub fn new(config: OciConfig) -> Result<Self, RegistryError> {
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::new(config)?,
                hub: None,
                hub_host: tagcore::DOCKER_HUB.to_owned(),
                multi_tag: Mutex::new(HashMap::new()),
                counter: Counter::default(),
            }),
        })
    }

    /// Returns a client with `config` that lists `docker.io` tags through `hub`.
    pub fn with_hub(config: OciConfig, hub: HubClient) -> Result<Self, RegistryError> {
        Self::with_hub_for(config, hub, tagcore::DOCKER_HUB)
    }

    /// Returns a client with `config` that lists the tags of `host`'s repositories through
    /// `hub` — a Hub-compatible service in front of that registry (and tests).
    pub fn with_hub_for(config: OciConfig, hub: HubClient, host: &str) -> Result<Self, RegistryError> {
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::new(config)?,
                hub: Some(hub),
                hub_host: tagcore::canonical_registry(host),
                multi_tag: Mutex::new(HashMap::new()),
                counter: Counter::default(),
            }),
        })
    }

    /// Returns the rate-limit headers (`ratelimit-remaining`…) of the latest registry response
    /// that carried any.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.inner.transport.last_rate_limit()
    }

    /// Returns whether the Hub API serves `repository`'s listings (and deletes).
    pub(crate) fn hub_serves(&self, repository: &Repository) -> bool {
        self.inner.hub.is_some() && repository.registry() == self.inner.hub_host
    }

    /// Returns the Hub API client, when configured.
    pub fn hub(&self) -> Option<&HubClient> {
        self.inner.hub.as_ref()
    }

    pub(crate) fn req<'a>(
        &self,
        method: Method,
        repository: &'a Repository,
        suffix: &str,
        access: Access,
        what: &'a str,
    ) -> Result<Req<'a>, RegistryError> {
        Ok(Req {
            method,
            url: format!("{}/{suffix}", self.inner.transport.base_url(repository)?),
            repository,
            access,
            headers: HeaderMap::new(),
            body: None,
            idempotent: true,
            what,
        })
    }

    /// Returns a read request (`pull` scope) for `suffix`, accepting `accept` when given.
    pub(crate) fn pull_req<'a>(
        &self,
        method: Method,
        repository: &'a Repository,
        suffix: &str,
        accept: Option<&'static str>,
        what: &'a str,
    ) -> Result<Req<'a>, RegistryError> {
        let mut req = self.req(method, repository, suffix, Access::Pull, what)?;
        if let Some(a) = accept {
            req.headers.insert(ACCEPT, HeaderValue::from_static(a));
        }
        Ok(req)
    }

    pub(crate) async fn send(&self, req: &Req<'_>) -> Result<Response, RegistryError> {
        self.inner.counter.record(&req.method, &req.url);
        self.inner.transport.send(req).await
    }

    /// Returns the error for an unexpected response, with every credential this client holds
    /// for the registry removed from the message (a page may echo what it was sent).
    pub(crate) async fn refused(&self, resp: Response, what: &str, repository: &Repository) -> RegistryError {
        let mut err = unexpected(resp, what).await;
        err.message = self
            .inner
            .transport
            .redact_secrets(repository.registry(), &err.message);
        err
    }

    /// Stores `manifest` under every tag of `tags`: one multi-tag PUT (`?tag=…`) where the
    /// registry echoes the tags in `OCI-Tag`, otherwise (or for the tags it did not echo) one PUT
    /// per tag. Returns the manifest's digest.
    ///
    /// Whether a host supports multi-tag push is learnt from the first attempt (a PUT by digest
    /// that costs one request where it is ignored) and remembered for the client's lifetime;
    /// [`OciConfig::try_multi_tag_push`] turns the attempt off.
    pub async fn put_manifest_tags(
        &self,
        repository: &Repository,
        tags: &[Tag],
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let digest = manifest.digest();
        let mut remaining: Vec<&Tag> = tags.iter().collect();
        let host = repository.registry().to_owned();
        let known = self
            .inner
            .multi_tag
            .lock()
            .ok()
            .and_then(|m| m.get(&host).copied());
        let enabled = self.inner.transport.config.try_multi_tag_push;
        if tags.len() > 1 && enabled && known != Some(false) {
            let query = tags
                .iter()
                .map(|t| format!("tag={t}"))
                .collect::<Vec<_>>()
                .join("&");
            let what = format!("PUT manifest {repository}@{digest} with tags {}", join(tags));
            let accepted = match self
                .put_bytes(repository, &format!("{digest}?{query}"), manifest, &what)
                .await
            {
                Ok(accepted) => accepted,
                // A registry that refuses the query itself (400, 404, 405…) does not support it;
                // authentication, rate-limit and transient failures are real failures.
                Err(e)
                    if matches!(
                        e.kind,
                        RegistryErrorKind::InvalidInput | RegistryErrorKind::NotFound
                    ) =>
                {
                    HashSet::new()
                }
                Err(e) => return Err(e),
            };
            let supported = tags.iter().all(|t| accepted.contains(t.as_str()));
            if let Ok(mut m) = self.inner.multi_tag.lock() {
                m.insert(host, supported);
            }
            remaining.retain(|t| !accepted.contains(t.as_str()));
        }
        for tag in remaining {
            self.put_manifest(repository, tag, manifest).await?;
        }
        Ok(digest)
    }

    /// PUTs `manifest` at `reference`; checks the returned digest; returns the `OCI-Tag` echoes.
    async fn put_bytes(
        &self,
        repository: &Repository,
        reference: &str,
        manifest: &Manifest,
        what: &str,
    ) -> Result<HashSet<String>, RegistryError> {
        let digest = manifest.digest();
        if manifest.bytes.len() as u64 > self.inner.transport.config.max_manifest_bytes {
            return Err(error_map::invalid_input(what, "manifest exceeds the size limit"));
        }
        let mut req = self.req(
            Method::PUT,
            repository,
            &format!("manifests/{reference}"),
            Access::Push,
            what,
        )?;
        let ct = HeaderValue::from_str(&manifest.media_type)
            .map_err(|_| error_map::invalid_input(what, "media type is not a valid header value"))?;
        req.headers.insert(CONTENT_TYPE, ct);
        req.body = Some(manifest.bytes.clone());
        // Identical bytes under the same reference: a PUT is idempotent and may be retried.
        req.idempotent = true;
        let resp = self.send(&req).await?;
        if !resp.status().is_success() {
            return Err(self.refused(resp, what, repository).await);
        }
        if let Some(reported) = header_str(&resp, "docker-content-digest")
            && reported != digest.as_str()
        {
            return Err(error_map::invalid(
                what,
                format!("registry reported digest {reported} for bytes whose sha256 is {digest}; refusing"),
            ));
        }
        Ok(resp
            .headers()
            .get_all("oci-tag")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect())
    }

    /// Stores `manifest` by digest only (no tag), e.g. the platform manifests of an index before
    /// the index itself; returns the digest.
    pub async fn put_manifest_by_digest(
        &self,
        repository: &Repository,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let digest = manifest.digest();
        let what = format!("PUT manifest {repository}@{digest}");
        self.put_bytes(repository, digest.as_str(), manifest, &what)
            .await?;
        Ok(digest)
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
        let location = header_str(&resp, "location")
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
        if let Some(reported) = header_str(&resp, "docker-content-digest")
            && reported != digest.as_str()
        {
            return Err(error_map::invalid(
                &what,
                format!("registry reported digest {reported}"),
            ));
        }
        Ok(digest)
    }
}

fn join(tags: &[Tag]) -> String {
    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(",")
}

pub(crate) fn header_str<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

impl Registry for RemoteRegistry {
    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        let what = format!("HEAD manifest {repository}:{tag}");
        let Some(resp) = self.manifest_by_tag(Method::HEAD, repository, tag, &what).await? else {
            return Ok(None);
        };
        if let Some(d) = header_str(&resp, "docker-content-digest") {
            return d.parse().map(Some).map_err(|e| {
                error_map::invalid(&what, format!("Docker-Content-Digest {d:?} is invalid ({e})"))
            });
        }
        // No digest header on HEAD: read the manifest and hash it (costs a GET).
        let what = format!("GET manifest {repository}:{tag}");
        let Some(resp) = self.manifest_by_tag(Method::GET, repository, tag, &what).await? else {
            return Ok(None);
        };
        let bytes = read_capped(resp, self.inner.transport.config.max_manifest_bytes, &what).await?;
        Ok(Some(Digest::of(&bytes)))
    }

    async fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        let what = format!("GET manifest {repository}@{digest}");
        let req = self.pull_req(
            Method::GET,
            repository,
            &format!("manifests/{digest}"),
            Some(MANIFEST_ACCEPT),
            &what,
        )?;
        let resp = self.send(&req).await?;
        if !resp.status().is_success() {
            return Err(self.refused(resp, &what, repository).await);
        }
        if let Some(reported) = header_str(&resp, "docker-content-digest")
            && reported != digest.as_str()
        {
            return Err(error_map::invalid(
                &what,
                format!("registry reported digest {reported}"),
            ));
        }
        let content_type = content_media_type(header_str(&resp, "content-type"));
        let bytes = read_digest(
            resp,
            self.inner.transport.config.max_manifest_bytes,
            digest,
            &what,
        )
        .await?;
        let media_type = content_type
            .or_else(|| media_type_of(&bytes))
            .ok_or_else(|| error_map::invalid(&what, "no media type in Content-Type or in the manifest"))?;
        Ok(Manifest::new(media_type, bytes))
    }

    async fn fetch_manifest_by_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> Result<Option<Manifest>, RegistryError> {
        self.get_manifest_by_tag(repository, tag).await
    }

    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        let what = format!("PUT manifest {repository}:{tag} ({})", manifest.digest());
        self.put_bytes(repository, tag.as_str(), manifest, &what).await?;
        Ok(manifest.digest())
    }

    fn traffic(&self) -> Option<tagcore::Traffic> {
        let hub = self.inner.hub.as_ref().map_or(0, HubClient::requests_sent);
        Some(self.inner.counter.traffic(hub))
    }

    async fn list_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        self.list_scoped(repository, &tagcore::ListingScope::default())
            .await
    }

    async fn list_tags_scoped(
        &self,
        repository: &Repository,
        scope: &tagcore::ListingScope,
    ) -> Result<TagListing, RegistryError> {
        self.list_scoped(repository, scope).await
    }

    async fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let what = format!("GET blob {repository}@{digest}");
        let req = self.pull_req(Method::GET, repository, &format!("blobs/{digest}"), None, &what)?;
        let resp = self.send(&req).await?;
        if !resp.status().is_success() {
            return Err(self.refused(resp, &what, repository).await);
        }
        read_digest(resp, max_bytes, digest, &what).await
    }

    async fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        let what = format!("GET referrers of {repository}@{digest}");
        let req = self.pull_req(
            Method::GET,
            repository,
            &format!("referrers/{digest}"),
            Some(OCI_INDEX),
            &what,
        )?;
        let resp = self.send(&req).await?;
        match resp.status().as_u16() {
            404 | 405 | 501 => return Ok(None),
            s if (200..300).contains(&s) => {}
            _ => return Err(self.refused(resp, &what, repository).await),
        }
        let bytes = read_capped(resp, self.inner.transport.config.max_manifest_bytes, &what).await?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| error_map::invalid(&what, "the referrers index is not JSON"))?;
        if !v.get("manifests").is_some_and(serde_json::Value::is_array) {
            return Err(error_map::invalid(
                &what,
                "the referrers response is not an image index",
            ));
        }
        Ok(Some(Manifest::new(OCI_INDEX, bytes)))
    }

    async fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        manifest::image_revision(self, repository, digest).await
    }

    fn delete_mode(&self) -> Option<tagcore::retention::DeleteMode> {
        Some(self.deletes_by())
    }

    async fn delete_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        self.remove_tag(repository, tag, digest).await
    }
}
