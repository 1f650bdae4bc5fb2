//! The `reqwest` clients: TLS trust, timeouts, the redirect rules, and bounded body reads.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Response;
use tagcore::RegistryError;

use crate::error_map;

/// Follows at most 5 redirects and never from HTTPS down to plain HTTP off loopback (blob
/// downloads are often redirected to a CDN; a downgrade would expose the bytes and any
/// credentials in the URL).
fn redirect_policy(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let downgrade = attempt.url().scheme() == "http"
        && attempt.previous().iter().any(|u| u.scheme() == "https")
        && !attempt.url().host_str().is_some_and(tagcore::is_loopback_host);
    if downgrade {
        attempt.error("refusing a redirect from HTTPS to plain HTTP")
    } else if attempt.previous().len() > 5 {
        attempt.error("too many redirects")
    } else {
        attempt.follow()
    }
}

/// Follows a redirect only to the same origin (scheme, host and port): for requests whose body
/// holds a secret (a refresh token, the Hub password). reqwest keeps the body of a 307/308 and
/// strips only headers, so a cross-origin redirect would hand the secret to another host.
fn same_origin_policy(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let same = attempt
        .previous()
        .first()
        .is_some_and(|first| first.origin() == attempt.url().origin());
    if !same {
        attempt.error("refusing to follow a redirect to another host with a secret in the body")
    } else if attempt.previous().len() > 5 {
        attempt.error("too many redirects")
    } else {
        attempt.follow()
    }
}

/// Which redirects a client follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// Up to 5, never downgrading HTTPS to plain HTTP off loopback (reads, writes).
    Shared,
    /// Same origin only (requests carrying a secret in the body).
    SameOrigin,
}

/// Returns a `reqwest` client with the TLS, timeout and redirect settings shared by all clients.
/// Returns the two clients every adapter holds: one whose redirects may go to another origin
/// (plain reads), and one that follows redirects only to the same origin (requests whose body
/// carries a secret: token exchanges, Hub logins).
pub(crate) fn build_client_pair(
    user_agent: &str,
    request_timeout: Duration,
    connect_timeout: Duration,
    ca_bundle: Option<&PathBuf>,
) -> Result<(reqwest::Client, reqwest::Client), RegistryError> {
    let build = |redirects| build_http(user_agent, request_timeout, connect_timeout, ca_bundle, redirects);
    Ok((build(Redirects::Shared)?, build(Redirects::SameOrigin)?))
}

pub(crate) fn build_http(
    user_agent: &str,
    request_timeout: Duration,
    connect_timeout: Duration,
    ca_bundle: Option<&PathBuf>,
    redirects: Redirects,
) -> Result<reqwest::Client, RegistryError> {
    let policy = match redirects {
        Redirects::Shared => reqwest::redirect::Policy::custom(redirect_policy),
        Redirects::SameOrigin => reqwest::redirect::Policy::custom(same_origin_policy),
    };
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(request_timeout)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(policy);
    if let Some(path) = ca_bundle {
        let pem = std::fs::read(path).map_err(|e| {
            error_map::invalid_input(&format!("CA bundle {}", path.display()), "cannot read").with_source(e)
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            error_map::invalid_input(&format!("CA bundle {}", path.display()), "not a PEM bundle")
                .with_source(e)
        })?;
        if certs.is_empty() {
            return Err(error_map::invalid_input(
                &format!("CA bundle {}", path.display()),
                "holds no certificate",
            ));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| error_map::invalid_input("HTTP client", "cannot be built").with_source(e))
}

/// Returns the response body, refusing more than `cap` bytes.
pub(crate) async fn read_capped(mut resp: Response, cap: u64, what: &str) -> Result<Vec<u8>, RegistryError> {
    if let Some(len) = resp.content_length()
        && len > cap
    {
        return Err(error_map::invalid(
            what,
            format!("response of {len} bytes exceeds the limit of {cap}"),
        ));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| error_map::from_transport(e, what))?
    {
        if out.len() as u64 + chunk.len() as u64 > cap {
            return Err(error_map::invalid(
                what,
                format!("response exceeds the limit of {cap} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
