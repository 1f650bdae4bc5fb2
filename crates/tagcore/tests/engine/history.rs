use tagcore::Digest;
use tagcore::history::{HistoryError, KnownTag, TagRole, Timeline, classify};
use tagcore::policy::Policy;
use tagcore::request::RollbackTarget;

use crate::support::*;

fn d(n: u8) -> Digest {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
        .parse()
        .unwrap()
}

fn known(tag: &str, digest: Digest, pushed: Option<&str>) -> KnownTag {
    KnownTag {
        tag: tag.parse().unwrap(),
        digest,
        pushed: pushed.map(t),
    }
}

fn policy() -> Policy {
    Policy::from_spec(&cloud_spec()).unwrap()
}

#[test]
fn same_day_stamps_are_ordered_by_push_time_not_name() {
    // Regression case (docs/behaviour.md#regression-cases): the sha is random, so name order would pick 970361d.
    let p = policy();
    let tags = [
        known("prod-20260624-970361d", d(1), Some("2026-06-24T10:05:00Z")),
        known("prod-20260624-851f2cc", d(2), Some("2026-06-24T14:53:00Z")),
        known("prod-20260625-a2fad42", d(3), Some("2026-06-25T09:00:00Z")),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.previous(&d(3)).unwrap().tag.as_str(), "prod-20260624-851f2cc");
}

#[test]
fn same_day_stamps_without_push_times_are_refused_with_candidates() {
    let p = policy();
    let tags = [
        known("prod-20260624-970361d", d(1), None),
        known("prod-20260624-851f2cc", d(2), None),
        known("prod-20260625-a2fad42", d(3), None),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    let err = tl.previous(&d(3)).unwrap_err();
    let HistoryError::Ambiguous { candidates } = &err else {
        panic!("{err:?}")
    };
    let names: Vec<_> = candidates.iter().map(|e| e.tag.as_str()).collect();
    assert_eq!(names, ["prod-20260624-851f2cc", "prod-20260624-970361d"]);
    assert!(err.to_string().contains("(day 20260624)"), "{err}");
    assert!(err.to_string().ends_with("name a target explicitly"), "{err}");
}

#[test]
fn ties_that_do_not_change_the_answer_are_not_refused() {
    // Two same-day stamps of *older* releases do not matter when the previous one is later.
    let p = policy();
    let tags = [
        known("prod-20260610-970361d", d(1), None),
        known("prod-20260610-851f2cc", d(2), None),
        known("prod-20260620-a2fad42", d(3), None),
        known("prod-20260625-dac1007", d(4), None),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.previous(&d(4)).unwrap().tag.as_str(), "prod-20260620-a2fad42");
}

#[test]
fn missing_push_times_sort_as_oldest() {
    let p = policy();
    let tags = [
        known("prod-20260630-970361d", d(1), None),
        known("prod-20260601-851f2cc", d(2), Some("2026-06-01T10:00:00Z")),
        known("prod-20260602-a2fad42", d(3), Some("2026-06-02T10:00:00Z")),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    let order: Vec<_> = tl.events.iter().map(|e| e.tag.as_str()).collect();
    // The untimed stamp's name says June 30, but without a push time it is never "newest"
    // against pushed ones of that era: it sorts by its name interval, after June 2.
    assert_eq!(
        order,
        [
            "prod-20260601-851f2cc",
            "prod-20260602-a2fad42",
            "prod-20260630-970361d"
        ]
    );
    let nameless = [
        known("prod-20260601-851f2cc", d(2), Some("2026-06-01T10:00:00Z")),
        known("prod-legacy", d(9), None),
    ];
    let tl = Timeline::build(&p.tags, &nameless);
    assert_eq!(tl.events.len(), 1, "legacy names are not events");
}

#[test]
fn legacy_audit_and_signature_tags_are_never_targets_and_never_crash() {
    let p = policy();
    let hex = "ab".repeat(32);
    let cases = [
        ("prod-20260624-104152", TagRole::Legacy),
        ("prod-20261340-104152", TagRole::Legacy),
        ("prod-x", TagRole::Legacy),
        (&format!("sha256-{hex}.sig") as &str, TagRole::SignatureArtifact),
        (&format!("sha256-{hex}"), TagRole::SignatureArtifact),
        ("staging", TagRole::StagingChannel),
        (
            "0.2.13",
            TagRole::Version {
                version: "0.2.13".into(),
            },
        ),
    ];
    for (tag, role) in cases {
        assert_eq!(classify(&p.tags, tag), role, "{tag}");
    }
    let tags = [
        known("prod-20260624-104152", d(1), Some("2026-06-24T10:41:52Z")),
        known("prod-rollback-20261399-999999-from-x", d(1), None),
        known("prod-20260620-a2fad42", d(2), Some("2026-06-20T10:00:00Z")),
        known("prod-20260625-dac1007", d(3), Some("2026-06-25T10:00:00Z")),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.previous(&d(3)).unwrap().tag.as_str(), "prod-20260620-a2fad42");
}

#[test]
fn promotions_of_the_current_digest_are_skipped() {
    let p = policy();
    let tags = [
        known("prod-20260620-a2fad42", d(1), Some("2026-06-20T10:00:00Z")),
        known("prod-20260622-851f2cc", d(2), Some("2026-06-22T10:00:00Z")),
        known("prod-20260623-851f2cc", d(2), Some("2026-06-23T10:00:00Z")),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.previous(&d(2)).unwrap().tag.as_str(), "prod-20260620-a2fad42");
    assert!(matches!(
        tl.previous(&d(7)),
        Err(HistoryError::CurrentUnknown { .. })
    ));
    // Prod at P1 while the records end at P2: no order explains it (P1 is not on top).
    assert!(matches!(
        tl.previous(&d(1)),
        Err(HistoryError::CurrentUnknown { .. })
    ));
    let first_only = Timeline::build(&p.tags, &tags[..1]);
    assert!(matches!(
        first_only.previous(&d(1)),
        Err(HistoryError::NoPrevious { .. })
    ));
}

#[test]
fn rollbacks_mark_what_they_rolled_back() {
    let (w, _) = {
        let w = World::cloud();
        let p: Vec<_> = ["p1", "p2", "p3"]
            .iter()
            .map(|s| w.signed_image(0, s, SHA_A))
            .collect();
        for (i, d) in p.iter().enumerate() {
            w.reg
                .set_tag(&w.repo(0), "staging", d, t(&format!("2026-06-2{i}T09:00:00Z")));
            w.run(&promote_staging(), &format!("2026-06-2{i}T10:00:00Z"))
                .unwrap();
        }
        (w, p)
    };
    // Same sha7 on every build: the stamps differ by date only.
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-01T10:00:00Z")
        .unwrap();
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let h = tagcore::testing::block_on(engine.history()).unwrap();
    let rows: Vec<_> = h.events.iter().map(|e| (e.tag.as_str(), e.rolled_back)).collect();
    assert_eq!(
        rows,
        [
            ("prod-rollback-20260701-100000-from-20260621-a2fad42", false),
            ("prod-20260622-a2fad42", true),
            ("prod-20260621-a2fad42", false),
            ("prod-20260620-a2fad42", false),
        ]
    );
    insta::assert_yaml_snapshot!("history_after_rollback", h);
}

#[test]
fn automatic_rollback_refuses_an_incomplete_listing() {
    // Regression case (docs/behaviour.md#regression-cases): Hub pagination whose `next` never ends → bounded, reported, never silent.
    let w = World::cloud();
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.reg.inject(tagcore::testing::Fault::TruncatedListing(
        "stopped after 50 pages (page cap)".into(),
    ));
    let err = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-01T10:00:00Z")
        .unwrap_err();
    assert_eq!(err.kind, tagcore::OpErrorKind::History);
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let h = tagcore::testing::block_on(engine.history()).unwrap();
    assert_eq!(
        h.warnings,
        ["tag listing of docker.io/nearai/cloud-api is incomplete: stopped after 50 pages (page cap)"]
    );
}

#[test]
fn registry_without_push_times_orders_by_names() {
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    let p: Vec<_> = ["p1", "p2", "p3"]
        .iter()
        .zip([SHA_A, SHA_B, SHA_C])
        .map(|(s, c)| w.signed_image(0, s, c))
        .collect();
    for (d, day) in p.iter().zip(["2026-06-20", "2026-06-22", "2026-06-24"]) {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-01T10:00:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[1].clone()));
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-02T10:00:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
}

#[test]
fn same_day_promote_and_rollback_without_push_times() {
    // A registry that reports no push times: stamps say only their day, audit tags their second.
    let w = World::cloud();
    w.reg.set_listing_detail(false, false);
    let p: Vec<_> = [("p1", SHA_A), ("p2", SHA_B), ("p3", SHA_C)]
        .iter()
        .map(|(s, c)| w.signed_image(0, s, c))
        .collect();
    w.reg
        .set_tag(&w.repo(0), "staging", &p[0], t("2026-07-01T09:00:00Z"));
    w.run(&promote_staging(), "2026-07-01T10:00:00Z").unwrap();
    w.reg
        .set_tag(&w.repo(0), "staging", &p[1], t("2026-07-02T08:00:00Z"));
    w.run(&promote_staging(), "2026-07-02T09:00:00Z").unwrap();
    // Rolled back the same morning, then re-run ten minutes later: it finishes, it does not go
    // further back.
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-02T10:41:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
    w.reg.clear_calls();
    w.run(&rollback(RollbackTarget::Automatic), "2026-07-02T10:51:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
    assert_eq!(w.reg.writes(), 0);
    // A fix promoted that afternoon, then rolled back: a new audit tag, back to P1 (P2 was
    // rolled back already), never the morning's audit tag reused.
    w.reg
        .set_tag(&w.repo(0), "staging", &p[2], t("2026-07-02T14:00:00Z"));
    w.run(&promote_staging(), "2026-07-02T15:00:00Z").unwrap();
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-02T16:00:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(p[0].clone()));
    assert_eq!(
        out.plan.stamp.unwrap().as_str(),
        "prod-rollback-20260702-160000-from-20260701-a2fad42"
    );
}

/// `n` stamps of one day without push times: all but the last at D1, the last at D2 (prod).
fn same_day_group(n: usize) -> Vec<KnownTag> {
    let shas = [
        "1111111", "2222222", "3333333", "4444444", "5555555", "6666666", "7777777",
    ];
    (0..n)
        .map(|i| {
            let digest = if i + 1 == n { d(2) } else { d(1) };
            known(&format!("prod-20260610-{}", shas[i]), digest, None)
        })
        .collect()
}

#[test]
fn a_tie_of_six_is_permuted_and_candidates_at_one_digest_are_one_answer() {
    // Six same-day stamps: every order that leaves prod at D2 puts a D1 stamp below it, so the
    // answer is D1 whichever order it was (its tag is the one the sorted order names).
    let p = policy();
    let tl = Timeline::build(&p.tags, &same_day_group(6));
    let prev = tl.previous(&d(2)).unwrap();
    assert_eq!(prev.digest, d(1));
    assert_eq!(prev.tag.as_str(), "prod-20260610-5555555");
}

#[test]
fn a_tie_of_seven_is_unknowable_and_refused_with_every_member() {
    let p = policy();
    let tl = Timeline::build(&p.tags, &same_day_group(7));
    let err = tl.previous(&d(2)).unwrap_err();
    let HistoryError::Ambiguous { candidates } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(candidates.len(), 7, "{err}");
}

#[test]
fn a_tie_too_large_to_order_is_refused_as_ambiguous_not_as_an_unrecorded_move() {
    // Seven same-day stamps without push times, prod at the one whose name sorts first: some
    // order of the tie leaves prod there, but the tie is too large to try every order. Found by
    // the benchmark (many promotions a day on a names-only registry).
    let p = policy();
    let mut tags = same_day_group(7);
    tags[0].digest = d(2);
    tags[6].digest = d(1);
    let tl = Timeline::build(&p.tags, &tags);
    assert!(
        tl.explains(&d(2)),
        "an order the tie allows may leave prod at D2: not a move without a record"
    );
    let err = tl.previous(&d(2)).unwrap_err();
    assert!(matches!(err, HistoryError::Ambiguous { .. }), "{err:?}");
}

#[test]
fn daily_promotions_rolled_back_the_same_day_settle_without_older_days() {
    // A names-only registry (no push times): each day a release was promoted and rolled back to
    // the last good one the same day, so each day's stamp and audit tag tie. Ordering a day's
    // rollback before its own promotion is impossible (it would roll back to the digest prod
    // already had), so it cannot keep the days read from settling. Found by the benchmark.
    let p = policy();
    let tags = [
        known("prod-20260601-aaaaaaa", d(1), None),
        known("prod-20260602-bbbbbbb", d(2), None),
        known("prod-rollback-20260602-120000-from-20260601-aaaaaaa", d(1), None),
        known("prod-20260603-ccccccc", d(3), None),
        known("prod-rollback-20260603-120000-from-20260601-aaaaaaa", d(1), None),
        known("prod-20260604-ddddddd", d(4), None),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert!(tl.settled_without_older(&d(4)));
    assert_eq!(tl.previous(&d(4)).unwrap().tag.as_str(), "prod-20260601-aaaaaaa");
    // Without the good release's own day, the rollbacks' target is unread: not settled.
    let later = Timeline::build(&p.tags, &tags[1..]);
    assert!(!later.settled_without_older(&d(4)));
}

#[test]
fn a_tie_of_identical_events_changes_nothing() {
    // The same digest stamped twice on one day (two commits built the same bytes).
    let p = policy();
    let tags = [
        known("prod-20260601-1111111", d(1), None),
        known("prod-20260602-2222222", d(2), None),
        known("prod-20260602-3333333", d(2), None),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.previous(&d(2)).unwrap().tag.as_str(), "prod-20260601-1111111");
    assert!(tl.explains(&d(2)));
    assert!(
        !tl.explains(&d(1)),
        "prod at D1 is not where the records leave it"
    );
}

#[test]
fn every_role_is_classified_including_aliases_and_other_tags() {
    let mut spec = cloud_spec();
    spec.tags.prod_aliases = vec!["stable".into()];
    let p = Policy::from_spec(&spec).unwrap();
    let cases = [
        ("latest", TagRole::PublishAlias),
        ("stable", TagRole::ProdAlias),
        ("prod", TagRole::ProdChannel),
        ("qa", TagRole::Other),
        ("dev", TagRole::Other),
        (
            "staging-20260101-abc1234",
            TagRole::StagingStamp {
                date: Some("20260101".into()),
                sha7: "abc1234".into(),
            },
        ),
        (
            "prod-20260101-abc1234",
            TagRole::ProdStamp {
                date: Some("20260101".into()),
                sha7: "abc1234".into(),
            },
        ),
    ];
    for (tag, role) in cases {
        assert_eq!(classify(&p.tags, tag), role, "{tag}");
    }
}

#[test]
fn chat_api_history_is_its_version_tags_and_rollbacks() {
    let mut spec = cloud_spec();
    spec.tags.prod_stamp = String::new();
    spec.rollback.automatic = false;
    spec.rollback.targets = vec![tagcore::policy::TargetMode::Version];
    spec.promote.sources = vec![tagcore::policy::SourceMode::Version];
    let p = Policy::from_spec(&spec).unwrap();
    let tags = [
        known("0.2.12", d(1), Some("2026-06-01T09:00:00Z")),
        known("0.2.13", d(2), Some("2026-06-02T09:00:00Z")),
        known(
            "prod-rollback-20260603-120000-from-0.2.12",
            d(1),
            Some("2026-06-03T12:00:00Z"),
        ),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    let rows: Vec<_> = tl
        .events
        .iter()
        .map(|e| (e.tag.as_str(), e.rolled_back))
        .collect();
    assert_eq!(
        rows,
        [
            ("0.2.12", false),
            ("0.2.13", true),
            ("prod-rollback-20260603-120000-from-0.2.12", false)
        ]
    );
    assert_eq!(tl.head().unwrap().tag.as_str(), "0.2.12");
    assert_eq!(
        tl.before(&"prod-rollback-20260603-120000-from-0.2.12".parse().unwrap())
            .unwrap()
            .digest,
        d(2)
    );
}

#[test]
fn with_prod_stamps_version_tags_are_not_promotions() {
    // cloud-api builds version tags (`0.1.14`) too; with stamps on they record no prod move.
    let p = policy();
    let tags = [
        known("prod-20260601-1111111", d(1), Some("2026-06-01T10:00:00Z")),
        known("0.1.14", d(2), Some("2026-06-02T10:00:00Z")),
    ];
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.events.len(), 1);
    assert_eq!(tl.head().unwrap().tag.as_str(), "prod-20260601-1111111");
}

#[test]
fn a_tie_of_seven_identical_events_is_no_ambiguity() {
    // Seven same-day stamps of one digest (re-stamps): their order cannot matter.
    let p = policy();
    let shas = [
        "1111111", "2222222", "3333333", "4444444", "5555555", "6666666", "7777777",
    ];
    let mut tags: Vec<KnownTag> = shas
        .iter()
        .map(|s| known(&format!("prod-20260610-{s}"), d(1), None))
        .collect();
    tags.push(known("prod-20260611-8888888", d(2), None));
    let tl = Timeline::build(&p.tags, &tags);
    assert_eq!(tl.previous(&d(2)).unwrap().digest, d(1));
}
