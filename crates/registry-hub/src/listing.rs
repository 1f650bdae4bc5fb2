//! Tag listing through the OCI `/tags/list` API, with `Link` pagination.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderValue};
use tagcore::{ListedTag, ListingScope, RegistryError, RegistryErrorKind, Repository, Tag, TagListing};

use crate::auth::Access;
use crate::client::read_capped;
use crate::error_map;
use crate::manifest::link_next;
use crate::remote::RemoteRegistry;

/// The default total size of one listing's pages (a listing of 32 MiB holds about 300,000 tags).
pub(crate) const DEFAULT_MAX_LISTING_BYTES: u64 = 32 * 1024 * 1024;

/// The default longest time of one listing.
pub(crate) const DEFAULT_MAX_LISTING_TIME: Duration = Duration::from_secs(300);

/// The largest single page of `/tags/list`.
const MAX_TAG_PAGE_BYTES: u64 = 16 * 1024 * 1024;

/// Counts what a paginated listing has read, and says when it has read enough.
pub(crate) struct ListingBudget {
    started: Instant,
    bytes: u64,
    max_bytes: u64,
    max_time: Duration,
}

impl ListingBudget {
    pub(crate) fn new(max_bytes: u64, max_time: Duration) -> Self {
        Self {
            started: Instant::now(),
            bytes: 0,
            max_bytes,
            max_time,
        }
    }

    /// Records a page of `len` bytes.
    pub(crate) fn add(&mut self, len: usize) {
        self.bytes = self.bytes.saturating_add(len as u64);
    }

    /// Returns why the listing must stop after `pages` pages, when it must.
    pub(crate) fn exhausted(&self, pages: u32) -> Option<String> {
        if self.bytes > self.max_bytes {
            return Some(format!(
                "stopped after {pages} pages: the listing passed its total of {} bytes ({} bytes read); more remain",
                self.max_bytes, self.bytes
            ));
        }
        let took = self.started.elapsed();
        (took > self.max_time).then(|| {
            format!(
                "stopped after {pages} pages: the listing passed its time limit of {:?} (took {took:?}); more remain",
                self.max_time
            )
        })
    }
}

impl RemoteRegistry {
    /// Returns the tags `scope` needs: through the Hub API where it serves `repository`, else
    /// (and during a Hub API outage: 5xx, timeout, refused connection) through the registry's
    /// own `/tags/list`, flagged `degraded` in the latter case.
    pub(crate) async fn list_scoped(
        &self,
        repository: &Repository,
        scope: &ListingScope,
    ) -> Result<TagListing, RegistryError> {
        let Some(hub) = self.hub().filter(|_| self.hub_serves(repository)) else {
            return self.list_tags_oci(repository).await;
        };
        match hub.list_repository_tags_scoped(repository, scope).await {
            Err(e) if e.kind == RegistryErrorKind::Transient => {
                let mut listing = self.list_tags_oci(repository).await?;
                listing.degraded = Some(format!(
                    "the Docker Hub API is unavailable ({}); tags of {repository} were listed through the registry \
                     instead, without push times",
                    e.message
                ));
                Ok(listing)
            }
            other => other,
        }
    }

    /// Returns the tags through the OCI `/tags/list` API (never the Hub API), following `Link`
    /// pagination, tolerating registries that ignore `n`/`last` or return tags unsorted. A
    /// repository the registry does not know (`NAME_UNKNOWN`) has an empty listing.
    pub async fn list_tags_oci(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        let base = self.inner.transport.base_url(repository)?;
        let page_size = self.inner.transport.config.tag_page_size;
        let max_pages = self.inner.transport.config.max_tag_pages.max(1);
        let what = format!("list tags of {repository}");
        let mut url = format!("{base}/tags/list?n={page_size}");
        let mut seen_urls = HashSet::new();
        let mut seen_tags = HashSet::new();
        let mut listing = TagListing::default();
        let config = &self.inner.transport.config;
        let mut budget = ListingBudget::new(config.max_listing_bytes, config.max_listing_time);
        for page in 1..=max_pages {
            seen_urls.insert(url.clone());
            let mut req = self.req(Method::GET, repository, "tags/list", Access::Pull, &what)?;
            req.url = url.clone();
            req.headers
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
            let resp = self.send(&req).await?;
            if resp.status().as_u16() == 404 && page == 1 {
                // A repository nobody pushed to yet has no tags (NAME_UNKNOWN); any other 404
                // stays an error. Authentication failures are 401/403, never this.
                let body = read_capped(resp, 64 * 1024, &what).await?;
                if String::from_utf8_lossy(&body).contains("NAME_UNKNOWN") {
                    return Ok(listing);
                }
                let mut err = error_map::from_status(404, &what, &body);
                err.message = self
                    .inner
                    .transport
                    .redact_secrets(repository.registry(), &err.message);
                return Err(err);
            }
            if !resp.status().is_success() {
                return Err(self.refused(resp, &what, repository).await);
            }
            let next = resp
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(link_next);
            let body = read_capped(resp, MAX_TAG_PAGE_BYTES, &what).await?;
            budget.add(body.len());
            let added = add_page(&body, &mut listing, &mut seen_tags)
                .ok_or_else(|| error_map::invalid(&what, "tag list is not JSON"))?;
            let Some(next) = next else { return Ok(listing) };
            let next_url = resolve_url(&url, &next)
                .ok_or_else(|| error_map::invalid(&what, "Link target is not a URL"))?;
            if seen_urls.contains(&next_url) {
                listing.truncated = Some(format!(
                    "registry repeated tag page {next_url} after {page} pages"
                ));
                return Ok(listing);
            }
            if added == 0 {
                listing.truncated = Some(format!(
                    "page {page} added no new tag although the registry announced another; stopped"
                ));
                return Ok(listing);
            }
            if page == max_pages {
                listing.truncated = Some(format!(
                    "stopped after {max_pages} tag pages (max_tag_pages); more remain"
                ));
                return Ok(listing);
            }
            if let Some(why) = budget.exhausted(page) {
                listing.truncated = Some(why);
                return Ok(listing);
            }
            url = next_url;
        }
        Ok(listing)
    }
}

/// Adds the new tags of one `/tags/list` page to `listing` and returns how many were new, or
/// `None` when the page is not JSON.
fn add_page(body: &[u8], listing: &mut TagListing, seen: &mut HashSet<String>) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut added = 0;
    for name in v.get("tags").and_then(|t| t.as_array()).into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        if !seen.insert(name.to_owned()) {
            continue;
        }
        added += 1;
        match name.parse::<Tag>() {
            Ok(tag) => listing.tags.push(ListedTag {
                tag,
                digest: None,
                pushed: None,
            }),
            Err(_) => listing.skipped_invalid.push(crate::sanitize::foreign(name)),
        }
    }
    Some(added)
}

/// Returns `target` resolved against `base`, or `None` when it is not a URL on the same origin:
/// pagination and upload locations are never followed to another host (credentials would go
/// with them).
pub(crate) fn resolve_url(base: &str, target: &str) -> Option<String> {
    let base = reqwest::Url::parse(base).ok()?;
    let next = base.join(target).ok()?;
    // Never follow pagination to another origin: our credentials would go with it.
    (next.origin() == base.origin()).then(|| next.to_string())
}
