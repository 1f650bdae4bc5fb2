//! The three history and audit-trail bugs found through the binary on the landed main, each
//! reproduced over the in-memory ports (the binary runs them on the real registry in tagcli's
//! end-to-end suite).

use tagcore::outcome::{RunResult, SideStatus, TagStatus};
use tagcore::policy::{PolicySpec, SourceMode, TargetMode};
use tagcore::request::{PromoteRequest, PromoteSource, RollbackRequest, RollbackTarget};
use tagcore::{Digest, Request};

use crate::support::*;

/// A knowable "previous" is not refused: P1 at 08:41 and P2 at 17:02 on one day, on a registry
/// with no push times. Only the order P1, P2 leaves prod at P2, so the rollback goes to P1.
#[test]
fn same_day_stamps_without_push_times_are_ordered_by_where_prod_is() {
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, at) in [(&p1, "2026-03-11T08:41:00Z"), (&p2, "2026-03-11T17:02:00Z")] {
        w.reg.set_tag(&w.repo(0), "staging", d, t(at));
        w.run(&promote_staging(), at).unwrap();
    }
    assert_eq!(w.tag(0, "prod"), Some(p2.clone()));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-03-12T09:00:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(out.plan.target.unwrap().as_str(), "prod-20260311-a2fad42");
    assert_eq!(w.tag(0, "prod"), Some(p1));
}

/// Promote D0 on day 1, D1 on day 2, then the same promote again 30 minutes later: the re-run
/// completes D1's record, whose previous digest is D0 — not D1 itself.
fn rerun_keeps_the_records_previous(push_times: bool) {
    let w = World::cloud();
    w.reg.set_listing_detail(push_times, push_times);
    let d0 = w.signed_image(0, "d0", SHA_A);
    let d1 = w.signed_image(0, "d1", SHA_B);
    w.reg
        .set_tag(&w.repo(0), "staging", &d0, t("2026-06-01T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-01T10:00:00Z").unwrap();
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-02T09:00:00Z"));
    let first = w.run(&promote_staging(), "2026-06-02T10:00:00Z").unwrap();
    assert_eq!(first.plan.images[0].previous_digest, Some(d0.clone()));
    let out = w.run(&promote_staging(), "2026-06-02T10:30:00Z").unwrap();
    assert_eq!(out.plan.stamp.as_ref().unwrap().as_str(), "prod-20260602-851f2cc");
    assert_eq!(
        out.plan.images[0].previous_digest,
        Some(d0.clone()),
        "push times: {push_times}"
    );
    assert!(out.tags.iter().all(|t| t.status == TagStatus::Unchanged));
    let release = &w.audit.releases()["prod-20260602-851f2cc"];
    assert_eq!(release.edits, 1);
    assert!(
        release.request.notes.contains(d0.as_str()),
        "{}",
        release.request.notes
    );
    assert_eq!(out.release.unwrap().status, SideStatus::Updated);
}

#[test]
fn a_same_day_rerun_keeps_the_previous_digest_of_its_record() {
    rerun_keeps_the_records_previous(true);
}

#[test]
fn a_same_day_rerun_keeps_the_previous_digest_of_its_record_without_push_times() {
    rerun_keeps_the_records_previous(false);
}

/// A rollback re-run that finishes a rollback which already moved prod reports the digest prod
/// had before that rollback, not the target itself.
#[test]
fn a_rollback_rerun_keeps_the_previous_digest_of_its_record() {
    let w = World::cloud();
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.audit.fail_releases(1);
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-01T10:00:00Z")
        .unwrap();
    assert!(matches!(out.result, RunResult::Partial(_)), "{:?}", out.result);
    assert_eq!(out.plan.images[0].previous_digest, Some(p2.clone()));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-01T10:20:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p1));
    assert_eq!(out.plan.images[0].previous_digest, Some(p2.clone()));
    assert_eq!(
        out.plan.target.as_ref().map(ToString::to_string).as_deref(),
        Some("prod-20260620-a2fad42"),
        "the re-run names the release it rolls back to, not its own audit tag"
    );
    let audit = out.plan.stamp.unwrap();
    assert!(
        w.audit.releases()[audit.as_str()]
            .request
            .notes
            .contains(p2.as_str())
    );
}

/// chat-api's design: versions, no prod stamps, explicit rollback targets.
fn chat_spec() -> PolicySpec {
    let mut s = cloud_spec();
    s.unit = "chat-api".into();
    s.images[0].repository = "docker.io/nearai/private-chat".into();
    s.tags.prod_stamp = String::new();
    s.promote.sources = vec![SourceMode::Version];
    s.rollback.automatic = false;
    s.rollback.targets = vec![TargetMode::Version];
    s
}

fn version(w: &World, v: &str, commit: &str, pushed: &str) -> Digest {
    let d = w.reg.add_image(&w.repo(0), v);
    w.ver
        .sign(&d, "nearai/cloud-api", &format!("refs/tags/v{v}"), Some(commit));
    w.reg.set_tag(&w.repo(0), v, &d, t(pushed));
    d
}

fn promote_version(v: &str) -> Request {
    Request::Promote(PromoteRequest {
        source: PromoteSource::Version(v.parse().unwrap()),
        confirm: None,
        expect_digest: None,
        allow_older: false,
    })
}

fn rollback_to(v: &str) -> Request {
    Request::Rollback(RollbackRequest {
        target: RollbackTarget::Version(v.parse().unwrap()),
        confirm: None,
    })
}

/// Promote 0.2.12, promote 0.2.13, roll back to 0.2.12 at 12:00, promote 0.2.13 at 12:20, roll
/// back to 0.2.12 at 12:40: two rollbacks, two audit tags, two releases.
#[test]
fn a_second_rollback_to_the_same_version_is_recorded() {
    let w = World::new(chat_spec());
    let v12 = version(&w, "0.2.12", SHA_A, "2026-06-01T09:00:00Z");
    let v13 = version(&w, "0.2.13", SHA_B, "2026-06-02T09:00:00Z");
    w.run(&promote_version("0.2.12"), "2026-06-01T10:00:00Z").unwrap();
    w.run(&promote_version("0.2.13"), "2026-06-02T10:00:00Z").unwrap();
    let first = w.run(&rollback_to("0.2.12"), "2026-06-03T12:00:00Z").unwrap();
    assert_eq!(first.result, RunResult::Done);
    w.run(&promote_version("0.2.13"), "2026-06-03T12:20:00Z").unwrap();
    assert_eq!(w.tag(0, "prod"), Some(v13.clone()));
    let second = w.run(&rollback_to("0.2.12"), "2026-06-03T12:40:00Z").unwrap();
    assert_eq!(second.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(v12.clone()));
    let (a, b) = (first.plan.stamp.unwrap(), second.plan.stamp.clone().unwrap());
    assert_eq!(a.as_str(), "prod-rollback-20260603-120000-from-0.2.12");
    assert_eq!(b.as_str(), "prod-rollback-20260603-124000-from-0.2.12");
    assert_eq!(
        statuses(&second),
        [(b.as_str(), TagStatus::Created), ("prod", TagStatus::Moved)]
    );
    let releases = w.audit.releases();
    assert_eq!(
        releases[a.as_str()].edits,
        0,
        "the first rollback's release is left alone"
    );
    assert_eq!(releases[b.as_str()].edits, 0);
    assert!(releases[b.as_str()].request.notes.contains(v13.as_str()));
}

/// Without prod stamps, a rollback whose release failed is finished by a re-run soon after (prod
/// is where it left it); the same request long after is a refusal, not a rewrite of old records.
#[test]
fn without_stamps_a_rollback_rerun_is_recognised_only_where_prod_was_left() {
    let w = World::new(chat_spec());
    let v12 = version(&w, "0.2.12", SHA_A, "2026-06-01T09:00:00Z");
    version(&w, "0.2.13", SHA_B, "2026-06-02T09:00:00Z");
    w.run(&promote_version("0.2.12"), "2026-06-01T10:00:00Z").unwrap();
    w.run(&promote_version("0.2.13"), "2026-06-02T10:00:00Z").unwrap();
    w.audit.fail_releases(1);
    let first = w.run(&rollback_to("0.2.12"), "2026-06-03T12:00:00Z").unwrap();
    assert!(
        matches!(first.result, RunResult::Partial(_)),
        "{:?}",
        first.result
    );
    let rerun = w.run(&rollback_to("0.2.12"), "2026-06-03T12:10:00Z").unwrap();
    assert_eq!(rerun.result, RunResult::Done);
    assert_eq!(
        rerun.plan.stamp, first.plan.stamp,
        "the re-run reuses its audit tag"
    );
    assert_eq!(rerun.release.unwrap().status, SideStatus::Created);
    assert_eq!(w.tag(0, "prod"), Some(v12));
    let late = w.run(&rollback_to("0.2.12"), "2026-06-05T12:00:00Z").unwrap_err();
    assert_eq!(late.kind, tagcore::OpErrorKind::Refused, "{}", late.message);
    assert_eq!(w.audit.releases().len(), 3, "two promotions, one rollback");
}
