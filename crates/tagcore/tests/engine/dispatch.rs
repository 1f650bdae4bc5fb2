//! Deploy dispatch: several targets, per-operation firing, payloads, and the rule that a
//! dispatch follows the channel's state (a re-run re-sends one that failed).

use tagcore::outcome::{RunResult, SideStatus};
use tagcore::policy::{DispatchSpec, PolicySpec, StepMode};
use tagcore::request::{PublishRequest, Request, RollbackTarget};

use crate::support::*;

/// cloud-api's two targets: the staging deploy after publish (with a payload) and the prod
/// redeploy after rollback (no payload).
fn two_target_spec() -> PolicySpec {
    let mut s = cloud_spec();
    s.dispatch = vec![
        DispatchSpec {
            target: "staging deploy".into(),
            after: vec!["publish".into()],
            payload: Some(
                [
                    ("image".to_owned(), "{unit}@{digest}".to_owned()),
                    ("tag".to_owned(), "{tag}".to_owned()),
                    ("channel".to_owned(), "{channel}".to_owned()),
                ]
                .into(),
            ),
            payload_field: "client_payload".into(),
            ..Default::default()
        },
        DispatchSpec {
            target: "prod redeploy".into(),
            after: vec!["rollback".into()],
            ..Default::default()
        },
    ];
    s
}

fn publish(w: &World, digest: &tagcore::Digest) -> Request {
    Request::Publish(PublishRequest::parse(&[digest.to_string()], SHA_A, false, &w.policy).unwrap())
}

#[test]
fn each_target_fires_only_after_its_operations_with_its_own_payload() {
    let w = World::new(two_target_spec());
    let d = w.reg.add_image(&w.repo(0), "build");
    let out = w.run(&publish(&w, &d), "2026-06-25T12:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(out.dispatches.len(), 1);
    assert_eq!(out.dispatches[0].target, "staging deploy");
    let sent = w.audit.dispatches();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].target, 0);
    assert_eq!(sent[0].channel, "staging");
    let payload = sent[0].payload.clone().unwrap();
    assert_eq!(payload["image"], format!("cloud-api@{d}"));
    assert_eq!(payload["tag"], "staging-20260625-a2fad42");
    assert_eq!(payload["channel"], "staging");
}

#[test]
fn a_failed_rollback_dispatch_is_sent_by_the_re_run_and_carries_no_payload() {
    let w = World::new(two_target_spec());
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    assert!(w.audit.dispatches().is_empty(), "no target fires after promote");
    w.audit.fail_dispatches(1);
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    assert!(
        matches!(out.result, RunResult::Partial(ref m) if m.message.contains("prod redeploy")
            && m.kind == tagcore::OpErrorKind::Audit(tagcore::AuditErrorKind::Unavailable)),
        "{:?}",
        out.result
    );
    assert_eq!(out.dispatches[0].status, SideStatus::Failed);
    assert_eq!(w.tag(0, "prod"), Some(p1.clone()));
    assert!(w.audit.dispatches().is_empty());
    // The re-run finds prod already at the target: nothing to write, but the redeploy is sent.
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:05:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done, "{:?}", out.warnings);
    assert_eq!(out.dispatches[0].status, SideStatus::Sent);
    let sent = w.audit.dispatches();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].target, sent[0].digest.clone()), (1, p1));
    assert_eq!(sent[0].payload, None, "the prod redeploy sends no inputs");
}

#[test]
fn a_failed_promote_dispatch_is_sent_by_the_re_run_that_finds_prod_in_place() {
    let mut s = cloud_spec();
    s.dispatch = vec![DispatchSpec {
        target: "prod deploy".into(),
        after: vec!["promote".into()],
        ..Default::default()
    }];
    let w = World::new(s);
    let d = w.signed_image(0, "p1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-20T09:00:00Z"));
    w.audit.fail_dispatches(1);
    let out = w.run(&promote_staging(), "2026-06-20T10:00:00Z").unwrap();
    assert!(matches!(out.result, RunResult::Partial(_)));
    let out = w.run(&promote_staging(), "2026-06-20T10:05:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.audit.dispatches().len(), 1);
}

#[test]
fn a_frozen_publish_does_not_dispatch_and_a_best_effort_failure_is_a_warning() {
    let mut s = two_target_spec();
    s.publish.freeze_weekdays = vec!["tue".into()];
    s.dispatch[0].mode = StepMode::BestEffort;
    let w = World::new(s);
    let d = w.reg.add_image(&w.repo(0), "tue");
    let out = w.run(&publish(&w, &d), "2026-06-23T12:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::NoOp);
    assert_eq!(out.dispatches[0].status, SideStatus::Skipped);
    let dry = w.dry_run(&publish(&w, &d), "2026-06-23T12:00:00Z").unwrap();
    assert_eq!(dry.dispatches[0].status, SideStatus::Skipped);
    assert!(w.audit.dispatches().is_empty());
    w.audit.fail_dispatches(1);
    let out = w.run(&publish(&w, &d), "2026-06-25T12:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(out.dispatches[0].status, SideStatus::Failed);
    assert!(
        out.warnings.iter().any(|m| m.contains("staging deploy")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn an_image_outside_promote_is_neither_read_nor_written_by_it() {
    let mut s = cloud_spec();
    s.images.push(tagcore::policy::ImageSpec {
        repository: "docker.io/nearai/cloud-api-dashboard".into(),
        verify: false,
        operations: Some(vec!["publish".into()]),
        staging_stamp: false,
    });
    let w = World::new(s);
    let d = w.signed_image(0, "p1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-20T09:00:00Z"));
    // A digest source names one manifest: fine, promote moves one image here.
    let out = w
        .run(
            &promote(tagcore::request::PromoteSource::Digest(d.clone())),
            "2026-06-20T10:00:00Z",
        )
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(out.plan.images.len(), 1);
    assert_eq!(w.tag(1, "prod"), None);
    let calls = format!("{:?}", w.reg.calls());
    assert!(!calls.contains("dashboard"), "{calls}");
}
