//! Tests of `request`.

use super::*;
use crate::Target;
use crate::policy::{ImageSpec, PolicySpec};

fn policy() -> Policy {
    Policy::from_spec(&PolicySpec {
        images: ["docker.io/nearai/cloud-api", "docker.io/nearai/dashboard"]
            .map(|r| ImageSpec {
                repository: r.into(),
                verify: false,
                ..ImageSpec::default()
            })
            .to_vec(),
        ..PolicySpec::default()
    })
    .unwrap()
}

#[test]
fn verify_requests_name_an_image_and_a_tag_or_digest() {
    let p = policy();
    let digest = format!("sha256:{}", "a".repeat(64));
    let r = VerifyRequest::parse(&digest, Some("dashboard"), &p).unwrap();
    assert_eq!((r.image, r.target), (1, Target::Digest(digest.parse().unwrap())));
    let r = VerifyRequest::parse("staging", None, &p).unwrap();
    assert_eq!((r.image, r.target), (0, Target::Tag("staging".parse().unwrap())));
    let e = VerifyRequest::parse("staging", Some("nope"), &p).unwrap_err();
    assert_eq!(e.input, "--image");
    let e = VerifyRequest::parse("sha256:zz", None, &p).unwrap_err();
    assert_eq!(e.input, "reference");
    let e = VerifyRequest::parse("bad tag", None, &p).unwrap_err();
    assert_eq!(e.input, "reference");
}
