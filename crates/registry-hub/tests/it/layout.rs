//! The OCI image-layout backend: round trip, atomic writes, a second handle, lock contention.

use std::time::Duration;

use registry_hub::manifest::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use registry_hub::{AnyRegistry, LayoutRegistry, REF_NAME};
use tagcore::{Digest, Manifest, Registry, RegistryErrorKind};

use crate::plain::retag_and_check;
use crate::support::{image, index, push_layout_image, repo, tag};

#[tokio::test]
async fn round_trips_images_indexes_tags_revisions_and_referrers() {
    let dir = tempfile::tempdir().unwrap();
    let layout = LayoutRegistry::from_reference(&format!("oci:{}", dir.path().display())).unwrap();
    let any = AnyRegistry::from(layout.clone());
    let repository = repo("127.0.0.1:5000", "team/app");

    let oci = image("l-oci", Some("3333333333333333333333333333333333333333"), false);
    let d = push_layout_image(&layout, &repository, &oci, Some("staging")).await;
    retag_and_check(&any, &repository, "staging", "prod", OCI_MANIFEST).await;
    let docker = image("l-docker", None, true);
    push_layout_image(&layout, &repository, &docker, Some("docker")).await;
    retag_and_check(&any, &repository, "docker", "docker-copy", DOCKER_MANIFEST).await;
    let amd = image("l-amd", None, false);
    let arm = image("l-arm", None, false);
    push_layout_image(&layout, &repository, &amd, None).await;
    push_layout_image(&layout, &repository, &arm, None).await;
    let idx = index(&amd, &arm, Some("4444444444444444444444444444444444444444"));
    let idx_digest = layout.put_manifest_by_digest(&repository, &idx).await.unwrap();
    layout
        .put_manifest(&repository, &tag("multi"), &idx)
        .await
        .unwrap();
    retag_and_check(&any, &repository, "multi", "multi-copy", OCI_INDEX).await;

    // The layout is a real OCI layout.
    let root = dir.path().join("team/app");
    assert!(root.join("oci-layout").is_file());
    let index_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let names: Vec<_> = index_json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["annotations"][REF_NAME].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["staging", "prod", "docker", "docker-copy", "multi", "multi-copy"]
    );
    assert!(root.join("blobs/sha256").join(d.hex()).is_file());

    // Re-pointing a tag replaces its entry.
    layout
        .put_manifest(&repository, &tag("prod"), &docker.manifest)
        .await
        .unwrap();
    assert_eq!(
        any.resolve_tag(&repository, &tag("prod")).await.unwrap(),
        Some(docker.manifest.digest())
    );
    let listing = any.list_tags(&repository).await.unwrap();
    assert_eq!(listing.tags.len(), 6);
    assert!(listing.tags.iter().all(|t| t.digest.is_some()));
    assert_eq!(any.resolve_tag(&repository, &tag("absent")).await.unwrap(), None);
    assert_eq!(
        any.resolve_tag(&repo("x.io", "no/such"), &tag("absent"))
            .await
            .unwrap(),
        None
    );
    let empty = any.list_tags(&repo("x.io", "no/such")).await.unwrap();
    assert!(empty.tags.is_empty() && empty.truncated.is_none());

    // Revisions: config label, then index annotation.
    assert_eq!(
        any.image_revision(&repository, &d).await.unwrap().as_deref(),
        Some("3333333333333333333333333333333333333333")
    );
    assert_eq!(
        any.image_revision(&repository, &idx_digest)
            .await
            .unwrap()
            .as_deref(),
        Some("4444444444444444444444444444444444444444")
    );

    // Blobs: capped and checked; corruption detected.
    assert_eq!(
        any.fetch_blob(&repository, &Digest::of(&oci.config), 1 << 20)
            .await
            .unwrap(),
        oci.config
    );
    let err = any
        .fetch_blob(&repository, &Digest::of(&oci.config), 4)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse);
    std::fs::write(
        root.join("blobs/sha256").join(Digest::of(&oci.layer).hex()),
        b"tampered",
    )
    .unwrap();
    let err = any
        .fetch_blob(&repository, &Digest::of(&oci.layer), 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::InvalidResponse, "{err}");
    let err = any
        .fetch_manifest(&repository, &Digest::of(b"missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::NotFound, "{err}");

    // Referrers: a cosign-like signature artifact whose subject is the image.
    let empty = any.fetch_referrers(&repository, &d).await.unwrap().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&empty.bytes).unwrap()["manifests"],
        serde_json::json!([])
    );
    let sig_payload = layout.put_blob(&repository, b"bundle").await.unwrap();
    let artifact = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::of(b"{}").as_str(), "size": 2},
        "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "digest": sig_payload.as_str(), "size": 6}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": d.as_str(), "size": oci.manifest.bytes.len()},
    });
    let artifact = Manifest::new(OCI_MANIFEST, serde_json::to_vec(&artifact).unwrap());
    let artifact_digest = layout
        .put_manifest_by_digest(&repository, &artifact)
        .await
        .unwrap();
    let referrers = any.fetch_referrers(&repository, &d).await.unwrap().unwrap();
    assert_eq!(referrers.media_type, OCI_INDEX);
    let v: serde_json::Value = serde_json::from_slice(&referrers.bytes).unwrap();
    assert_eq!(v["manifests"][0]["digest"], artifact_digest.as_str());
    assert_eq!(
        v["manifests"][0]["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        any.fetch_manifest(&repository, &artifact_digest).await.unwrap(),
        artifact
    );
}

#[tokio::test]
async fn a_second_handle_sees_writes_and_no_temp_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let first = LayoutRegistry::new(dir.path());
    let second = LayoutRegistry::new(dir.path());
    let repository = repo("docker.io", "team/app");
    let img = image("second", None, false);
    push_layout_image(&first, &repository, &img, Some("staging")).await;
    assert_eq!(
        second.resolve_tag(&repository, &tag("staging")).await.unwrap(),
        Some(img.manifest.digest())
    );
    second
        .put_manifest(&repository, &tag("prod"), &img.manifest)
        .await
        .unwrap();
    assert_eq!(
        first.resolve_tag(&repository, &tag("prod")).await.unwrap(),
        Some(img.manifest.digest())
    );
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn concurrent_writers_never_lose_a_tag_and_readers_never_see_a_partial_index() {
    let dir = tempfile::tempdir().unwrap();
    let repository = repo("docker.io", "team/app");
    let img = image("atomic", None, false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(push_layout_image(
        &LayoutRegistry::new(dir.path()),
        &repository,
        &img,
        Some("seed"),
    ));
    let index_path = dir.path().join("team/app/index.json");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let index_path = index_path.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = std::fs::read(&index_path).unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).expect("index.json is always complete");
                reads += 1;
            }
            reads
        })
    };
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let root = dir.path().to_path_buf();
            let repository = repository.clone();
            let manifest = img.manifest.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                // Separate handles, as separate processes would have.
                let layout = LayoutRegistry::new(root);
                for i in 0..25 {
                    rt.block_on(layout.put_manifest(&repository, &tag(&format!("w{w}-{i}")), &manifest))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let listing = rt
        .block_on(LayoutRegistry::new(dir.path()).list_tags(&repository))
        .unwrap();
    assert_eq!(listing.tags.len(), 101, "every tag of every writer survived");
}

#[tokio::test]
async fn a_held_lock_makes_a_writer_wait_then_fail_with_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let repository = repo("docker.io", "team/app");
    let img = image("lock", None, false);
    let layout = LayoutRegistry::new(dir.path()).with_lock_timeout(Duration::from_millis(200));
    push_layout_image(&layout, &repository, &img, Some("staging")).await;

    // Another "process": an independent open file description holding the flock.
    let other = std::fs::OpenOptions::new()
        .write(true)
        .open(layout.lock_path(&repository))
        .unwrap();
    other.lock().unwrap();
    let started = std::time::Instant::now();
    let err = layout
        .put_manifest(&repository, &tag("prod"), &img.manifest)
        .await
        .unwrap_err();
    assert_eq!(err.kind, RegistryErrorKind::Conflict, "{err}");
    assert!(err.message.contains(".tagcli.lock"), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        layout.resolve_tag(&repository, &tag("prod")).await.unwrap(),
        None,
        "nothing written"
    );

    // The same through the public guard, released on drop.
    other.unlock().unwrap();
    let guard = layout.lock(&repository).await.unwrap();
    assert!(
        layout
            .put_manifest(&repository, &tag("prod"), &img.manifest)
            .await
            .is_err()
    );
    drop(guard);
    layout
        .put_manifest(&repository, &tag("prod"), &img.manifest)
        .await
        .unwrap();
    assert_eq!(
        layout.resolve_tag(&repository, &tag("prod")).await.unwrap(),
        Some(img.manifest.digest())
    );
}
