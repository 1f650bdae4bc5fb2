//! Tag deletion (prune): by digest on a real `docker-registry`, by tag through the Hub API on
//! wiremock, and by tag in an OCI layout.

use registry_hub::{
    CredentialStore, Credentials, HubClient, HubConfig, LayoutRegistry, OciConfig, RemoteRegistry,
    RetryPolicy,
};
use tagcore::retention::DeleteMode;
use tagcore::{Registry, RegistryErrorKind};
use testkit::{RegistryConfig, RegistryServer, TokenServer};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{image, push_image, push_layout_image, remote, repo, tag};

#[tokio::test]
async fn deletes_the_manifest_by_digest_with_a_delete_scope_and_a_second_delete_is_a_no_op() {
    let tokens = TokenServer::start(&[("ci-bot", "pw-delete-1")]);
    let server = RegistryServer::start_token(&tokens);
    let creds = CredentialStore::new().with(server.addr(), Credentials::basic("ci-bot", "pw-delete-1"));
    let r = remote(creds);
    let repository = repo(server.addr(), "team/del");
    let old = image("old", None, false);
    let kept = image("kept", None, false);
    let d_old = push_image(&r, &repository, &old, Some("pr-1")).await;
    r.put_manifest(&repository, &tag("pr-1-copy"), &old.manifest)
        .await
        .unwrap();
    let d_kept = push_image(&r, &repository, &kept, Some("prod")).await;
    assert_eq!(r.delete_mode(), Some(DeleteMode::ByDigest));

    let before = tokens.requests().len();
    r.delete_tag(&repository, &tag("pr-1"), &d_old).await.unwrap();
    let asked: Vec<_> = tokens.requests()[before..]
        .iter()
        .flat_map(|t| t.scopes.clone())
        .collect();
    assert_eq!(asked, ["repository:team/del:delete"]);
    assert!(
        server
            .settled_requests()
            .iter()
            .any(|l| l.starts_with("DELETE ") && l.contains(d_old.as_str()))
    );
    // The manifest is gone, and every tag on it with it; the other image stays.
    assert_eq!(r.resolve_tag(&repository, &tag("pr-1")).await.unwrap(), None);
    assert_eq!(r.resolve_tag(&repository, &tag("pr-1-copy")).await.unwrap(), None);
    assert_eq!(
        r.resolve_tag(&repository, &tag("prod")).await.unwrap(),
        Some(d_kept)
    );
    // Deleting the second tag of that manifest finds it gone: done, not an error.
    r.delete_tag(&repository, &tag("pr-1-copy"), &d_old)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_registry_that_disallows_deletes_is_a_clear_unsupported_refusal() {
    let server = RegistryServer::start_with(&RegistryConfig {
        deletes_disabled: true,
        ..RegistryConfig::default()
    });
    let r = remote(CredentialStore::new());
    let repository = repo(server.addr(), "team/keep");
    let d = push_image(&r, &repository, &image("k", None, false), Some("pr-2")).await;
    let err = r.delete_tag(&repository, &tag("pr-2"), &d).await.unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Unsupported, "{err}");
    assert!(err.message.contains("the registry disallows deletes"), "{err}");
    assert!(err.message.contains(d.as_str()), "{err}");
    assert_eq!(r.resolve_tag(&repository, &tag("pr-2")).await.unwrap(), Some(d));
}

#[tokio::test]
async fn with_the_hub_api_tags_are_deleted_by_name_and_never_by_digest() {
    let hub_server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/namespaces/team/repositories/app/tags/pr-7"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&hub_server)
        .await;
    let hub = HubClient::new(HubConfig {
        base_url: hub_server.uri(),
        credentials: Credentials::Anonymous,
        retry: RetryPolicy::fast(),
        ..HubConfig::default()
    })
    .unwrap();
    let r = RemoteRegistry::with_hub(
        OciConfig {
            retry: RetryPolicy::fast(),
            ..OciConfig::default()
        },
        hub,
    )
    .unwrap();
    assert_eq!(r.delete_mode(), Some(DeleteMode::ByTag));
    let d = format!("sha256:{:064x}", 7).parse().unwrap();
    r.delete_tag(&repo("docker.io", "team/app"), &tag("pr-7"), &d)
        .await
        .unwrap();
    // A repository the Hub API does not serve is refused rather than deleted by digest.
    let err = r
        .delete_tag(&repo("127.0.0.1:9", "team/app"), &tag("pr-7"), &d)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Unsupported, "{err}");
    assert!(err.message.contains("does not serve 127.0.0.1:9"), "{err}");
}

#[tokio::test]
async fn the_layout_deletes_the_tag_alone_and_refuses_one_that_moved() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutRegistry::new(dir.path());
    let repository = repo("oci.local", "team/lay");
    let one = image("one", None, false);
    let d1 = push_layout_image(&layout, &repository, &one, Some("pr-1")).await;
    layout
        .put_manifest(&repository, &tag("prod"), &one.manifest)
        .await
        .unwrap();
    let d2 = push_layout_image(&layout, &repository, &image("two", None, false), Some("pr-2")).await;
    assert_eq!(layout.delete_mode(), Some(DeleteMode::ByTag));

    layout.delete_tag(&repository, &tag("pr-1"), &d1).await.unwrap();
    assert_eq!(layout.resolve_tag(&repository, &tag("pr-1")).await.unwrap(), None);
    assert_eq!(
        layout.resolve_tag(&repository, &tag("prod")).await.unwrap(),
        Some(d1.clone())
    );
    assert!(
        layout.fetch_manifest(&repository, &d1).await.is_ok(),
        "the manifest stays"
    );
    // Already gone: done.
    layout.delete_tag(&repository, &tag("pr-1"), &d1).await.unwrap();
    // Moved since the plan read it: refused, kept.
    let err = layout
        .delete_tag(&repository, &tag("pr-2"), &d1)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Conflict, "{err}");
    assert_eq!(
        layout.resolve_tag(&repository, &tag("pr-2")).await.unwrap(),
        Some(d2)
    );
    let listed = layout.list_tags(&repository).await.unwrap();
    let mut names: Vec<_> = listed.tags.iter().map(|t| t.tag.to_string()).collect();
    names.sort();
    assert_eq!(names, ["pr-2", "prod"]);
}
