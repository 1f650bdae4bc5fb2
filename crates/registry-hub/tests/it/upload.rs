//! Blob uploads against the real registry: HEAD first, mounts across repositories (with a
//! token naming both), monolithic and chunked uploads, and a chunk cut off midway resumed.

use registry_hub::{CredentialStore, Credentials, RemoteRegistry};
use tagcore::engine::{KnownBlobs, PushReport, push_image};
use tagcore::image::SourceImage;
use tagcore::testing::MemorySource;
use tagcore::{NoProgress, Registry, Repository};
use testkit::{Fault, FaultProxy, RegistryServer, TokenServer};

use crate::support::{count, remote, repo};

const USER: &str = "ci-bot";
const PASSWORD: &str = "upload-password-7";

async fn push(
    r: &RemoteRegistry,
    to: &Repository,
    image: &SourceImage,
    src: &MemorySource,
    known: &mut KnownBlobs,
) -> PushReport {
    push_image(r, to, image, src, known, &NoProgress).await.unwrap()
}

fn big(seed: u8) -> Vec<u8> {
    (0..5000u32).map(|i| (i % 251) as u8 ^ seed).collect()
}

#[tokio::test]
async fn uploads_what_is_missing_in_chunks_and_mounts_shared_layers_across_repositories() {
    let tokens = TokenServer::start(&[(USER, PASSWORD)]);
    let server = RegistryServer::start_token(&tokens);
    let r = remote(CredentialStore::new().with(server.addr(), Credentials::basic(USER, PASSWORD)));
    r.set_upload_chunk_size(1000);
    let mut src = MemorySource::default();
    let shared = big(1);
    let api = src.image("api config", &[&shared, b"api top"]);
    let worker = src.image("worker config", &[&shared, b"worker top"]);
    let (a, b) = (
        repo(server.addr(), "team/api"),
        repo(server.addr(), "team/worker"),
    );
    let mut known = KnownBlobs::default();

    let first = push(&r, &a, &api, &src, &mut known).await;
    assert_eq!(
        (first.blobs_uploaded, first.bytes_uploaded),
        (3, api.blob_bytes())
    );
    let log = server.settled_requests();
    assert_eq!(
        count(&log, "PATCH", "/v2/team/api/blobs/uploads/"),
        5,
        "5000 bytes in 1000-byte chunks: {log:#?}"
    );
    // Three blobs, one HEAD each (the first one also answered the token challenge).
    assert!(
        (3..=4).contains(&count(&log, "HEAD", "/v2/team/api/blobs/")),
        "{log:#?}"
    );

    let again = push(&r, &a, &api, &src, &mut KnownBlobs::default()).await;
    assert_eq!((again.blobs_present, again.blobs_uploaded), (3, 0));
    let after = server.settled_requests();
    let new = &after[log.len()..];
    assert_eq!(
        count(new, "POST", "/blobs/uploads/") + count(new, "PATCH", "") + count(new, "PUT", "/blobs/"),
        0,
        "{new:#?}"
    );

    let before = server.settled_requests().len();
    let w = push(&r, &b, &worker, &src, &mut known).await;
    assert_eq!((w.blobs_mounted, w.blobs_uploaded), (1, 2));
    let new = server.settled_requests()[before..].to_vec();
    let mount = format!(
        "POST /v2/team/worker/blobs/uploads/?mount={}&from=team/api",
        shared_digest(&worker)
    );
    assert!(new.iter().any(|l| l.starts_with(&mount)), "{new:#?}");
    assert_eq!(
        count(&new, "PATCH", ""),
        0,
        "the shared layer was not sent again: {new:#?}"
    );
    let m = r.fetch_manifest(&b, &worker.digest).await.unwrap();
    assert_eq!(m.digest(), worker.digest);
    let blob = r.fetch_blob(&b, &shared_digest(&worker), 1 << 20).await.unwrap();
    assert_eq!(blob, shared);
}

fn shared_digest(image: &SourceImage) -> tagcore::Digest {
    image.blobs[1].digest.clone()
}

#[tokio::test]
async fn a_chunk_cut_off_midway_asks_the_session_then_restarts_and_converges() {
    let server = RegistryServer::start();
    let proxy = FaultProxy::start(server.addr());
    let mut src = MemorySource::default();
    let image = src.image("config", &[&big(2)]);
    // A first push to another repository through the proxy learns the request sequence.
    let probe = remote(CredentialStore::new());
    probe.set_upload_chunk_size(1000);
    push(
        &probe,
        &repo(&proxy.addr(), "team/probe"),
        &image,
        &src,
        &mut KnownBlobs::default(),
    )
    .await;
    let patches: Vec<usize> = proxy
        .requests()
        .iter()
        .filter(|q| q.method == "PATCH")
        .map(|q| q.n)
        .collect();
    assert_eq!(patches.len(), 5);
    proxy.reset();
    // The third chunk reaches the registry, then the connection is reset before the answer.
    proxy.inject(patches[2], Fault::Reset);
    let r = remote(CredentialStore::new());
    r.set_upload_chunk_size(1000);
    let to = repo(&proxy.addr(), "team/app");
    let report = push(&r, &to, &image, &src, &mut KnownBlobs::default()).await;
    assert_eq!(report.blobs_uploaded, 2);
    let log = proxy.requests();
    let cut = log.iter().position(|q| q.fault == Some(Fault::Reset)).unwrap();
    assert_eq!(
        log[cut + 1].method,
        "GET",
        "the session's status is asked: {log:#?}"
    );
    // distribution 2.8 refuses the status of a session whose `_state` is one chunk behind (404),
    // so the upload restarts with a new session and sends every chunk again.
    assert_eq!(log[cut + 1].status, Some(404));
    assert_eq!(log[cut + 2].method, "POST", "{log:#?}");
    assert_eq!(
        log.iter().filter(|q| q.method == "PATCH").count(),
        3 + 5,
        "{log:#?}"
    );
    let direct = remote(CredentialStore::new());
    let stored = direct
        .fetch_blob(&repo(server.addr(), "team/app"), &image.blobs[1].digest, 1 << 20)
        .await
        .unwrap();
    assert_eq!(stored, big(2));
    assert!(
        direct
            .has_blob(&repo(server.addr(), "team/app"), &image.blobs[1].digest)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_failed_chunk_resumes_where_the_registry_says_it_stands() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let mut src = MemorySource::default();
    let image = src.image("config", &[&big(3)]);
    let layer = image.blobs[1].digest.clone();
    let at = |p: &str| ResponseTemplate::new(202).insert_header("location", p);
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(at("/v2/team/app/blobs/uploads/s1"))
        .mount(&server)
        .await;
    // The third chunk arrives, but its answer is a 500; the session's status says it arrived.
    Mock::given(method("PATCH"))
        .and(header("content-range", "2000-2999"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(at("/v2/team/app/blobs/uploads/s1"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/blobs/uploads/s1"))
        .respond_with(
            ResponseTemplate::new(204)
                .insert_header("range", "0-2999")
                .insert_header("location", "/v2/team/app/blobs/uploads/s1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(query_param("digest", layer.as_str()))
        .respond_with(ResponseTemplate::new(201).insert_header("docker-content-digest", layer.as_str()))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let r = remote(CredentialStore::new());
    r.set_upload_chunk_size(1000);
    let to = repo(&server.address().to_string(), "team/app");
    let report = push(&r, &to, &image, &src, &mut KnownBlobs::default()).await;
    assert_eq!(report.blobs_uploaded, 2);
    let ranges: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|q| q.method.as_str() == "PATCH")
        .filter_map(|q| {
            q.headers
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        ranges,
        ["0-999", "1000-1999", "2000-2999", "3000-3999", "4000-4999"]
    );
}

/// Counts what the adapter reports.
#[derive(Default)]
struct Counted {
    started: std::sync::atomic::AtomicU64,
    sent: std::sync::atomic::AtomicU64,
}

impl tagcore::Progress for Counted {
    fn blob_started(&self, _: &tagcore::Digest, _: u64) {
        self.started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn bytes_sent(&self, bytes: u64) {
        self.sent.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

#[tokio::test]
async fn progress_counts_every_byte_and_a_refused_mount_hands_its_session_to_the_upload() {
    let server = RegistryServer::start();
    let r = remote(CredentialStore::new());
    r.set_upload_chunk_size(1000);
    let mut src = MemorySource::default();
    let image = src.image("config", &[&big(4)]);
    let to = repo(server.addr(), "team/app");
    let progress = Counted::default();
    push_image(&r, &to, &image, &src, &mut KnownBlobs::default(), &progress)
        .await
        .unwrap();
    let ordering = std::sync::atomic::Ordering::Relaxed;
    assert_eq!(progress.started.load(ordering), 2);
    assert_eq!(progress.sent.load(ordering), image.blob_bytes());

    // `team/empty` holds nothing: the registry answers the mount with an upload session (202),
    // and the upload that follows uses it instead of opening another.
    let other = repo(server.addr(), "team/other");
    let blob = &image.blobs[0];
    let before = server.settled_requests().len();
    assert!(
        !r.mount_blob(&other, &blob.digest, &repo(server.addr(), "team/empty"))
            .await
            .unwrap()
    );
    let upload = tagcore::BlobUpload {
        digest: &blob.digest,
        size: blob.size,
        source: &src,
        progress: &NoProgress,
    };
    r.upload_blob(&other, &upload).await.unwrap();
    let log = server.settled_requests()[before..].to_vec();
    assert_eq!(
        count(&log, "POST", "/v2/team/other/blobs/uploads/"),
        1,
        "{log:#?}"
    );
    assert!(r.has_blob(&other, &blob.digest).await.unwrap());
}

#[tokio::test]
async fn a_push_converges_after_a_fault_at_any_request() {
    let server = RegistryServer::start();
    let proxy = FaultProxy::start(server.addr());
    let mut src = MemorySource::default();
    let image = src.image("config", &[&big(5), b"small layer"]);
    let client = || {
        let r = remote(CredentialStore::new());
        r.set_upload_chunk_size(2000);
        r
    };
    let probe = repo(&proxy.addr(), "team/probe");
    push(&client(), &probe, &image, &src, &mut KnownBlobs::default()).await;
    let requests = proxy.requests().len();
    assert!(requests >= 10, "{:#?}", proxy.requests());
    for k in 1..=requests {
        for fault in [Fault::Reset, Fault::ServerError, Fault::TruncatedBody] {
            let to = repo(&proxy.addr(), &format!("team/k{k}-{}", fault.name()));
            proxy.reset();
            proxy.inject(k, fault);
            // The faulted run may succeed (a retry or a resume) or fail; either way a re-run
            // completes and the repository holds exactly the image.
            let _ = push_image(
                &client(),
                &to,
                &image,
                &src,
                &mut KnownBlobs::default(),
                &NoProgress,
            )
            .await;
            proxy.clear_fault();
            let r = push(&client(), &to, &image, &src, &mut KnownBlobs::default()).await;
            assert_eq!(r.digest, image.digest, "request {k}, {fault}");
            let direct = remote(CredentialStore::new());
            let at = repo(server.addr(), &format!("team/k{k}-{}", fault.name()));
            for b in &image.blobs {
                let bytes = direct.fetch_blob(&at, &b.digest, 1 << 20).await.unwrap();
                assert_eq!(bytes.len() as u64, b.size, "request {k}, {fault}");
            }
            assert_eq!(
                direct.fetch_manifest(&at, &image.digest).await.unwrap().digest(),
                image.digest
            );
        }
    }
}

/// A source whose readers record the thread each read runs on.
struct ThreadRecording<'a> {
    inner: &'a MemorySource,
    threads: std::sync::Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
}

struct RecordingReader {
    inner: Box<dyn std::io::Read + Send>,
    threads: std::sync::Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
}

impl std::io::Read for RecordingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.threads.lock().unwrap().push(std::thread::current().id());
        self.inner.read(buf)
    }
}

impl tagcore::BlobSource for ThreadRecording<'_> {
    fn open_blob(
        &self,
        digest: &tagcore::Digest,
        offset: u64,
    ) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(Box::new(RecordingReader {
            inner: self.inner.open_blob(digest, offset)?,
            threads: self.threads.clone(),
        }))
    }
}

#[tokio::test]
async fn blob_bytes_are_read_off_the_runtime_thread() {
    let server = RegistryServer::start();
    let r = remote(CredentialStore::new());
    r.set_upload_chunk_size(1000);
    let mut src = MemorySource::default();
    // A one-PUT config and a chunked layer.
    let image = src.image("config", &[&big(5)]);
    let recording = ThreadRecording {
        inner: &src,
        threads: Default::default(),
    };
    let to = repo(server.addr(), "team/app");
    push_image(
        &r,
        &to,
        &image,
        &recording,
        &mut KnownBlobs::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    let threads = recording.threads.lock().unwrap().clone();
    assert!(
        threads.len() >= 6,
        "every chunk and the config were read: {threads:?}"
    );
    let runtime = std::thread::current().id();
    assert!(
        threads.iter().all(|t| *t != runtime),
        "a blob was read on the runtime's thread"
    );
    assert!(r.has_blob(&to, &image.blobs[1].digest).await.unwrap());
}
