//! Endpoints: the port an adapter connects to, explicit or the scheme's default.

use tagcore::{Endpoint, is_loopback_authority};

#[test]
fn the_port_is_the_explicit_one_or_the_schemes_default() {
    let port = |url: &str| Endpoint::parse(url).expect("an endpoint").port();
    assert_eq!(port("https://ghcr.io/v2/"), Some(443));
    assert_eq!(port("http://127.0.0.1/"), Some(80));
    assert_eq!(port("http://127.0.0.1:5000/v2/"), Some(5000));
    assert_eq!(port("https://[::1]:8443"), Some(8443));
}

#[test]
fn an_endpoint_shows_its_normalised_url() {
    let e = Endpoint::parse("HTTPS://Example.COM:443/a").expect("an endpoint");
    assert_eq!(e.to_string(), "https://example.com/a");
    assert_eq!(format!("{e:?}"), "Endpoint(https://example.com/a)");
}

#[test]
fn an_endpoint_as_text_is_its_normalised_url() {
    let e = Endpoint::parse("http://127.0.0.1:5000/token?scope=x").expect("an endpoint");
    assert_eq!(e.as_str(), "http://127.0.0.1:5000/token?scope=x");
    assert_eq!(e.to_string(), e.as_str());
}

#[test]
fn an_authority_takes_a_port_only_when_it_is_digits_after_a_plain_host() {
    // A bare IPv6 address: its colons are not a port separator.
    assert!(is_loopback_authority("::1"));
    // Something after the colon that is not a port leaves the whole text as the host.
    assert!(!is_loopback_authority("localhost:http"));
    assert!(!is_loopback_authority("127.0.0.1:5000x"));
    assert!(is_loopback_authority("127.0.0.1:5000"));
}
