use super::*;

fn blob(content: &str) -> (Descriptor, Vec<u8>) {
    let bytes = content.as_bytes().to_vec();
    (
        Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            digest: Digest::of(&bytes),
            size: bytes.len() as u64,
        },
        bytes,
    )
}

fn desc_json(d: &Descriptor) -> String {
    format!(
        r#"{{"mediaType":"{}","digest":"{}","size":{}}}"#,
        d.media_type, d.digest, d.size
    )
}

fn image_manifest(config: &Descriptor, layers: &[&Descriptor]) -> Manifest {
    let layers: Vec<String> = layers.iter().map(|l| desc_json(l)).collect();
    Manifest::new(
        "application/vnd.oci.image.manifest.v1+json",
        format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[{}]}}"#,
            desc_json(config),
            layers.join(",")
        )
        .into_bytes(),
    )
}

fn index_of(children: &[&Manifest]) -> Manifest {
    let entries: Vec<String> = children
        .iter()
        .map(|m| {
            desc_json(&Descriptor {
                media_type: m.media_type.clone(),
                digest: m.digest(),
                size: m.bytes.len() as u64,
            })
        })
        .collect();
    Manifest::new(
        "application/vnd.oci.image.index.v1+json",
        format!(r#"{{"schemaVersion":2,"manifests":[{}]}}"#, entries.join(",")).into_bytes(),
    )
}

#[test]
fn an_index_is_pushed_after_its_children_and_shared_blobs_once() {
    let (config_a, _) = blob("config a");
    let (config_b, _) = blob("config b");
    let (base, _) = blob("shared base layer");
    let (top, _) = blob("top layer");
    let a = image_manifest(&config_a, &[&base, &top]);
    let b = image_manifest(&config_b, &[&base]);
    let index = index_of(&[&a, &b]);
    let children = [a.clone(), b.clone()];
    let image = SourceImage::assemble(index.clone(), |d| {
        Ok(children
            .iter()
            .find(|m| m.digest() == d.digest)
            .unwrap()
            .bytes
            .clone())
    })
    .unwrap();
    assert_eq!(image.digest, index.digest());
    assert_eq!(image.manifests, vec![a, b, index]);
    let blobs: Vec<&Digest> = image.blobs.iter().map(|b| &b.digest).collect();
    assert_eq!(
        blobs,
        vec![&config_a.digest, &base.digest, &top.digest, &config_b.digest]
    );
    assert_eq!(
        image.blob_bytes(),
        config_a.size + base.size + top.size + config_b.size
    );
}

#[test]
fn a_child_that_does_not_match_its_descriptor_is_refused() {
    let (config, _) = blob("config");
    let a = image_manifest(&config, &[]);
    let index = index_of(&[&a]);
    let e = SourceImage::assemble(index, |_| Ok(b"{}".to_vec())).unwrap_err();
    assert!(e.message.contains(a.digest().as_str()), "{e}");
}

#[test]
fn malformed_manifests_name_the_field() {
    for (bytes, expected) in [
        (&b"not json"[..], "is not JSON"),
        (br#"{"schemaVersion":2}"#, "neither `manifests` nor `config`"),
        (br#"{"config":{"digest":"sha256:00","size":1,"mediaType":"x"}}"#, "`config`"),
        (br#"{"manifests":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","mediaType":"x"}]}"#, "`manifests[0]` has no size"),
        (br#"{"manifests":{}}"#, "`manifests` is not an array"),
    ] {
        let e = references(&Manifest::new("x", bytes.to_vec())).unwrap_err();
        assert!(e.message.contains(expected), "{e} lacks {expected}");
    }
}

#[test]
fn nesting_is_bounded() {
    let (config, _) = blob("c");
    let leaf = image_manifest(&config, &[]);
    let i1 = index_of(&[&leaf]);
    let i2 = index_of(&[&i1]);
    let i3 = index_of(&[&i2]);
    let all = [leaf, i1, i2];
    let e = SourceImage::assemble(i3, |d| {
        Ok(all.iter().find(|m| m.digest() == d.digest).unwrap().bytes.clone())
    })
    .unwrap_err();
    assert!(e.message.contains("nests deeper"), "{e}");
}

#[test]
fn source_names_parse_as_skopeo_names_them() {
    assert_eq!(
        SourceName::parse("oci-archive:./out/app.tar").unwrap(),
        SourceName::OciArchive {
            path: "./out/app.tar".into(),
            reference: None
        }
    );
    assert_eq!(
        SourceName::parse("oci:layout:v1").unwrap(),
        SourceName::OciLayout {
            dir: "layout".into(),
            reference: Some("v1".into())
        }
    );
    assert_eq!(
        SourceName::parse("docker-archive:/tmp/a.tar:app:1").unwrap(),
        SourceName::DockerArchive {
            path: "/tmp/a.tar".into(),
            reference: Some("app:1".into())
        }
    );
    for s in ["oci-archive:a.tar", "oci:dir:latest", "docker-archive:x.tar"] {
        assert_eq!(SourceName::parse(s).unwrap().to_string(), s);
    }
}

#[test]
fn bad_source_names_are_refused_naming_the_input() {
    for (input, expected) in [
        ("app.tar", "expected oci-archive:PATH"),
        ("oci-archive:", "the path is empty"),
        ("oci:dir:", "reference after the path is empty"),
        (
            "docker://127.0.0.1:5000/a",
            "docker: transport is not a file source",
        ),
        ("tarball:x.tar", "unknown transport \"tarball\""),
    ] {
        let e = SourceName::parse(input).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&format!("{input:?}")), "{text}");
        assert!(text.contains(expected), "{text} lacks {expected}");
    }
}

#[test]
fn layout_roots_come_from_oci_locations_only() {
    assert_eq!(layout_root("oci:./l"), Some(Ok(PathBuf::from("./l"))));
    assert!(layout_root("oci:").unwrap().is_err());
    assert!(
        layout_root("oci:./l:v1")
            .unwrap()
            .unwrap_err()
            .contains("directory only")
    );
    assert_eq!(layout_root("docker.io"), None);
}

#[test]
fn unit_sources_need_one_source_per_publishing_image() {
    use crate::policy::{ImageSpec, Policy, PolicySpec};
    let spec = |names: &[&str]| PolicySpec {
        unit: "u".into(),
        images: names
            .iter()
            .map(|n| ImageSpec {
                repository: format!("docker.io/team/{n}"),
                verify: false,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let one = Policy::from_spec(&spec(&["app"])).unwrap();
    let got = unit_sources(&["oci-archive:a=b.tar".into()], &one).unwrap();
    assert_eq!(got[0].1.to_string(), "oci-archive:a=b.tar");
    let two = Policy::from_spec(&spec(&["api", "worker"])).unwrap();
    let got = unit_sources(&["worker=oci:w".into(), "api=oci-archive:api.tar".into()], &two).unwrap();
    let names: Vec<(usize, String)> = got.iter().map(|(i, s)| (*i, s.to_string())).collect();
    assert_eq!(names, [(0, "oci-archive:api.tar".into()), (1, "oci:w".into())]);
    for (raw, expected) in [
        (vec!["oci:x"], "several images"),
        (vec!["api=oci:x"], "missing for image docker.io/team/worker"),
        (vec!["api=oci:x", "api=oci:y"], "given twice"),
        (vec!["web=oci:x"], "\"web\" is not an image"),
        (vec!["api=tarball:x", "worker=oci:y"], "unknown transport"),
    ] {
        let raw: Vec<String> = raw.into_iter().map(Into::into).collect();
        let e = unit_sources(&raw, &two).unwrap_err();
        assert_eq!(e.input, "--from");
        assert!(e.message.contains(expected), "{} lacks {expected}", e.message);
    }
}
