//! Execution after the plan: what the read-back, the dispatch guard and a failing re-run must do.
//! Each test names the behaviour a surviving mutant of `execute.rs` would break.

use tagcore::outcome::{RunResult, SideStatus, TagStatus};
use tagcore::testing::{Hook, block_on};

use crate::support::*;

fn is_put(c: &tagcore::testing::Call) -> bool {
    matches!(c, tagcore::testing::Call::Put(_))
}

/// A cloud-api world whose staging holds a build signed at commit A (the probe of a run).
fn staged_cloud() -> World {
    let w = World::cloud();
    let d = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    w
}

fn with_dispatch(op: &str) -> World {
    let mut s = cloud_spec();
    s.dispatch = vec![tagcore::policy::DispatchSpec {
        target: "deploy".into(),
        after: vec![op.into()],
        ..Default::default()
    }];
    World::new(s)
}

/// The deploy follows prod: when prod's compare-and-swap aborts after the stamp was written,
/// nothing is dispatched (a mutant sending it whenever anything was written survived before).
#[test]
fn no_deploy_is_sent_when_prod_did_not_reach_the_digest() {
    let w = with_dispatch("promote");
    let d0 = w.signed_image(0, "d0", SHA_B);
    let d1 = w.signed_image(0, "d1", SHA_A);
    let intruder = w.reg.add_image(&w.repo(0), "intruder");
    w.reg.set_tag(&w.repo(0), "prod", &d0, t("2026-06-20T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let prepared = block_on(engine.prepare(&promote_staging(), t("2026-06-24T10:00:00Z"))).unwrap();
    w.reg
        .set_tag(&w.repo(0), "prod", &intruder, t("2026-06-24T10:00:01Z"));
    let out = block_on(engine.execute(prepared));
    assert!(matches!(out.result, RunResult::Partial(_)), "{:?}", out.result);
    assert_eq!(
        statuses(&out),
        [
            ("prod-20260624-a2fad42", TagStatus::Created),
            ("prod", TagStatus::Failed)
        ]
    );
    assert_eq!(out.dispatches[0].status, SideStatus::Skipped);
    assert!(w.audit.dispatches().is_empty());
}

/// A dispatch that fails after prod moved is exit 3 (required) and the re-run, finding prod in
/// place, sends it again.
#[test]
fn a_failed_dispatch_is_partial_and_the_rerun_sends_it() {
    let w = with_dispatch("promote");
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.audit.fail_dispatches(1);
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let RunResult::Partial(msg) = &out.result else {
        panic!("{:?}", out.result)
    };
    assert_eq!(
        msg,
        &tagcore::outcome::Failure::new(
            tagcore::OpErrorKind::Audit(tagcore::AuditErrorKind::Unavailable),
            "deploy dispatch (deploy) after promote failed: dispatch failed (injected)"
        )
    );
    assert_eq!(out.dispatches[0].status, SideStatus::Failed);
    assert_eq!(w.tag(0, "prod"), Some(d1.clone()));
    let again = w.run(&promote_staging(), "2026-06-24T10:10:00Z").unwrap();
    assert_eq!(again.result, RunResult::Done);
    assert_eq!(again.dispatches[0].status, SideStatus::Sent);
    assert_eq!(w.audit.dispatches().len(), 1);
}

/// The read-back compares digests: a tag moved by someone else between the PUT and the
/// read-back is a failure after writes, naming the tag and both digests.
#[test]
fn read_back_catches_a_tag_moved_after_its_put() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    let intruder = w.reg.add_image(&w.repo(0), "intruder");
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    // Find the call index of the first read-back from an undisturbed dry run's budget: prepare
    // reads, then per write a re-read and a PUT, then the read-backs.
    let last_put = *call_indexes(
        &staged_cloud(),
        &promote_staging(),
        "2026-06-24T10:00:00Z",
        is_put,
    )
    .last()
    .unwrap();
    w.reg.clear_calls();
    w.reg.hook(Hook::MoveTagBeforeCall {
        call: last_put + 1,
        repository: w.repo(0),
        tag: "prod-20260624-a2fad42".into(),
        digest: intruder.clone(),
    });
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let RunResult::Partial(msg) = &out.result else {
        panic!("{:?}", out.result)
    };
    assert_eq!(
        msg,
        &tagcore::outcome::Failure::new(
            tagcore::OpErrorKind::Conflict,
            format!(
                "read-back: docker.io/nearai/cloud-api:prod-20260624-a2fad42 points at {intruder}, expected {d1}"
            )
        )
    );
    assert_eq!(
        out.release.unwrap().status,
        SideStatus::Skipped,
        "no release for a state that did not read back"
    );
}

/// A re-run whose every write is already done, while the release service is still down, is a
/// failure after writes (exit 3: prod moved earlier), never "nothing changed" (exit 1).
#[test]
fn a_rerun_that_fails_again_is_still_partial() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.audit.fail_releases(2);
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert!(matches!(out.result, RunResult::Partial(_)), "{:?}", out.result);
    let again = w.run(&promote_staging(), "2026-06-24T10:10:00Z").unwrap();
    assert!(
        matches!(&again.result, RunResult::Partial(m) if m.message.starts_with("release prod-20260624-a2fad42 failed")),
        "{:?}",
        again.result
    );
    assert!(again.tags.iter().all(|t| t.status == TagStatus::Unchanged));
}

/// A PUT applied by the registry whose answer was lost is judged by the registry's state: the
/// run goes on and reports the tag as written.
#[test]
fn a_put_whose_answer_was_lost_counts_as_written() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    let first_put = call_indexes(
        &staged_cloud(),
        &promote_staging(),
        "2026-06-24T10:00:00Z",
        is_put,
    )[0];
    w.reg.clear_calls();
    w.reg.inject(tagcore::testing::Fault::AppliedLost(first_put));
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(
        statuses(&out),
        [
            ("prod-20260624-a2fad42", TagStatus::Created),
            ("prod", TagStatus::Created)
        ]
    );
}

/// A re-run of a completed promote reads no manifest: every tag already holds its digest, so
/// there are no bytes to copy (only the verification's own reads remain).
#[test]
fn a_completed_promote_rerun_fetches_no_manifest() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    w.reg.clear_calls();
    let out = w.run(&promote_staging(), "2026-06-24T10:30:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done, "the release is edited");
    let fetches = w
        .reg
        .calls()
        .iter()
        .filter(|c| {
            matches!(
                c,
                tagcore::testing::Call::Fetch(_) | tagcore::testing::Call::Put(_)
            )
        })
        .count();
    assert_eq!(fetches, 0, "{:?}", w.reg.calls());
}

/// A retag whose target moved after the plan read it is a compare-and-swap failure naming both
/// digests, not "another run moved the channel" (retag moves no channel).
#[test]
fn a_retag_target_moved_meanwhile_is_a_compare_and_swap_failure() {
    let w = World::cloud();
    let d = w.reg.add_image(&w.repo(0), "x");
    let other = w.reg.add_image(&w.repo(0), "y");
    w.reg.set_tag(&w.repo(0), "dev", &d, t("2026-06-24T09:00:00Z"));
    let req =
        tagcore::Request::Retag(tagcore::request::RetagRequest::parse("dev", "qa", None, &w.policy).unwrap());
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let prepared = block_on(engine.prepare(&req, t("2026-06-24T10:00:00Z"))).unwrap();
    w.reg.set_tag(&w.repo(0), "qa", &other, t("2026-06-24T10:00:01Z"));
    let out = block_on(engine.execute(prepared));
    assert_eq!(out.superseded_by, None);
    assert_eq!(
        out.result,
        RunResult::FailedBeforeWrite(tagcore::outcome::Failure::new(
            tagcore::OpErrorKind::Conflict,
            format!(
                "docker.io/nearai/cloud-api:qa moved from (absent) to {other} since it was read: someone else moved it; \
                 not overwriting (compare-and-swap)"
            )
        ))
    );
}

/// Prod moved and read back, then the alias write failed: the run is partial, and the deploy
/// still follows prod (the fleet must run what prod holds).
#[test]
fn the_deploy_follows_prod_even_when_an_alias_write_failed() {
    let mut s = cloud_spec();
    s.tags.publish_aliases.clear();
    s.tags.prod_aliases = vec!["latest".into()];
    s.dispatch = vec![tagcore::policy::DispatchSpec {
        target: "deploy".into(),
        after: vec!["promote".into()],
        ..Default::default()
    }];
    let w = World::new(s);
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.reg.inject(tagcore::testing::Fault::PutTag(
        "latest".into(),
        tagcore::RegistryErrorKind::Transient,
    ));
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert!(matches!(out.result, RunResult::Partial(_)), "{:?}", out.result);
    assert_eq!(w.tag(0, "prod"), Some(d1));
    assert_eq!(out.dispatches[0].status, SideStatus::Sent);
    let release = out.release.unwrap();
    assert_eq!(
        release.status,
        SideStatus::Skipped,
        "no release for a run that failed"
    );
}

/// A release that fails is reported with its reason on the outcome (JSON shows it).
#[test]
fn a_failed_release_carries_its_reason() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.audit.fail_releases(1);
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let release = out.release.unwrap();
    assert_eq!(release.status, SideStatus::Failed);
    assert_eq!(
        release.error,
        Some(tagcore::outcome::Failure::new(
            tagcore::OpErrorKind::Audit(tagcore::AuditErrorKind::Unavailable),
            "release prod-20260624-a2fad42 failed: release service unavailable (injected)"
        ))
    );
}
