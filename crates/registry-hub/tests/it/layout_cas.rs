//! The OCI layout's compare-and-swap holds across writers: the re-read happens inside the lock;
//! a corrupt blob of the right size is replaced; the lock file is created exclusively.

use registry_hub::LayoutRegistry;
use tagcore::{Registry, RegistryErrorKind};

use crate::support::{image, push_layout_image, repo, tag};

/// Two local writers (two handles, as two processes would have) both read `prod` at X, then
/// both try to move it: exactly one succeeds, the other gets `Conflict` and changes nothing.
#[tokio::test]
async fn two_local_writers_cannot_both_move_a_tag() {
    let dir = tempfile::tempdir().unwrap();
    let a = LayoutRegistry::new(dir.path());
    let b = LayoutRegistry::new(dir.path());
    let r = repo("127.0.0.1:5000", "team/app");
    let x = push_layout_image(&a, &r, &image("x", None, false), Some("prod")).await;
    let y = image("y", None, false);
    let z = image("z", None, false);
    push_layout_image(&a, &r, &y, None).await;
    push_layout_image(&a, &r, &z, None).await;
    assert_eq!(a.resolve_tag(&r, &tag("prod")).await.unwrap(), Some(x.clone()));
    assert_eq!(b.resolve_tag(&r, &tag("prod")).await.unwrap(), Some(x.clone()));
    let prod = tag("prod");
    let (ra, rb) = tokio::join!(
        a.put_manifest(&r, &prod, &y.manifest),
        b.put_manifest(&r, &prod, &z.manifest)
    );
    let (won, lost, winner) = match (&ra, &rb) {
        (Ok(_), Err(e)) => ("a", e, y.manifest.digest()),
        (Err(e), Ok(_)) => ("b", e, z.manifest.digest()),
        _ => panic!("both or neither succeeded: {ra:?} {rb:?}"),
    };
    assert_eq!(lost.kind, RegistryErrorKind::Conflict, "{won} won: {lost}");
    assert_eq!(a.resolve_tag(&r, &tag("prod")).await.unwrap(), Some(winner));
}

#[tokio::test]
async fn an_explicit_compare_and_swap_refuses_a_stale_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let l = LayoutRegistry::new(dir.path());
    let r = repo("127.0.0.1:5000", "team/app");
    let x = push_layout_image(&l, &r, &image("x", None, false), Some("prod")).await;
    let y = image("y", None, false);
    push_layout_image(&l, &r, &y, None).await;
    let err = l
        .put_manifest_if(&r, &tag("prod"), &y.manifest, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Conflict, "{err}");
    l.put_manifest_if(&r, &tag("prod"), &y.manifest, Some(&x))
        .await
        .unwrap();
    // Writing what is already there is not a conflict (a re-run converges).
    l.put_manifest_if(&r, &tag("prod"), &y.manifest, Some(&x))
        .await
        .unwrap();
    assert_eq!(
        l.resolve_tag(&r, &tag("prod")).await.unwrap(),
        Some(y.manifest.digest())
    );
}

#[tokio::test]
async fn a_corrupt_blob_of_the_right_size_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let l = LayoutRegistry::new(dir.path());
    let r = repo("127.0.0.1:5000", "team/app");
    let bytes = b"the real layer bytes".to_vec();
    let d = l.put_blob(&r, &bytes).await.unwrap();
    let path = dir.path().join("team/app/blobs/sha256").join(d.hex());
    std::fs::write(&path, vec![b'X'; bytes.len()]).unwrap();
    l.put_blob(&r, &bytes).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(l.fetch_blob(&r, &d, 1024).await.unwrap(), bytes);
}

/// A symbolic link planted where the lock file goes is not followed.
#[tokio::test]
async fn a_planted_lock_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l = LayoutRegistry::new(dir.path());
    let r = repo("127.0.0.1:5000", "team/app");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    std::fs::create_dir_all(l.repository_dir(&r)).unwrap();
    std::os::unix::fs::symlink(&victim, l.lock_path(&r)).unwrap();
    assert!(l.lock(&r).await.is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
}
