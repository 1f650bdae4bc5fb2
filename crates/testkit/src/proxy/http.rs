//! HTTP/1.1 framing for the proxy: message heads (parsed with `httparse`), bodies by
//! `Content-Length`, chunked or close-delimited, and the synthetic or altered answers of faults.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A socket with a read buffer, for reading HTTP/1.1 messages off it.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    buf: Vec<u8>,
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed message head: the raw bytes and what the proxy needs from it.
pub(super) struct Head {
    pub(super) raw: Vec<u8>,
    /// `(method, target)` for a request, `(status, "")` for a response.
    pub(super) first: (String, String),
    pub(super) headers: Vec<(String, String)>,
}

impl Head {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn framing(&self) -> Framing {
        if self
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            Framing::Chunked
        } else if let Some(n) = self.header("content-length").and_then(|v| v.trim().parse().ok()) {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        }
    }

    pub(super) fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

const MAX_HEAD: usize = 64 * 1024;

impl Conn {
    pub(super) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads more bytes into the buffer; `false` at end of stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Returns the first byte the peer sent (without consuming it), or `None` at a clean end.
    pub(super) async fn peek_byte(&mut self) -> std::io::Result<Option<u8>> {
        if self.buf.is_empty() {
            self.fill().await?;
        }
        Ok(self.buf.first().copied())
    }

    /// Returns the next message head (through the blank line), or `None` at a clean end.
    pub(super) async fn read_head(&mut self, response: bool) -> std::io::Result<Option<Head>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return parse_head(raw, response).map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("message head too large"));
            }
            if !self.fill().await? {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(invalid("connection closed inside a message head"))
                };
            }
        }
    }

    async fn take(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(invalid("connection closed inside a body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                return Ok(self.buf.drain(..end + 2).collect());
            }
            if self.buf.len() > MAX_HEAD || !self.fill().await? {
                return Err(invalid("bad chunk line"));
            }
        }
    }

    /// Returns the raw body bytes (chunk framing included, so they forward verbatim).
    pub(super) async fn read_body(&mut self, framing: Framing) -> std::io::Result<Vec<u8>> {
        match framing {
            Framing::None => Ok(Vec::new()),
            Framing::Length(n) => self.take(n).await,
            Framing::UntilClose => {
                while self.fill().await? {}
                Ok(std::mem::take(&mut self.buf))
            }
            Framing::Chunked => {
                let mut out = Vec::new();
                loop {
                    let line = self.line().await?;
                    let text = String::from_utf8_lossy(&line);
                    let size_hex = text.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size_hex, 16).map_err(|_| invalid("bad chunk size"))?;
                    out.extend_from_slice(&line);
                    if size == 0 {
                        loop {
                            let trailer = self.line().await?;
                            out.extend_from_slice(&trailer);
                            if trailer == b"\r\n" {
                                return Ok(out);
                            }
                        }
                    }
                    out.extend(self.take(size + 2).await?);
                }
            }
        }
    }
}

pub(super) fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(raw: Vec<u8>, response: bool) -> std::io::Result<Head> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let (first, parsed) = if response {
        let mut r = httparse::Response::new(&mut headers);
        r.parse(&raw).map_err(|_| invalid("bad response head"))?;
        let code = r.code.ok_or_else(|| invalid("no status"))?;
        ((code.to_string(), String::new()), r.headers.to_vec())
    } else {
        let mut r = httparse::Request::new(&mut headers);
        r.parse(&raw).map_err(|_| invalid("bad request head"))?;
        let method = r.method.ok_or_else(|| invalid("no method"))?.to_owned();
        let path = r.path.ok_or_else(|| invalid("no path"))?.to_owned();
        ((method, path), r.headers.to_vec())
    };
    let headers = parsed
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
        .collect();
    Ok(Head { raw, first, headers })
}

/// Returns a response head with `status`, `extra` headers and a JSON body (none for `HEAD`).
pub(super) fn synthetic(status: u16, reason: &str, extra: &str, head_request: bool) -> Vec<u8> {
    let body = format!(
        r#"{{"errors":[{{"code":"UNKNOWN","message":"fault injected by the test proxy ({status})"}}]}}"#
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    if !head_request {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Returns `head` with its `Docker-Content-Digest` replaced by another valid digest.
pub(super) fn wrong_digest(head: &Head) -> Vec<u8> {
    let original = head.header("docker-content-digest").unwrap_or("");
    let wrong = match original.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 => {
            let flipped = if hex.ends_with('0') { '1' } else { '0' };
            format!("sha256:{}{flipped}", &hex[..63])
        }
        _ => format!("sha256:{}", "0".repeat(64)),
    };
    let text = String::from_utf8_lossy(&head.raw);
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("docker-content-digest:") {
            continue;
        }
        if line == "\r\n" {
            out.push_str(&format!("Docker-Content-Digest: {wrong}\r\n"));
        }
        out.push_str(line);
    }
    out.into_bytes()
}
