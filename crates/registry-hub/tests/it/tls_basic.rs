//! Against a real docker-registry with htpasswd Basic auth over TLS (test CA made with rcgen).

use registry_hub::manifest::OCI_INDEX;
use registry_hub::{CredentialStore, Credentials, OciConfig, PlainHttp, RemoteRegistry, RetryPolicy};
use tagcore::{Registry, RegistryErrorKind};
use testkit::{RegistryServer, TestCa};

use crate::plain::retag_and_check;
use crate::support::{image, index, push_image, repo, tag};

const USER: &str = "alice";
const PASSWORD: &str = "correct-horse-battery";

fn tls_client(ca: Option<&TestCa>, credentials: CredentialStore) -> RemoteRegistry {
    RemoteRegistry::new(OciConfig {
        credentials,
        plain_http: PlainHttp::Never,
        ca_bundle: ca.map(TestCa::ca_path),
        retry: RetryPolicy::fast(),
        ..OciConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn retags_an_index_over_tls_with_basic_auth() {
    let ca = TestCa::generate();
    let server = RegistryServer::start_htpasswd(USER, PASSWORD, Some(&ca));
    assert!(server.base_url().starts_with("https://"));
    let creds = CredentialStore::new().with(server.addr(), Credentials::basic(USER, PASSWORD));
    let r = tls_client(Some(&ca), creds);
    let repository = repo(server.addr(), "team/secure");
    let amd = image("tls-amd", None, false);
    let arm = image("tls-arm", None, false);
    push_image(&r, &repository, &amd, None).await;
    push_image(&r, &repository, &arm, None).await;
    r.put_manifest(&repository, &tag("src"), &index(&amd, &arm, Some("abc")))
        .await
        .unwrap();
    retag_and_check(&r, &repository, "src", "dst", OCI_INDEX).await;
    let listing = r.list_tags(&repository).await.unwrap();
    assert_eq!(listing.tags.len(), 2);
    assert_eq!(
        r.resolve_tag(&repository, &tag("missing")).await.unwrap(),
        None,
        "404 with valid credentials"
    );
}

#[tokio::test]
async fn authentication_failures_are_unauthorized_never_not_found() {
    let ca = TestCa::generate();
    let server = RegistryServer::start_htpasswd(USER, PASSWORD, Some(&ca));
    let repository = repo(server.addr(), "team/secure");
    // Anonymous, and a wrong password: both Unauthorized even for a tag that does not exist.
    for creds in [
        CredentialStore::new(),
        CredentialStore::new().with(server.addr(), Credentials::basic(USER, "wrong-password-123")),
    ] {
        let r = tls_client(Some(&ca), creds);
        let err = r.resolve_tag(&repository, &tag("missing")).await.unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::Unauthorized, "{err}");
        assert!(err.message.contains("team/secure:missing"), "{err}");
        assert!(!err.to_string().contains("wrong-password-123"));
        let err = r.list_tags(&repository).await.unwrap_err();
        assert_eq!(err.kind, RegistryErrorKind::Unauthorized, "{err}");
    }
}

#[tokio::test]
async fn an_untrusted_certificate_fails_without_the_ca_bundle() {
    let ca = TestCa::generate();
    let server = RegistryServer::start_htpasswd(USER, PASSWORD, Some(&ca));
    let r = tls_client(
        None,
        CredentialStore::new().with(server.addr(), Credentials::basic(USER, PASSWORD)),
    );
    let err = r
        .resolve_tag(&repo(server.addr(), "team/secure"), &tag("x"))
        .await
        .unwrap_err();
    // An untrusted certificate will not become trusted on a retry: one attempt, a clear reason.
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    assert!(err.message.contains("TLS certificate is not trusted"), "{err}");
    assert!(err.message.contains("UnknownIssuer"), "{err}");
    assert!(!err.message.contains("attempts"), "no retries: {err}");
    let err = RemoteRegistry::new(OciConfig {
        ca_bundle: Some(ca.dir().join("nope.pem")),
        ..OciConfig::default()
    })
    .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidInput, "{err}");
}
