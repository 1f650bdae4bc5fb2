//! Policies built from specs, as a frontend builds them.

use tagcore::policy::{ImageSpec, Policy, PolicySpec};

/// A one-image unit without signature verification, every other setting at its default.
pub(crate) fn spec() -> PolicySpec {
    PolicySpec {
        unit: "cloud-api".into(),
        images: vec![ImageSpec {
            repository: "docker.io/nearai/cloud-api".into(),
            verify: false,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A unit of two published images, `api` and `worker`, and one (`tools`) that only promote touches.
pub(crate) fn three_images() -> PolicySpec {
    let image = |r: &str, ops: Option<&[&str]>| ImageSpec {
        repository: r.into(),
        verify: false,
        operations: ops.map(|o| o.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    };
    PolicySpec {
        images: vec![
            image("ghcr.io/nearai/api", None),
            image("ghcr.io/nearai/worker", None),
            image("ghcr.io/nearai/tools", Some(&["promote", "rollback"])),
        ],
        ..spec()
    }
}

pub(crate) fn policy(spec: &PolicySpec) -> Policy {
    Policy::from_spec(spec).unwrap_or_else(|e| panic!("{e:?}"))
}
