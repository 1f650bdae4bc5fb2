//! A fault-injecting, latency-adding HTTP/1.1 proxy on 127.0.0.1, for tests against a real
//! registry.
//!
//! [`FaultProxy`] sits between a client and a plain-HTTP upstream (the `docker-registry` of
//! [`crate::RegistryServer`]). It understands HTTP/1.1 framing (`Content-Length`, chunked,
//! close-delimited, `HEAD`), so it can count requests, log them, delay them and break exactly one
//! of them:
//!
//! - **Latency mode** ([`FaultProxy::with_latency`] or [`FaultProxy::set_latency`]): every
//!   message is held `one_way` before it is forwarded (the request towards the upstream, the
//!   response towards the client), and every new client connection first costs one extra round
//!   trip (`2 × one_way`), as a TCP handshake over a slow link would. Each logged request keeps
//!   when it arrived and when its answer left, so [`FaultProxy::sequential_requests`] can tell
//!   how many of them ran one after another (the round trips a client waited for in turn).
//! - **Counting and log**: every request that reaches the proxy gets the next number (1-based,
//!   since the last [`FaultProxy::reset`]); [`FaultProxy::requests`] returns method, path, the
//!   status the client saw and the fault applied.
//! - **One fault**: [`FaultProxy::inject`] arms a [`Fault`] for request number `k`; every other
//!   request passes through unchanged.
//!
//! The proxy runs its own tokio runtime on a background thread, so sync and async tests can use
//! it alike; it stops when dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod http;
mod latency;
mod serve;

pub use latency::sequential_depth;

/// A failure injected into exactly one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The proxy answers `500 Internal Server Error` itself; the upstream never sees the request.
    ServerError,
    /// The proxy answers `429 Too Many Requests` with `Retry-After` (1 second unless set by
    /// [`FaultProxy::set_retry_after`]); the upstream never sees the request.
    TooManyRequests,
    /// The request reaches the upstream (a write takes effect), then the client's connection is
    /// reset (`RST`) instead of receiving the answer.
    Reset,
    /// The request reaches the upstream, then the answer is withheld for the stall duration
    /// ([`FaultProxy::set_stall`], 10 s by default) — past a short client timeout — and the
    /// connection is closed.
    Stall,
    /// The answer's `Docker-Content-Digest` is replaced by another valid digest (added when the
    /// upstream sent none).
    WrongDigest,
    /// The answer is cut in half (its body, or its header block when it has no body) and the
    /// connection closed; the declared length is kept.
    TruncatedBody,
}

impl Fault {
    /// Every fault kind, in a stable order.
    pub const ALL: [Self; 6] = [
        Self::ServerError,
        Self::TooManyRequests,
        Self::Reset,
        Self::Stall,
        Self::WrongDigest,
        Self::TruncatedBody,
    ];

    /// Returns a short stable name (`500`, `429`, `reset`, `stall`, `wrong-digest`, `truncated`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ServerError => "500",
            Self::TooManyRequests => "429",
            Self::Reset => "reset",
            Self::Stall => "stall",
            Self::WrongDigest => "wrong-digest",
            Self::TruncatedBody => "truncated",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One request that passed through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Its number, 1-based since the last reset.
    pub n: usize,
    /// The method, e.g. `HEAD`.
    pub method: String,
    /// The request target, e.g. `/v2/team/app/manifests/prod`.
    pub path: String,
    /// The status the client received, when it received a complete status line.
    pub status: Option<u16>,
    /// The fault applied to it.
    pub fault: Option<Fault>,
    /// The client connection it came on (1-based, counted since the last reset).
    pub connection: usize,
    /// When the proxy had read it completely.
    pub received: Instant,
    /// When its answer left the proxy towards the client (none when the client got none).
    pub answered: Option<Instant>,
}

#[derive(Debug)]
struct State {
    count: usize,
    fault: Option<(usize, Fault)>,
    log: Vec<LoggedRequest>,
    one_way: Duration,
    retry_after_secs: u64,
    stall: Duration,
    connections: usize,
}

#[derive(Clone)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers a new request that came on client connection `connection`, logs it, and returns
    /// its number and the fault armed for it.
    fn next(&self, method: &str, path: &str, connection: usize) -> (usize, Option<Fault>) {
        let mut s = self.lock();
        s.count += 1;
        let n = s.count;
        let fault = s.fault.filter(|(k, _)| *k == n).map(|(_, f)| f);
        s.log.push(LoggedRequest {
            n,
            method: method.to_owned(),
            path: path.to_owned(),
            status: None,
            fault,
            connection,
            received: Instant::now(),
            answered: None,
        });
        (n, fault)
    }

    fn set_status(&self, n: usize, status: u16) {
        if let Some(r) = self.lock().log.iter_mut().rev().find(|r| r.n == n) {
            r.status = Some(status);
            r.answered = Some(Instant::now());
        }
    }

    fn one_way(&self) -> Duration {
        self.lock().one_way
    }
}

/// A running proxy; stopped (listener closed, connections dropped) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1` (a free port) in front of the plain-HTTP `upstream`
    /// (`127.0.0.1:PORT`), with no latency and no fault.
    pub fn start(upstream: &str) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = std_listener.local_addr().expect("listener address");
        let shared = Shared(Arc::new(Mutex::new(State {
            count: 0,
            fault: None,
            log: Vec::new(),
            one_way: Duration::ZERO,
            retry_after_secs: 1,
            stall: Duration::from_secs(10),
            connections: 0,
        })));
        let (stop, stopped) = oneshot::channel();
        let upstream = upstream.to_owned();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                tokio::select! {
                    () = accept_loop(listener, upstream, state) => {}
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

    /// Starts a proxy in latency mode: like [`Self::start`], with every message held `one_way`
    /// and one extra round trip per new client connection.
    pub fn with_latency(upstream: &str, one_way: Duration) -> Self {
        let proxy = Self::start(upstream);
        proxy.set_latency(one_way);
        proxy
    }

    /// Returns `127.0.0.1:PORT`, the address clients connect to.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Sets the one-way delay (each message is held this long; a new connection costs two).
    pub fn set_latency(&self, one_way: Duration) {
        self.shared.lock().one_way = one_way;
    }

    /// Sets the `Retry-After` seconds of [`Fault::TooManyRequests`].
    pub fn set_retry_after(&self, secs: u64) {
        self.shared.lock().retry_after_secs = secs;
    }

    /// Sets how long [`Fault::Stall`] withholds the answer.
    pub fn set_stall(&self, stall: Duration) {
        self.shared.lock().stall = stall;
    }

    /// Arms `fault` for request number `k` (1-based, counted since the last [`Self::reset`]),
    /// replacing any fault armed before.
    pub fn inject(&self, k: usize, fault: Fault) {
        self.shared.lock().fault = Some((k, fault));
    }

    /// Disarms the fault.
    pub fn clear_fault(&self) {
        self.shared.lock().fault = None;
    }

    /// Zeroes the request counter, clears the log and the connection count, disarms the fault.
    pub fn reset(&self) {
        let mut s = self.shared.lock();
        s.count = 0;
        s.fault = None;
        s.log.clear();
        s.connections = 0;
    }

    /// Returns how many requests reached the proxy since the last reset.
    pub fn count(&self) -> usize {
        self.shared.lock().count
    }

    /// Returns how many client connections were accepted since the last reset.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Returns the requests since the last reset, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// Returns the longest chain of requests since the last reset in which each arrived after
    /// the previous one was answered: how many round trips a client waited for one after
    /// another (requests made in parallel count once). Unanswered requests are left out.
    pub fn sequential_requests(&self) -> usize {
        let spans: Vec<(Instant, Instant)> = self
            .shared
            .lock()
            .log
            .iter()
            .filter_map(|r| Some((r.received, r.answered?)))
            .collect();
        sequential_depth(&spans)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, shared: Shared) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let connection = {
            let mut s = shared.lock();
            s.connections += 1;
            s.connections
        };
        let upstream = upstream.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            // Errors only end this connection; the client sees it closed.
            let _ = serve::serve(client, &upstream, &shared, connection).await;
        });
    }
}
