//! The fault proxy in front of a real `docker-registry`: requests pass through unchanged and are
//! counted and logged; each fault breaks exactly the one request it is armed for; latency is
//! added per message and per new connection.

use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use testkit::{Fault, FaultProxy, LoggedRequest, RegistryServer};

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Pushes a config blob and a manifest tagged `v1` into `t/app` directly on the registry and
/// returns the manifest's bytes and digest.
async fn push_image(registry: &str) -> (Vec<u8>, String) {
    let http = client(Duration::from_secs(10));
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config_digest = sha256(&config);
    let start = http
        .post(format!("http://{registry}/v2/t/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let sep = if location.contains('?') { '&' } else { '?' };
    let url = if location.starts_with("http") {
        format!("{location}{sep}digest={config_digest}")
    } else {
        format!("http://{registry}{location}{sep}digest={config_digest}")
    };
    let put = http.put(url).body(config.clone()).send().await.unwrap();
    assert_eq!(put.status(), 201);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": []
    }))
    .unwrap();
    let put = http
        .put(format!("http://{registry}/v2/t/app/manifests/v1"))
        .header("content-type", MANIFEST_TYPE)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let digest = sha256(&manifest);
    (manifest, digest)
}

fn logged(r: &LoggedRequest) -> (usize, &str, &str, Option<u16>, Option<Fault>) {
    (r.n, r.method.as_str(), r.path.as_str(), r.status, r.fault)
}

#[test]
fn passes_requests_through_unchanged_counts_and_logs_them() {
    let registry = RegistryServer::start();
    let proxy = FaultProxy::start(registry.addr());
    let rt = rt();
    let (manifest, digest) = rt.block_on(push_image(registry.addr()));
    let before = registry.settled_requests().len();
    let http = client(Duration::from_secs(10));
    let base = format!("http://{}", proxy.addr());
    rt.block_on(async {
        let r = http.get(format!("{base}/v2/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"{}");
        let r = http
            .get(format!("{base}/v2/t/app/manifests/v1"))
            .header("accept", MANIFEST_TYPE)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(r.bytes().await.unwrap().as_ref(), manifest.as_slice());
        let r = http
            .head(format!("{base}/v2/t/app/manifests/missing"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        // A write passes through too (same bytes under a new tag).
        let r = http
            .put(format!("{base}/v2/t/app/manifests/v2"))
            .header("content-type", MANIFEST_TYPE)
            .body(manifest.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    });
    assert_eq!(proxy.count(), 4);
    assert_eq!(
        proxy.requests().iter().map(logged).collect::<Vec<_>>(),
        [
            (1, "GET", "/v2/", Some(200), None),
            (2, "GET", "/v2/t/app/manifests/v1", Some(200), None),
            (3, "HEAD", "/v2/t/app/manifests/missing", Some(404), None),
            (4, "PUT", "/v2/t/app/manifests/v2", Some(201), None),
        ]
    );
    // Connections are reused, and the registry saw exactly these requests.
    assert_eq!(proxy.connections(), 1);
    assert_eq!(registry.settled_requests().len(), before + 4);
    proxy.reset();
    assert_eq!((proxy.count(), proxy.requests().len()), (0, 0));
}

/// What the client saw of one request.
#[derive(Debug)]
enum Seen {
    Answer {
        status: u16,
        retry_after: Option<String>,
        digest: Option<String>,
        body: Result<Vec<u8>, String>,
    },
    Error(#[allow(dead_code)] String),
}

async fn get_manifest(http: &reqwest::Client, base: &str, method: reqwest::Method) -> Seen {
    match http
        .request(method, format!("{base}/v2/t/app/manifests/v1"))
        .header("accept", MANIFEST_TYPE)
        .send()
        .await
    {
        Err(e) => Seen::Error(format!("{e:?}")),
        Ok(r) => {
            let header = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            let (status, retry_after, digest) = (
                r.status().as_u16(),
                header("retry-after"),
                header("docker-content-digest"),
            );
            let body = r.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("{e:?}"));
            Seen::Answer {
                status,
                retry_after,
                digest,
                body,
            }
        }
    }
}

#[test]
fn each_fault_breaks_exactly_the_request_it_is_armed_for() {
    let registry = RegistryServer::start();
    let proxy = FaultProxy::start(registry.addr());
    proxy.set_stall(Duration::from_millis(1500));
    let rt = rt();
    let (manifest, digest) = rt.block_on(push_image(registry.addr()));
    let base = format!("http://{}", proxy.addr());
    for fault in Fault::ALL {
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            proxy.reset();
            proxy.inject(2, fault);
            let http = client(Duration::from_millis(500));
            let seen: Vec<Seen> = rt.block_on(async {
                let mut v = Vec::new();
                for _ in 0..3 {
                    v.push(get_manifest(&http, &base, method.clone()).await);
                }
                v
            });
            let ctx = format!("{fault} on {method}");
            let expected_body = if method == reqwest::Method::HEAD {
                Vec::new()
            } else {
                manifest.clone()
            };
            for i in [0, 2] {
                match &seen[i] {
                    Seen::Answer {
                        status: 200,
                        digest: Some(d),
                        body: Ok(b),
                        ..
                    } if *d == digest && *b == expected_body => {}
                    other => panic!("{ctx}: request {} was disturbed: {other:?}", i + 1),
                }
            }
            let broken = &seen[1];
            match (fault, broken) {
                (Fault::ServerError, Seen::Answer { status: 500, .. }) => {}
                (
                    Fault::TooManyRequests,
                    Seen::Answer {
                        status: 429,
                        retry_after: Some(s),
                        ..
                    },
                ) if s == "1" => {}
                (Fault::Reset | Fault::Stall, Seen::Error(_)) => {}
                (
                    Fault::WrongDigest,
                    Seen::Answer {
                        status: 200,
                        digest: Some(d),
                        body: Ok(b),
                        ..
                    },
                ) if *d != digest
                    && d.starts_with("sha256:")
                    && d.len() == digest.len()
                    && *b == expected_body => {}
                // A cut body (GET) or a cut header block (HEAD: no body).
                (
                    Fault::TruncatedBody,
                    Seen::Answer {
                        status: 200,
                        body: Err(_),
                        ..
                    },
                ) => {}
                (Fault::TruncatedBody, Seen::Error(_)) => {}
                _ => panic!("{ctx}: request 2 did not show the fault: {broken:?}"),
            }
            let log = proxy.requests();
            assert_eq!(log.len(), 3, "{ctx}: {log:?}");
            assert_eq!(
                log.iter().map(|r| r.fault).collect::<Vec<_>>(),
                [None, Some(fault), None],
                "{ctx}"
            );
        }
    }
}

#[test]
fn answered_faults_never_reach_the_registry_and_the_others_do() {
    let registry = RegistryServer::start();
    let proxy = FaultProxy::start(registry.addr());
    proxy.set_stall(Duration::from_millis(600));
    let rt = rt();
    rt.block_on(push_image(registry.addr()));
    let base = format!("http://{}", proxy.addr());
    for fault in Fault::ALL {
        let before = registry.settled_requests().len();
        proxy.reset();
        proxy.inject(1, fault);
        let http = client(Duration::from_millis(300));
        rt.block_on(get_manifest(&http, &base, reqwest::Method::GET));
        std::thread::sleep(Duration::from_millis(700));
        let reached = registry.settled_requests().len() - before;
        let expected = usize::from(!matches!(fault, Fault::ServerError | Fault::TooManyRequests));
        assert_eq!(reached, expected, "{fault}");
    }
}

#[test]
fn adds_one_way_latency_per_message_and_a_round_trip_per_new_connection() {
    let registry = RegistryServer::start();
    let proxy = FaultProxy::start(registry.addr());
    proxy.set_latency(Duration::from_millis(60));
    let rt = rt();
    let http = client(Duration::from_secs(10));
    let base = format!("http://{}", proxy.addr());
    let timed = || {
        let start = Instant::now();
        let (status, body) = rt.block_on(async {
            let r = http.get(format!("{base}/v2/")).send().await.unwrap();
            (r.status(), r.bytes().await.unwrap())
        });
        assert_eq!((status.as_u16(), body.as_ref()), (200, b"{}".as_slice()));
        start.elapsed()
    };
    // New connection: one round trip to open it, then one each way.
    let first = timed();
    assert!(first >= Duration::from_millis(240), "{first:?}");
    // Reused connection: one each way only.
    let second = timed();
    assert!(second >= Duration::from_millis(120), "{second:?}");
    assert!(second < first, "{second:?} vs {first:?}");
    assert_eq!(proxy.connections(), 1);
}

#[test]
fn latency_mode_tells_requests_in_turn_from_requests_in_parallel() {
    let registry = RegistryServer::start();
    let proxy = FaultProxy::with_latency(registry.addr(), Duration::from_millis(30));
    let rt = rt();
    let http = client(Duration::from_secs(10));
    let url = format!("http://{}/v2/", proxy.addr());
    rt.block_on(async {
        // Three at once (three connections), then one more on a reused connection.
        let (a, b, c) = tokio::join!(
            http.get(&url).send(),
            http.get(&url).send(),
            http.get(&url).send()
        );
        for r in [a, b, c] {
            assert_eq!(r.unwrap().status(), 200);
        }
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    });
    let log = proxy.requests();
    assert_eq!(log.len(), 4);
    assert!(
        log.iter().all(|r| r.answered.is_some_and(|a| a > r.received)),
        "{log:?}"
    );
    assert_eq!(proxy.sequential_requests(), 2, "{log:?}");
    assert_eq!(proxy.connections(), 3);
    let mut connections: Vec<usize> = log.iter().map(|r| r.connection).collect();
    connections.sort_unstable();
    connections.dedup();
    assert_eq!(connections, vec![1, 2, 3]);
    proxy.reset();
    assert_eq!(proxy.sequential_requests(), 0);
}

#[test]
fn a_connection_that_is_not_http_gets_a_400_and_is_not_counted() {
    use std::io::{Read, Write};
    let registry = RegistryServer::start();
    let proxy = FaultProxy::start(registry.addr());
    let mut s = std::net::TcpStream::connect(proxy.addr()).unwrap();
    // The start of a TLS ClientHello, as a client trying HTTPS first sends.
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x2f, 0x01]).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert_eq!((proxy.count(), proxy.connections()), (0, 1));
}
