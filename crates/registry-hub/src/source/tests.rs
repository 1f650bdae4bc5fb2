use std::io::Read as _;
use std::path::Path;

use serde_json::json;
use tagcore::engine::{KnownBlobs, push_image};
use tagcore::image::SourceName;
use tagcore::{Digest, NoProgress, Registry as _, Repository};

use super::open_source;
use crate::LayoutRegistry;

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Writes an OCI layout of one image (config + `layers`) into `dir`; returns the manifest digest.
fn write_layout(dir: &Path, layers: &[&[u8]], refname: Option<&str>) -> Digest {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.as_str(), "size": bytes.len()})
    };
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let mut config_desc = put(config);
    config_desc["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
    let layer_descs: Vec<_> = layers.iter().map(|l| put(l)).collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": layer_descs,
    }))
    .unwrap();
    let mut desc = put(&manifest);
    desc["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
    if let Some(r) = refname {
        desc["annotations"] = json!({"org.opencontainers.image.ref.name": r});
    }
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [desc]})).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    Digest::of(&manifest)
}

fn tar_dir(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
}

fn read_blob(src: &super::OpenedSource, d: &Digest, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    src.blobs().open_blob(d, offset)?.read_to_end(&mut out)?;
    Ok(out)
}

#[test]
fn an_oci_layout_and_its_archive_give_the_same_image_and_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    let big = vec![7u8; 100_000];
    let digest = write_layout(&dir, &[b"layer one", &big], None);
    let archive = tmp.path().join("image.tar");
    tar_dir(&dir, &archive);
    for name in [
        format!("oci:{}", dir.display()),
        format!("oci-archive:{}", archive.display()),
    ] {
        let src = open_source(&SourceName::parse(&name).unwrap()).unwrap();
        assert_eq!(src.image.digest, digest, "{name}");
        assert_eq!(src.image.blobs.len(), 3);
        let layer = &src.image.blobs[2];
        assert_eq!(read_blob(&src, &layer.digest, 0).unwrap(), big);
        assert_eq!(read_blob(&src, &layer.digest, 99_990).unwrap(), vec![7u8; 10]);
    }
}

#[test]
fn a_corrupt_blob_fails_on_its_last_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    write_layout(tmp.path(), &[b"layer one"], None);
    let d = Digest::of(b"layer one");
    std::fs::write(tmp.path().join("blobs/sha256").join(d.hex()), b"layer 0ne").unwrap();
    let src = open_source(&SourceName::parse(&format!("oci:{}", tmp.path().display())).unwrap()).unwrap();
    let e = read_blob(&src, &d, 0).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains(d.as_str()), "{e}");
    // Also when resuming past the bytes that differ, and when the file is empty.
    assert_eq!(
        read_blob(&src, &d, 8).unwrap_err().kind(),
        std::io::ErrorKind::InvalidData
    );
    std::fs::write(tmp.path().join("blobs/sha256").join(d.hex()), b"").unwrap();
    let src = open_source(&SourceName::parse(&format!("oci:{}", tmp.path().display())).unwrap()).unwrap();
    assert_eq!(
        read_blob(&src, &d, 0).unwrap_err().kind(),
        std::io::ErrorKind::InvalidData
    );
}

#[test]
fn sources_are_checked_when_opened_naming_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    write_layout(tmp.path(), &[b"layer one"], Some("v1"));
    let name = |r: &str| SourceName::parse(&format!("oci:{}{r}", tmp.path().display())).unwrap();
    assert!(open_source(&name(":v1")).is_ok());
    let e = open_source(&name(":v2")).unwrap_err();
    assert!(
        e.message.contains("no image named \"v2\"") && e.message.contains("it has: v1"),
        "{e}"
    );
    std::fs::remove_file(
        tmp.path()
            .join("blobs/sha256")
            .join(Digest::of(b"layer one").hex()),
    )
    .unwrap();
    let e = open_source(&name("")).unwrap_err();
    assert!(e.message.starts_with("source oci:"), "{e}");
    assert!(e.message.contains("is missing"), "{e}");
    let gz = tmp.path().join("image.tar.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
    let e = open_source(&SourceName::parse(&format!("oci-archive:{}", gz.display())).unwrap()).unwrap_err();
    assert!(e.message.contains("gzip-compressed"), "{e}");
    let e = open_source(&SourceName::parse("oci-archive:/nonexistent/x.tar").unwrap()).unwrap_err();
    assert!(e.message.contains("/nonexistent/x.tar"), "{e}");
}

#[test]
fn a_docker_archive_becomes_an_oci_manifest_of_its_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("save");
    std::fs::create_dir_all(dir.join("abc")).unwrap();
    let layer = b"pretend this is a layer tar".to_vec();
    std::fs::write(dir.join("abc/layer.tar"), &layer).unwrap();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).as_str()]}
    }))
    .unwrap();
    let config_name = format!("{}.json", Digest::of(&config).hex());
    std::fs::write(dir.join(&config_name), &config).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(
            &json!([{"Config": config_name, "RepoTags": ["app:1"], "Layers": ["abc/layer.tar"]}]),
        )
        .unwrap(),
    )
    .unwrap();
    let archive = tmp.path().join("save.tar");
    tar_dir(&dir, &archive);
    for name in [
        format!("docker-archive:{}", archive.display()),
        format!("docker-archive:{}:app:1", archive.display()),
    ] {
        let src = open_source(&SourceName::parse(&name).unwrap()).unwrap();
        let digests: Vec<&Digest> = src.image.blobs.iter().map(|b| &b.digest).collect();
        assert_eq!(digests, [&Digest::of(&config), &Digest::of(&layer)]);
        assert_eq!(read_blob(&src, &Digest::of(&layer), 0).unwrap(), layer);
        assert_eq!(src.image.manifests.len(), 1);
    }
    let e = open_source(&SourceName::parse(&format!("docker-archive:{}:app:2", archive.display())).unwrap())
        .unwrap_err();
    assert!(e.message.contains("no image tagged \"app:2\""), "{e}");
}

#[test]
fn the_layout_backend_takes_an_image_from_a_source_and_mounts_between_repositories() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("src");
    let digest = write_layout(&dir, &[b"layer one"], None);
    let src = open_source(&SourceName::parse(&format!("oci:{}", dir.display())).unwrap()).unwrap();
    let reg = LayoutRegistry::new(tmp.path().join("root"));
    let a = Repository::new("local", "team/a").unwrap();
    let b = Repository::new("local", "team/b").unwrap();
    let mut known = KnownBlobs::default();
    let first = block_on(push_image(
        &reg,
        &a,
        &src.image,
        src.blobs(),
        &mut known,
        &NoProgress,
    ))
    .unwrap();
    assert_eq!((first.blobs_uploaded, first.digest.clone()), (2, digest.clone()));
    let second = block_on(push_image(
        &reg,
        &b,
        &src.image,
        src.blobs(),
        &mut known,
        &NoProgress,
    ))
    .unwrap();
    assert_eq!((second.blobs_mounted, second.blobs_uploaded), (2, 0));
    let again = block_on(push_image(
        &reg,
        &b,
        &src.image,
        src.blobs(),
        &mut known,
        &NoProgress,
    ))
    .unwrap();
    assert_eq!(again.blobs_present, 2);
    let m = block_on(reg.fetch_manifest(&b, &digest)).unwrap();
    assert_eq!(m.digest(), digest);
}
