//! Guards and reports that mutation testing showed no test held: each test names the behaviour.

use tagcore::engine::ResolveRequest;
use tagcore::outcome::{RunResult, TagStatus};
use tagcore::policy::{PolicySpec, SourceMode, TargetMode};
use tagcore::request::{PromoteRequest, PromoteSource, RollbackTarget};
use tagcore::testing::{Fault, block_on};
use tagcore::{OpErrorKind, RegistryErrorKind, Request, Target};

use crate::support::*;

fn two_images(second_verified: bool) -> World {
    let mut s = cloud_spec();
    let mut second = s.images[0].clone();
    second.repository = "docker.io/nearai/cloud-api-dashboard".into();
    second.verify = second_verified;
    s.images.push(second);
    World::new(s)
}

#[test]
fn a_signature_naming_another_digest_is_refused() {
    let w = World::cloud();
    let d = w.reg.add_image(&w.repo(0), "d");
    let other = w.signed_image(0, "other", SHA_A);
    w.ver.misattribute(&d, &other);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    let err = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Verification);
    assert!(
        err.message
            .contains(&format!("the accepted signature names {other} instead")),
        "{}",
        err.message
    );
    assert_eq!(w.reg.writes(), 0);
}

#[test]
fn an_image_the_policy_does_not_verify_is_not_verified() {
    let w = two_images(false);
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.reg.add_image(&w.repo(1), "b");
    w.ver.refuse(&b, "unsigned");
    w.reg
        .set_tag(&w.repo(0), "staging", &a, t("2026-06-24T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(1), "staging", &b, t("2026-06-24T09:00:00Z"));
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.ver.asked(), [a]);
}

#[test]
fn a_digest_source_is_refused_for_a_unit_of_several_images() {
    let w = two_images(true);
    let a = w.signed_image(0, "a", SHA_A);
    let req = Request::Promote(PromoteRequest {
        source: PromoteSource::Digest(a),
        confirm: None,
        expect_digest: None,
        allow_older: false,
    });
    let err = w.run(&req, "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Input);
    assert!(
        err.message
            .starts_with("source: a digest names one image's manifest"),
        "{}",
        err.message
    );
}

#[test]
fn resuming_an_interrupted_promotion_says_so() {
    let w = World::cloud();
    let d = w.signed_image(0, "d", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    w.reg
        .inject(Fault::PutTag("prod".into(), RegistryErrorKind::Transient));
    let first = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert!(
        matches!(first.result, RunResult::Partial(_)),
        "{:?}",
        first.result
    );
    w.reg.clear_faults();
    let again = w.run(&promote_staging(), "2026-06-24T10:10:00Z").unwrap();
    assert_eq!(again.result, RunResult::Done);
    assert!(
        again
            .warnings
            .contains(&"resuming an interrupted promotion: reusing stamp prod-20260624-a2fad42".to_owned()),
        "{:?}",
        again.warnings
    );
    let done = w.run(&promote_staging(), "2026-06-24T10:20:00Z").unwrap();
    assert!(
        !done.warnings.iter().any(|m| m.starts_with("resuming")),
        "{:?}",
        done.warnings
    );
}

fn chat() -> World {
    let mut s: PolicySpec = cloud_spec();
    s.images[0].repository = "docker.io/nearai/private-chat".into();
    s.tags.prod_stamp = String::new();
    s.promote.sources = vec![SourceMode::Version];
    s.rollback.automatic = false;
    s.rollback.targets = vec![TargetMode::Version];
    World::new(s)
}

#[test]
fn without_stamps_a_version_rerun_reports_the_version_before_it() {
    let w = chat();
    let mut digests = Vec::new();
    for (v, day) in [("0.2.12", "2026-06-01"), ("0.2.13", "2026-06-02")] {
        let d = w.reg.add_image(&w.repo(0), v);
        w.ver
            .sign(&d, "nearai/cloud-api", &format!("refs/tags/v{v}"), Some(SHA_A));
        w.reg.set_tag(&w.repo(0), v, &d, t(&format!("{day}T09:00:00Z")));
        digests.push(d);
    }
    let promote = |v: &str| {
        Request::Promote(PromoteRequest {
            source: PromoteSource::Version(v.parse().unwrap()),
            confirm: None,
            expect_digest: None,
            allow_older: false,
        })
    };
    w.run(&promote("0.2.12"), "2026-06-01T10:00:00Z").unwrap();
    w.run(&promote("0.2.13"), "2026-06-02T10:00:00Z").unwrap();
    let again = w.run(&promote("0.2.13"), "2026-06-02T10:30:00Z").unwrap();
    assert_eq!(again.plan.images[0].previous_digest, Some(digests[0].clone()));
}

#[test]
fn a_secondary_image_with_its_own_stamp_of_the_commit_gets_no_warning() {
    let w = two_images(true);
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.signed_image(1, "b", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &a, t("2026-06-24T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(1), "staging", &b, t("2026-06-24T09:00:00Z"));
    w.reg.set_tag(
        &w.repo(1),
        "staging-20260624-a2fad42",
        &b,
        t("2026-06-24T09:00:00Z"),
    );
    w.reg.set_listing_detail(false, false);
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert!(
        !out.warnings.iter().any(|m| m.contains("has no staging stamp")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn the_list_read_counts_the_digests_read_one_by_one() {
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    let d = w.signed_image(0, "d", SHA_A);
    for day in ["20260601", "20260602", "20260603"] {
        w.reg.set_tag(
            &w.repo(0),
            &format!("prod-{day}-a2fad42"),
            &d,
            t("2026-06-03T09:00:00Z"),
        );
    }
    w.reg.set_tag(&w.repo(0), "prod", &d, t("2026-06-03T09:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let prepared = block_on(engine.prepare(
        &rollback(RollbackTarget::Stamp("prod-20260601-a2fad42".parse().unwrap())),
        t("2026-06-04T10:00:00Z"),
    ));
    // Every target is at prod's digest: refused, but the plan's reads were made.
    assert!(prepared.is_err());
    let h = block_on(engine.history()).unwrap();
    assert_eq!(h.events.len(), 3);
    let w2 = World::cloud();
    w2.reg.set_listing_detail(false, false);
    let d2 = w2.signed_image(0, "d", SHA_A);
    w2.reg.set_tag(
        &w2.repo(0),
        "prod-20260601-a2fad42",
        &d2,
        t("2026-06-01T09:00:00Z"),
    );
    w2.reg
        .set_tag(&w2.repo(0), "staging", &d2, t("2026-06-01T09:00:00Z"));
    let out = w2.dry_run(&promote_staging(), "2026-06-02T10:00:00Z").unwrap();
    let list = out.plan.reads.iter().find(|r| r.op == "list").unwrap();
    assert!(list.found.contains("1 digests read one by one"), "{}", list.found);
}

#[test]
fn status_names_the_stamps_and_the_commit_from_the_registrys_records() {
    let w = World::cloud();
    let d = w.signed_image(0, "d", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let other = w.reg.add_image(&w.repo(0), "other");
    w.reg
        .set_tag(&w.repo(0), "staging", &other, t("2026-06-25T09:00:00Z"));
    w.reg.set_tag(
        &w.repo(0),
        "staging-20260625-851f2cc",
        &other,
        t("2026-06-25T09:00:00Z"),
    );
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let r = block_on(engine.status()).unwrap();
    let ch = |tag: &str| {
        r.images[0]
            .channels
            .iter()
            .find(|c| c.tag.as_str() == tag)
            .unwrap()
    };
    let stamps: Vec<&str> = ch("prod").stamps.iter().map(|t| t.as_str()).collect();
    assert_eq!(stamps, ["prod-20260624-a2fad42"]);
    // prod: no staging stamp at its digest, so the prod stamp names the commit.
    let prod_commit = ch("prod").source_commit.clone().unwrap();
    assert_eq!(
        prod_commit.source,
        tagcore::source::CommitSource::ProdStamp("prod-20260624-a2fad42".parse().unwrap())
    );
    assert_eq!(prod_commit.sha, "a2fad42");
    // staging: its staging stamp names the commit.
    let staging_commit = ch("staging").source_commit.clone().unwrap();
    assert_eq!(
        staging_commit.source,
        tagcore::source::CommitSource::StagingStamp("staging-20260625-851f2cc".parse().unwrap())
    );
}

#[test]
fn verify_reference_verifies_even_an_image_the_policy_exempts() {
    let w = two_images(false);
    let b = w.reg.add_image(&w.repo(1), "b");
    w.ver.sign(&b, "nearai/cloud-api", "refs/heads/main", Some(SHA_A));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let r = block_on(engine.verify_reference(1, &Target::Digest(b.clone()))).unwrap();
    assert_eq!(r.signature.digest, b);
}

#[test]
fn resolve_verified_skips_exempt_images_and_pins_nothing_it_could_not_check() {
    let w = two_images(false);
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.reg.add_image(&w.repo(1), "b");
    w.reg.set_tag(&w.repo(0), "prod", &a, t("2026-06-24T09:00:00Z"));
    w.reg.set_tag(&w.repo(1), "prod", &b, t("2026-06-24T09:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let req = ResolveRequest {
        channel: "prod".parse().unwrap(),
        at: None,
        verified: true,
    };
    let r = block_on(engine.resolve_unit(&req)).unwrap();
    assert!(r.complete(), "{r:?}");
    assert!(r.images[1].note.as_deref().unwrap().starts_with("not verified"));
    // Signatures that cannot be read: fail closed, no pin, the reason kept.
    w.ver.fail_next(1);
    let r = block_on(engine.resolve_unit(&req)).unwrap();
    assert!(!r.complete());
    assert_eq!(r.images[0].reference, None);
    assert!(
        r.images[0]
            .note
            .as_deref()
            .unwrap()
            .contains("signatures could not be checked")
    );
}

#[test]
fn publishing_on_a_free_day_has_no_freeze_notice() {
    let mut s = cloud_spec();
    s.publish.freeze_weekdays = vec!["tue".into()];
    let w = World::new(s);
    let d = w.reg.add_image(&w.repo(0), "thu");
    let req = Request::Publish(
        tagcore::request::PublishRequest::parse(&[d.to_string()], SHA_A, false, &w.policy).unwrap(),
    );
    let out = w.run(&req, "2026-06-25T12:00:00Z").unwrap();
    assert!(out.plan.notices.is_empty(), "{:?}", out.plan.notices);
    assert!(
        out.tags
            .iter()
            .any(|c| c.tag.as_str() == "staging" && c.status == TagStatus::Created)
    );
}

#[test]
fn recording_an_unrecorded_prod_says_so() {
    let w = World::cloud();
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    // Prod moved back by hand, with no record.
    w.reg.set_tag(&w.repo(0), "prod", &p1, t("2026-06-23T09:00:00Z"));
    let out = w
        .run(
            &rollback(RollbackTarget::Stamp("prod-20260620-a2fad42".parse().unwrap())),
            "2026-06-23T10:00:00Z",
        )
        .unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|m| m.starts_with("prod is already at prod-20260620-a2fad42 but no record says so")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn status_prefers_a_staging_stamp_over_the_prod_stamp_for_the_commit() {
    let w = World::cloud();
    let d = w.signed_image(0, "d", SHA_A);
    w.reg.set_tag(
        &w.repo(0),
        "staging-20260623-851f2cc",
        &d,
        t("2026-06-23T09:00:00Z"),
    );
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let r = block_on(engine.status()).unwrap();
    let prod = r.images[0]
        .channels
        .iter()
        .find(|c| c.tag.as_str() == "prod")
        .unwrap();
    assert_eq!(
        prod.source_commit.clone().unwrap().source,
        tagcore::source::CommitSource::StagingStamp("staging-20260623-851f2cc".parse().unwrap())
    );
}
