//! The HTTP transport shared by the OCI registry client: TLS, scheme rules, authentication
//! (anonymous, Basic, Bearer challenge flow) and retries.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tagcore::{RegistryError, RegistryErrorKind, Repository};

use crate::auth::{Access, HostAuth, TokenCache, host_auth_from_challenges, parse_www_authenticate};
use crate::credentials::{CredentialStore, Credentials, Secret};
use crate::error_map;
pub(crate) use crate::http::{build_client_pair, read_capped};
use crate::retry::{RateLimit, RetryPolicy, retrying};

/// Which registries are reached over plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PlainHttp {
    /// Always HTTPS.
    Never,
    /// Plain HTTP for loopback registries (an address in `127.0.0.0/8`, `[::1]`, `localhost`),
    /// HTTPS elsewhere.
    #[default]
    Loopback,
    /// Plain HTTP for these hosts (`host[:port]`); a non-loopback host also needs
    /// [`OciConfig::allow_insecure`].
    Hosts(Vec<String>),
}

/// Settings of the OCI distribution client.
#[derive(Debug, Clone)]
pub struct OciConfig {
    /// Where credentials come from (explicit, then Docker's config).
    pub credentials: CredentialStore,
    /// Which registries are reached over plain HTTP.
    pub plain_http: PlainHttp,
    /// Allows plain HTTP to non-loopback hosts listed in [`PlainHttp::Hosts`], and a plain-HTTP
    /// token realm on such a registry's own host. Off by default. A plain-HTTP realm on any other
    /// non-loopback host is refused whatever this says.
    pub allow_insecure: bool,
    /// A PEM bundle of extra trusted CA certificates.
    pub ca_bundle: Option<PathBuf>,
    /// The timeout of one HTTP request (connect to last byte).
    pub request_timeout: Duration,
    /// The timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The largest manifest accepted, in bytes (the OCI limit suggestion is 4 MiB).
    pub max_manifest_bytes: u64,
    /// The `n` asked for per page of `/tags/list`.
    pub tag_page_size: u32,
    /// The most `/tags/list` pages followed before the listing is reported as truncated.
    pub max_tag_pages: u32,
    /// The most bytes of tag pages read by one listing (checked after each page) before it is
    /// reported as truncated.
    pub max_listing_bytes: u64,
    /// The longest one listing may take (checked after each page) before it is reported as
    /// truncated.
    pub max_listing_time: Duration,
    /// Tries the multi-tag push (`?tag=`) once per host when several tags are written at once.
    pub try_multi_tag_push: bool,
}

impl Default for OciConfig {
    fn default() -> Self {
        Self {
            credentials: CredentialStore::new(),
            plain_http: PlainHttp::Loopback,
            allow_insecure: false,
            ca_bundle: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: concat!("tagcli/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_manifest_bytes: 4 * 1024 * 1024,
            tag_page_size: 1000,
            max_tag_pages: 1000,
            max_listing_bytes: crate::listing::DEFAULT_MAX_LISTING_BYTES,
            max_listing_time: crate::listing::DEFAULT_MAX_LISTING_TIME,
            try_multi_tag_push: true,
        }
    }
}

/// The shared transport: one connection pool, credentials, tokens, retries.
pub(crate) struct Transport {
    http: reqwest::Client,
    /// For token requests: a refresh token in the body never follows a redirect off-origin.
    http_secret: reqwest::Client,
    pub(crate) config: OciConfig,
    tokens: TokenCache,
    creds: Mutex<HashMap<String, Credentials>>,
    rate: Mutex<Option<RateLimit>>,
}

/// One request to send: what it is for, to build error messages and pick the token scope.
pub(crate) struct Req<'a> {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) repository: &'a Repository,
    pub(crate) access: Access,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) idempotent: bool,
    pub(crate) what: &'a str,
    /// A repository whose blobs a cross-repository mount reads (adds its `pull` scope).
    pub(crate) mount_from: Option<&'a Repository>,
}

impl Transport {
    pub(crate) fn new(config: OciConfig) -> Result<Self, RegistryError> {
        let (http, http_secret) = build_client_pair(
            &config.user_agent,
            config.request_timeout,
            config.connect_timeout,
            config.ca_bundle.as_ref(),
        )?;
        Ok(Self {
            http,
            http_secret,
            config,
            tokens: TokenCache::default(),
            creds: Mutex::new(HashMap::new()),
            rate: Mutex::new(None),
        })
    }

    /// Returns the rate-limit headers of the latest response that had any.
    pub(crate) fn last_rate_limit(&self) -> Option<RateLimit> {
        self.rate.lock().ok().and_then(|r| r.clone())
    }

    /// Returns `scheme://api-host/v2/<path>` for `repository`, refusing plain HTTP where it is
    /// not allowed. Docker Hub's API host is `registry-1.docker.io`.
    pub(crate) fn base_url(&self, repository: &Repository) -> Result<String, RegistryError> {
        let host = repository.registry();
        let api_host = if host == tagcore::DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            host
        };
        let plain = self.plain_http(host);
        if plain && !repository.is_loopback() && !self.config.allow_insecure {
            return Err(error_map::invalid_input(
                &format!("registry {host}"),
                "plain HTTP is refused except on loopback; set allow_insecure to permit it",
            ));
        }
        let scheme = if plain { "http" } else { "https" };
        Ok(format!("{scheme}://{api_host}/v2/{}", repository.path()))
    }

    /// Returns `text` with every credential held for `host` replaced by `***`: the password
    /// and its Basic encoding, identity and Bearer tokens, and the cached registry tokens.
    pub(crate) fn redact_secrets(&self, host: &str, text: &str) -> String {
        let mut secrets = self.tokens.tokens_for(host);
        match self.creds.lock().ok().and_then(|c| c.get(host).cloned()) {
            Some(Credentials::Basic { username, password }) => {
                secrets.push(STANDARD.encode(format!("{username}:{}", password.expose())));
                secrets.push(password.expose().to_owned());
            }
            Some(Credentials::IdentityToken(t) | Credentials::BearerToken(t)) => {
                secrets.push(t.expose().to_owned());
            }
            _ => {}
        }
        let mut out = text.to_owned();
        // Short values would blank unrelated text; they are still covered by the pattern-based
        // redaction of `Basic …` and `Bearer …`.
        for secret in secrets.iter().filter(|s| s.len() >= 6) {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }

    /// Returns whether registry `host` (`host[:port]`, canonical) is reached over plain HTTP.
    fn plain_http(&self, host: &str) -> bool {
        match &self.config.plain_http {
            PlainHttp::Never => false,
            PlainHttp::Loopback => tagcore::is_loopback_authority(host),
            PlainHttp::Hosts(hosts) => hosts.iter().any(|h| tagcore::canonical_registry(h) == host),
        }
    }

    /// Returns the token realm as a URL when credentials may be sent there: HTTPS; plain HTTP
    /// to a loopback address; or plain HTTP to the registry's own host when that registry is
    /// itself reached over plain HTTP by an explicit `allow_insecure` (the credentials already
    /// travel in clear to that host). Never plain HTTP to another host.
    fn realm_url(&self, realm: &str, registry: &str, ctx: &str) -> Result<reqwest::Url, RegistryError> {
        let endpoint = tagcore::Endpoint::parse(realm)
            .map_err(|_| error_map::invalid(ctx, "the token realm is not an http(s) URL"))?;
        let same_plain_host = self.config.allow_insecure
            && self.plain_http(registry)
            && endpoint.host() == authority_host(registry);
        if !(endpoint.is_https() || endpoint.is_loopback() || same_plain_host) {
            return Err(error_map::invalid(
                ctx,
                format!(
                    "the token realm on {} is not HTTPS; refusing to send credentials in clear",
                    endpoint.host()
                ),
            ));
        }
        reqwest::Url::parse(endpoint.as_str())
            .map_err(|_| error_map::invalid(ctx, "the token realm is not an http(s) URL"))
    }

    /// Returns the credentials for `host`, looked up once. The lookup may run a credential
    /// helper (a process), so it runs on tokio's blocking pool, never on the runtime's thread.
    async fn credentials(&self, host: &str) -> Result<Credentials, RegistryError> {
        if let Some(c) = self.creds.lock().ok().and_then(|c| c.get(host).cloned()) {
            return Ok(c);
        }
        let store = self.config.credentials.clone();
        let key = host.to_owned();
        let c = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::spawn_blocking(move || store.lookup(&key))
                .await
                .map_err(|e| {
                    RegistryError::new(
                        RegistryErrorKind::Unauthorized,
                        format!("credential lookup for {host} failed ({e})"),
                    )
                })??
        } else {
            store.lookup(&key)?
        };
        if let Ok(mut cache) = self.creds.lock() {
            cache.insert(host.to_owned(), c.clone());
        }
        Ok(c)
    }

    /// Sends `req`, authenticating as the registry asks and retrying transient failures.
    /// Returns the final response whatever its status; the caller maps unexpected ones.
    pub(crate) async fn send(&self, req: &Req<'_>) -> Result<Response, RegistryError> {
        let host = req.repository.registry();
        let creds = self.credentials(host).await?;
        let resp = self.send_authenticated(req, &creds).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            // Which credentials were refused (the source was logged when they were looked up).
            tracing::info!(
                target: "registry_hub::credentials",
                host,
                kind = creds.kind_name(),
                "the registry refused the credentials (401): {}",
                req.what
            );
        }
        Ok(resp)
    }

    async fn send_authenticated(
        &self,
        req: &Req<'_>,
        creds: &Credentials,
    ) -> Result<Response, RegistryError> {
        let host = req.repository.registry();
        let mut scope = req.access.scope(req.repository.path());
        if let Some(from) = req.mount_from {
            scope.push(' ');
            scope.push_str(&Access::Pull.scope(from.path()));
        }
        let mut auth = self.auth_header(host, &scope, creds, req.what).await?;
        let resp = self.send_with(req, auth.as_ref()).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenges: Vec<_> = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(parse_www_authenticate)
            .collect();
        let Some(host_auth) = host_auth_from_challenges(&challenges) else {
            return Ok(resp);
        };
        self.tokens.set_host_auth(host, host_auth);
        self.tokens.forget(host, &scope);
        let fresh = self.auth_header(host, &scope, creds, req.what).await?;
        if fresh.is_none() || fresh == auth {
            return Ok(resp);
        }
        auth = fresh;
        self.send_with(req, auth.as_ref()).await
    }

    async fn send_with(&self, req: &Req<'_>, auth: Option<&HeaderValue>) -> Result<Response, RegistryError> {
        let make = || {
            let mut b = self
                .http
                .request(req.method.clone(), &req.url)
                .headers(req.headers.clone());
            if let Some(a) = auth {
                b = b.header(AUTHORIZATION, a.clone());
            }
            if let Some(body) = &req.body {
                b = b.body(body.clone());
            }
            b
        };
        self.retrying(req.what, req.idempotent, make).await
    }

    /// Runs the request `make` builds, retrying connection errors, timeouts, 408, 429 and 5xx
    /// when `idempotent`, with jittered backoff, `Retry-After`, and the total-wait budget.
    pub(crate) async fn retrying(
        &self,
        what: &str,
        idempotent: bool,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        retrying(&self.config.retry, &self.rate, what, idempotent, make).await
    }

    /// Returns the `Authorization` header for `scope` on `host`, fetching a token if needed.
    async fn auth_header(
        &self,
        host: &str,
        scope: &str,
        creds: &Credentials,
        what: &str,
    ) -> Result<Option<HeaderValue>, RegistryError> {
        if let Credentials::BearerToken(t) = creds {
            return Ok(Some(sensitive(&format!("Bearer {}", t.expose()))?));
        }
        match self.tokens.host_auth(host) {
            HostAuth::Unknown => Ok(None),
            HostAuth::Basic => match creds {
                Credentials::Basic { username, password } => Ok(Some(basic_header(username, password)?)),
                _ => Ok(None),
            },
            HostAuth::Bearer { realm, service } => {
                if let Some(t) = self.tokens.get(host, scope) {
                    return Ok(Some(sensitive(&format!("Bearer {}", t.expose()))?));
                }
                let (token, lifetime) = self
                    .fetch_token(&realm, host, service.as_deref(), scope, creds, what)
                    .await?;
                let header = sensitive(&format!("Bearer {}", token.expose()))?;
                self.tokens.put(host, scope, token, lifetime);
                Ok(Some(header))
            }
        }
    }

    /// Returns a token for `scope` from `realm` (least privilege: exactly the scope asked).
    async fn fetch_token(
        &self,
        realm: &str,
        registry: &str,
        service: Option<&str>,
        scope: &str,
        creds: &Credentials,
        what: &str,
    ) -> Result<(Secret, Duration), RegistryError> {
        let ctx = format!("{what}: token request for scope {scope}");
        let url = self.realm_url(realm, registry, &ctx)?;
        let make = || match creds {
            Credentials::IdentityToken(refresh) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", "tagcli"),
                    ("scope", scope),
                    ("refresh_token", refresh.expose()),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter())
                    .finish();
                self.http_secret
                    .post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            _ => {
                let mut u = url.clone();
                {
                    let mut q = u.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    // Several scopes (a mount's source) go as one parameter each.
                    for one in scope.split(' ') {
                        q.append_pair("scope", one);
                    }
                }
                let b = self.http_secret.get(u);
                match creds {
                    Credentials::Basic { username, password } => match basic_header(username, password) {
                        Ok(h) => b.header(AUTHORIZATION, h),
                        Err(_) => b,
                    },
                    _ => b,
                }
            }
        };
        let resp = self.retrying(&ctx, true, make).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            // The token endpoint's body is not echoed: it may reflect what was sent.
            return Err(error_map::from_status(status, &ctx, b""));
        }
        let body = read_capped(resp, 1024 * 1024, &ctx).await?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| error_map::invalid(&ctx, "the token response is not JSON"))?;
        let token = v
            .get("token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .or_else(|| v.get("access_token").and_then(|t| t.as_str()))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| error_map::invalid(&ctx, "the token response has no token"))?;
        let secs = v
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(60)
            .clamp(1, 86_400);
        Ok((Secret::new(token), Duration::from_secs(secs)))
    }
}

/// Returns the host of a registry authority `host[:port]` (`[::1]` keeps its brackets).
fn authority_host(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(h, _)| &authority[..=h.len()]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Returns a header value marked sensitive (hidden from `Debug`).
pub(crate) fn sensitive(value: &str) -> Result<HeaderValue, RegistryError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        RegistryError::new(
            RegistryErrorKind::InvalidInput,
            "credentials contain characters not allowed in a header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn basic_header(username: &str, password: &Secret) -> Result<HeaderValue, RegistryError> {
    sensitive(&format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{}", password.expose()))
    ))
}

/// Returns the error for an unexpected response, reading a little of its body for the message.
pub(crate) async fn unexpected(resp: Response, what: &str) -> RegistryError {
    let status = resp.status().as_u16();
    let challenge_error = resp
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_www_authenticate)
        .find_map(|c| c.param("error").map(str::to_owned));
    let body = read_capped(resp, 64 * 1024, what).await.unwrap_or_default();
    let mut err = error_map::from_status(status, what, &body);
    if status == 429 {
        err.message.push_str(" (retry budget exhausted)");
    }
    if let Some(e) = challenge_error {
        // e.g. `insufficient_scope`: the token did not grant the access the request needs.
        let e: String = e
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        err.message.push_str(&format!(" [registry challenge: {e}]"));
    }
    err
}
