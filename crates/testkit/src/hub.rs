//! An emulation of Docker Hub's Hub API on 127.0.0.1, for tests and benchmarks of tag listings at
//! scale (the real service cannot be reached from tests).
//!
//! [`HubServer`] serves, over HTTP/1.1 with keep-alive:
//!
//! - `GET /v2/namespaces/{ns}/repositories/{repo}/tags` and the older
//!   `GET /v2/repositories/{ns}/{repo}/tags`, with `page_size` (default 10, at most 100),
//!   `page` (1-based), `name` (substring filter) and `ordering` (`last_updated`,
//!   `-last_updated` or none: newest push first; `name`: by name). The answer has Docker Hub's
//!   shape: `count`, `next` and `previous` (absolute URLs built from the request's `Host`, so the
//!   emulation also works behind a proxy), and `results[]` of tag objects (`name`, `digest`,
//!   `last_updated`, `tag_last_pushed`, `images[]`, …). A page past the end answers 404.
//! - `POST /v2/auth/token`: any `identifier`/`secret` gets `{"access_token": <JWT valid 10 min>}`.
//!
//! Repositories are [`HubRepo`]s: explicit tags merged with synthetic build tags generated
//! lazily, so 100,000 tags cost nothing until a page is read. Every request is logged
//! ([`HubServer::requests`]); [`HubServer::set_outage`] makes every request fail (a status, a
//! closed connection, or no answer), [`HubServer::set_ignore_name_filter`] makes the service
//! ignore `name=` (the filter is not promised by Docker Hub's OpenAPI document).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

mod data;

pub use data::{HubRepo, HubTag, rfc3339};

/// How the emulated Hub API fails while an outage is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubOutage {
    /// Every request is answered with this status and a JSON error body.
    Status(u16),
    /// Every connection is closed without an answer.
    Close,
    /// Requests are read and never answered (the client times out).
    Hang,
}

/// One request the emulation received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path without the query, e.g. `/v2/namespaces/t/repositories/app/tags`.
    pub path: String,
    /// The query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The status answered (`None` when no answer was sent).
    pub status: Option<u16>,
}

impl HubRequest {
    /// Returns the first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Tells whether this is a tag listing (one page).
    pub fn is_tag_page(&self) -> bool {
        self.method == "GET" && self.path.ends_with("/tags")
    }
}

struct State {
    repos: Vec<HubRepo>,
    log: Vec<HubRequest>,
    outage: Option<HubOutage>,
    ignore_name: bool,
}

#[derive(Clone)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Hub API emulation; stopped when dropped.
pub struct HubServer {
    addr: String,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HubServer {
    /// Starts the emulation on `127.0.0.1` (a free port) serving `repos`.
    pub fn start(repos: Vec<HubRepo>) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = std_listener.local_addr().expect("listener address").to_string();
        let shared = Shared(Arc::new(Mutex::new(State {
            repos,
            log: Vec::new(),
            outage: None,
            ignore_name: false,
        })));
        let (stop, stopped) = oneshot::channel();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("hub runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                tokio::select! {
                    () = accept_loop(listener, state) => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_background();
        });
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Returns `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Returns `http://127.0.0.1:PORT`, the `hub_api` base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns the requests so far, in arrival order.
    pub fn requests(&self) -> Vec<HubRequest> {
        self.shared.lock().log.clone()
    }

    /// Returns how many tag pages were requested so far.
    pub fn tag_pages(&self) -> usize {
        self.shared.lock().log.iter().filter(|r| r.is_tag_page()).count()
    }

    /// Clears the request log.
    pub fn reset(&self) {
        self.shared.lock().log.clear();
    }

    /// Makes every following request fail as `outage` says (`None` ends the outage).
    pub fn set_outage(&self, outage: Option<HubOutage>) {
        self.shared.lock().outage = outage;
    }

    /// Makes the service ignore (`true`) or honour (`false`, the default) the `name` filter.
    pub fn set_ignore_name_filter(&self, ignore: bool) {
        self.shared.lock().ignore_name = ignore;
    }

    /// Replaces the repositories served.
    pub fn set_repos(&self, repos: Vec<HubRepo>) {
        self.shared.lock().repos = repos;
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Shared) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = serve(client, &shared).await;
        });
    }
}

/// A parsed request: method, target, `Host`, whether the client closes, the body.
struct Request {
    method: String,
    target: String,
    host: String,
    close: bool,
    body: Vec<u8>,
}

/// Reads the next request off `conn`, or `None` at the end of the stream.
async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Request>> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = req.parse(buf) {
            let header = |name: &str| {
                req.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            let length: usize = header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut parsed = Request {
                method: req.method.unwrap_or("").to_owned(),
                target: req.path.unwrap_or("/").to_owned(),
                host: header("host").unwrap_or_default(),
                close: header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")),
                body: Vec::new(),
            };
            buf.drain(..len);
            while buf.len() < length {
                if !fill(conn, buf).await? {
                    return Ok(None);
                }
            }
            parsed.body = buf.drain(..length).collect();
            return Ok(Some(parsed));
        }
        if buf.len() > 64 * 1024 || !fill(conn, buf).await? {
            return Ok(None);
        }
    }
}

async fn fill(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    let n = conn.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

async fn serve(mut conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut conn, &mut buf).await? {
        let (path, query) = split_target(&req.target);
        shared.lock().log.push(HubRequest {
            method: req.method.clone(),
            path: path.clone(),
            query: query.clone(),
            status: None,
        });
        let outage = shared.lock().outage;
        let (status, body) = match outage {
            Some(HubOutage::Close) => return Ok(()),
            Some(HubOutage::Hang) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
            Some(HubOutage::Status(s)) => (s, json!({"message": "emulated outage"})),
            None => answer(shared, &req, &path, &query),
        };
        if let Some(last) = shared.lock().log.last_mut() {
            last.status = Some(status);
        }
        let body = body.to_string();
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n",
            reason(status),
            body.len(),
            if req.close { "connection: close\r\n" } else { "" }
        );
        conn.write_all(head.as_bytes()).await?;
        conn.write_all(body.as_bytes()).await?;
        if req.close {
            return Ok(());
        }
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Answers one request (no outage).
fn answer(shared: &Shared, req: &Request, path: &str, query: &[(String, String)]) -> (u16, Value) {
    if req.method == "POST" && path == "/v2/auth/token" {
        return login(&req.body);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (ns, repo) = match parts.as_slice() {
        ["v2", "namespaces", ns, "repositories", repo, "tags"] | ["v2", "repositories", ns, repo, "tags"]
            if req.method == "GET" =>
        {
            (*ns, *repo)
        }
        _ => return (404, json!({"message": "page not found"})),
    };
    let state = shared.lock();
    let Some(found) = state.repos.iter().find(|r| r.namespace == ns && r.name == repo) else {
        return (404, json!({"message": "object not found", "errinfo": {}}));
    };
    let name = if state.ignore_name {
        None
    } else {
        param(query, "name").filter(|n| !n.is_empty())
    };
    page(found, query, name, &req.host, path)
}

/// Answers one page of `repo`'s tags.
fn page(
    repo: &HubRepo,
    query: &[(String, String)],
    name: Option<&str>,
    host: &str,
    path: &str,
) -> (u16, Value) {
    let size = match param(query, "page_size").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if n >= 1 => n.min(100),
        Some(_) => return (400, json!({"message": "invalid page_size"})),
    };
    let number = match param(query, "page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return (400, json!({"message": "invalid page"})),
    };
    let by_name = param(query, "ordering").is_some_and(|o| o.trim_start_matches('-') == "name");
    let start = (number - 1).saturating_mul(size);
    let (count, tags) = repo.page(name, by_name, start, size);
    if start >= count && number > 1 {
        return (404, json!({"detail": "Invalid page."}));
    }
    let results: Vec<Value> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| data::tag_json(t, start + i + 1))
        .collect();
    let link = |n: usize| {
        let mut q: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        q.push(format!("page={n}"));
        format!("http://{host}{path}?{}", q.join("&"))
    };
    let next = (start + size < count).then(|| link(number + 1));
    let previous = (number > 1).then(|| link(number - 1));
    (
        200,
        json!({"count": count, "next": next, "previous": previous, "results": results}),
    )
}

/// Answers a login with a JWT-shaped token valid for ten minutes.
fn login(body: &[u8]) -> (u16, Value) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let present = |k: &str| v.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !present("identifier") || !present("secret") {
        return (401, json!({"message": "identifier and secret are required"}));
    }
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    let token = format!(
        "{}.{}.emulated",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#))
    );
    (200, json!({"access_token": token}))
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Splits a request target into its path and decoded query parameters.
fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path.to_owned(), pairs)
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
            (b'+', _, _) => out.push(b' '),
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
