//! Retry policy: jittered exponential backoff, `Retry-After` / `X-Retry-After`, a total budget.
//!
//! Only idempotent requests are retried (reads, token requests, and a manifest PUT of identical
//! bytes), and only for transient failures: connection errors, timeouts, 408, 429 and 5xx.
//!
//! Every attempt is logged (`tracing`, target `registry_hub::http`, level debug): method, URL
//! without its query or user info, status, milliseconds and attempt number; every retry at level
//! info with its wait and reason.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::sync::Mutex;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response};
use tagcore::RegistryError;

use crate::error_map;

/// How often and how long to retry transient failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The delay before the first retry; doubled for each further retry.
    pub base_delay: Duration,
    /// The largest backoff delay between two attempts.
    pub max_delay: Duration,
    /// The longest total time spent waiting between attempts of one request; a `Retry-After`
    /// beyond what remains of it ends the retries with the rate-limit error.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Returns a policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Returns a policy with millisecond delays, for tests.
    pub fn fast() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_total_wait: Duration::from_secs(5),
        }
    }

    /// Returns the jittered backoff before retry number `retry` (1 for the first retry): a
    /// random duration between half and all of `base_delay * 2^(retry-1)`, capped by `max_delay`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let full = exp.min(self.max_delay);
        let half = full / 2;
        let span = u64::try_from((full - half).as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(fastrand::u64(0..=span))
    }
}

/// Returns `url` as logged: scheme, host, port and path; never the query (token requests carry
/// scopes there, pre-signed blob URLs carry signatures) nor user info.
pub(crate) fn loggable_url(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

/// Returns what kind of transport failure `e` is, for the log (its text may hold a URL).
fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() {
        "body"
    } else {
        "request"
    }
}

/// Returns the milliseconds since `started`, for the log.
fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Returns how long the server asked us to wait: `Retry-After` (seconds or an HTTP date) or
/// Docker Hub's `X-Retry-After` (a unix timestamp), relative to `now`.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(v) = headers.get("retry-after").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    if let Some(v) = headers.get("x-retry-after").and_then(|v| v.to_str().ok())
        && let Ok(unix) = v.trim().parse::<u64>()
    {
        // A time beyond what `SystemTime` can hold is "forever": the caller's budget caps it.
        return Some(
            UNIX_EPOCH
                .checked_add(Duration::from_secs(unix))
                .map_or(Duration::MAX, |at| {
                    at.duration_since(now).unwrap_or(Duration::ZERO)
                }),
        );
    }
    None
}

/// The rate-limit headers of the latest response that carried any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// `ratelimit-limit` / `x-ratelimit-limit`, e.g. `100;w=21600`.
    pub limit: Option<String>,
    /// `ratelimit-remaining` / `x-ratelimit-remaining`, e.g. `76;w=21600`.
    pub remaining: Option<String>,
    /// `x-ratelimit-reset` (Hub API: a unix time).
    pub reset: Option<String>,
}

impl RateLimit {
    /// Returns the rate-limit headers in `headers`, or `None` when there are none.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let get = |a: &str, b: &str| {
            headers
                .get(a)
                .or_else(|| headers.get(b))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let rl = Self {
            limit: get("ratelimit-limit", "x-ratelimit-limit"),
            remaining: get("ratelimit-remaining", "x-ratelimit-remaining"),
            reset: get("ratelimit-reset", "x-ratelimit-reset"),
        };
        (rl != Self::default()).then_some(rl)
    }

    /// Returns the remaining count, the number before any `;w=` window.
    pub fn remaining_count(&self) -> Option<u64> {
        self.remaining.as_deref()?.split(';').next()?.trim().parse().ok()
    }
}

/// Runs the request `make` builds with retries (see `Transport::retrying`); shared with the
/// Hub API client.
pub(crate) async fn retrying(
    policy: &RetryPolicy,
    rate: &Mutex<Option<RateLimit>>,
    what: &str,
    idempotent: bool,
    make: impl Fn() -> RequestBuilder,
) -> Result<Response, RegistryError> {
    let max_attempts = if idempotent { policy.max_attempts.max(1) } else { 1 };
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= max_attempts;
        let (client, request) = make().build_split();
        let request = request.map_err(|e| error_map::from_transport(e, what))?;
        let (method, url) = (request.method().clone(), loggable_url(request.url()));
        let started = Instant::now();
        match client.execute(request).await {
            Err(e) => {
                let ms = millis(started);
                tracing::debug!(target: "registry_hub::http", %method, %url, ms, attempt, error = transport_kind(&e), "HTTP request failed");
                let transient = (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body())
                    && error_map::tls_refusal(&e).is_none();
                let wait = policy.backoff(attempt);
                if last || !transient || waited.saturating_add(wait) > policy.max_total_wait {
                    let mut err = error_map::from_transport(e, what);
                    if attempt > 1 {
                        err.message.push_str(&format!(" (after {attempt} attempts)"));
                    }
                    return Err(err);
                }
                let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(target: "registry_hub::http", %method, %url, attempt, wait_ms, "retrying after a transport error: {what}");
                tokio::time::sleep(wait).await;
                waited = waited.saturating_add(wait);
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                tracing::debug!(target: "registry_hub::http", %method, %url, status, ms = millis(started), attempt, "HTTP request");
                if let Some(rl) = RateLimit::from_headers(resp.headers())
                    && let Ok(mut r) = rate.lock()
                {
                    *r = Some(rl);
                }
                if last || !error_map::is_retryable_status(status) {
                    return Ok(resp);
                }
                let asked = retry_after(resp.headers(), SystemTime::now());
                let wait =
                    asked.map_or_else(|| policy.backoff(attempt), |a| a.max(policy.backoff(attempt) / 4));
                // Every wait is capped by the budget: an absurd `Retry-After` (u64::MAX seconds)
                // ends the retries at once instead of overflowing or sleeping for ever.
                if waited.saturating_add(wait) > policy.max_total_wait {
                    return Ok(resp);
                }
                let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(target: "registry_hub::http", %method, %url, status, attempt, wait_ms, "retrying after status {status}: {what}");
                drop(resp);
                tokio::time::sleep(wait).await;
                waited = waited.saturating_add(wait);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_total_wait: Duration::from_secs(10),
        };
        for (retry, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (9, 800)] {
            let d = p.backoff(retry);
            assert!(
                d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full),
                "{retry}: {d:?}"
            );
        }
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Tue, 14 Nov 2023 22:13:40 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(20)));
        let mut h = HeaderMap::new();
        h.insert("x-retry-after", HeaderValue::from_static("1700000003"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert("x-retry-after", HeaderValue::from_static("1600000000"));
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert("x-retry-after", HeaderValue::from_static("18446744073709551615"));
        assert_eq!(retry_after(&h, now), Some(Duration::MAX));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn reads_rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(RateLimit::from_headers(&h), None);
        h.insert("ratelimit-remaining", HeaderValue::from_static("76;w=21600"));
        h.insert("ratelimit-limit", HeaderValue::from_static("100;w=21600"));
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!(rl.remaining_count(), Some(76));
        assert_eq!(rl.limit.as_deref(), Some("100;w=21600"));
    }
}
