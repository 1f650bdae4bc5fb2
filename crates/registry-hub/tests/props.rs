//! Parsers of untrusted input never panic: property tests on the stable
//! toolchain. `PROPTEST_CASES=10000` locally; 256 cases with a fixed seed by default (CI).
//!
//! - `WWW-Authenticate` values and manifest bytes, parsed directly;
//! - a hostile registry: a server on 127.0.0.1 answering every request with an arbitrary
//!   status, arbitrary `Docker-Content-Digest`, `Content-Type`, `Link`, `WWW-Authenticate`,
//!   `Retry-After` / `X-Retry-After` and an arbitrary body (bytes, or JSON shaped like manifests,
//!   indexes and tag lists), read through every read of the client;
//! - a hostile Hub API: arbitrary tag pages and login answers.
//!
//! Each call must return a value or an error, never panic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use registry_hub::manifest::media_type_of;
use registry_hub::{
    Credentials, HubClient, HubConfig, OciConfig, RemoteRegistry, RetryPolicy, parse_www_authenticate,
};
use tagcore::{Digest, Registry as _, Repository};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server on 127.0.0.1 that answers every request with the current canned bytes and closes.
struct Canned {
    addr: String,
    answer: Arc<Mutex<Vec<u8>>>,
    rt: tokio::runtime::Runtime,
}

impl Canned {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let answer = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&answer);
        rt.spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    continue;
                };
                let bytes = shared.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(&bytes).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        Self { addr, answer, rt }
    }

    fn set(&self, bytes: Vec<u8>) {
        *self.answer.lock().unwrap() = bytes;
    }
}

/// Values a hostile server may put in a header (visible ASCII). Nothing names another host:
/// realms and redirects point back at the server `addr`, and free text never holds `//`, so
/// the client under test never contacts a host outside 127.0.0.1.
fn header_value(addr: &str) -> impl Strategy<Value = String> {
    let realm = format!("http://{addr}/token");
    prop_oneof![
        "[ -~]{0,120}".prop_filter("no URL to another host", |v| !v.contains("//")),
        Just("18446744073709551615".to_owned()),
        Just("0".to_owned()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        "sha256:[0-9a-f]{0,70}",
        "[ -~]{0,10}"
            .prop_map(move |x| format!(r#"Bearer realm="{realm}",service="{x}",scope="{x}""#))
            .prop_filter("no URL to another host", |v| v.matches("//").count() == 1),
        Just("Basic realm=x".to_owned()),
        "/v2/[a-z/?=&]{0,30}".prop_map(|p| format!(r#"<{p}>; rel="next""#)),
    ]
}

/// Bodies shaped like what a registry sends, with arbitrary holes, or arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let json = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
        "\\PC{0,20}"
            .prop_filter("no URL to another host", |v| !v.contains("//"))
            .prop_map(serde_json::Value::String),
        "sha256:[0-9a-f]{64}".prop_map(serde_json::Value::String),
    ];
    let json = json.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("mediaType".to_owned()),
                        Just("manifests".to_owned()),
                        Just("config".to_owned()),
                        Just("digest".to_owned()),
                        Just("annotations".to_owned()),
                        Just("platform".to_owned()),
                        Just("tags".to_owned()),
                        Just("name".to_owned()),
                        Just("errors".to_owned()),
                        Just("results".to_owned()),
                        Just("next".to_owned()),
                        Just("token".to_owned()),
                        Just("access_token".to_owned()),
                        Just("expires_in".to_owned()),
                        Just("org.opencontainers.image.revision".to_owned()),
                        "\\PC{0,8}",
                    ],
                    inner,
                ),
                0..6,
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        json.prop_map(|v| v.to_string().into_bytes()),
    ]
}

/// A whole hostile answer: status, some headers, a body, maybe a lying `Content-Length`.
fn answer(addr: &str) -> impl Strategy<Value = Vec<u8>> {
    let status = prop_oneof![
        Just(200u16),
        Just(201),
        Just(307),
        Just(401),
        Just(404),
        Just(429),
        Just(500),
        100u16..600
    ];
    let headers = proptest::collection::vec(
        (
            prop_oneof![
                Just("Docker-Content-Digest"),
                Just("Content-Type"),
                Just("Link"),
                Just("WWW-Authenticate"),
                Just("Retry-After"),
                Just("X-Retry-After"),
                Just("Location"),
                Just("OCI-Tag"),
                Just("RateLimit-Remaining"),
            ],
            header_value(addr),
        ),
        0..5,
    );
    (status, headers, body(), any::<bool>()).prop_map(|(status, headers, body, honest)| {
        let mut out = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if honest {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    })
}

fn client() -> RemoteRegistry {
    RemoteRegistry::new(OciConfig {
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_total_wait: Duration::from_millis(5),
        },
        ..OciConfig::default()
    })
    .unwrap()
}

proptest! {
    #![proptest_config(testkit::prop_config())]

    #[test]
    fn www_authenticate_values_never_panic(s in "\\PC{0,200}") {
        for c in parse_www_authenticate(&s) {
            let _ = c.param("realm");
        }
    }

    #[test]
    fn manifest_bytes_never_panic(bytes in body()) {
        let _ = media_type_of(&bytes);
    }
}

#[test]
fn a_hostile_registry_never_makes_the_client_panic() {
    let server = Canned::start();
    let registry = client();
    let repo = Repository::new(&server.addr, "team/app").unwrap();
    let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
    let tag = "prod".parse().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(testkit::prop_config());
    let result = runner.run(&(answer(&server.addr), 0..6usize), |(bytes, call)| {
        server.set(bytes);
        server.rt.block_on(async {
            match call {
                0 => drop(registry.resolve_tag(&repo, &tag).await),
                1 => drop(registry.fetch_manifest(&repo, &digest).await),
                2 => drop(registry.list_tags(&repo).await),
                3 => drop(registry.fetch_blob(&repo, &digest, 1 << 20).await),
                4 => drop(registry.image_revision(&repo, &digest).await),
                _ => drop(registry.fetch_referrers(&repo, &digest).await),
            }
        });
        Ok(())
    });
    println!("hostile registry: {} cases", runner.config().cases);
    result.unwrap();
}

#[test]
fn a_hostile_hub_api_never_makes_the_client_panic() {
    let server = Canned::start();
    let hub = |credentials| {
        HubClient::new(HubConfig {
            base_url: format!("http://{}", server.addr),
            credentials,
            max_pages: 3,
            request_timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
                max_total_wait: Duration::from_millis(5),
            },
            ..HubConfig::default()
        })
        .unwrap()
    };
    let anonymous = hub(Credentials::Anonymous);
    let mut runner = proptest::test_runner::TestRunner::new(testkit::prop_config());
    // One case in eight logs in with a fresh client (building one costs ~40 ms), so that every
    // login answer is parsed rather than a cached token reused.
    let result = runner.run(
        &(answer(&server.addr), proptest::bool::weighted(0.125)),
        |(bytes, login)| {
            server.set(bytes);
            let client = if login {
                hub(Credentials::basic("u", "p"))
            } else {
                anonymous.clone()
            };
            server
                .rt
                .block_on(async { drop(client.list_tags("team", "app").await) });
            Ok(())
        },
    );
    result.unwrap();
}

/// The panics these properties found (overflowing waits), as fixed examples.
#[test]
fn the_minimal_inputs_found_stay_fixed() {
    use base64::Engine as _;
    let server = Canned::start();
    let registry = client();
    let repo = Repository::new(&server.addr, "team/app").unwrap();
    let tag = "prod".parse().unwrap();
    for header in ["X-Retry-After", "Retry-After"] {
        server.set(
            format!("HTTP/1.1 429 X\r\nConnection: close\r\n{header}: 18446744073709551615\r\n\r\n")
                .into_bytes(),
        );
        let err = server.rt.block_on(registry.resolve_tag(&repo, &tag)).unwrap_err();
        assert_eq!(
            err.kind,
            tagcore::RegistryErrorKind::RateLimited,
            "{header}: {err}"
        );
    }
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":18446744073709551615}"#);
    let body = format!(r#"{{"access_token":"e30.{claims}.c2ln"}}"#);
    server.set(
        format!(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    );
    let hub = HubClient::new(HubConfig {
        base_url: format!("http://{}", server.addr),
        credentials: Credentials::basic("u", "p"),
        retry: RetryPolicy::none(),
        ..HubConfig::default()
    })
    .unwrap();
    // The login succeeds (a token valid "forever" is capped), then the page is not a page.
    assert!(server.rt.block_on(hub.list_tags("team", "app")).is_err());
}
