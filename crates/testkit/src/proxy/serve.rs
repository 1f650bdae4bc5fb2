//! One client connection of the proxy: read a request, hold it for the latency, answer a fault
//! that never reaches the upstream, or forward it over the connection's upstream socket and
//! deliver (or break) the answer. A connection that does not start with HTTP gets a `400` and
//! is closed, as by the registry itself.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::http::{Conn, Framing, Head, invalid, synthetic, wrong_digest};
use super::{Fault, Shared};

/// What an HTTP server answers to bytes that are not HTTP, such as a TLS handshake.
const NOT_HTTP: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
    Connection: close\r\n\r\n400 Bad Request";

/// An upstream answer, read completely.
struct Exchange {
    head: Head,
    body: Vec<u8>,
    status: u16,
    /// The upstream closes the connection after this answer.
    closes: bool,
}

/// Serves one client connection (number `connection`): one upstream connection, opened lazily
/// and re-opened when the upstream closes it.
pub(super) async fn serve(
    client: TcpStream,
    upstream: &str,
    shared: &Shared,
    connection: usize,
) -> std::io::Result<()> {
    tokio::time::sleep(shared.one_way() * 2).await;
    // Without Nagle's algorithm: a head and a body written apart must not wait for an ACK.
    client.set_nodelay(true)?;
    let mut client = Conn::new(client);
    if client
        .peek_byte()
        .await?
        .is_some_and(|b| !b.is_ascii_alphabetic())
    {
        // Not HTTP (a TLS ClientHello: clients such as skopeo try HTTPS first on an insecure
        // registry): answer as the registry's own HTTP server would, and close.
        tokio::time::sleep(shared.one_way() * 2).await;
        client.stream.write_all(NOT_HTTP).await?;
        client.stream.shutdown().await?;
        return Ok(());
    }
    let mut up: Option<Conn> = None;
    while let Some(req) = client.read_head(false).await? {
        let body = client
            .read_body(match req.framing() {
                Framing::UntilClose => Framing::None,
                f => f,
            })
            .await?;
        let (method, path) = req.first.clone();
        let is_head = method.eq_ignore_ascii_case("HEAD");
        let (n, fault) = shared.next(&method, &path, connection);
        tokio::time::sleep(shared.one_way()).await;
        if let Some(answer) = early_answer(shared, n, fault, is_head) {
            client.stream.write_all(&answer).await?;
            continue;
        }
        let exchange = forward(&mut up, upstream, &req, &body, is_head).await?;
        tokio::time::sleep(shared.one_way()).await;
        if !deliver(&mut client, shared, n, fault, exchange).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Returns the proxy's own answer for a fault the upstream never sees, logging its status.
fn early_answer(shared: &Shared, n: usize, fault: Option<Fault>, is_head: bool) -> Option<Vec<u8>> {
    let answer = match fault? {
        Fault::ServerError => (500, synthetic(500, "Internal Server Error", "", is_head)),
        Fault::TooManyRequests => {
            let extra = format!("Retry-After: {}\r\n", shared.lock().retry_after_secs);
            (429, synthetic(429, "Too Many Requests", &extra, is_head))
        }
        _ => return None,
    };
    shared.set_status(n, answer.0);
    Some(answer.1)
}

/// Sends the request over the upstream connection (opened when there is none) and reads the
/// answer; keeps the connection in `up` unless the upstream closes it.
async fn forward(
    up: &mut Option<Conn>,
    upstream: &str,
    req: &Head,
    body: &[u8],
    is_head: bool,
) -> std::io::Result<Exchange> {
    let mut conn = match up.take() {
        Some(c) => c,
        None => {
            let stream = TcpStream::connect(upstream).await?;
            stream.set_nodelay(true)?;
            Conn::new(stream)
        }
    };
    conn.stream
        .write_all(&[req.raw.as_slice(), body].concat())
        .await?;
    let head = conn
        .read_head(true)
        .await?
        .ok_or_else(|| invalid("upstream closed"))?;
    let status: u16 = head.first.0.parse().unwrap_or(0);
    let framing = if is_head || status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::None
    } else {
        head.framing()
    };
    let body = conn.read_body(framing).await?;
    let closes = head.closes() || framing == Framing::UntilClose;
    if !closes {
        *up = Some(conn);
    }
    Ok(Exchange {
        head,
        body,
        status,
        closes,
    })
}

/// Delivers the answer to the client, or breaks it as `fault` says; returns whether the client
/// connection stays open.
async fn deliver(
    client: &mut Conn,
    shared: &Shared,
    n: usize,
    fault: Option<Fault>,
    ex: Exchange,
) -> std::io::Result<bool> {
    match fault {
        Some(Fault::Reset) => {
            client.stream.set_zero_linger()?;
            return Ok(false);
        }
        Some(Fault::Stall) => {
            let stall = shared.lock().stall;
            tokio::time::sleep(stall).await;
            return Ok(false);
        }
        Some(Fault::TruncatedBody) => {
            if ex.body.is_empty() {
                client
                    .stream
                    .write_all(&ex.head.raw[..ex.head.raw.len() / 2])
                    .await?;
            } else {
                shared.set_status(n, ex.status);
                client.stream.write_all(&ex.head.raw).await?;
                client.stream.write_all(&ex.body[..ex.body.len() / 2]).await?;
            }
            client.stream.shutdown().await?;
            return Ok(false);
        }
        _ => {}
    }
    // Logged before the answer leaves, so a client that has its answer sees it logged.
    shared.set_status(n, ex.status);
    let head = if fault == Some(Fault::WrongDigest) {
        wrong_digest(&ex.head)
    } else {
        ex.head.raw
    };
    client.stream.write_all(&[head, ex.body].concat()).await?;
    Ok(!ex.closes)
}
