//! `publish --from` through the binary on the real registry (Bearer tokens): archives written
//! by skopeo, a second publish that uploads nothing, mounts across the unit's repositories, a
//! 2-platform index, and an upload cut off midway. Requests are read from the registry's
//! access log, or from testkit's `FaultProxy` where a fault is injected.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use tagcore::{Digest, Manifest};
use testkit::{Fault, FaultProxy};

use crate::support::{PASSWORD, USER, World};

const SHA: &str = "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";
const SHA_B: &str = "b3fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";
/// A Thursday: outside cloud-api's staging freeze (Tuesday and Wednesday).
const NOW: &str = "2026-12-03T12:00:00Z";

/// Copies `reference` (on the world's registry) into `dest` with skopeo (`--all` for indexes).
pub(crate) fn skopeo_copy(w: &World, reference: &str, dest: &str, all: bool) {
    let mut cmd = Command::new("skopeo");
    // Kept byte for byte: the test images' layers are uncompressed, which skopeo would otherwise
    // compress for an OCI destination (changing the digest).
    cmd.args([
        "copy",
        "--preserve-digests",
        "--dest-oci-accept-uncompressed-layers",
        "--src-tls-verify=false",
        "--src-creds",
    ])
    .arg(format!("{USER}:{PASSWORD}"));
    if all {
        cmd.arg("--all");
    }
    let out = cmd
        .arg(format!("docker://{}/{USER}/{reference}", w.registry.addr()))
        .arg(dest)
        .output()
        .expect("run skopeo (scripts/test installs it)");
    assert!(
        out.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Returns the digest of the image an OCI archive's `index.json` names (read with tar).
pub(crate) fn archive_digest(archive: &Path) -> Digest {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg("index.json")
        .output()
        .unwrap();
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().parse().unwrap()
}

fn publish(w: &World, from: &[&str], extra: &[&str]) -> crate::support::Run {
    publish_at(w, SHA, from, extra)
}

fn publish_at(w: &World, commit: &str, from: &[&str], extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["--now", NOW, "publish", "--commit", commit];
    for f in from {
        args.extend(["--from", f]);
    }
    args.extend_from_slice(extra);
    w.tagcli(&args)
}

/// Returns the access-log lines that sent blob bytes or created a blob.
fn blob_writes(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("PATCH ") || (l.contains("/blobs/uploads/") && !l.starts_with("GET ")))
        .cloned()
        .collect()
}

#[test]
fn an_archive_skopeo_wrote_is_published_with_its_digest_and_a_second_publish_uploads_nothing() {
    let w = World::new("cloud-api.toml");
    let d = w.push_image("build-output", "from 1");
    let archive = w.dir.path().join("app.tar");
    let dest = format!("oci-archive:{}", archive.display());
    skopeo_copy(&w, &format!("build-output@{d}"), &dest, false);
    assert_eq!(archive_digest(&archive), d);
    let before = w.registry.settled_requests().len();
    let r = publish(&w, &[&dest], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&d.as_str()[..19]), "{}", r.stdout);
    // stderr is not a terminal here: no progress bar, nothing extra.
    assert_eq!(r.stderr, "");
    assert_eq!(w.tag("cloud-api", "staging"), Some(d.clone()));
    assert_eq!(w.tag("cloud-api", "staging-20261203-a2fad42"), Some(d.clone()));
    let first = w.registry.settled_requests()[before..].to_vec();
    let uploads = blob_writes(&first);
    assert!(!uploads.is_empty(), "{first:#?}");
    eprintln!(
        "first publish: {} registry requests, {} blob writes",
        first.len(),
        uploads.len()
    );

    let before = w.registry.settled_requests().len();
    let r = publish(&w, &[&dest], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let second = w.registry.settled_requests()[before..].to_vec();
    assert_eq!(blob_writes(&second), Vec::<String>::new(), "{second:#?}");
    eprintln!(
        "second publish: {} registry requests, 0 blob writes",
        second.len()
    );
}

#[test]
fn a_two_platform_index_archive_keeps_its_digest() {
    let w = World::new("cloud-api.toml");
    let amd = w.push_image("build-output", "amd64 build");
    let arm = w.push_image("build-output", "arm64 build");
    let entry = |d: &Digest, arch: &str| {
        let m = w.manifest("build-output", d);
        json!({"mediaType": m.media_type, "digest": d.as_str(), "size": m.bytes.len(),
               "platform": {"architecture": arch, "os": "linux"}})
    };
    let index = Manifest::new(
        "application/vnd.oci.image.index.v1+json",
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [entry(&amd, "amd64"), entry(&arm, "arm64")],
        }))
        .unwrap(),
    );
    let d = w.push_manifest("build-output", &index);
    let archive = w.dir.path().join("multi.tar");
    let dest = format!("oci-archive:{}", archive.display());
    skopeo_copy(&w, &format!("build-output@{d}"), &dest, true);
    assert_eq!(archive_digest(&archive), d);
    let r = publish(&w, &[&dest], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag("cloud-api", "staging"), Some(d.clone()));
    for child in [&amd, &arm] {
        assert_eq!(w.manifest("cloud-api", child).digest(), *child);
    }
}

/// Writes an OCI layout of one image: its own config, a layer shared by every image of the
/// test, and its own top layer; returns the manifest's digest.
fn write_layout(dir: &Path, seed: &str, shared: &[u8]) -> Digest {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |media: &str, bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        json!({"mediaType": media, "digest": d.as_str(), "size": bytes.len()})
    };
    let top = format!("top layer of {seed}").into_bytes();
    let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(shared).as_str(), Digest::of(&top).as_str()]}}))
    .unwrap();
    let layer = "application/vnd.oci.image.layer.v1.tar";
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": put("application/vnd.oci.image.config.v1+json", &config),
        "layers": [put(layer, shared), put(layer, &top)],
    }))
    .unwrap();
    let desc = put("application/vnd.oci.image.manifest.v1+json", &manifest);
    std::fs::write(
        dir.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [desc]}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    Digest::of(&manifest)
}

fn shared_layer() -> Vec<u8> {
    (0..5000u32).map(|i| (i % 253) as u8).collect()
}

#[test]
fn a_unit_publishes_in_one_call_mounting_the_layer_its_images_share() {
    let w = World::new("compose-manager.toml");
    let shared = shared_layer();
    let names = [
        "compose-manager",
        "compose-manager-launcher",
        "compose-manager-dashboard",
    ];
    let mut from = Vec::new();
    let mut digests = Vec::new();
    for n in names {
        let dir = w.dir.path().join(n);
        digests.push(write_layout(&dir, n, &shared));
        from.push(format!("{n}=oci:{}", dir.display()));
    }
    let from: Vec<&str> = from.iter().map(String::as_str).collect();
    let before = w.registry.settled_requests().len();
    let r = publish(&w, &from, &["--chunk-size", "1000"]);
    assert_eq!(r.code, 0, "{r:?}");
    for (n, d) in names.iter().zip(&digests) {
        assert_eq!(w.tag(n, "staging").as_ref(), Some(d), "{n}");
    }
    let log = w.registry.settled_requests()[before..].to_vec();
    let shared_digest = Digest::of(&shared);
    for n in &names[1..] {
        let mount =
            format!("POST /v2/{USER}/{n}/blobs/uploads/?mount={shared_digest}&from={USER}/compose-manager");
        assert!(log.iter().any(|l| l.starts_with(&mount)), "{n}: {log:#?}");
    }
    // The shared 5000-byte layer went once, in 1000-byte chunks; the small blobs in one PUT each.
    assert_eq!(
        log.iter().filter(|l| l.starts_with("PATCH ")).count(),
        5,
        "{log:#?}"
    );
    eprintln!("3-image publish: {} registry requests, 2 mounts", log.len());
}

#[test]
fn an_upload_cut_off_midway_converges_on_a_re_run() {
    let w = World::new("cloud-api.toml");
    let proxy = FaultProxy::start(w.registry.addr());
    let policy = std::fs::read_to_string(&w.config).unwrap();
    let through_proxy = policy.replace(w.registry.addr(), &proxy.addr());
    let dir = w.dir.path().join("image");
    let d = write_layout(&dir, "cut", &shared_layer());
    let from = format!("oci:{}", dir.display());
    // A probe publish to another namespace learns the request sequence.
    std::fs::write(
        &w.config,
        through_proxy.replace("namespace = \"${DOCKER_REGISTRY_USER}\"", "namespace = \"probe\""),
    )
    .unwrap();
    assert_eq!(publish(&w, &[&from], &["--chunk-size", "1000"]).code, 0);
    let probe = proxy.requests();
    let patches: Vec<usize> = probe
        .iter()
        .filter(|q| q.method == "PATCH")
        .map(|q| q.n)
        .collect();
    assert_eq!(patches.len(), 5, "{probe:#?}");
    std::fs::write(&w.config, &through_proxy).unwrap();

    // Cut midway: the third chunk reaches the registry, its connection is reset. The upload asks
    // the session's status, then (distribution refuses a stale session) restarts and completes.
    proxy.reset();
    proxy.inject(patches[2], Fault::Reset);
    let r = publish(&w, &[&from], &["--chunk-size", "1000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag("cloud-api", "staging"), Some(d.clone()));

    // Cut at the commit of the big blob: the run fails before any tag moves; a re-run finds the
    // blob there and completes.
    let commit = probe
        .iter()
        .position(|q| q.method == "PUT" && q.path.contains("/blobs/uploads/") && q.n > patches[4])
        .map(|i| probe[i].n)
        .unwrap();
    let cut = "cut-b";
    let dir_b = w.dir.path().join(cut);
    let d_b = write_layout(
        &dir_b,
        "cut",
        &shared_layer().iter().map(|b| b ^ 0x5a).collect::<Vec<_>>(),
    );
    let from_b = format!("oci:{}", dir_b.display());
    proxy.reset();
    proxy.inject(commit, Fault::Reset);
    let r = publish_at(&w, SHA_B, &[&from_b], &["--chunk-size", "1000"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert_eq!(w.tag("cloud-api", "staging"), Some(d), "no tag moved");
    proxy.clear_fault();
    proxy.reset();
    let r = publish_at(&w, SHA_B, &[&from_b], &["--chunk-size", "1000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag("cloud-api", "staging"), Some(d_b));
    let rerun = proxy.requests();
    assert_eq!(
        rerun.iter().filter(|q| q.method == "PATCH").count(),
        0,
        "{rerun:#?}"
    );
}

#[test]
fn bad_sources_are_refused_before_any_request() {
    let w = World::new("cloud-api.toml");
    let before = w.registry.settled_requests().len();
    for (from, expected) in [
        ("app.tar", "expected oci-archive:PATH"),
        (
            "docker://127.0.0.1:5000/app",
            "docker: transport is not a file source",
        ),
        ("oci-archive:/nonexistent/app.tar", "/nonexistent/app.tar"),
        ("cloud-api=oci:", "the path is empty"),
    ] {
        let r = publish(&w, &[from], &[]);
        assert_eq!(r.code, 2, "{from}: {r:?}");
        assert!(
            r.stderr.contains("--from") && r.stderr.contains(expected),
            "{from}: {}",
            r.stderr
        );
    }
    let r = w.tagcli(&[
        "publish", "--commit", SHA, "--from", "oci:x", "--digest", "sha256:0",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        w.registry.settled_requests().len(),
        before,
        "no request reached the registry"
    );
}

#[test]
fn a_dry_run_reads_the_source_and_only_heads_blobs() {
    let w = World::new("cloud-api.toml");
    let dir = w.dir.path().join("image");
    let d = write_layout(&dir, "dry", &shared_layer());
    let from = format!("oci:{}", dir.display());
    let before = w.registry.settled_requests().len();
    let r = publish(&w, &[&from], &["--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("[registry]/{USER}/cloud-api@{d}: 3 of 3 blobs missing")),
        "{}",
        r.stdout
    );
    let log = w.registry.settled_requests()[before..].to_vec();
    assert!(log.iter().all(|l| l.starts_with("HEAD ")), "{log:#?}");
    assert_eq!(w.tag("cloud-api", "staging"), None);
    // The JSON form (validated against docs/output.schema.json by `json()`).
    let r = publish(&w, &[&from], &["--dry-run", "--output", "json"]);
    let v = r.json();
    assert_eq!(
        (v["result"].as_str(), v["push"][0]["digest"].as_str()),
        (Some("dry_run"), Some(d.as_str()))
    );
    assert_eq!(
        (
            v["push"][0]["missing_blobs"].as_u64(),
            v["push"][0]["blobs"].as_u64()
        ),
        (Some(3), Some(3))
    );
}

#[test]
fn a_docker_archive_skopeo_wrote_is_published() {
    let w = World::new("cloud-api.toml");
    let d = w.push_image("build-output", "docker archive");
    let archive = w.dir.path().join("saved.tar");
    let out = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--src-creds"])
        .arg(format!("{USER}:{PASSWORD}"))
        .arg(format!("docker://{}/{USER}/build-output@{d}", w.registry.addr()))
        .arg(format!("docker-archive:{}:app:1", archive.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = w.tagcli(
        &[
            "--now", NOW, "publish", "--commit", SHA, "--output", "json", "--from",
        ]
        .into_iter()
        .chain([format!("docker-archive:{}", archive.display()).as_str()])
        .collect::<Vec<_>>(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let published: Digest = r.json()["images"][0]["digest"].as_str().unwrap().parse().unwrap();
    assert_eq!(w.tag("cloud-api", "staging"), Some(published.clone()));
    // The layers are the source image's: same content, same digests.
    let source: serde_json::Value = serde_json::from_slice(&w.manifest("build-output", &d).bytes).unwrap();
    let pushed: serde_json::Value =
        serde_json::from_slice(&w.manifest("cloud-api", &published).bytes).unwrap();
    assert_eq!(source["layers"][0]["digest"], pushed["layers"][0]["digest"]);
}
