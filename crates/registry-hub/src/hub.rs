//! Docker Hub's Hub API (`hub.docker.com`): tag listings with push times, and tag deletion.
//!
//! The registry API cannot tell when a tag was pushed; the Hub API can (`tag_last_pushed`, then
//! `last_updated`). Login is `POST /v2/auth/token` with `{"identifier","secret"}`, answered with
//! a short-lived JWT that is cached and renewed. Every field of a tag is optional when parsing.
//! Hub answers 404 for a private repository without authentication: 401, 403, 404, 429 and 5xx
//! stay distinct.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Response};
use serde_json::Value;
use tagcore::{EnoughTags, ListingScope, RegistryError, Repository, Tag, TagListing};

use crate::client::{build_client_pair, read_capped, sensitive};
use crate::credentials::{Credentials, Secret};
use crate::error_map;
use crate::hub_page::{PageOrder, first_page_url, jwt_lifetime, next_page, parse_page, stop_reason};
use crate::listing::ListingBudget;
use crate::retry::{RateLimit, RetryPolicy, retrying};

/// Settings of the Hub API client.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The API's base URL, `https://hub.docker.com` (configurable for tests).
    pub base_url: String,
    /// Basic credentials (user or organisation + password, PAT or org access token) used as
    /// `identifier` and `secret` at login; anonymous when `Credentials::Anonymous`.
    pub credentials: Credentials,
    /// Tags per page (Hub's maximum is 100).
    pub page_size: u32,
    /// The most pages followed before the listing is reported as truncated.
    pub max_pages: u32,
    /// The most bytes of pages read by one listing (checked after each page) before it is
    /// reported as truncated.
    pub max_listing_bytes: u64,
    /// The longest one listing may take (checked after each page) before it is reported as
    /// truncated.
    pub max_listing_time: Duration,
    /// The timeout of one HTTP request.
    pub request_timeout: Duration,
    /// The timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// How transient failures (5xx, 429 with `X-Retry-After`) are retried.
    pub retry: RetryPolicy,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Allows a plain-HTTP base URL on a non-loopback host.
    pub allow_insecure: bool,
    /// A PEM bundle of extra trusted CA certificates.
    pub ca_bundle: Option<PathBuf>,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            base_url: "https://hub.docker.com".to_owned(),
            credentials: Credentials::Anonymous,
            page_size: 100,
            max_pages: 100,
            max_listing_bytes: crate::listing::DEFAULT_MAX_LISTING_BYTES,
            max_listing_time: crate::listing::DEFAULT_MAX_LISTING_TIME,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: concat!("tagcli/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure: false,
            ca_bundle: None,
        }
    }
}

/// Decides, after each page, whether the caller has what it needs (see
/// [`HubListOptions::stop_when`]).
pub type StopWhen = Arc<dyn Fn(&TagListing) -> bool + Send + Sync>;

/// Options of one listing.
#[derive(Clone, Default)]
pub struct HubListOptions {
    /// Overrides [`HubConfig::max_pages`] for this listing.
    pub max_pages: Option<u32>,
    /// Stops after the first page for which this returns true (e.g. "10 prod stamps seen").
    /// Hub lists newest tags first, so this suits callers that need only the newest tags. The
    /// listing then says so in `truncated`.
    pub stop_when: Option<StopWhen>,
    /// Asks Docker Hub for names containing this (`name=`) and keeps only those, whether or not
    /// the service honoured it. The listing is then `partial`.
    pub name: Option<String>,
    /// Stops once the tags read settle the caller's answer: called only while the push times
    /// read so far are in newest-first order, with the time every unread tag was pushed at or
    /// before (see [`ListingScope::enough`]). The listing is then `partial`, not truncated.
    pub enough: Option<EnoughTags>,
}

impl std::fmt::Debug for HubListOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubListOptions")
            .field("max_pages", &self.max_pages)
            .field("stop_when", &self.stop_when.is_some())
            .field("name", &self.name)
            .field("enough", &self.enough.is_some())
            .finish()
    }
}

/// A Docker Hub API client. Cloning is cheap and shares the login token.
#[derive(Clone)]
pub struct HubClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// For the login: the password in the body never follows a redirect off-origin.
    http_secret: reqwest::Client,
    config: HubConfig,
    token: Mutex<Option<(Secret, Instant)>>,
    rate: Mutex<Option<RateLimit>>,
    /// API requests sent (logins not counted).
    requests: AtomicU64,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Renew the JWT when less than this is left.
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The longest a JWT is cached, whatever its `exp` says (an `exp` of u64::MAX must not overflow).
const MAX_JWT_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl HubClient {
    /// Returns a client with `config`; refuses a plain-HTTP base URL except on loopback.
    pub fn new(config: HubConfig) -> Result<Self, RegistryError> {
        tagcore::Endpoint::parse_secure(&config.base_url, config.allow_insecure).map_err(|e| {
            error_map::invalid_input(
                "Hub API base URL",
                format!("{e} (plain HTTP only on loopback or with allow_insecure)"),
            )
        })?;
        let (http, http_secret) = build_client_pair(
            &config.user_agent,
            config.request_timeout,
            config.connect_timeout,
            config.ca_bundle.as_ref(),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                http_secret,
                config,
                token: Mutex::new(None),
                rate: Mutex::new(None),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// Returns `text` without the login password or the cached JWT (a page may echo them).
    fn redact_secrets(&self, text: &str) -> String {
        let mut secrets: Vec<String> = self
            .inner
            .token
            .lock()
            .ok()
            .and_then(|t| t.as_ref().map(|(s, _)| s.expose().to_owned()))
            .into_iter()
            .collect();
        if let Credentials::Basic { password, .. } = &self.inner.config.credentials {
            secrets.push(password.expose().to_owned());
        }
        let mut out = text.to_owned();
        for secret in secrets.iter().filter(|s| s.len() >= 6) {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }

    /// Returns how many API requests this client sent (logins not counted).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Returns the `X-RateLimit-*` headers of the latest response that carried any.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.inner.rate.lock().ok().and_then(|r| r.clone())
    }

    fn base(&self) -> &str {
        self.inner.config.base_url.trim_end_matches('/')
    }

    /// Returns a valid JWT, logging in when there is none or it is about to expire; `None` when
    /// anonymous.
    async fn token(&self, force: bool) -> Result<Option<Secret>, RegistryError> {
        let Credentials::Basic { username, password } = &self.inner.config.credentials else {
            return Ok(None);
        };
        if !force
            && let Some((t, exp)) = self.inner.token.lock().ok().and_then(|t| t.clone())
            && Instant::now()
                .checked_add(RENEW_MARGIN)
                .is_some_and(|soon| soon < exp)
        {
            return Ok(Some(t));
        }
        let what = format!("Docker Hub login as {username}");
        let url = format!("{}/v2/auth/token", self.base());
        let body = serde_json::json!({"identifier": username, "secret": password.expose()}).to_string();
        let make = || {
            self.inner
                .http_secret
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
        };
        let resp = retrying(&self.inner.config.retry, &self.inner.rate, &what, true, make).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            // The login response body is not echoed into the error.
            return Err(error_map::from_status(status, &what, b""));
        }
        let bytes = read_capped(resp, 1024 * 1024, &what).await?;
        let v: Value =
            serde_json::from_slice(&bytes).map_err(|_| error_map::invalid(&what, "response is not JSON"))?;
        let jwt = v
            .get("access_token")
            .or_else(|| v.get("token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| error_map::invalid(&what, "response has no access_token"))?;
        let lifetime = jwt_lifetime(jwt)
            .unwrap_or(Duration::from_secs(300))
            .min(MAX_JWT_LIFETIME);
        let token = Secret::new(jwt);
        if let Some(expires) = Instant::now().checked_add(lifetime)
            && let Ok(mut t) = self.inner.token.lock()
        {
            *t = Some((token.clone(), expires));
        }
        Ok(Some(token))
    }

    /// Sends an authenticated request; on 401 with a cached token, logs in again once.
    async fn send(
        &self,
        method: Method,
        url: &str,
        what: &str,
        idempotent: bool,
    ) -> Result<Response, RegistryError> {
        let mut forced = false;
        loop {
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let auth = match self.token(forced).await? {
                Some(t) => Some(sensitive(&format!("Bearer {}", t.expose()))?),
                None => None,
            };
            let make = || {
                let b = self
                    .inner
                    .http
                    .request(method.clone(), url)
                    .header("accept", "application/json");
                match &auth {
                    Some(a) => b.header(AUTHORIZATION, a.clone()),
                    None => b,
                }
            };
            let resp = retrying(&self.inner.config.retry, &self.inner.rate, what, idempotent, make).await?;
            if resp.status().as_u16() == 401 && auth.is_some() && !forced {
                forced = true;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Returns the tags of `repository` (`<ns>/<repo>`) with push times and digests; the caller
    /// decides which registry this Hub serves (see [`RemoteRegistry::with_hub_for`]).
    ///
    /// [`RemoteRegistry::with_hub_for`]: crate::RemoteRegistry::with_hub_for
    pub async fn list_repository_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        let (ns, repo) = split_repository(repository)?;
        self.list_tags_with(ns, repo, &HubListOptions::default()).await
    }

    /// Returns the tags of `<namespace>/<repository>` with push times and digests.
    pub async fn list_tags(&self, namespace: &str, repository: &str) -> Result<TagListing, RegistryError> {
        self.list_tags_with(namespace, repository, &HubListOptions::default())
            .await
    }

    /// Returns the tags of `<namespace>/<repository>`, following `next` up to the page cap (then
    /// `truncated` says so), or until `options.stop_when` or `options.enough` is satisfied.
    /// With `options.name`, asks for names containing it (`name=`) and keeps only those.
    pub async fn list_tags_with(
        &self,
        namespace: &str,
        repository: &str,
        options: &HubListOptions,
    ) -> Result<TagListing, RegistryError> {
        let what = format!("Hub API: list tags of {namespace}/{repository}");
        let max_pages = options.max_pages.unwrap_or(self.inner.config.max_pages).max(1);
        let base =
            reqwest::Url::parse(self.base()).map_err(|_| error_map::invalid_input(&what, "bad base URL"))?;
        let mut url = first_page_url(
            self.base(),
            namespace,
            repository,
            self.inner.config.page_size,
            options,
        );
        let mut listing = TagListing::default();
        let mut seen_urls = HashSet::new();
        let mut seen_tags = HashSet::new();
        let mut order = PageOrder::default();
        let config = &self.inner.config;
        let mut budget = ListingBudget::new(config.max_listing_bytes, config.max_listing_time);
        for page in 1..=max_pages {
            seen_urls.insert(url.clone());
            let resp = self.send(Method::GET, &url, &what, true).await?;
            let status = resp.status().as_u16();
            if !(200..300).contains(&status) {
                return Err(self.error(resp, &what, namespace, repository).await);
            }
            // A page of 100 tags is a few hundred KiB at most.
            let bytes = read_capped(resp, 4 * 1024 * 1024, &what).await?;
            budget.add(bytes.len());
            let v = parse_page(&bytes, page, &mut listing, &mut seen_tags)
                .map_err(|problem| error_map::invalid(&what, problem))?;
            order.add_page(&v);
            if let Some(name) = &options.name {
                listing.tags.retain(|t| t.tag.as_str().contains(name.as_str()));
                listing.partial = Some(format!("only tags whose names contain `{name}`"));
            }
            let Some(next) = v.get("next").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
                return Ok(listing);
            };
            if let Some((why, settled)) = stop_reason(options, &listing, &order, page) {
                *(if settled {
                    &mut listing.partial
                } else {
                    &mut listing.truncated
                }) = Some(why);
                return Ok(listing);
            }
            let next_url = match next_page(&base, next, &seen_urls, page) {
                Ok(Ok(u)) => u,
                Ok(Err(why)) => {
                    listing.truncated = Some(why);
                    return Ok(listing);
                }
                Err(problem) => return Err(error_map::invalid(&what, problem)),
            };
            if page == max_pages {
                listing.truncated = Some(format!(
                    "stopped after {max_pages} pages (page cap) although Docker Hub announced more; the history may be \
                     incomplete"
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

    /// Returns the tags `scope` needs of `repository` (`<ns>/<repo>` on `docker.io`): names
    /// containing `scope.contains` (asked with `name=`, filtered here anyway), newest first,
    /// stopping once `scope.enough` says older pages cannot change the answer.
    pub async fn list_repository_tags_scoped(
        &self,
        repository: &Repository,
        scope: &ListingScope,
    ) -> Result<TagListing, RegistryError> {
        let (ns, repo) = split_repository(repository)?;
        let options = HubListOptions {
            name: scope.contains.clone(),
            enough: scope.enough.clone(),
            ..HubListOptions::default()
        };
        self.list_tags_with(ns, repo, &options).await
    }

    /// Deletes tag `tag` of `<namespace>/<repository>` (never a manifest by digest, which would
    /// remove every tag pointing at it).
    pub async fn delete_tag(
        &self,
        namespace: &str,
        repository: &str,
        tag: &Tag,
    ) -> Result<(), RegistryError> {
        let what = format!("Hub API: delete tag {namespace}/{repository}:{tag}");
        let url = format!(
            "{}/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}",
            self.base()
        );
        let resp = self.send(Method::DELETE, &url, &what, false).await?;
        if resp.status().is_success() {
            return Ok(());
        }
        Err(self.error(resp, &what, namespace, repository).await)
    }

    async fn error(&self, resp: Response, what: &str, namespace: &str, repository: &str) -> RegistryError {
        let status = resp.status().as_u16();
        let body = read_capped(resp, 64 * 1024, what).await.unwrap_or_default();
        let mut err = error_map::from_status(status, what, &body);
        err.message = self.redact_secrets(&err.message);
        match status {
            404 => err.message.push_str(&format!(
                " ({namespace}/{repository} does not exist, or is private and the request was not authenticated)"
            )),
            429 => err.message.push_str(" (Hub API rate limit; retry budget exhausted)"),
            _ => {}
        }
        err
    }
}

/// Returns `(namespace, name)` of a `docker.io` repository.
fn split_repository(repository: &Repository) -> Result<(&str, &str), RegistryError> {
    repository
        .path()
        .split_once('/')
        .filter(|(_, r)| !r.contains('/'))
        .ok_or_else(|| {
            error_map::invalid_input(
                &format!("repository {repository}"),
                "expected docker.io/<namespace>/<name>",
            )
        })
}
