use tagcore::outcome::{RunResult, TagStatus};
use tagcore::policy::StepMode;
use tagcore::request::RollbackTarget;
use tagcore::testing::Fault;
use tagcore::{OpErrorKind, RegistryErrorKind};

use crate::support::*;

/// P1 (06-20), P2 (06-22), P3 (06-24) promoted through the engine.
fn three_releases() -> (World, [tagcore::Digest; 3]) {
    let w = World::cloud();
    let p = [
        w.signed_image(0, "p1", SHA_A),
        w.signed_image(0, "p2", SHA_B),
        w.signed_image(0, "p3", SHA_C),
    ];
    for (d, day) in p.iter().zip(["2026-06-20", "2026-06-22", "2026-06-24"]) {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    (w, p)
}

#[test]
fn automatic_rollback_goes_to_the_previous_release_with_an_audit_tag() {
    let (w, p) = three_releases();
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:41:52Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    let audit = "prod-rollback-20260709-104152-from-20260622-851f2cc";
    assert_eq!(w.tag(0, audit), Some(p[1].clone()));
    let written = statuses(&out);
    assert_eq!(written, [(audit, TagStatus::Created), ("prod", TagStatus::Moved)]);
    let rel = &w.audit.releases()[audit].request;
    assert_eq!(rel.title, format!("Production Rollback {audit}"));
    assert!(!rel.make_latest, "a rollback never becomes Latest");
    assert_eq!(w.audit.latest().as_deref(), Some("prod-20260624-970361d"));
}

#[test]
fn a_second_rollback_goes_further_back_never_forward() {
    // docs/behaviour.md#history: P1, P2, P3, rollback to P2 → the next automatic rollback goes to P1.
    let (w, p) = three_releases();
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-10T10:00:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
}

#[test]
fn a_rerun_within_the_hour_finishes_instead_of_going_further_back() {
    let (w, p) = three_releases();
    w.audit.fail_releases(1);
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    assert!(matches!(out.result, RunResult::Partial(_)), "{:?}", out.result);
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:20:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()), "stayed at P2");
    assert_eq!(
        out.plan.stamp.unwrap().as_str(),
        "prod-rollback-20260709-100000-from-20260622-851f2cc"
    );
    assert_eq!(w.audit.releases().len(), 4, "three promotions and one rollback");
}

#[test]
fn an_interrupted_rollback_resumes_with_its_own_audit_tag() {
    let (w, p) = three_releases();
    w.reg
        .inject(Fault::PutTag("prod".into(), RegistryErrorKind::Transient));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    let RunResult::Partial(msg) = &out.result else {
        panic!("{:?}", out.result)
    };
    assert!(
        msg.message
            .contains("writing docker.io/nearai/cloud-api:prod failed"),
        "{msg}"
    );
    assert_eq!(
        msg.kind,
        OpErrorKind::Registry(RegistryErrorKind::Transient),
        "a transient failure after writes says so"
    );
    assert_eq!(w.tag(0, "prod"), Some(p[2].clone()));
    w.reg.clear_faults();
    // Days later, the same command finishes the same rollback rather than picking again.
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-12T10:00:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    let audits: Vec<_> = w
        .reg
        .tags(&w.repo(0))
        .into_keys()
        .filter(|t| t.starts_with("prod-rollback-"))
        .collect();
    assert_eq!(audits, ["prod-rollback-20260709-100000-from-20260622-851f2cc"]);
}

#[test]
fn refuses_a_target_equal_to_prod() {
    let (w, _) = three_releases();
    let target = RollbackTarget::Stamp("prod-20260624-970361d".parse().unwrap());
    let err = w.run(&rollback(target), "2026-07-09T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Refused);
    assert!(err.message.contains("is already prod"), "{}", err.message);
}

#[test]
fn explicit_rerun_of_a_finished_rollback_converges() {
    let (w, p) = three_releases();
    let target = RollbackTarget::Stamp("prod-20260620-a2fad42".parse().unwrap());
    w.run(&rollback(target.clone()), "2026-07-09T10:00:00Z").unwrap();
    w.reg.clear_calls();
    let out = w.run(&rollback(target), "2026-07-09T12:00:00Z").unwrap();
    assert_eq!(w.reg.writes(), 0);
    assert_eq!(out.result, RunResult::Done, "the release is edited again");
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
}

#[test]
fn missing_prod_is_a_clear_error() {
    let w = World::cloud();
    let err = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Registry(RegistryErrorKind::NotFound));
    assert_eq!(
        err.message,
        "prod tag docker.io/nearai/cloud-api:prod does not exist; nothing was written"
    );
}

#[test]
fn refuses_an_unverified_target() {
    let (w, p) = three_releases();
    w.ver.refuse(&p[1], "signature revoked for the test");
    let err = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Verification);
    assert_eq!(w.tag(0, "prod"), Some(p[2].clone()));
}

#[test]
fn best_effort_audit_failure_still_moves_prod_with_a_warning() {
    // Regression case (docs/behaviour.md#regression-cases): audit tag write fails in rollback, policy best-effort.
    let (w, p) = three_releases();
    w.reg.inject(Fault::PutTag(
        "prod-rollback-20260709-100000-from-20260622-851f2cc".into(),
        RegistryErrorKind::Forbidden,
    ));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("best-effort step: continuing")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn required_audit_failure_stops_everything() {
    // Regression case (docs/behaviour.md#regression-cases): under `required`, the audit tag (written first) failing stops everything.
    let mut spec = cloud_spec();
    spec.rollback.audit_tag = StepMode::Required;
    let w = World::new(spec);
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.reg.inject(Fault::PutTag(
        "prod-rollback-20260709-100000-from-20260620-a2fad42".into(),
        RegistryErrorKind::Forbidden,
    ));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    let RunResult::FailedBeforeWrite(msg) = &out.result else {
        panic!("{:?}", out.result)
    };
    assert!(msg.message.contains("permission denied"), "{msg}");
    assert_eq!(msg.kind, OpErrorKind::Registry(RegistryErrorKind::Forbidden));
    assert_eq!(w.tag(0, "prod"), Some(p2));
    assert_eq!(out.tags[1].status, TagStatus::NotAttempted);
}

#[test]
fn confirm_string_is_exact_and_case_sensitive() {
    let mut spec = cloud_spec();
    spec.rollback.confirm = "ROLLBACK".into();
    let w = World::new(spec);
    for given in [None, Some("rollback"), Some("ROLLBACK ")] {
        let req = tagcore::Request::Rollback(tagcore::request::RollbackRequest {
            target: RollbackTarget::Automatic,
            confirm: given.map(str::to_owned),
        });
        let err = w.run(&req, "2026-07-09T10:00:00Z").unwrap_err();
        assert_eq!(err.kind, OpErrorKind::Input, "{given:?}");
    }
    assert!(w.reg.calls().is_empty());
}

#[test]
fn dispatch_follows_prod_even_when_the_release_fails() {
    let mut spec = cloud_spec();
    spec.dispatch = vec![tagcore::policy::DispatchSpec {
        target: "prod redeploy".into(),
        after: vec!["rollback".into()],
        ..Default::default()
    }];
    let w = World::new(spec);
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.audit.fail_releases(1);
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    assert!(matches!(out.result, RunResult::Partial(_)));
    let sent = w.audit.dispatches();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].digest, p1);
}

#[test]
fn a_rollback_forward_to_an_undone_release_keeps_the_releases_below_it() {
    // P1, P2, automatic rollback to P1, explicit rollback forward to P2, P3 promoted: the next
    // automatic rollback goes to P2 (and the one after to P1), as the bench's rounds do.
    let w = World::cloud();
    let p = [
        w.signed_image(0, "p1", SHA_A),
        w.signed_image(0, "p2", SHA_B),
        w.signed_image(0, "p3", SHA_C),
    ];
    let promote_at = |d: &tagcore::Digest, at: &str| {
        w.reg.set_tag(&w.repo(0), "staging", d, t(at));
        w.run(&promote_staging(), at).unwrap();
    };
    promote_at(&p[0], "2026-12-01T00:01:00Z");
    promote_at(&p[1], "2026-12-01T00:02:00Z");
    w.run(&rollback(RollbackTarget::Automatic), "2026-12-01T00:03:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
    let forward = RollbackTarget::Stamp("prod-20261201-851f2cc".parse().unwrap());
    w.run(&rollback(forward), "2026-12-01T00:04:00Z").unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    promote_at(&p[2], "2026-12-01T00:05:00Z");
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-12-01T02:00:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    w.run(&rollback(RollbackTarget::Automatic), "2026-12-01T04:00:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
}

#[test]
fn automatic_rollback_on_a_names_only_registry_with_more_than_500_releases_stops_early() {
    // A names-only listing with 510 release tags: the newest days settle the answer, so the
    // cap on digests read one by one (500) is not reached and nothing is incomplete.
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    let p = [
        w.signed_image(0, "p1", SHA_A),
        w.signed_image(0, "p2", SHA_B),
        w.signed_image(0, "p3", SHA_C),
    ];
    let start = t("2025-01-01T10:00:00Z").unix();
    let mut newest = 0;
    for i in 0..510usize {
        let at = tagcore::Timestamp::from_unix(start + 86_400 * i as i64);
        let stamp = format!("prod-{}-{:07x}", at.date_compact(), i + 1);
        w.reg.set_tag(&w.repo(0), &stamp, &p[i % 3], at);
        newest = i;
    }
    let at = tagcore::Timestamp::from_unix(start + 86_400 * newest as i64);
    w.reg.set_tag(&w.repo(0), "prod", &p[newest % 3], at);
    let now = tagcore::Timestamp::from_unix(start + 86_400 * (newest as i64 + 1)).to_string();
    let out = w.run(&rollback(RollbackTarget::Automatic), &now).unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(p[(newest - 1) % 3].clone()));
}

#[test]
fn same_day_stamps_without_push_times_tie_with_every_audit_tag_of_their_day() {
    // Names only: three promotions and two rollbacks on one day (stamps carry the day only,
    // audit tags the second). Every stamp of the day ties with both audit tags, so the order
    // P1, R1, P2, R2, P3 explains prod and the third rollback goes back to the old release.
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    let old = w.signed_image(0, "old", SHA_A);
    w.reg.set_tag(
        &w.repo(0),
        "prod-20261130-0000032",
        &old,
        t("2026-11-30T10:00:00Z"),
    );
    w.reg.set_tag(&w.repo(0), "prod", &old, t("2026-11-30T10:00:00Z"));
    for (r, sha) in [SHA_A, SHA_B, SHA_C].into_iter().enumerate() {
        let d = w.signed_image(0, &format!("new{r}"), sha);
        let m = 10 + r * 5;
        w.reg
            .set_tag(&w.repo(0), "staging", &d, t(&format!("2026-12-01T00:{m:02}:00Z")));
        w.run(&promote_staging(), &format!("2026-12-01T00:{:02}:00Z", m + 1))
            .unwrap();
        let out = w
            .run(
                &rollback(RollbackTarget::Automatic),
                &format!("2026-12-01T00:{:02}:00Z", m + 3),
            )
            .unwrap();
        assert_eq!(out.result, RunResult::Done, "round {r}");
        assert_eq!(w.tag(0, "prod"), Some(old.clone()), "round {r}");
    }
}
