//! Pushing an image from a source: only what the registry lacks, mounts across the unit's
//! repositories, manifests children first, and convergence after any failure.

use tagcore::engine::{KnownBlobs, PushReport, push_image};
use tagcore::image::SourceImage;
use tagcore::request::{PublishRequest, Request};
use tagcore::testing::{Call, Fault, MemoryRegistry, MemorySource, block_on};
use tagcore::{Manifest, NoProgress, RegistryErrorKind, Repository};

use crate::support::*;

fn repo(name: &str) -> Repository {
    Repository::new("registry.example", name).unwrap()
}

fn push(
    reg: &MemoryRegistry,
    to: &Repository,
    image: &SourceImage,
    src: &MemorySource,
    known: &mut KnownBlobs,
) -> Result<PushReport, tagcore::OpError> {
    block_on(push_image(reg, to, image, src, known, &NoProgress))
}

fn two_platform_index(src: &mut MemorySource) -> SourceImage {
    let amd = src.image("amd64 config", &[b"base", b"amd64 top"]);
    let arm = src.image("arm64 config", &[b"base", b"arm64 top"]);
    let entry = |m: &Manifest| {
        format!(
            r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
            m.media_type,
            m.digest(),
            m.bytes.len()
        )
    };
    let (a, b) = (amd.manifests[0].clone(), arm.manifests[0].clone());
    let index = Manifest::new(
        "application/vnd.oci.image.index.v1+json",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{},{}]}}"#,
            entry(&a),
            entry(&b)
        )
        .into_bytes(),
    );
    let children = [a, b];
    SourceImage::assemble(index, |d| {
        Ok(children
            .iter()
            .find(|m| m.digest() == d.digest)
            .unwrap()
            .bytes
            .clone())
    })
    .unwrap()
}

#[test]
fn a_second_push_uploads_nothing_and_an_index_follows_its_children() {
    let reg = MemoryRegistry::new(t("2026-06-01T00:00:00Z"));
    let mut src = MemorySource::default();
    let image = two_platform_index(&mut src);
    let to = repo("team/app");
    let first = push(&reg, &to, &image, &src, &mut KnownBlobs::default()).unwrap();
    assert_eq!(
        (first.blobs_uploaded, first.blobs_present, first.manifests),
        (5, 0, 3)
    );
    assert_eq!(first.digest, image.digest);
    let puts: Vec<String> = reg
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::PutDigest(what) => Some(what),
            _ => None,
        })
        .collect();
    let order: Vec<String> = image
        .manifests
        .iter()
        .map(|m| format!("{to}@{}", m.digest()))
        .collect();
    assert_eq!(puts, order, "children before the index");
    assert!(reg.has_manifest(&to, &image.digest));
    reg.clear_calls();
    let second = push(&reg, &to, &image, &src, &mut KnownBlobs::default()).unwrap();
    assert_eq!(
        (second.blobs_uploaded, second.blobs_present, second.bytes_uploaded),
        (0, 5, 0)
    );
    assert!(!reg.calls().iter().any(Call::is_blob_write), "{:?}", reg.calls());
}

#[test]
fn a_blob_another_repository_of_the_run_holds_is_mounted_not_uploaded() {
    let reg = MemoryRegistry::new(t("2026-06-01T00:00:00Z"));
    let mut src = MemorySource::default();
    let api = src.image("api config", &[b"shared base", b"api top"]);
    let worker = src.image("worker config", &[b"shared base", b"worker top"]);
    let mut known = KnownBlobs::default();
    push(&reg, &repo("team/api"), &api, &src, &mut known).unwrap();
    reg.clear_calls();
    let r = push(&reg, &repo("team/worker"), &worker, &src, &mut known).unwrap();
    assert_eq!((r.blobs_mounted, r.blobs_uploaded), (1, 2));
    let base = &api.blobs[1].digest;
    assert!(reg.calls().contains(&Call::Mount(
        format!("registry.example/team/worker@{base}"),
        "registry.example/team/api".into()
    )));
    assert!(reg.blob(&repo("team/worker"), base).is_some());
    // Another registry's repository is never a mount candidate.
    let elsewhere = Repository::new("other.example", "team/worker").unwrap();
    assert!(known.mount_candidates(base, &elsewhere).is_empty());
}

#[test]
fn a_refused_mount_falls_back_to_an_upload() {
    let reg = MemoryRegistry::new(t("2026-06-01T00:00:00Z"));
    reg.refuse_mounts();
    let mut src = MemorySource::default();
    let api = src.image("api config", &[b"shared base"]);
    let worker = src.image("worker config", &[b"shared base"]);
    let mut known = KnownBlobs::default();
    push(&reg, &repo("team/api"), &api, &src, &mut known).unwrap();
    let r = push(&reg, &repo("team/worker"), &worker, &src, &mut known).unwrap();
    assert_eq!((r.blobs_mounted, r.blobs_uploaded), (0, 2));
}

#[test]
fn a_corrupt_source_blob_is_never_stored() {
    let reg = MemoryRegistry::new(t("2026-06-01T00:00:00Z"));
    let mut src = MemorySource::default();
    let image = src.image("config", &[b"layer"]);
    let layer = image.blobs[1].digest.clone();
    src.corrupt(&layer, b"other");
    let e = push(&reg, &repo("team/app"), &image, &src, &mut KnownBlobs::default()).unwrap_err();
    assert!(e.message.contains(layer.as_str()), "{e}");
    assert!(reg.blob(&repo("team/app"), &layer).is_none());
    assert!(!reg.has_manifest(&repo("team/app"), &image.digest));
}

#[test]
fn a_push_converges_after_a_failure_at_any_call() {
    let mut src = MemorySource::default();
    let image = two_platform_index(&mut src);
    let to = repo("team/app");
    let clean = MemoryRegistry::new(t("2026-06-01T00:00:00Z"));
    push(&clean, &to, &image, &src, &mut KnownBlobs::default()).unwrap();
    let calls = clean.calls().len();
    for n in 1..=calls {
        for fault in [
            Fault::NthCall(n, RegistryErrorKind::Transient),
            Fault::AppliedLost(n),
        ] {
            let reg = MemoryRegistry::new(t("2026-06-01T00:00:00Z"));
            reg.inject(fault.clone());
            assert!(
                push(&reg, &to, &image, &src, &mut KnownBlobs::default()).is_err(),
                "{fault:?}"
            );
            reg.clear_faults();
            let r = push(&reg, &to, &image, &src, &mut KnownBlobs::default()).unwrap();
            assert_eq!(r.digest, image.digest, "{fault:?}");
            for b in &image.blobs {
                assert!(reg.blob(&to, &b.digest).is_some(), "{fault:?}: {}", b.digest);
            }
            for m in &image.manifests {
                assert!(reg.has_manifest(&to, &m.digest()), "{fault:?}");
            }
        }
    }
}

#[test]
fn a_pushed_image_publishes_through_the_usual_path_with_the_source_digest() {
    let w = World::cloud();
    let mut src = MemorySource::default();
    let image = src.image("build config", &[b"layer"]);
    push(&w.reg, &w.repo(0), &image, &src, &mut KnownBlobs::default()).unwrap();
    let req = Request::Publish(
        PublishRequest::parse(&[image.digest.to_string()], SHA_A, false, &w.policy).unwrap(),
    );
    let out = w.run(&req, "2026-06-25T12:00:00Z").unwrap();
    assert_eq!(out.result, tagcore::outcome::RunResult::Done);
    assert_eq!(w.reg.tag(&w.repo(0), "staging"), Some(image.digest.clone()));
    assert_eq!(
        w.reg.tag(&w.repo(0), "staging-20260625-a2fad42"),
        Some(image.digest)
    );
}
