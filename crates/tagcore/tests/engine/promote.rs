use tagcore::outcome::{RunResult, SideStatus, TagStatus};
use tagcore::policy::{AlreadyInProd, ImageSpec, PolicySpec, SourceMode, StepMode, TargetMode};
use tagcore::request::PromoteSource;
use tagcore::testing::Hook;
use tagcore::{OpErrorKind, RegistryErrorKind};

use crate::support::*;

#[test]
fn promotes_staging_stamp_first_then_prod_with_a_release() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    let out = w.run(&promote_staging(), "2026-06-24T10:05:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    let written = statuses(&out);
    assert_eq!(
        written,
        [
            ("prod-20260624-a2fad42", TagStatus::Created),
            ("prod", TagStatus::Created)
        ]
    );
    assert_eq!(w.tag(0, "prod"), Some(d1.clone()));
    let rel = &w.audit.releases()["prod-20260624-a2fad42"].request;
    assert_eq!(rel.title, "Production Release prod-20260624-a2fad42");
    assert!(rel.make_latest);
    assert_eq!(rel.target_commitish.as_deref(), Some(SHA_A));
    insta::assert_snapshot!("promote_release_notes", rel.notes);
    insta::assert_yaml_snapshot!("promote_outcome", out);
}

#[test]
fn resolves_the_source_once_even_if_staging_moves_during_the_run() {
    // Regression case (docs/behaviour.md#regression-cases): `:staging`=D1 at resolve, moved to D2 by a build before the copy.
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    let d2 = w.signed_image(0, "d2", SHA_B);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.reg.hook(Hook::MoveTagBeforeCall {
        call: 2,
        repository: w.repo(0),
        tag: "staging".into(),
        digest: d2.clone(),
    });
    let out = w.run(&promote_staging(), "2026-06-24T10:05:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "staging"), Some(d2));
    assert_eq!(w.tag(0, "prod"), Some(d1.clone()));
    assert_eq!(w.tag(0, "prod-20260624-a2fad42"), Some(d1.clone()));
    assert_eq!(w.ver.asked(), [d1], "only the resolved digest is verified");
}

#[test]
fn refuses_when_staging_is_missing_and_writes_nothing() {
    let w = World::cloud();
    let err = w.run(&promote_staging(), "2026-06-24T10:05:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Registry(RegistryErrorKind::NotFound));
    assert_eq!(
        err.message,
        "staging tag docker.io/nearai/cloud-api:staging does not exist; nothing was written"
    );
    assert_eq!(w.reg.writes(), 0);
}

#[test]
/// The reasons bad digests are refused (that no request is made is shown through the binary on
/// the real registry: tagcli's e2e `bad_inputs_are_refused_before_any_request`).
fn bad_digest_inputs_are_refused_with_their_reason() {
    let w = World::cloud();
    let hex = "0123456789abcdef".repeat(4);
    let cases = [
        (
            "sha256:ABC",
            "source: digest \"sha256:ABC\" contains 'A'; expected only lowercase hex (0-9, a-f)",
        ),
        (hex.as_str(), "lacks the `sha256:` prefix"),
        (
            &format!("sha256:{}", &hex[..63]),
            "has 63 hex characters; expected exactly 64",
        ),
    ];
    for (input, expected) in cases {
        let err = PromoteSource::parse(Some(input), &w.policy).unwrap_err();
        assert!(err.to_string().contains(expected), "{input}: {err}");
    }
}

#[test]
fn refuses_an_unverified_digest_and_writes_nothing() {
    // Regression case (docs/behaviour.md#regression-cases): signed by a pull-request build → refused (cosign-verify gives the reason).
    let w = World::cloud();
    let d = w.reg.add_image(&w.repo(0), "pr");
    w.ver.refuse(&d, "identity …@refs/pull/12/merge is not allowed: ref refs/pull/12/merge matches none of refs/heads/main");
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    let err = w.run(&promote_staging(), "2026-06-24T10:05:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Verification);
    assert!(err.message.contains("refs/pull/12/merge"), "{}", err.message);
    assert_eq!(w.reg.writes(), 0);
    assert_eq!(w.tag(0, "prod"), None);
}

#[test]
fn skips_a_duplicate_promotion_writing_nothing() {
    // Regression case (docs/behaviour.md#regression-cases): prod already D7, `:staging` still D7 → policy `skip` writes nothing.
    let w = World::cloud();
    let d7 = w.signed_image(0, "d7", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d7, t("2026-06-24T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    w.reg.clear_calls();
    let out = w.run(&promote_staging(), "2026-06-26T10:00:00Z").unwrap();
    assert_eq!(w.reg.writes(), 0);
    assert!(
        out.tags.iter().all(|t| t.status == TagStatus::Unchanged),
        "{:?}",
        out.tags
    );
    assert_eq!(w.audit.releases().len(), 1, "no second release");
    // A digest that reached prod by a rollback is skipped outright.
    let mut spec = cloud_spec();
    spec.promote.already_in_prod = AlreadyInProd::Skip;
    let w = World::new(spec);
    let d = w.signed_image(0, "d", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    w.reg.set_tag(&w.repo(0), "prod", &d, t("2026-06-24T09:00:00Z"));
    let out = w.run(&promote_staging(), "2026-06-26T10:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::NoOp);
    assert!(out.tags.is_empty());
    assert_eq!(
        out.plan.notices[0],
        format!("{d} is already in prod; policy `skip`: nothing to do")
    );
}

#[test]
fn restamps_when_the_policy_says_so_without_moving_prod() {
    let mut spec = cloud_spec();
    spec.promote.already_in_prod = AlreadyInProd::Restamp;
    let w = World::new(spec);
    let d = w.signed_image(0, "d", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let out = w.run(&promote_staging(), "2026-06-25T10:00:00Z").unwrap();
    let written = statuses(&out);
    assert_eq!(
        written,
        [
            ("prod-20260625-a2fad42", TagStatus::Created),
            ("prod", TagStatus::Unchanged)
        ]
    );
}

#[test]
fn two_digest_promotions_on_one_day_get_two_stamps() {
    // Commit unknown: the stamp suffix is derived from each digest, flagged loudly.
    let mut spec = cloud_spec();
    spec.images[0].verify = false;
    spec.verify = None;
    let w = World::new(spec);
    let d1 = w.reg.add_image(&w.repo(0), "one");
    let d2 = w.reg.add_image(&w.repo(0), "two");
    let o1 = w
        .run(
            &promote(PromoteSource::Digest(d1.clone())),
            "2026-06-24T10:00:00Z",
        )
        .unwrap();
    let o2 = w
        .run(
            &promote(PromoteSource::Digest(d2.clone())),
            "2026-06-24T15:00:00Z",
        )
        .unwrap();
    let (s1, s2) = (o1.plan.stamp.unwrap(), o2.plan.stamp.unwrap());
    assert_ne!(s1, s2);
    assert_eq!(s1.as_str(), format!("prod-20260624-{}", d1.short()));
    assert_eq!(w.tag(0, s1.as_str()), Some(d1));
    assert_eq!(w.tag(0, s2.as_str()), Some(d2.clone()));
    assert_eq!(w.tag(0, "prod"), Some(d2));
    assert!(
        o2.warnings
            .iter()
            .any(|w| w.contains("derived from digest, commit unknown")),
        "{:?}",
        o2.warnings
    );
}

#[test]
fn rerun_same_day_edits_the_release_and_keeps_latest() {
    // Regression case (docs/behaviour.md#regression-cases): re-running a promotion the same day edits the release, creates no second one, and
    // does not change which release is Latest.
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    let out = w.run(&promote_staging(), "2026-06-24T11:00:00Z").unwrap();
    assert_eq!(out.release.as_ref().unwrap().status, SideStatus::Updated);
    let releases = w.audit.releases();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases["prod-20260624-a2fad42"].edits, 1);
    assert_eq!(w.audit.latest().as_deref(), Some("prod-20260624-a2fad42"));
}

#[test]
fn release_down_after_prod_moved_is_partial_and_a_rerun_completes_it() {
    // Regression case (docs/behaviour.md#regression-cases): exit 3, says prod moved; a re-run completes the release with the same stamp.
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.audit.fail_releases(1);
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert!(
        matches!(&out.result, RunResult::Partial(m) if m.contains("release prod-20260624-a2fad42 failed")),
        "{:?}",
        out.result
    );
    assert_eq!(
        out.moved().map(|t| t.tag.as_str()).collect::<Vec<_>>(),
        ["prod-20260624-a2fad42", "prod"]
    );
    assert_eq!(w.tag(0, "prod"), Some(d1.clone()));
    // The next day, the same command converges: same stamp, release created, nothing moved.
    let out = w.run(&promote_staging(), "2026-06-25T08:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(out.plan.stamp.unwrap().as_str(), "prod-20260624-a2fad42");
    assert_eq!(out.release.unwrap().status, SideStatus::Created);
    assert!(out.tags.iter().all(|t| t.status == TagStatus::Unchanged));
    assert_eq!(w.reg.tags(&w.repo(0)).len(), 3, "staging, prod, one stamp");
}

#[test]
fn a_stamp_at_another_digest_is_a_conflict_before_any_write() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    let other = w.signed_image(0, "other", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.reg.set_tag(
        &w.repo(0),
        "prod-20260624-a2fad42",
        &other,
        t("2026-06-24T09:30:00Z"),
    );
    w.reg
        .set_tag(&w.repo(0), "prod", &other, t("2026-06-24T09:30:00Z"));
    let err = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Conflict);
    assert!(err.message.contains("are never re-pointed"), "{}", err.message);
    assert_eq!(w.reg.writes(), 0);
}

#[test]
fn prod_moved_by_someone_else_aborts_the_move() {
    // Safety invariant 4 (ARCHITECTURE.md): compare-and-swap right before moving prod.
    let w = World::cloud();
    let d0 = w.signed_image(0, "d0", SHA_B);
    let d1 = w.signed_image(0, "d1", SHA_A);
    let intruder = w.reg.add_image(&w.repo(0), "intruder");
    w.reg.set_tag(&w.repo(0), "prod", &d0, t("2026-06-20T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let prepared =
        tagcore::testing::block_on(engine.prepare(&promote_staging(), t("2026-06-24T10:00:00Z"))).unwrap();
    w.reg
        .set_tag(&w.repo(0), "prod", &intruder, t("2026-06-24T10:00:01Z"));
    let out = tagcore::testing::block_on(engine.execute(prepared));
    let RunResult::Partial(msg) = &out.result else {
        panic!("{:?}", out.result)
    };
    assert_eq!(
        msg,
        &format!(
            "another run moved prod to {intruder} (docker.io/nearai/cloud-api); this run stopped and does not undo it"
        )
    );
    assert_eq!(out.superseded_by, Some(intruder.clone()));
    assert_eq!(w.tag(0, "prod"), Some(intruder));
    let status = statuses(&out);
    assert_eq!(
        status,
        [
            ("prod-20260624-a2fad42", TagStatus::Created),
            ("prod", TagStatus::Failed)
        ]
    );
}

#[test]
fn promotes_an_image_index_keeping_its_digest() {
    let w = World::cloud();
    let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"annotations":{"vnd.docker.reference.type":"attestation-manifest"},"platform":{"architecture":"unknown","os":"unknown"}}]}"#;
    let index = tagcore::Manifest::new("application/vnd.oci.image.index.v1+json", bytes.to_vec());
    let d = index.digest();
    tagcore::testing::block_on(tagcore::Registry::put_manifest(
        &w.reg,
        &w.repo(0),
        &"staging".parse().unwrap(),
        &index,
    ))
    .unwrap();
    w.ver.sign(&d, "nearai/cloud-api", "refs/heads/main", Some(SHA_A));
    w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    for tag in ["staging", "prod", "prod-20260624-a2fad42"] {
        assert_eq!(w.tag(0, tag), Some(d.clone()), "{tag}");
    }
}

fn chat_spec() -> PolicySpec {
    let mut s = cloud_spec();
    s.unit = "chat-api".into();
    s.images = vec![ImageSpec {
        repository: "docker.io/nearai/private-chat".into(),
        verify: true,
        ..Default::default()
    }];
    s.tags.prod_stamp = String::new();
    s.promote.sources = vec![SourceMode::Version];
    s.promote.confirm = "promote".into();
    s.rollback.automatic = false;
    s.rollback.targets = vec![TargetMode::Version];
    s.rollback.confirm = "ROLLBACK".into();
    s
}

#[test]
fn chat_api_normalises_versions_and_refuses_staging() {
    let w = World::new(chat_spec());
    let a = PromoteSource::parse(Some("v0.2.13"), &w.policy).unwrap();
    let b = PromoteSource::parse(Some("0.2.13"), &w.policy).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, PromoteSource::Version("0.2.13".parse().unwrap()));
    assert_eq!(
        PromoteSource::parse(Some("v0.2.13-p1"), &w.policy).unwrap(),
        PromoteSource::Version("0.2.13-p1".parse().unwrap())
    );
    let err = PromoteSource::parse(Some("staging"), &w.policy).unwrap_err();
    assert_eq!(
        err.to_string(),
        "source: \"staging\" is not accepted by this policy; expected a version (v0.2.13)"
    );
    assert!(PromoteSource::parse(None, &w.policy).is_err());
    assert!(
        PromoteSource::parse(Some(""), &w.policy).is_err(),
        "empty means the default, which chat-api lacks"
    );
    let cloud = World::cloud();
    assert_eq!(
        PromoteSource::parse(Some(""), &cloud.policy).unwrap(),
        PromoteSource::Staging
    );
}

#[test]
fn chat_api_promotes_a_version_without_stamps_and_with_confirm() {
    let w = World::new(chat_spec());
    let d = w.reg.add_image(&w.repo(0), "v0.2.13");
    w.ver
        .sign(&d, "nearai/cloud-api", "refs/tags/v0.2.13", Some(SHA_C));
    w.reg.set_tag(&w.repo(0), "0.2.13", &d, t("2026-06-24T09:00:00Z"));
    let req = tagcore::Request::Promote(tagcore::request::PromoteRequest {
        source: PromoteSource::parse(Some("v0.2.13"), &w.policy).unwrap(),
        confirm: Some("Promote".into()),
        expect_digest: None,
        allow_older: false,
    });
    let err = w.run(&req, "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Input);
    assert_eq!(
        err.message,
        "--confirm: \"Promote\" does not match; type exactly \"promote\" (case-sensitive)"
    );
    let req = tagcore::Request::Promote(tagcore::request::PromoteRequest {
        source: PromoteSource::parse(Some("v0.2.13"), &w.policy).unwrap(),
        confirm: Some("promote".into()),
        expect_digest: None,
        allow_older: false,
    });
    let out = w.run(&req, "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(out.plan.stamp, None);
    assert_eq!(out.tags.len(), 1);
    assert_eq!(w.tag(0, "prod"), Some(d));
    assert_eq!(
        w.audit.releases()["v0.2.13"].request.title,
        "Production Release v0.2.13"
    );
}

#[test]
fn dry_run_writes_nothing_and_reports_the_budget() {
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    let out = w.dry_run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::DryRun);
    assert_eq!(w.reg.writes(), 0);
    assert!(w.audit.releases().is_empty());
    assert_eq!(out.plan.budget.writes, 6);
    assert_eq!(out.plan.budget.verifications, 1);
    insta::assert_yaml_snapshot!("promote_dry_run_plan", out.plan);
}

#[test]
fn best_effort_release_failure_is_a_warning() {
    let mut spec = cloud_spec();
    spec.release.mode = StepMode::BestEffort;
    let w = World::new(spec);
    let d1 = w.signed_image(0, "d1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    w.audit.fail_releases(1);
    let out = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.starts_with("release prod-20260624-a2fad42 failed"))
    );
}

#[test]
fn promote_reads_only_the_newest_release_tags_on_a_names_only_registry() {
    // A plain OCI registry lists names only: every digest costs a HEAD. Promote needs the
    // newest events (is this a re-run?) and, only when the commit is otherwise unknown, the
    // staging stamps — not the whole history.
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    for day in 1..=20 {
        let d = w.signed_image(0, &format!("old{day}"), SHA_B);
        w.reg.set_tag(
            &w.repo(0),
            "staging",
            &d,
            t(&format!("2026-06-{day:02}T09:00:00Z")),
        );
        w.reg.set_tag(
            &w.repo(0),
            &format!("staging-202606{day:02}-851f2cc"),
            &d,
            t(&format!("2026-06-{day:02}T09:00:00Z")),
        );
        w.run(&promote_staging(), &format!("2026-06-{day:02}T10:00:00Z"))
            .unwrap();
    }
    // The new build's certificate names no commit and it has no revision label: its staging
    // stamp is found by reading the staging stamps then.
    let d = w.reg.add_image(&w.repo(0), "new");
    w.ver.sign(&d, "nearai/cloud-api", "refs/heads/main", None);
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-25T09:00:00Z"));
    w.reg.set_tag(
        &w.repo(0),
        "staging-20260625-a2fad42",
        &d,
        t("2026-06-25T09:00:00Z"),
    );
    w.reg.clear_calls();
    let out = w.run(&promote_staging(), "2026-06-25T10:00:00Z").unwrap();
    assert_eq!(out.plan.stamp.unwrap().as_str(), "prod-20260625-a2fad42");
    assert_eq!(
        out.plan.source_commit.unwrap().source,
        tagcore::source::CommitSource::StagingStamp("staging-20260625-a2fad42".parse().unwrap())
    );
    let resolves = w
        .reg
        .calls()
        .iter()
        .filter(|c| matches!(c, tagcore::testing::Call::Resolve(_)))
        .count();
    // staging, prod, the newest day's stamp, 21 staging stamps (the new stamp is absent from
    // the complete listing: no read), then at execution one re-read per moving write (1; the
    // stamp the plan found absent is not re-read) and one read-back per write (2): 27, not 50+.
    assert_eq!(resolves, 27, "{:?}", w.reg.calls());
    // A build whose certificate names the commit reads no staging stamp at all.
    let d2 = w.signed_image(0, "newer", SHA_C);
    w.reg
        .set_tag(&w.repo(0), "staging", &d2, t("2026-06-26T09:00:00Z"));
    w.reg.clear_calls();
    w.run(&promote_staging(), "2026-06-26T10:00:00Z").unwrap();
    let resolves = w
        .reg
        .calls()
        .iter()
        .filter(|c| matches!(c, tagcore::testing::Call::Resolve(_)))
        .count();
    assert_eq!(
        resolves,
        6,
        "staging, prod, newest stamp, 1 re-read (prod), 2 read-backs: {:?}",
        w.reg.calls()
    );
}

#[test]
fn expect_digest_promotes_exactly_the_planned_digest_or_nothing() {
    // Plan (dry run), approval, then a build moves staging before the promotion runs.
    let w = World::cloud();
    let d1 = w.signed_image(0, "d1", SHA_A);
    let d2 = w.signed_image(0, "d2", SHA_B);
    w.reg
        .set_tag(&w.repo(0), "staging", &d1, t("2026-06-24T09:00:00Z"));
    let planned = w.dry_run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(planned.plan.images[0].digest, d1);
    w.reg
        .set_tag(&w.repo(0), "staging", &d2, t("2026-06-24T10:30:00Z"));
    let approved = |digest: &tagcore::Digest| {
        tagcore::Request::Promote(tagcore::request::PromoteRequest {
            source: PromoteSource::Staging,
            confirm: None,
            expect_digest: Some(digest.clone()),
            allow_older: false,
        })
    };
    let err = w.run(&approved(&d1), "2026-06-24T11:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Refused);
    assert_eq!(
        err.message,
        format!("source resolved to {d2}, but --expect-digest asked for {d1}; nothing was written")
    );
    assert_eq!(w.reg.writes(), 0);
    assert_eq!(
        w.ver.asked(),
        std::slice::from_ref(&d1),
        "refused before verifying the other digest"
    );
    // The digest that staging holds now is promoted when it is the one asked for.
    let out = w.run(&approved(&d2), "2026-06-24T11:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(d2));
}
