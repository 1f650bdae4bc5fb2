//! Interoperability with skopeo: the layout backend writes real OCI layouts, and what the client
//! writes to a registry reads back byte for byte with another tool.

use std::process::Command;

use registry_hub::manifest::OCI_INDEX;
use registry_hub::{CredentialStore, LayoutRegistry};
use tagcore::{Digest, Registry};
use testkit::RegistryServer;

use crate::plain::retag_and_check;
use crate::support::{image, index, push_layout_image, remote, repo, tag};

fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is installed by scripts/test (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn skopeo_copies_a_layout_index_to_the_registry_and_reads_our_retag_back() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutRegistry::new(dir.path());
    let repository = repo("127.0.0.1", "team/app");
    let amd = image("interop-amd", None, false);
    let arm = image("interop-arm", None, false);
    push_layout_image(&layout, &repository, &amd, None).await;
    push_layout_image(&layout, &repository, &arm, None).await;
    let idx = index(&amd, &arm, Some("5555555555555555555555555555555555555555"));
    let digest = layout
        .put_manifest(&repository, &tag("staging"), &idx)
        .await
        .unwrap();

    // skopeo reads our layout as an OCI layout.
    let src = format!("oci:{}:staging", dir.path().join("team/app").display());
    assert_eq!(Digest::of(&skopeo(&["inspect", "--raw", &src])), digest);

    let server = RegistryServer::start();
    let dest = format!("docker://{}/team/app:staging", server.addr());
    skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &src,
        &dest,
    ]);

    let r = remote(CredentialStore::new());
    let remote_repo = repo(server.addr(), "team/app");
    assert_eq!(
        r.resolve_tag(&remote_repo, &tag("staging")).await.unwrap(),
        Some(digest.clone())
    );
    retag_and_check(&r, &remote_repo, "staging", "prod", OCI_INDEX).await;
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/team/app:prod", server.addr()),
    ]);
    assert_eq!(raw, idx.bytes, "byte for byte");
    assert_eq!(
        r.image_revision(&remote_repo, &digest).await.unwrap().as_deref(),
        Some("5555555555555555555555555555555555555555")
    );
}
