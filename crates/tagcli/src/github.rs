//! GitHub's REST API as the audit sink: releases (edit-or-create) and deploy dispatch.

use std::time::Duration;

use serde_json::{Value, json};
use tagcore::{AuditError, AuditErrorKind, AuditSink, DispatchRequest, ReleaseReceipt, ReleaseRequest};

use registry_hub::Secret;

use crate::config::{DispatchSettings, DispatchTarget, ReleaseSettings};

/// Releases and dispatches on GitHub; either may be off.
#[derive(Debug, Clone)]
pub(crate) struct GitHub {
    client: reqwest::Client,
    release: Option<ReleaseSettings>,
    dispatch: Option<DispatchSettings>,
}

/// Returns an error unless `url` is HTTPS or plain HTTP on loopback (SPEC §8.8).
pub(crate) fn check_api_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?} is not an http(s) URL"))?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host == "localhost" || host.starts_with("127.") || rest.starts_with("[::1]") {
        Ok(())
    } else {
        Err(format!(
            "{url:?} is plain HTTP to a non-loopback host; use https://"
        ))
    }
}

fn kind_of(status: reqwest::StatusCode) -> AuditErrorKind {
    match status.as_u16() {
        401 | 403 => AuditErrorKind::Unauthorized,
        400..=499 => AuditErrorKind::Rejected,
        _ => AuditErrorKind::Unavailable,
    }
}

fn transport(what: &str, e: &reqwest::Error) -> AuditError {
    // reqwest errors carry the URL, never the Authorization header.
    AuditError::new(AuditErrorKind::Unavailable, format!("{what}: {e}"))
}

async fn refused(what: &str, resp: reqwest::Response) -> AuditError {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    AuditError::new(
        kind_of(status),
        format!("{what}: GitHub answered {status}: {message}"),
    )
}

impl GitHub {
    /// Returns a client for the given settings.
    pub(crate) fn new(
        release: Option<ReleaseSettings>,
        dispatch: Option<DispatchSettings>,
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

    fn request(&self, method: reqwest::Method, url: String, token: &Secret) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .bearer_auth(token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
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
            .request(reqwest::Method::GET, format!("{base}/tags/{}", r.tag), &s.token)
            .send()
            .await
            .map_err(|e| transport(&what, &e))?;
        let (resp, created) = match existing.status().as_u16() {
            200 => {
                let found: Value = existing.json().await.map_err(|e| transport(&what, &e))?;
                let id = found.get("id").and_then(Value::as_u64).ok_or_else(|| {
                    AuditError::new(
                        AuditErrorKind::Unavailable,
                        format!("{what}: release without an id"),
                    )
                })?;
                let resp = self
                    .request(reqwest::Method::PATCH, format!("{base}/{id}"), &s.token)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| transport(&what, &e))?;
                (resp, false)
            }
            404 => {
                let resp = self
                    .request(reqwest::Method::POST, base.clone(), &s.token)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| transport(&what, &e))?;
                (resp, true)
            }
            _ => return Err(refused(&what, existing).await),
        };
        if !resp.status().is_success() {
            return Err(refused(&what, resp).await);
        }
        let done: Value = resp.json().await.unwrap_or(Value::Null);
        let url = done
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(ReleaseReceipt { url, created })
    }

    async fn dispatch(&self, d: &DispatchRequest) -> Result<(), AuditError> {
        let Some(s) = &self.dispatch else {
            return Err(AuditError::new(
                AuditErrorKind::Rejected,
                "dispatch is not configured",
            ));
        };
        let api = s.api_url.trim_end_matches('/');
        let payload = json!({
            "operation": d.operation,
            "unit": d.unit,
            "digest": d.digest.to_string(),
            "tag": d.tag,
        });
        let (url, body, what) = match &s.target {
            DispatchTarget::Workflow {
                repository,
                file,
                git_ref,
            } => (
                format!("{api}/repos/{repository}/actions/workflows/{file}/dispatches"),
                json!({ "ref": git_ref, "inputs": payload }),
                format!("workflow_dispatch of {file} on {repository}"),
            ),
            DispatchTarget::Event {
                repository,
                event_type,
            } => (
                format!("{api}/repos/{repository}/dispatches"),
                json!({ "event_type": event_type, "client_payload": payload }),
                format!("repository_dispatch {event_type} on {repository}"),
            ),
        };
        let resp = self
            .request(reqwest::Method::POST, url, &s.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(&what, &e))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(refused(&what, resp).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    #[test]
    fn api_urls_must_be_https_except_loopback() {
        assert!(check_api_url("https://api.github.com").is_ok());
        assert!(check_api_url("http://127.0.0.1:8080").is_ok());
        assert!(check_api_url("http://localhost/x").is_ok());
        assert!(check_api_url("http://github.example.com").is_err());
        assert!(check_api_url("ftp://x").is_err());
    }

    const TOKEN: &str = "ghs_supersecrettoken";

    fn github(server: &MockServer) -> GitHub {
        let release = ReleaseSettings {
            repository: "nearai/cloud-api".into(),
            token: Secret::new(TOKEN),
            api_url: server.uri(),
        };
        let dispatch = DispatchSettings {
            target: DispatchTarget::Workflow {
                repository: "nearai/ops".into(),
                file: "deploy.yml".into(),
                git_ref: "main".into(),
            },
            token: Secret::new(TOKEN),
            api_url: server.uri(),
        };
        GitHub::new(Some(release), Some(dispatch)).unwrap()
    }

    fn request(tag: &str, make_latest: bool) -> ReleaseRequest {
        ReleaseRequest {
            tag: tag.into(),
            title: format!("Production Release {tag}"),
            notes: "notes".into(),
            make_latest,
            target_commitish: Some("a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49".into()),
        }
    }

    #[tokio::test]
    async fn creates_a_release_when_none_exists_sending_make_latest_explicitly() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(
                "/repos/nearai/cloud-api/releases/tags/prod-20260706-a2fad42",
            ))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/nearai/cloud-api/releases"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("x-github-api-version", "2022-11-28"))
            .and(body_partial_json(serde_json::json!({
                "tag_name": "prod-20260706-a2fad42",
                "name": "Production Release prod-20260706-a2fad42",
                "make_latest": "true",
                "target_commitish": "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
                "id": 7, "html_url": "https://github.com/nearai/cloud-api/releases/tag/prod-20260706-a2fad42"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let r = github(&server)
            .publish_release(&request("prod-20260706-a2fad42", true))
            .await
            .unwrap();
        assert!(r.created);
        assert!(r.url.ends_with("/releases/tag/prod-20260706-a2fad42"));
    }

    #[tokio::test]
    async fn edits_an_existing_release_and_never_leaves_make_latest_out() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/nearai/cloud-api/releases/tags/prod-rollback-x"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 42})))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/nearai/cloud-api/releases/42"))
            .and(body_partial_json(serde_json::json!({"make_latest": "false"})))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 42, "html_url": "u"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let r = github(&server)
            .publish_release(&request("prod-rollback-x", false))
            .await
            .unwrap();
        assert!(!r.created);
    }

    #[tokio::test]
    async fn maps_failures_to_kinds_without_the_token() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/nearai/cloud-api/releases/tags/a"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "Bad credentials"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/nearai/cloud-api/releases/tags/b"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let gh = github(&server);
        let e = gh.publish_release(&request("a", true)).await.unwrap_err();
        assert_eq!(e.kind, AuditErrorKind::Unauthorized);
        assert_eq!(
            e.message,
            "release a on nearai/cloud-api: GitHub answered 401 Unauthorized: Bad credentials"
        );
        let e = gh.publish_release(&request("b", true)).await.unwrap_err();
        assert_eq!(e.kind, AuditErrorKind::Unavailable);
        assert!(!format!("{e} {e:?} {gh:?}").contains(TOKEN));
    }

    #[tokio::test]
    async fn dispatches_a_workflow_or_an_event() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/repos/nearai/ops/actions/workflows/deploy.yml/dispatches"))
            .and(body_partial_json(
                serde_json::json!({"ref": "main", "inputs": {"operation": "rollback", "unit": "cloud-api"}}),
            ))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/nearai/chat-api/dispatches"))
            .and(body_partial_json(
                serde_json::json!({"event_type": "deploy-chat-api-stg"}),
            ))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let digest: tagcore::Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let req = DispatchRequest {
            operation: "rollback".into(),
            unit: "cloud-api".into(),
            digest,
            tag: Some("prod-rollback-x".into()),
        };
        github(&server).dispatch(&req).await.unwrap();
        let mut gh = github(&server);
        gh.dispatch = gh.dispatch.map(|mut d| {
            d.target = DispatchTarget::Event {
                repository: "nearai/chat-api".into(),
                event_type: "deploy-chat-api-stg".into(),
            };
            d
        });
        gh.dispatch(&req).await.unwrap();
    }
}

/// GitHub's answers are untrusted input (issue 11, point 3): a server on 127.0.0.1 answering
/// every request with an arbitrary status, headers and body (bytes, or JSON shaped like
/// releases and errors) never makes the release or dispatch step panic, and no error carries
/// the token. `PROPTEST_CASES=10000` locally; 256 by default.
#[cfg(test)]
mod prop_github {
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const TOKEN: &str = "ghs_prop_secret_token";

    /// Returns the server's address; it answers every request with the current `answer`.
    fn serve(rt: &tokio::runtime::Runtime, answer: Arc<Mutex<Vec<u8>>>) -> String {
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        rt.spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let bytes = answer.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    // The head, then whatever body came with it (requests here are small).
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(&bytes).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        addr
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "\\PC{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 20, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("id".to_owned()),
                            Just("html_url".to_owned()),
                            Just("message".to_owned()),
                            Just("errors".to_owned()),
                            Just("tag_name".to_owned()),
                            "\\PC{0,6}",
                        ],
                        inner,
                    ),
                    0..5,
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn answer() -> impl Strategy<Value = Vec<u8>> {
        let status = prop_oneof![
            Just(200u16),
            Just(201),
            Just(204),
            Just(404),
            Just(422),
            Just(500),
            100u16..600
        ];
        let body = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            json().prop_map(|v| v.to_string().into_bytes()),
        ];
        let content_type = prop_oneof![Just("application/json"), Just("text/html"), Just("")];
        (status, body, content_type, any::<bool>()).prop_map(|(status, body, ct, honest)| {
            let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
            if !ct.is_empty() {
                head.push_str(&format!("Content-Type: {ct}\r\n"));
            }
            if honest {
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            head.push_str("\r\n");
            let mut out = head.into_bytes();
            out.extend_from_slice(&body);
            out
        })
    }

    #[test]
    fn arbitrary_github_answers_never_panic_nor_leak_the_token() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let current = Arc::new(Mutex::new(Vec::new()));
        let url = format!("http://{}", serve(&rt, Arc::clone(&current)));
        let release = ReleaseSettings {
            repository: "nearai/cloud-api".into(),
            token: Secret::new(TOKEN),
            api_url: url.clone(),
        };
        let dispatch = |target| DispatchSettings {
            target,
            token: Secret::new(TOKEN),
            api_url: url.clone(),
        };
        let workflow = GitHub::new(
            Some(release),
            Some(dispatch(DispatchTarget::Workflow {
                repository: "nearai/ops".into(),
                file: "deploy.yml".into(),
                git_ref: "main".into(),
            })),
        )
        .unwrap();
        let request = ReleaseRequest {
            tag: "prod-20260709-a2fad42".into(),
            title: "Production Release".into(),
            notes: "notes".into(),
            make_latest: true,
            target_commitish: None,
        };
        let deploy = DispatchRequest {
            operation: "promote".into(),
            unit: "cloud-api".into(),
            digest: format!("sha256:{}", "a".repeat(64)).parse().unwrap(),
            tag: None,
        };
        let mut runner = proptest::test_runner::TestRunner::new(testkit::prop_config());
        let result = runner.run(&answer(), |bytes| {
            *current.lock().unwrap() = bytes;
            let (release, sent) = rt.block_on(async {
                (
                    workflow.publish_release(&request).await,
                    workflow.dispatch(&deploy).await,
                )
            });
            for e in [release.err(), sent.err()].into_iter().flatten() {
                prop_assert!(!e.to_string().contains(TOKEN), "{}", e);
                prop_assert!(!e.to_string().trim().is_empty());
            }
            Ok(())
        });
        result.unwrap();
    }
}
