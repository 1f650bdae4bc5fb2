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
            .send()
            .await
            .map_err(|e| transport(&what, &e))?;
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
                    .send()
                    .await
                    .map_err(|e| transport(&what, &e))?;
                (resp, false)
            }
            404 => {
                let resp = self
                    .request(reqwest::Method::POST, base.clone(), s.token.as_ref())?
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
        assert!(check_api_url("http://[::1]:8080/api").is_ok());
        assert!(check_api_url("http://127.0.0.2:8080").is_ok());
        for bypass in [
            "http://127.0.0.1@collector.example",
            "http://127.0.0.1:x@collector.example/api",
            "http://127.0.0.1.collector.example",
            "http://127.evil.example:8080",
        ] {
            assert!(check_api_url(bypass).is_err(), "{bypass}");
        }
    }

    const TOKEN: &str = "ghs_supersecrettoken";

    fn github(server: &MockServer) -> GitHub {
        let release = ReleaseSettings {
            repository: "nearai/cloud-api".into(),
            token: Some(Secret::new(TOKEN)),
            api_url: server.uri(),
        };
        let targets = [
            DispatchTarget::Workflow {
                repository: "nearai/cvm-ansible-playbooks".into(),
                file: "update_cloud_api_prod.yml".into(),
                git_ref: "main".into(),
            },
            DispatchTarget::Event {
                repository: "nearai/cvm-ansible-playbooks".into(),
                event_type: "deploy-cloud-api-stg".into(),
            },
        ];
        let dispatch = targets
            .into_iter()
            .map(|target| DispatchSettings {
                target,
                token: Some(Secret::new(TOKEN)),
                api_url: server.uri(),
            })
            .collect();
        GitHub::new(Some(release), dispatch).unwrap()
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
    async fn an_endless_answer_is_cut_off_with_a_clear_error() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let pad = "a".repeat(5 * 1024 * 1024);
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(serde_json::json!({"id": 1, "html_url": "u", "pad": pad})),
            )
            .mount(&server)
            .await;
        let e = github(&server)
            .publish_release(&request("big", true))
            .await
            .unwrap_err();
        assert_eq!(e.kind, AuditErrorKind::Unavailable);
        assert!(e.message.contains("exceeds the limit"), "{e}");
    }

    #[tokio::test]
    async fn error_messages_are_neutralised_and_never_echo_the_token() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "message": format!("proxy saw Authorization: Bearer {TOKEN}\n::stop-commands::x")
            })))
            .mount(&server)
            .await;
        let e = github(&server)
            .publish_release(&request("a", true))
            .await
            .unwrap_err();
        assert!(!e.message.contains(TOKEN), "{e}");
        assert!(!e.message.contains('\n'), "{e}");
        assert!(e.message.ends_with("Bearer *** ::stop-commands::x"), "{e}");
    }

    pub(super) fn dispatch_request(target: usize, payload: Option<&[(&str, &str)]>) -> DispatchRequest {
        DispatchRequest {
            target,
            name: "t".into(),
            operation: "rollback".into(),
            unit: "cloud-api".into(),
            channel: "prod".into(),
            digest: format!("sha256:{}", "a".repeat(64)).parse().unwrap(),
            tag: Some("prod-rollback-x".into()),
            payload: payload.map(|p| {
                p.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
        }
    }

    /// A workflow that declares no inputs, as GitHub serves it: 422 "Unexpected inputs
    /// provided" when the body names any input, 204 otherwise.
    async fn workflow_without_inputs(server: &MockServer) {
        let url =
            "/repos/nearai/cvm-ansible-playbooks/actions/workflows/update_cloud_api_prod.yml/dispatches";
        Mock::given(method("POST"))
            .and(path(url))
            .and(wiremock::matchers::body_string_contains("\"inputs\""))
            .respond_with(ResponseTemplate::new(422).set_body_json(serde_json::json!({
                "message": "Unexpected inputs provided: [\"digest\"]",
                "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
            })))
            .with_priority(1)
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path(url))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(204))
            .with_priority(2)
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn the_prod_redeploy_without_inputs_sends_exactly_the_ref() {
        let server = MockServer::start().await;
        workflow_without_inputs(&server).await;
        let gh = github(&server);
        gh.dispatch(&dispatch_request(0, None)).await.unwrap();
        let received = server.received_requests().await.unwrap();
        let body: Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(body, serde_json::json!({"ref": "main"}));
        // The same workflow given inputs is refused, as GitHub refuses it.
        let e = gh
            .dispatch(&dispatch_request(0, Some(&[("digest", "sha256:x")])))
            .await
            .unwrap_err();
        assert_eq!(e.kind, AuditErrorKind::Rejected);
        assert!(
            e.message.contains("422") && e.message.contains("Unexpected inputs"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_event_carries_its_client_payload_only_when_given() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/repos/nearai/cvm-ansible-playbooks/dispatches"))
            .respond_with(ResponseTemplate::new(204))
            .expect(2)
            .mount(&server)
            .await;
        let gh = github(&server);
        gh.dispatch(&dispatch_request(1, None)).await.unwrap();
        gh.dispatch(&dispatch_request(1, Some(&[("image", "cloud-api@sha256:a")])))
            .await
            .unwrap();
        let bodies: Vec<Value> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(
            bodies[0],
            serde_json::json!({"event_type": "deploy-cloud-api-stg"})
        );
        assert_eq!(
            bodies[1],
            serde_json::json!({"event_type": "deploy-cloud-api-stg", "client_payload": {"image": "cloud-api@sha256:a"}})
        );
        let e = gh.dispatch(&dispatch_request(5, None)).await.unwrap_err();
        assert!(e.message.contains("not configured"), "{e}");
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
            token: Some(Secret::new(TOKEN)),
            api_url: url.clone(),
        };
        let dispatch = |target| DispatchSettings {
            target,
            token: Some(Secret::new(TOKEN)),
            api_url: url.clone(),
        };
        let workflow = GitHub::new(
            Some(release),
            vec![dispatch(DispatchTarget::Workflow {
                repository: "nearai/ops".into(),
                file: "deploy.yml".into(),
                git_ref: "main".into(),
            })],
        )
        .unwrap();
        let request = ReleaseRequest {
            tag: "prod-20260709-a2fad42".into(),
            title: "Production Release".into(),
            notes: "notes".into(),
            make_latest: true,
            target_commitish: None,
        };
        let deploy = tests::dispatch_request(0, None);
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
