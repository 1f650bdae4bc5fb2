//! Requests by tag (one GET where the bytes are needed, instead of a HEAD and a GET by
//! digest), and the count of requests sent.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, Response};
use tagcore::{Digest, Manifest, RegistryError, Repository, Tag, Traffic};

use crate::client::read_capped;
use crate::error_map;
use crate::manifest::{MANIFEST_ACCEPT, content_media_type, media_type_of};
use crate::remote::{RemoteRegistry, header_str};

impl RemoteRegistry {
    /// Sends `method` for the manifest tagged `tag`: `None` when it does not exist, an error
    /// for any other non-success status.
    pub(crate) async fn manifest_by_tag(
        &self,
        method: Method,
        repository: &Repository,
        tag: &Tag,
        what: &str,
    ) -> Result<Option<Response>, RegistryError> {
        let req = self.pull_req(
            method,
            repository,
            &format!("manifests/{tag}"),
            Some(MANIFEST_ACCEPT),
            what,
        )?;
        let resp = self.send(&req).await?;
        match resp.status().as_u16() {
            404 => Ok(None),
            s if (200..300).contains(&s) => Ok(Some(resp)),
            _ => Err(self.refused(resp, what, repository).await),
        }
    }

    /// Returns the manifest `tag` points at, read with one GET by tag (its digest is the
    /// sha256 of the bytes; a `Docker-Content-Digest` naming another is refused), or `None`
    /// when the tag does not exist.
    pub(crate) async fn get_manifest_by_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> Result<Option<Manifest>, RegistryError> {
        let what = format!("GET manifest {repository}:{tag}");
        let Some(resp) = self.manifest_by_tag(Method::GET, repository, tag, &what).await? else {
            return Ok(None);
        };
        let reported = header_str(&resp, "docker-content-digest").map(str::to_owned);
        let content_type = content_media_type(header_str(&resp, "content-type"));
        let bytes = read_capped(resp, self.inner.transport.config.max_manifest_bytes, &what).await?;
        let digest = Digest::of(&bytes);
        if let Some(reported) = reported.filter(|r| r != digest.as_str()) {
            return Err(error_map::invalid(
                &what,
                format!("registry reported digest {reported} for bytes whose sha256 is {digest}"),
            ));
        }
        let media_type = content_type
            .or_else(|| media_type_of(&bytes))
            .ok_or_else(|| error_map::invalid(&what, "no media type in Content-Type or in the manifest"))?;
        Ok(Some(Manifest::new(media_type, bytes)))
    }
}

/// Counts the requests a client sends, and the manifest GETs among them (Docker Hub's pulls).
#[derive(Debug, Default)]
pub(crate) struct Counter {
    requests: AtomicU64,
    pulls: AtomicU64,
}

impl Counter {
    /// Records a request of `method` to `url`.
    pub(crate) fn record(&self, method: &Method, url: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if method == Method::GET && url.contains("/manifests/") {
            self.pulls.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Returns what was sent, with `other` more requests (the Hub API's).
    pub(crate) fn traffic(&self, other: u64) -> Traffic {
        Traffic {
            requests: self.requests.load(Ordering::Relaxed) + other,
            pulls: self.pulls.load(Ordering::Relaxed),
        }
    }
}
