//! Against a real docker-registry in Bearer token mode, with the testkit token server.

use registry_hub::manifest::DOCKER_MANIFEST;
use registry_hub::{CredentialStore, Credentials};
use tagcore::{Registry, RegistryErrorKind};
use testkit::{RegistryServer, TOKEN_SERVICE, TokenServer};

use crate::plain::retag_and_check;
use crate::support::{count, image, push_image, remote, repo, tag};

const USER: &str = "ci-bot";
const PASSWORD: &str = "token-server-password-42";

#[tokio::test]
async fn retags_with_bearer_tokens_and_least_privilege_scopes() {
    let tokens = TokenServer::start(&[(USER, PASSWORD)]);
    let server = RegistryServer::start_token(&tokens);
    let creds = CredentialStore::new().with(server.addr(), Credentials::basic(USER, PASSWORD));
    let repository = repo(server.addr(), "team/tok");

    // Set up with one client...
    let setup = remote(creds.clone());
    let img = image("tok", None, true);
    push_image(&setup, &repository, &img, Some("staging")).await;

    // ...then read with a fresh one: only `pull` is asked.
    let reader = remote(creds.clone());
    let before = tokens.requests().len();
    let d = reader
        .resolve_tag(&repository, &tag("staging"))
        .await
        .unwrap()
        .unwrap();
    reader.fetch_manifest(&repository, &d).await.unwrap();
    reader.list_tags(&repository).await.unwrap();
    assert_eq!(
        reader.resolve_tag(&repository, &tag("absent")).await.unwrap(),
        None
    );
    let reads = tokens.requests()[before..].to_vec();
    assert_eq!(reads.len(), 1, "one token, cached for every read: {reads:?}");
    assert_eq!(reads[0].scopes, vec!["repository:team/tok:pull".to_owned()]);
    assert_eq!(reads[0].service.as_deref(), Some(TOKEN_SERVICE));
    assert_eq!(reads[0].user.as_deref(), Some(USER));

    // A write asks `pull,push`, once.
    let before = tokens.requests().len();
    let before_reg = server.settled_requests().len();
    let m = reader.fetch_manifest(&repository, &d).await.unwrap();
    reader.put_manifest(&repository, &tag("prod"), &m).await.unwrap();
    let writes = tokens.requests()[before..].to_vec();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].scopes, vec!["repository:team/tok:pull,push".to_owned()]);
    let reg = server.settled_requests()[before_reg..].to_vec();
    assert_eq!(count(&reg, "GET", "/manifests/"), 1, "{reg:#?}");
    assert_eq!(count(&reg, "PUT", "/manifests/"), 1, "{reg:#?}");
    assert_eq!(
        reg.len(),
        2,
        "the host's auth scheme is cached: no extra 401 round trip: {reg:#?}"
    );

    retag_and_check(
        &reader,
        &repository,
        "prod",
        "prod-20260101-abcdef1",
        DOCKER_MANIFEST,
    )
    .await;
    assert!(tokens.requests().iter().all(|r| r.scopes.len() == 1));
}

#[tokio::test]
async fn first_contact_retag_costs_at_most_one_get_and_one_put_beyond_auth() {
    let tokens = TokenServer::start(&[(USER, PASSWORD)]);
    let server = RegistryServer::start_token(&tokens);
    let creds = CredentialStore::new().with(server.addr(), Credentials::basic(USER, PASSWORD));
    let repository = repo(server.addr(), "team/cost");
    let img = image("cost", None, false);
    push_image(&remote(creds.clone()), &repository, &img, Some("staging")).await;

    let r = remote(creds);
    let before = server.settled_requests().len();
    let tokens_before = tokens.requests().len();
    let d = img.manifest.digest();
    let m = r.fetch_manifest(&repository, &d).await.unwrap();
    r.put_manifest(&repository, &tag("prod"), &m).await.unwrap();
    let reg = server.settled_requests()[before..].to_vec();
    // The first request meets the 401 challenge once (authentication), then GET + PUT.
    assert_eq!(count(&reg, "GET", "/manifests/"), 2, "{reg:#?}");
    assert_eq!(count(&reg, "PUT", "/manifests/"), 1, "{reg:#?}");
    assert_eq!(reg.len(), 3, "{reg:#?}");
    assert_eq!(
        tokens.requests().len() - tokens_before,
        2,
        "one pull token, one pull,push token"
    );
}

#[tokio::test]
async fn anonymous_and_wrong_credentials_are_unauthorized_and_missing_is_not_found() {
    let tokens = TokenServer::start(&[(USER, PASSWORD)]);
    let server = RegistryServer::start_token(&tokens);
    let repository = repo(server.addr(), "team/private");
    let good = remote(CredentialStore::new().with(server.addr(), Credentials::basic(USER, PASSWORD)));
    push_image(&good, &repository, &image("p", None, false), Some("prod")).await;

    let anonymous = remote(CredentialStore::new());
    let err = anonymous
        .resolve_tag(&repository, &tag("prod"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Unauthorized, "{err}");
    assert!(
        tokens.requests().iter().any(|r| r.user.is_none()),
        "an anonymous token was asked"
    );
    assert!(err.message.contains("insufficient_scope"), "{err}");

    let wrong =
        remote(CredentialStore::new().with(server.addr(), Credentials::basic(USER, "not-the-password")));
    let err = wrong.resolve_tag(&repository, &tag("prod")).await.unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));

    // Valid credentials, missing things: NotFound / None.
    assert_eq!(good.resolve_tag(&repository, &tag("absent")).await.unwrap(), None);
    let err = good
        .fetch_manifest(&repository, &tagcore::Digest::of(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::NotFound, "{err}");
}
