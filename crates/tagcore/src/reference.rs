//! Repositories and image references, with Docker's normalisation rules.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::{Digest, DigestError, Tag, TagError};

/// The canonical name of Docker Hub's registry; `index.docker.io` and `registry-1.docker.io`
/// are aliases of it.
pub const DOCKER_HUB: &str = "docker.io";

/// A repository on a registry: `host[:port]/path`, normalised so that equal repositories compare
/// equal (`nginx` is `docker.io/library/nginx`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    registry: String,
    path: String,
}

/// Why a string is not a repository or image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The input is empty.
    #[error("image reference is empty; expected [host[:port]/]path[:tag|@sha256:…]")]
    Empty,
    /// A path component breaks the grammar.
    #[error(
        "repository {input:?}: path component {component:?} is invalid; expected lowercase \
         [a-z0-9] runs separated by '.', '_', '__' or '-'"
    )]
    PathComponent {
        /// The rejected input.
        input: String,
        /// The offending component.
        component: String,
    },
    /// The registry host is invalid.
    #[error("repository {input:?}: registry host {host:?} is invalid; expected host[:port]")]
    Host {
        /// The rejected input.
        input: String,
        /// The offending host.
        host: String,
    },
    /// The tag part is invalid.
    #[error("image reference {input:?}: {source}")]
    Tag {
        /// The rejected input.
        input: String,
        /// Why the tag is invalid.
        source: TagError,
    },
    /// The digest part is invalid.
    #[error("image reference {input:?}: {source}")]
    Digest {
        /// The rejected input.
        input: String,
        /// Why the digest is invalid.
        source: DigestError,
    },
    /// The path is longer than 255 characters.
    #[error("repository {input:?} is longer than 255 characters")]
    TooLong {
        /// The rejected input.
        input: String,
    },
}

/// Returns the canonical registry name for `host` (Docker Hub aliases become `docker.io`).
pub fn canonical_registry(host: &str) -> String {
    let lower = host.to_ascii_lowercase();
    match lower.as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        _ => lower,
    }
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    let bytes = c.as_bytes();
    if bytes.is_empty() || !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_alnum(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Tells whether `h` is `host[:port]`: a DNS name or IPv4 address, or an IPv6 address in
/// brackets (`[::1]`, `[::1]:5000`); a port is 1 to 5 digits.
fn valid_host(h: &str) -> bool {
    let (name, port) = match h.strip_prefix('[') {
        Some(rest) => {
            let Some((addr, after)) = rest.split_once(']') else {
                return false;
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return false;
            }
            match after {
                "" => (None, None),
                _ => match after.strip_prefix(':') {
                    Some(p) => (None, Some(p)),
                    None => return false,
                },
            }
        }
        None => match h.rsplit_once(':') {
            Some((n, p)) => (Some(n), Some(p)),
            None => (Some(h), None),
        },
    };
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    name.is_none_or(|n| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
    })
}

impl Repository {
    /// Returns a repository from an explicit registry and path, validating both.
    pub fn new(registry: &str, path: &str) -> Result<Self, ReferenceError> {
        let input = format!("{registry}/{path}");
        if !valid_host(registry) {
            return Err(ReferenceError::Host {
                input,
                host: registry.to_owned(),
            });
        }
        let registry = canonical_registry(registry);
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        if path.len() > 255 {
            return Err(ReferenceError::TooLong { input });
        }
        if let Some(bad) = path.split('/').find(|c| !valid_component(c)) {
            return Err(ReferenceError::PathComponent {
                input,
                component: bad.to_owned(),
            });
        }
        Ok(Self { registry, path })
    }

    /// Returns the canonical registry host, e.g. `docker.io` or `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Returns the path inside the registry, e.g. `library/nginx`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Returns whether the registry is on a loopback address (plain HTTP is allowed there):
    /// `127.0.0.0/8`, `[::1]` or `localhost`, never a name that merely starts with `127.`.
    pub fn is_loopback(&self) -> bool {
        crate::is_loopback_authority(&self.registry)
    }
}

impl FromStr for Repository {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        match input.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                Self::new(first, rest)
            }
            _ => Self::new(DOCKER_HUB, input),
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Repository({self})")
    }
}

impl Serialize for Repository {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What an image reference points at: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A tag, resolved at read time.
    Tag(Tag),
    /// An immutable digest.
    Digest(Digest),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(t) => write!(f, ":{t}"),
            Self::Digest(d) => write!(f, "@{d}"),
        }
    }
}

/// A repository plus a tag or digest, e.g. `docker.io/nearai/cloud-api:prod`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageReference {
    /// The repository.
    pub repository: Repository,
    /// The tag or digest within it.
    pub target: Target,
}

impl FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if let Some((repo, digest)) = input.split_once('@') {
            let digest = digest.parse().map_err(|source| ReferenceError::Digest {
                input: input.to_owned(),
                source,
            })?;
            return Ok(Self {
                repository: repo.parse()?,
                target: Target::Digest(digest),
            });
        }
        let last_slash = input.rfind('/').map_or(0, |i| i + 1);
        let (repo, tag) = match input[last_slash..].rfind(':') {
            Some(i) => (&input[..last_slash + i], &input[last_slash + i + 1..]),
            None => (input, "latest"),
        };
        let tag = tag.parse().map_err(|source| ReferenceError::Tag {
            input: input.to_owned(),
            source,
        })?;
        Ok(Self {
            repository: repo.parse()?,
            target: Target::Tag(tag),
        })
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.repository, self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_docker_hub_names() {
        let r: Repository = "nginx".parse().unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx");
        for alias in [
            "index.docker.io/nearai/cloud-api",
            "registry-1.docker.io/nearai/cloud-api",
        ] {
            assert_eq!(
                alias.parse::<Repository>().unwrap().to_string(),
                "docker.io/nearai/cloud-api"
            );
        }
        assert_eq!(
            "nearai/cloud-api".parse::<Repository>().unwrap().registry(),
            "docker.io"
        );
    }

    #[test]
    fn keeps_host_and_port() {
        let r: Repository = "127.0.0.1:5000/team/app".parse().unwrap();
        assert_eq!((r.registry(), r.path()), ("127.0.0.1:5000", "team/app"));
        assert!(r.is_loopback());
        assert!(!"ghcr.io/a/b".parse::<Repository>().unwrap().is_loopback());
        assert!("localhost/a".parse::<Repository>().unwrap().is_loopback());
    }

    #[test]
    fn loopback_means_a_loopback_address_not_a_name_starting_with_127() {
        for loopback in ["127.0.0.2:5000/a", "[::1]:5000/a", "localhost:5000/a"] {
            assert!(
                loopback.parse::<Repository>().unwrap().is_loopback(),
                "{loopback}"
            );
        }
        for remote in ["127.evil.example:5000/a", "127.0.0.1.collector.example/a"] {
            assert!(!remote.parse::<Repository>().unwrap().is_loopback(), "{remote}");
        }
    }

    #[test]
    fn an_ipv6_registry_is_bracketed_with_or_without_a_port() {
        for (input, registry) in [("[::1]/a", "[::1]"), ("[::1]:5000/a", "[::1]:5000")] {
            let r: Repository = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.registry(), registry);
            assert!(r.is_loopback(), "{input}");
        }
        assert_eq!(Repository::new("[::1]", "a").unwrap().to_string(), "[::1]/a");
        assert_eq!(
            Repository::new("[2001:db8::1]:443", "a").unwrap().registry(),
            "[2001:db8::1]:443"
        );
        for bad in ["[::1", "[::1]x", "[::1]:", "[zz]:5000", "::1", "[]", "a:b:5000"] {
            assert!(
                matches!(Repository::new(bad, "a"), Err(ReferenceError::Host { .. })),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn refuses_uppercase_paths_naming_the_component() {
        let err = "docker.io/NearAI/app".parse::<Repository>().unwrap_err();
        assert_eq!(
            err,
            ReferenceError::PathComponent {
                input: "docker.io/NearAI/app".into(),
                component: "NearAI".into()
            }
        );
    }

    #[test]
    fn parses_tags_and_digests() {
        let r: ImageReference = "127.0.0.1:5000/a/b:prod".parse().unwrap();
        assert_eq!(r.target, Target::Tag("prod".parse().unwrap()));
        let d = format!("a/b@sha256:{}", "1".repeat(64));
        let r: ImageReference = d.parse().unwrap();
        assert!(matches!(r.target, Target::Digest(_)));
        assert_eq!(
            "a/b".parse::<ImageReference>().unwrap().to_string(),
            "docker.io/a/b:latest"
        );
        assert!(matches!(
            "a/b:lat est".parse::<ImageReference>(),
            Err(ReferenceError::Tag { .. })
        ));
        assert!(matches!(
            "a/b@sha256:ABC".parse::<ImageReference>(),
            Err(ReferenceError::Digest { .. })
        ));
    }
}
