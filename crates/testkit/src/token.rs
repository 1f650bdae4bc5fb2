//! A Bearer token server for `docker-registry`'s `auth: token` mode, on 127.0.0.1.
//!
//! It issues RS256 JWTs exactly as distribution 2.8.2 accepts them: the signing key's certificate
//! in `x5c` (trusted through `rootcertbundle`), `iss` = [`TOKEN_ISSUER`], `aud` = the service as a
//! string, `exp`/`nbf`/`iat`, and `access: [{type, name, actions}]`. Users with a valid password
//! get every action they ask for; anonymous and unknown users get an empty `access` list (the
//! registry then answers 401 `insufficient_scope`); a wrong password gets 401 from the token
//! server itself. Every request is recorded so tests can check the scopes a client asked for.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, DnType, KeyPair, SigningKey as _};

/// The `iss` claim of every token, and the registry's configured issuer.
pub const TOKEN_ISSUER: &str = "tagcli-test-issuer";
/// The `service` the registry announces and the tokens' audience.
pub const TOKEN_SERVICE: &str = "tagcli-test-registry";

/// One request the token server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `service` query parameter.
    pub service: Option<String>,
    /// Every `scope` query parameter, in order.
    pub scopes: Vec<String>,
    /// The Basic-auth user, when credentials were sent.
    pub user: Option<String>,
}

struct Shared {
    users: HashMap<String, String>,
    requests: Mutex<Vec<TokenRequest>>,
    issued: Mutex<Vec<String>>,
    key: KeyPair,
    cert_der: Vec<u8>,
    lifetime_secs: u64,
}

/// A running token server, stopped (its listener abandoned) when dropped.
pub struct TokenServer {
    addr: String,
    shared: Arc<Shared>,
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
}

impl TokenServer {
    /// Starts a token server knowing `users` as `(name, password)` pairs.
    pub fn start(users: &[(&str, &str)]) -> Self {
        Self::start_with_lifetime(users, 300)
    }

    /// Starts a token server whose tokens live `lifetime_secs` seconds.
    pub fn start_with_lifetime(users: &[(&str, &str)], lifetime_secs: u64) -> Self {
        let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key (aws-lc-rs)");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("token cert params");
        params
            .distinguished_name
            .push(DnType::CommonName, "tagcli test token signer");
        let cert = params.self_signed(&key).expect("token signer certificate");
        let dir = tempfile::tempdir().expect("temp dir for the token cert");
        std::fs::write(dir.path().join("token-root.pem"), cert.pem()).expect("write token root");
        let shared = Arc::new(Shared {
            users: users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                .collect(),
            requests: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
            key,
            cert_der: cert.der().to_vec(),
            lifetime_secs,
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind token server");
        let addr = listener.local_addr().expect("token server addr").to_string();
        let serving = Arc::clone(&shared);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&serving);
                std::thread::spawn(move || {
                    let _ = handle(stream, &shared);
                });
            }
        });
        Self {
            addr,
            shared,
            dir,
            stop,
        }
    }

    /// Returns `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Returns the realm URL to configure in the registry.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Returns the PEM file the registry trusts (`rootcertbundle`).
    pub fn root_cert_path(&self) -> PathBuf {
        self.dir.path().join("token-root.pem")
    }

    /// Returns the requests received so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.shared.requests.lock().expect("token log lock").clone()
    }

    /// Returns every token issued so far (secrets that no output may show).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.issued.lock().expect("token log lock").clone()
    }

    /// Returns the registry `auth:` block that trusts this server.
    pub fn registry_auth_yaml(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    \
             rootcertbundle: {}\n",
            self.realm(),
            self.root_cert_path().display()
        )
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag and ends.
        let _ = TcpStream::connect(&self.addr);
    }
}

/// What a token request asks for: the service, the scopes and the Basic credentials.
struct Ask {
    service: Option<String>,
    scopes: Vec<String>,
    basic: Option<(String, String)>,
}

/// Reads the request line and headers of one token request.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Ask> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((name, value)) = h.split_once(':')
            && name.trim().eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut service = None;
    let mut scopes = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "service" => service = Some(v),
            "scope" => scopes.push(v),
            _ => {}
        }
    }
    let basic = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())));
    Ok(Ask {
        service,
        scopes,
        basic,
    })
}

fn handle(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let ask = read_request(&mut BufReader::new(stream.try_clone()?))?;
    shared
        .requests
        .lock()
        .expect("token log lock")
        .push(TokenRequest {
            service: ask.service.clone(),
            scopes: ask.scopes.clone(),
            user: ask.basic.as_ref().map(|(u, _)| u.clone()),
        });
    let mut out = stream;
    let authorised_user = match &ask.basic {
        Some((user, password)) => {
            if shared.users.get(user) != Some(password) {
                let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#;
                return write_response(&mut out, "401 Unauthorized", body);
            }
            Some(user.clone())
        }
        None => None,
    };
    let jwt = issue(shared, &ask, authorised_user);
    let body = serde_json::json!({
        "token": jwt,
        "access_token": jwt,
        "expires_in": shared.lifetime_secs,
        "issued_at": "2026-01-01T00:00:00Z",
    })
    .to_string();
    write_response(&mut out, "200 OK", &body)
}

/// Returns a signed token granting `ask`'s scopes to `user` (none to an anonymous caller),
/// and records it.
fn issue(shared: &Shared, ask: &Ask, user: Option<String>) -> String {
    let access: Vec<serde_json::Value> = if user.is_some() {
        ask.scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect()
    } else {
        Vec::new()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header =
        serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [STANDARD.encode(&shared.cert_der)]});
    let claims = serde_json::json!({
        "iss": TOKEN_ISSUER,
        "sub": user.unwrap_or_default(),
        "aud": ask.service.clone().unwrap_or_else(|| TOKEN_SERVICE.to_owned()),
        "exp": now + shared.lifetime_secs,
        "nbf": now.saturating_sub(5),
        "iat": now,
        "jti": format!("{now}-{}", shared.requests.lock().expect("token log lock").len()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = shared
        .key
        .sign(signing_input.as_bytes())
        .expect("RS256 signature");
    let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    shared.issued.lock().expect("token log lock").push(jwt.clone());
    jwt
}

fn write_response(out: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
