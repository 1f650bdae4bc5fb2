//! Endpoints: the port an adapter connects to, explicit or the scheme's default.

use tagcore::Endpoint;

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
