use tagcore::outcome::{RunResult, SideStatus, TagStatus};
use tagcore::policy::{ImageSpec, PolicySpec};
use tagcore::request::{PublishRequest, Request};

use crate::support::*;

fn cloud_publish_spec() -> PolicySpec {
    let mut s = cloud_spec();
    s.publish.freeze_weekdays = vec!["tue".into(), "wed".into()];
    s.tags.publish_aliases = vec!["latest".into()];
    s.dispatch = vec![tagcore::policy::DispatchSpec {
        target: "staging deploy".into(),
        after: vec!["publish".into()],
        ..Default::default()
    }];
    s
}

fn publish(w: &World, digest: &tagcore::Digest, force: bool) -> Request {
    Request::Publish(PublishRequest::parse(&[digest.to_string()], SHA_A, force, &w.policy).unwrap())
}

#[test]
fn publish_stamps_then_moves_staging_and_aliases_and_dispatches() {
    let w = World::new(cloud_publish_spec());
    let d = w.reg.add_image(&w.repo(0), "build");
    let out = w.run(&publish(&w, &d, false), "2026-06-25T12:00:00Z").unwrap();
    let written = statuses(&out);
    assert_eq!(
        written,
        [
            ("staging-20260625-a2fad42", TagStatus::Created),
            ("staging", TagStatus::Created),
            ("latest", TagStatus::Created)
        ]
    );
    assert_eq!(out.dispatches[0].status, SideStatus::Sent);
    // Idempotent: the same publish again writes nothing; staging holds the digest, so the
    // dispatch is sent again (the state decides, not "moved in this run").
    w.reg.clear_calls();
    let out = w.run(&publish(&w, &d, false), "2026-06-25T12:30:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.reg.writes(), 0);
    assert_eq!(out.dispatches[0].status, SideStatus::Sent);
    assert_eq!(w.audit.dispatches().len(), 2);
}

#[test]
fn freeze_window_tuesday_frozen_forced_moves_thursday_free() {
    // Regression case (docs/behaviour.md#regression-cases): a main build on Tuesday 12:00Z does not move staging; forced, it does; Thursday
    // 00:00Z is not frozen.
    let w = World::new(cloud_publish_spec());
    let d1 = w.reg.add_image(&w.repo(0), "tue");
    let out = w.run(&publish(&w, &d1, false), "2026-06-23T12:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::NoOp);
    assert!(
        out.plan.notices[0].contains("frozen on Tue"),
        "{:?}",
        out.plan.notices
    );
    assert_eq!(w.tag(0, "staging"), None);
    w.run(&publish(&w, &d1, true), "2026-06-23T12:00:00Z").unwrap();
    assert_eq!(w.tag(0, "staging"), Some(d1));
    let d2 = w.reg.add_image(&w.repo(0), "thu");
    let req = Request::Publish(PublishRequest::parse(&[d2.to_string()], SHA_B, false, &w.policy).unwrap());
    w.run(&req, "2026-06-25T00:00:00Z").unwrap();
    assert_eq!(w.tag(0, "staging"), Some(d2));
}

#[test]
fn publish_of_a_digest_not_in_the_registry_writes_nothing() {
    let w = World::new(cloud_publish_spec());
    let ghost: tagcore::Digest = format!("sha256:{}", "9".repeat(64)).parse().unwrap();
    let err = w
        .run(&publish(&w, &ghost, false), "2026-06-25T12:00:00Z")
        .unwrap_err();
    assert_eq!(
        err.kind,
        tagcore::OpErrorKind::Registry(tagcore::RegistryErrorKind::NotFound)
    );
    assert_eq!(w.reg.writes(), 0);
}

#[test]
fn multi_image_publish_needs_one_digest_per_image() {
    let mut s = cloud_spec();
    s.images.push(ImageSpec {
        repository: "docker.io/nearai/compose-manager-launcher".into(),
        verify: true,
        ..Default::default()
    });
    let w = World::new(s);
    let d = w.reg.add_image(&w.repo(0), "x");
    let err = PublishRequest::parse(&[d.to_string()], SHA_A, false, &w.policy).unwrap_err();
    assert_eq!(
        err.to_string(),
        "digest: this unit has several images: give each as <image>=sha256:<64 hex>"
    );
    let err = PublishRequest::parse(&[format!("cloud-api={d}")], SHA_A, false, &w.policy).unwrap_err();
    assert_eq!(
        err.to_string(),
        "digest: missing for image docker.io/nearai/compose-manager-launcher"
    );
    let err = PublishRequest::parse(&[format!("cloud-api={d}")], "main", false, &w.policy).unwrap_err();
    assert_eq!(err.input, "commit");
}
