//! The one "HTTPS, or plain HTTP only on loopback" rule, shared by every adapter.
//!
//! A URL is parsed (WHATWG rules, as HTTP clients do) and its host is taken after the userinfo
//! is stripped: `http://127.0.0.1@collector.example` is the host `collector.example`. Only an IP
//! address in `127.0.0.0/8`, the IPv6 address `::1`, and the name `localhost` are loopback; a
//! DNS name that merely starts with `127.` (`127.0.0.1.collector.example`) is not.

use std::fmt;
use std::net::IpAddr;

/// Why a URL is not an acceptable endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The text is not an absolute `http(s)://host…` URL.
    #[error("{url:?} is not an http(s) URL with a host")]
    NotHttpUrl {
        /// The rejected input.
        url: String,
    },
    /// Plain HTTP to a host that is not loopback, without an explicit permission.
    #[error("{url:?} is plain HTTP to {host}, which is not loopback; use https://")]
    PlainHttp {
        /// The rejected input.
        url: String,
        /// The host the URL names (userinfo stripped).
        host: String,
    },
}

/// An absolute `http` or `https` URL, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: url::Url,
}

impl Endpoint {
    /// Returns the endpoint `input` names, refusing anything but an `http(s)` URL with a host.
    pub fn parse(input: &str) -> Result<Self, EndpointError> {
        let not_http = || EndpointError::NotHttpUrl {
            url: input.to_owned(),
        };
        let url = url::Url::parse(input).map_err(|_| not_http())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(not_http());
        }
        Ok(Self { url })
    }

    /// Returns the endpoint `input` names when it is HTTPS, or plain HTTP to a loopback host,
    /// or plain HTTP anywhere when `allow_plain` (an explicit `insecure` setting) is true.
    pub fn parse_secure(input: &str, allow_plain: bool) -> Result<Self, EndpointError> {
        let e = Self::parse(input)?;
        if e.is_https() || e.is_loopback() || allow_plain {
            Ok(e)
        } else {
            Err(EndpointError::PlainHttp {
                url: input.to_owned(),
                host: e.host().to_owned(),
            })
        }
    }

    /// Returns whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Returns the host, userinfo stripped (IPv6 addresses in brackets), lowercased.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// Returns the port, explicit or the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.url.port_or_known_default()
    }

    /// Returns whether the host is loopback (see [`is_loopback_host`]).
    pub fn is_loopback(&self) -> bool {
        match self.url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => is_loopback_host(d),
            None => false,
        }
    }

    /// Returns the URL as text (normalised).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.url)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// Returns whether `host` (no port; IPv6 in brackets or bare) is loopback: an IP address in
/// `127.0.0.0/8`, `::1`, or the name `localhost`. Never a DNS name starting with `127.`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Returns whether a registry authority `host[:port]` (as in `127.0.0.1:5000` or `[::1]:5000`)
/// is on a loopback host.
pub fn is_loopback_authority(authority: &str) -> bool {
    let host = if authority.starts_with('[') {
        authority.split_once(']').map_or(authority, |(h, _)| h)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        }
    };
    is_loopback_host(host.trim_start_matches('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_an_address_in_127_slash_8_or_ipv6_one_or_localhost() {
        for h in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "[::1]",
            "::1",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "127.0.0.1.collector.example",
            "127.evil.example",
            "127.",
            "128.0.0.1",
            "0.0.0.0",
            "[::2]",
            "localhost.example",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn authorities_keep_their_port_out_of_the_host() {
        for a in [
            "127.0.0.1:5000",
            "127.0.0.9",
            "[::1]:5000",
            "[::1]",
            "localhost:80",
            "localhost",
        ] {
            assert!(is_loopback_authority(a), "{a}");
        }
        for a in ["127.evil.example:5000", "ghcr.io", "[::2]:5000", "10.0.0.1:5000"] {
            assert!(!is_loopback_authority(a), "{a}");
        }
    }

    #[test]
    fn the_userinfo_is_not_the_host() {
        let e = Endpoint::parse("http://127.0.0.1@collector.example/x").unwrap();
        assert_eq!(e.host(), "collector.example");
        assert!(!e.is_loopback());
        assert_eq!(
            Endpoint::parse_secure("http://127.0.0.1@collector.example", false),
            Err(EndpointError::PlainHttp {
                url: "http://127.0.0.1@collector.example".into(),
                host: "collector.example".into()
            })
        );
        assert!(Endpoint::parse_secure("http://user:pw@127.0.0.1:9/t", false).is_ok());
    }

    #[test]
    fn https_anywhere_plain_http_only_on_loopback_or_when_allowed() {
        for ok in [
            "https://api.github.com",
            "http://127.0.0.1:8080",
            "http://127.0.0.2/x",
            "http://[::1]:5000/v2/",
            "http://localhost/x",
        ] {
            assert!(Endpoint::parse_secure(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://github.example.com",
            "http://127.0.0.1.collector.example",
            "http://127.evil.example:80/",
            "http://[::2]/",
        ] {
            assert!(
                matches!(
                    Endpoint::parse_secure(bad, false),
                    Err(EndpointError::PlainHttp { .. })
                ),
                "{bad}"
            );
            assert!(Endpoint::parse_secure(bad, true).is_ok(), "{bad}");
        }
        for bad in ["ftp://x", "x", "", "https://", "file:///etc/passwd"] {
            assert!(
                matches!(
                    Endpoint::parse_secure(bad, true),
                    Err(EndpointError::NotHttpUrl { .. })
                ),
                "{bad}"
            );
        }
    }
}
