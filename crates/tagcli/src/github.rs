//! GitHub's REST API as the audit sink: releases (edit-or-create) and deploy dispatch.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tagcore::{AuditError, AuditErrorKind, AuditSink, DispatchRequest, ReleaseReceipt, ReleaseRequest};

use registry_hub::Secret;
use registry_hub::sanitize::foreign;

use crate::config::{DispatchSettings, DispatchTarget, ReleaseSettings};

/// Releases and dispatches on GitHub; releases may be off, and there may be no dispatch target.
#[derive(Debug, Clone)]
pub(crate) struct GitHub {
    client: reqwest::Client,
    release: Option<ReleaseSettings>,
    dispatch: Vec<DispatchSettings>,
}

/// Returns an error unless `url` is HTTPS or plain HTTP on a loopback address (tagcore's one
/// rule: the host is parsed, userinfo stripped, and checked as an IP address).
pub(crate) fn check_api_url(url: &str) -> Result<(), String> {
    tagcore::Endpoint::parse_secure(url, false)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn kind_of(status: reqwest::StatusCode) -> AuditErrorKind {
    match status.as_u16() {
        401 | 403 => AuditErrorKind::Unauthorized,
        400..=499 => AuditErrorKind::Rejected,
        _ => AuditErrorKind::Unavailable,
    }
}

/// Sends a GitHub API request and logs it (target `tagcli::github`, level debug): method, URL
/// without its query, status and milliseconds. The token is in a header, never logged.
trait LoggedSend {
    async fn logged_send(self, what: &str) -> Result<reqwest::Response, AuditError>;
}

impl LoggedSend for reqwest::RequestBuilder {
    async fn logged_send(self, what: &str) -> Result<reqwest::Response, AuditError> {
        let (client, request) = self.build_split();
        let request = request.map_err(|e| transport(what, &e))?;
        let method = request.method().clone();
        let url = request.url();
        let url = format!(
            "{}://{}{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default(),
            url.path()
        );
        let started = std::time::Instant::now();
        let answer = client.execute(request).await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &answer {
            Ok(resp) => {
                tracing::debug!(target: "tagcli::github", %method, %url, status = resp.status().as_u16(), ms, "HTTP request");
            }
            Err(_) => tracing::debug!(target: "tagcli::github", %method, %url, ms, "HTTP request failed"),
        }
        answer.map_err(|e| transport(what, &e))
    }
}

fn transport(what: &str, e: &reqwest::Error) -> AuditError {
    // reqwest errors carry the URL, never the Authorization header.
    AuditError::new(AuditErrorKind::Unavailable, format!("{what}: {e}"))
}

/// The largest GitHub answer read (a release object is a few KiB).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The largest GitHub error answer read for its message.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Returns the answer parsed as JSON (`null` when it is not JSON), refusing more than `cap`
/// bytes with a clear error.
async fn read_json(what: &str, mut resp: reqwest::Response, cap: usize) -> Result<Value, AuditError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(what, &e))? {
        if body.len() + chunk.len() > cap {
            return Err(AuditError::new(
                AuditErrorKind::Unavailable,
                format!("{what}: GitHub's answer exceeds the limit of {cap} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Returns the error for a refused request, with GitHub's `message` neutralised and redacted
/// (`registry_hub::sanitize::foreign`): it is foreign text, may echo the token, and is printed
/// into CI logs.
async fn refused(what: &str, resp: reqwest::Response) -> AuditError {
    let status = resp.status();
    let body = read_json(what, resp, MAX_ERROR_BYTES)
        .await
        .unwrap_or(Value::Null);
    let message = body.get("message").and_then(Value::as_str).map_or_else(
        || "no message".to_owned(),
        |m| foreign(m).chars().take(300).collect(),
    );
    AuditError::new(
        kind_of(status),
        format!("{what}: GitHub answered {status}: {message}"),
    )
}

impl GitHub {
    /// Returns a client for the given settings.
    pub(crate) fn new(
        release: Option<ReleaseSettings>,
        dispatch: Vec<DispatchSettings>,
    ) -> Result<Self, String> {
        for url in release
            .iter()
            .map(|r| &r.api_url)
            .chain(dispatch.iter().map(|d| &d.api_url))
        {
            check_api_url(url)?;
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("tagcli/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            release,
            dispatch,
        })
    }

    fn request(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&Secret>,
    ) -> Result<reqwest::RequestBuilder, AuditError> {
        // The loader reads a token for every section the command uses; none here is a bug in
        // the caller, reported rather than sent unauthenticated.
        let token = token.ok_or_else(|| {
            AuditError::new(
                AuditErrorKind::Unauthorized,
                "no token was read for this command (tagcli reads tokens only for the steps a command runs)",
            )
        })?;
        Ok(self
            .client
            .request(method, url)
            .bearer_auth(token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28"))
    }
}

impl AuditSink for GitHub {
    async fn publish_release(&self, r: &ReleaseRequest) -> Result<ReleaseReceipt, AuditError> {
        let Some(s) = &self.release else {
            return Err(AuditError::new(
                AuditErrorKind::Rejected,
                "releases are not configured",
            ));
        };
        let base = format!(
            "{}/repos/{}/releases",
            s.api_url.trim_end_matches('/'),
            s.repository
        );
        let mut body = json!({
            "tag_name": r.tag,
            "name": r.title,
            "body": r.notes,
            // GitHub treats an omitted make_latest as "true": always send it.
            "make_latest": if r.make_latest { "true" } else { "false" },
        });
        if let Some(c) = &r.target_commitish {
            body["target_commitish"] = json!(c);
        }
        let what = format!("release {} on {}", r.tag, s.repository);
        let existing = self
            .request(
                reqwest::Method::GET,
                format!("{base}/tags/{}", r.tag),
                s.token.as_ref(),
            )?
            .logged_send(&what)
            .await?;
        let (resp, created) = match existing.status().as_u16() {
            200 => {
                let found = read_json(&what, existing, MAX_ANSWER_BYTES).await?;
                let id = found.get("id").and_then(Value::as_u64).ok_or_else(|| {
                    AuditError::new(
                        AuditErrorKind::Unavailable,
                        format!("{what}: release without an id"),
                    )
                })?;
                let resp = self
                    .request(reqwest::Method::PATCH, format!("{base}/{id}"), s.token.as_ref())?
                    .json(&body)
                    .logged_send(&what)
                    .await?;
                (resp, false)
            }
            404 => {
                let resp = self
                    .request(reqwest::Method::POST, base.clone(), s.token.as_ref())?
                    .json(&body)
                    .logged_send(&what)
                    .await?;
                (resp, true)
            }
            _ => return Err(refused(&what, existing).await),
        };
        if !resp.status().is_success() {
            return Err(refused(&what, resp).await);
        }
        let done = read_json(&what, resp, MAX_ANSWER_BYTES).await?;
        let url = done
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(ReleaseReceipt { url, created })
    }

    async fn dispatch(&self, d: &DispatchRequest) -> Result<(), AuditError> {
        let Some(s) = self.dispatch.get(d.target) else {
            return Err(AuditError::new(
                AuditErrorKind::Rejected,
                format!("dispatch target {} ({}) is not configured", d.target, d.name),
            ));
        };
        let (url, body) = dispatch_call(s, d.payload.as_ref());
        let what = s.target.to_string();
        let resp = self
            .request(reqwest::Method::POST, url, s.token.as_ref())?
            .json(&body)
            .logged_send(&what)
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(refused(&what, resp).await)
        }
    }
}

/// Returns the URL and body of a dispatch: the payload (`inputs` or `client_payload`) only
/// when the policy gives one, so a workflow without inputs gets exactly `{"ref": …}`.
/// Repository and file names were validated when the policy was read (no `/`, `#`, `?`, `..`).
fn dispatch_call(s: &DispatchSettings, payload: Option<&BTreeMap<String, String>>) -> (String, Value) {
    let api = s.api_url.trim_end_matches('/');
    match &s.target {
        DispatchTarget::Workflow {
            repository,
            file,
            git_ref,
        } => {
            let mut body = json!({ "ref": git_ref });
            if let Some(p) = payload {
                body["inputs"] = json!(p);
            }
            (
                format!("{api}/repos/{repository}/actions/workflows/{file}/dispatches"),
                body,
            )
        }
        DispatchTarget::Event {
            repository,
            event_type,
        } => {
            let mut body = json!({ "event_type": event_type });
            if let Some(p) = payload {
                body["client_payload"] = json!(p);
            }
            (format!("{api}/repos/{repository}/dispatches"), body)
        }
    }
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod github_tests;
