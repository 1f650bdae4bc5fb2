//! Tests of the GitHub client: wiremock answers shaped as GitHub documents them, and
//! arbitrary answers that must never panic nor leak the token.

mod tests {
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::super::*;

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

/// GitHub's answers are untrusted input: a server on 127.0.0.1 answering
/// every request with an arbitrary status, headers and body (bytes, or JSON shaped like
/// releases and errors) never makes the release or dispatch step panic, and no error carries
/// the token. `PROPTEST_CASES=10000` locally; 256 by default.
mod prop_github {
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::*;

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
        let deploy = super::tests::dispatch_request(0, None);
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
