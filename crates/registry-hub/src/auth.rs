//! Authentication: `WWW-Authenticate` parsing, least-privilege scopes and the token cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::credentials::Secret;

/// One challenge of a `WWW-Authenticate` header, e.g. `Bearer realm="…",service="…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lowercased (`bearer`, `basic`).
    pub scheme: String,
    /// The parameters, names lowercased, values unquoted and unescaped.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Returns parameter `name` (lowercase).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Returns every challenge in a `WWW-Authenticate` header value.
///
/// Tolerates quoted values holding commas (`scope="repository:a:pull,push"`), escaped quotes,
/// unquoted values, stray whitespace and commas, mixed-case names, and several challenges in one
/// header. Garbage never panics; it yields fewer or no challenges.
pub fn parse_www_authenticate(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(|b| b == b' ' || b == b'\t' || b == b',');
        if p.peek().is_none() {
            break;
        }
        let Some(token) = p.token() else { continue };
        p.skip(|b| b == b' ' || b == b'\t');
        if p.peek() == Some(b'=') {
            // A parameter of the current challenge.
            p.i += 1;
            p.skip(|b| b == b' ' || b == b'\t');
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.token().unwrap_or_default()
            };
            if let Some(c) = out.last_mut() {
                c.params.insert(token.to_ascii_lowercase(), value);
            }
        } else {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|b| !matches!(b, b' ' | b'\t' | b',' | b'=' | b'"'));
        if self.i == start {
            // An unexpected '=' or '"': consume it so that the parser always advances.
            if self.peek().is_some() {
                self.i += 1;
            }
            return None;
        }
        Some(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> String {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What a request needs: read only (`pull`) or read and write (`pull,push`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Access {
    /// `pull` only: every read.
    Pull,
    /// `pull,push`: manifest writes only.
    Push,
    /// `delete`: manifest deletes (prune) only.
    Delete,
}

impl Access {
    /// Returns the token scope for repository `path`, e.g. `repository:team/app:pull`.
    pub(crate) fn scope(self, path: &str) -> String {
        match self {
            Self::Pull => format!("repository:{path}:pull"),
            Self::Push => format!("repository:{path}:pull,push"),
            Self::Delete => format!("repository:{path}:delete"),
        }
    }
}

/// How a registry host wants to be authenticated, learnt from its first challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostAuth {
    /// No challenge seen yet (or none needed).
    Unknown,
    /// Basic authentication: send credentials with every request.
    Basic,
    /// Bearer tokens from `realm` for `service`.
    Bearer {
        /// The token endpoint URL.
        realm: String,
        /// The `service` parameter, when the registry named one.
        service: Option<String>,
    },
}

#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires: Instant,
}

/// Caches Bearer tokens per (host, scope) until shortly before they expire, and remembers each
/// host's authentication scheme so later requests skip the 401 round trip.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<(String, String), CachedToken>>,
    hosts: Mutex<HashMap<String, HostAuth>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map_or(0, |t| t.len());
        f.debug_struct("TokenCache")
            .field("tokens", &n)
            .finish_non_exhaustive()
    }
}

/// The margin before expiry at which a cached token is renewed.
const RENEW_MARGIN: Duration = Duration::from_secs(15);

impl TokenCache {
    /// Returns the cached token for `host` and `scope`, if still valid.
    pub(crate) fn get(&self, host: &str, scope: &str) -> Option<Secret> {
        let tokens = self.tokens.lock().ok()?;
        let t = tokens.get(&(host.to_owned(), scope.to_owned()))?;
        let soon = Instant::now().checked_add(RENEW_MARGIN)?;
        (soon < t.expires).then(|| t.token.clone())
    }

    /// Stores `token` for `host` and `scope`, valid for `lifetime`.
    pub(crate) fn put(&self, host: &str, scope: &str, token: Secret, lifetime: Duration) {
        if let Some(expires) = Instant::now().checked_add(lifetime)
            && let Ok(mut tokens) = self.tokens.lock()
        {
            tokens.insert(
                (host.to_owned(), scope.to_owned()),
                CachedToken { token, expires },
            );
        }
    }

    /// Returns every token cached for `host` (to redact them from messages).
    pub(crate) fn tokens_for(&self, host: &str) -> Vec<String> {
        self.tokens.lock().map_or_else(
            |_| Vec::new(),
            |t| {
                t.iter()
                    .filter(|((h, _), _)| h == host)
                    .map(|(_, c)| c.token.expose().to_owned())
                    .collect()
            },
        )
    }

    /// Forgets the token for `host` and `scope` (after the registry refused it).
    pub(crate) fn forget(&self, host: &str, scope: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&(host.to_owned(), scope.to_owned()));
        }
    }

    /// Returns what is known about `host`'s authentication.
    pub(crate) fn host_auth(&self, host: &str) -> HostAuth {
        self.hosts
            .lock()
            .ok()
            .and_then(|h| h.get(host).cloned())
            .unwrap_or(HostAuth::Unknown)
    }

    /// Records how `host` authenticates.
    pub(crate) fn set_host_auth(&self, host: &str, auth: HostAuth) {
        if let Ok(mut hosts) = self.hosts.lock() {
            hosts.insert(host.to_owned(), auth);
        }
    }
}

/// Returns the authentication to use from a 401's challenges: Bearer preferred, then Basic.
pub(crate) fn host_auth_from_challenges(challenges: &[Challenge]) -> Option<HostAuth> {
    if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
        let realm = c.param("realm")?.to_owned();
        return Some(HostAuth::Bearer {
            realm,
            service: c.param("service").map(str::to_owned),
        });
    }
    challenges
        .iter()
        .any(|c| c.scheme == "basic")
        .then_some(HostAuth::Basic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_challenge() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#;
        let c = parse_www_authenticate(h);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(c[0].param("scope"), Some("repository:a/b:pull,push"));
    }

    #[test]
    fn parses_odd_but_valid_forms() {
        let c = parse_www_authenticate(
            r#"  BEARER  Realm = "http://x/t?a=1" , SERVICE=reg ,error="insufficient_scope", Basic realm="r\"q""#,
        );
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].param("realm"), Some("http://x/t?a=1"));
        assert_eq!(c[0].param("service"), Some("reg"));
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
        assert_eq!(c[1].scheme, "basic");
        assert_eq!(c[1].param("realm"), Some("r\"q"));
        assert_eq!(
            host_auth_from_challenges(&c),
            Some(HostAuth::Bearer {
                realm: "http://x/t?a=1".into(),
                service: Some("reg".into())
            })
        );
    }

    #[test]
    fn garbage_never_panics() {
        for h in [
            "",
            "=",
            "\"",
            "Bearer realm=\"unterminated",
            ",,,",
            "Bearer ==x",
            "é\"=,",
        ] {
            let _ = parse_www_authenticate(h);
        }
        assert_eq!(
            host_auth_from_challenges(&parse_www_authenticate("Bearer service=x")),
            None
        );
        assert_eq!(
            host_auth_from_challenges(&parse_www_authenticate("Basic realm=x")),
            Some(HostAuth::Basic)
        );
    }

    #[test]
    fn scopes_are_least_privilege() {
        assert_eq!(Access::Pull.scope("a/b"), "repository:a/b:pull");
        assert_eq!(Access::Push.scope("a/b"), "repository:a/b:pull,push");
        assert_eq!(Access::Delete.scope("a/b"), "repository:a/b:delete");
    }

    #[test]
    fn cache_expires_tokens() {
        let cache = TokenCache::default();
        cache.put("h", "s", Secret::new("t"), Duration::from_secs(300));
        assert!(cache.get("h", "s").is_some());
        assert!(cache.get("h", "other").is_none());
        cache.put("h", "s", Secret::new("t"), Duration::from_secs(10));
        assert!(cache.get("h", "s").is_none(), "within the renewal margin");
    }
}
