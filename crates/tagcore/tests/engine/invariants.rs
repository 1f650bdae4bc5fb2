//! The safety invariants (ARCHITECTURE.md) as properties: parsers, stamps never re-pointed, prod only verified,
//! convergence after any single injected failure.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tagcore::policy::Policy;
use tagcore::request::RollbackTarget;
use tagcore::template::TagTemplate;
use tagcore::testing::Fault;
use tagcore::{CommitSha, Digest, ImageReference, RegistryErrorKind, Repository, Tag, Timestamp};

use crate::support::*;

proptest! {
    #[test]
    fn parsers_never_panic_and_round_trip(s in "\\PC{0,80}") {
        if let Ok(d) = s.parse::<Digest>() { prop_assert_eq!(d.to_string().parse::<Digest>().unwrap(), d); }
        if let Ok(t) = s.parse::<Tag>() { prop_assert_eq!(t.to_string().parse::<Tag>().unwrap(), t); }
        if let Ok(r) = s.parse::<Repository>() { prop_assert_eq!(r.to_string().parse::<Repository>().unwrap(), r); }
        if let Ok(r) = s.parse::<ImageReference>() { prop_assert_eq!(r.to_string().parse::<ImageReference>().unwrap(), r); }
        if let Ok(c) = s.parse::<CommitSha>() { prop_assert_eq!(c.to_string().parse::<CommitSha>().unwrap(), c); }
        if let Ok(ts) = s.parse::<Timestamp>() { prop_assert_eq!(ts.to_string().parse::<Timestamp>().unwrap(), ts); }
        if let Ok(tpl) = TagTemplate::parse(&s) { let _ = tpl.matches(&s); }
    }

    #[test]
    fn structured_inputs_round_trip(
        hex in "[0-9a-f]{64}",
        tag in "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}",
        secs in -2_000_000_000i64..8_000_000_000i64,
    ) {
        let d: Digest = format!("sha256:{hex}").parse().unwrap();
        prop_assert_eq!(d.hex(), hex.as_str());
        let parsed = tag.parse::<Tag>().unwrap();
        prop_assert_eq!(parsed.as_str(), tag.as_str());
        let ts = Timestamp::from_unix(secs);
        prop_assert_eq!(ts.to_string().parse::<Timestamp>().unwrap(), ts);
        prop_assert_eq!(Timestamp::parse_compact(&ts.date_compact(), &ts.time_compact()), Some(ts));
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Build image n (signed or not) and point staging at it.
    Build(u8, bool),
    Promote,
    RollbackAuto,
    RollbackTo(u8),
    /// The next operation's k-th registry call fails.
    Fault(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, any::<bool>()).prop_map(|(n, s)| Op::Build(n, s)),
        Just(Op::Promote),
        Just(Op::RollbackAuto),
        (0u8..6).prop_map(Op::RollbackTo),
        (1u8..12).prop_map(Op::Fault),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Random sequences of builds, promotions, rollbacks and single faults: a stamp or audit
    /// tag never changes digest once written, and prod only ever holds a verified digest.
    #[test]
    fn stamps_are_never_repointed_and_prod_is_always_verified(
        ops in proptest::collection::vec(op(), 1..14),
        push_times in any::<bool>(),
    ) {
        let w = World::cloud();
        // With and without push times (Docker Hub's Hub API vs a plain OCI registry).
        w.reg.set_listing_detail(push_times, push_times);
        let mut images: BTreeMap<u8, (Digest, bool)> = BTreeMap::new();
        let mut records: BTreeMap<String, Digest> = BTreeMap::new();
        let mut day = 1;
        for op in ops {
            day += 1;
            let now = format!("2026-07-{day:02}T10:00:00Z");
            match op {
                Op::Build(n, signed) => {
                    let (d, _) = images.entry(n).or_insert_with(|| {
                        let d = w.reg.add_image(&w.repo(0), &format!("img{n}"));
                        if signed {
                            w.ver.sign(&d, "nearai/cloud-api", "refs/heads/main", Some(&format!("{n:07}{}", "0".repeat(33))));
                        } else {
                            w.ver.refuse(&d, "unsigned");
                        }
                        (d, signed)
                    });
                    w.reg.set_tag(&w.repo(0), "staging", d, t(&now));
                }
                Op::Promote => { let _ = w.run(&promote_staging(), &now); }
                Op::RollbackAuto => { let _ = w.run(&rollback(RollbackTarget::Automatic), &now); }
                Op::RollbackTo(n) => {
                    let stamps: Vec<_> = w.reg.tags(&w.repo(0)).into_keys().filter(|k| k.starts_with("prod-2")).collect();
                    if let Some(s) = stamps.get(n as usize % stamps.len().max(1)) {
                        let _ = w.run(&rollback(RollbackTarget::Stamp(s.parse().unwrap())), &now);
                    }
                }
                Op::Fault(k) => {
                    w.reg.clear_faults();
                    w.reg.clear_calls();
                    w.reg.inject(Fault::NthCall(k as usize, RegistryErrorKind::Transient));
                    continue;
                }
            }
            w.reg.clear_faults();
            w.reg.clear_calls();
            for (tag, d) in w.reg.tags(&w.repo(0)) {
                if tag.starts_with("prod-") {
                    let first = records.entry(tag.clone()).or_insert_with(|| d.clone());
                    prop_assert_eq!(&*first, &d, "{} was re-pointed", tag);
                }
                if tag == "prod" {
                    let verified = images.values().any(|(x, signed)| x == &d && *signed);
                    prop_assert!(verified, "prod holds unverified {}", d);
                }
            }
        }
    }
}

/// Final tags, releases and Latest after a run.
fn state(w: &World) -> (Vec<BTreeMap<String, Digest>>, Vec<String>, Option<String>) {
    let tags = (0..w.policy.images.len())
        .map(|i| w.reg.tags(&w.repo(i)))
        .collect();
    (tags, w.audit.releases().into_keys().collect(), w.audit.latest())
}

/// One failure injected into one port during a run.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// The n-th registry call fails with a transient error.
    Registry(usize),
    /// The n-th registry call takes effect but its answer is lost.
    AppliedLost(usize),
    /// The verifier cannot read signatures.
    Verifier,
    /// The release service is down.
    Release,
    /// The dispatch fails.
    Dispatch,
}

fn inject(w: &World, f: Failure) {
    match f {
        Failure::Registry(n) => w.reg.inject(Fault::NthCall(n, RegistryErrorKind::Transient)),
        Failure::AppliedLost(n) => w.reg.inject(Fault::AppliedLost(n)),
        Failure::Verifier => w.ver.fail_next(1),
        Failure::Release => w.audit.fail_releases(1),
        Failure::Dispatch => w.audit.fail_dispatches(1),
    }
}

/// Checks a failed (or disturbed) run's report against the registry's real state: exactly the
/// tags it reports as created or moved changed, each to its reported digest, and its result
/// says whether anything was written.
fn report_matches_state(
    before: &[BTreeMap<String, Digest>],
    w: &World,
    result: &Result<tagcore::outcome::Outcome, tagcore::OpError>,
    f: Failure,
) {
    use tagcore::outcome::RunResult;
    let after = state(w).0;
    let mut changed = Vec::new();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        for (tag, d) in a {
            if b.get(tag) != Some(d) {
                changed.push((i, tag.clone(), d.clone()));
            }
        }
        assert!(b.keys().all(|k| a.contains_key(k)), "{f:?}: a tag vanished");
    }
    let out = match result {
        Err(e) => {
            assert!(
                changed.is_empty(),
                "{f:?}: failed before writing ({e}) but {changed:?} changed"
            );
            return;
        }
        Ok(out) => out,
    };
    let mut reported: Vec<_> = out
        .moved()
        .map(|c| {
            let i = (0..w.policy.images.len())
                .find(|&i| w.repo(i) == c.repository)
                .unwrap();
            (i, c.tag.to_string(), c.to.clone())
        })
        .collect();
    reported.sort();
    changed.sort();
    assert_eq!(
        reported, changed,
        "{f:?}: the moved tags reported are not the ones that moved"
    );
    match &out.result {
        RunResult::FailedBeforeWrite(m) => assert!(changed.is_empty(), "{f:?}: {m}"),
        RunResult::Partial(_) | RunResult::Done => {}
        RunResult::NoOp => assert!(changed.is_empty(), "{f:?}: no-op that wrote"),
        RunResult::DryRun => panic!("{f:?}: not a dry run"),
    }
}

/// Runs `setup` then `request` undisturbed; then, for every port and every failure kind (each
/// registry call failing, or applied with its answer lost; the verifier, the release service
/// and the dispatch down), a fresh world where that failure happens once: the failed run's
/// report must match the registry's real state, and the same request again must complete and
/// reach the undisturbed run's final state.
fn converges(spec: tagcore::policy::PolicySpec, setup: impl Fn(&World), request: tagcore::Request) {
    use tagcore::outcome::RunResult;
    let now = "2026-07-09T10:00:00Z";
    let clean = World::new(spec.clone());
    setup(&clean);
    clean.reg.clear_calls();
    let first = clean.run(&request, now).unwrap();
    assert!(matches!(first.result, RunResult::Done), "{:?}", first.result);
    let calls = clean.reg.calls().len();
    let dispatches = !clean.audit.dispatches().is_empty();
    let expected = state(&clean);
    assert!(calls > 3);
    let mut failures: Vec<Failure> = (1..=calls)
        .flat_map(|n| [Failure::Registry(n), Failure::AppliedLost(n)])
        .collect();
    failures.extend([Failure::Verifier, Failure::Release, Failure::Dispatch]);
    for f in failures {
        let w = World::new(spec.clone());
        setup(&w);
        w.reg.clear_calls();
        let before = state(&w).0;
        inject(&w, f);
        let result = w.run(&request, now);
        report_matches_state(&before, &w, &result, f);
        let wrote = result.as_ref().is_ok_and(|o| o.moved().next().is_some());
        w.reg.clear_faults();
        // A run that wrote something is re-run later (names must be reused, not re-made); one
        // that wrote nothing is simply run again.
        let later = if wrote { "2026-07-09T10:30:00Z" } else { now };
        let again = w
            .run(&request, later)
            .unwrap_or_else(|e| panic!("re-run after {f:?}: {e}"));
        assert!(
            matches!(again.result, RunResult::Done | RunResult::NoOp),
            "re-run after {f:?}: {:?}",
            again.result
        );
        assert_eq!(state(&w), expected, "after {f:?} ({calls} registry calls)");
        if dispatches {
            assert!(
                !w.audit.dispatches().is_empty(),
                "after {f:?}: the deploy was never sent"
            );
        }
    }
}

/// Sends a deploy dispatch after `operation`.
fn with_dispatch(mut s: tagcore::policy::PolicySpec, operation: &str) -> tagcore::policy::PolicySpec {
    s.dispatch = vec![tagcore::policy::DispatchSpec {
        target: "deploy".into(),
        after: vec![operation.into()],
        ..Default::default()
    }];
    s
}

fn with_alias() -> tagcore::policy::PolicySpec {
    let mut s = cloud_spec();
    s.tags.publish_aliases.clear();
    s.tags.prod_aliases = vec!["latest".into()];
    s
}

#[test]
fn promote_converges_after_any_single_failure() {
    converges(
        with_dispatch(with_alias(), "promote"),
        |w| {
            let p0 = w.signed_image(0, "p0", SHA_B);
            w.reg.set_tag(
                &w.repo(0),
                "prod-20260601-851f2cc",
                &p0,
                t("2026-06-01T10:00:00Z"),
            );
            w.reg.set_tag(&w.repo(0), "prod", &p0, t("2026-06-01T10:00:00Z"));
            w.reg
                .set_tag(&w.repo(0), "latest", &p0, t("2026-06-01T10:00:00Z"));
            let d = w.signed_image(0, "new", SHA_A);
            w.reg
                .set_tag(&w.repo(0), "staging", &d, t("2026-07-09T09:00:00Z"));
        },
        promote_staging(),
    );
}

#[test]
fn rollback_converges_after_any_single_failure() {
    // With a required audit tag; a best-effort one that fails is recorded later, at a later
    // time (see the next test).
    let mut spec = with_dispatch(with_alias(), "rollback");
    spec.rollback.audit_tag = tagcore::policy::StepMode::Required;
    converges(
        spec,
        |w| {
            for (seed, sha, day) in [("p1", SHA_A, "2026-06-20"), ("p2", SHA_B, "2026-06-22")] {
                let d = w.signed_image(0, seed, sha);
                w.reg
                    .set_tag(&w.repo(0), "staging", &d, t(&format!("{day}T09:00:00Z")));
                w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
            }
        },
        rollback(RollbackTarget::Stamp("prod-20260620-a2fad42".parse().unwrap())),
    );
}

#[test]
fn automatic_rollback_refuses_when_prod_moved_without_a_record() {
    // A best-effort audit tag failed: prod moved, nothing records it. An automatic re-run must
    // neither roll back further nor guess.
    let w = World::new(with_alias());
    for (seed, sha, day) in [("p1", SHA_A, "2026-06-20"), ("p2", SHA_B, "2026-06-22")] {
        let d = w.signed_image(0, seed, sha);
        w.reg
            .set_tag(&w.repo(0), "staging", &d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.reg.inject(Fault::PutTag(
        "prod-rollback-20260709-100000-from-20260620-a2fad42".into(),
        RegistryErrorKind::Transient,
    ));
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:00:00Z")
        .unwrap();
    assert_eq!(out.result, tagcore::outcome::RunResult::Done);
    w.reg.clear_faults();
    let err = w
        .run(&rollback(RollbackTarget::Automatic), "2026-07-09T10:05:00Z")
        .unwrap_err();
    assert_eq!(err.kind, tagcore::OpErrorKind::History);
    assert_eq!(
        err.message,
        format!(
            "prod is at {} but the records say it should be at prod-20260622-851f2cc: prod was moved without a \
             record (for example a best-effort audit tag that failed). Automatic rollback will not guess from \
             there; name the target explicitly (naming the release prod is at records it)",
            w.tag(0, "prod").unwrap()
        )
    );
    // Naming the target records it.
    let out = w
        .run(
            &rollback(RollbackTarget::Stamp("prod-20260620-a2fad42".parse().unwrap())),
            "2026-07-09T10:06:00Z",
        )
        .unwrap();
    assert_eq!(
        out.moved().map(|c| c.tag.as_str()).collect::<Vec<_>>(),
        ["prod-rollback-20260709-100600-from-20260620-a2fad42"]
    );
}

#[test]
fn publish_converges_after_any_single_failure() {
    let mut spec = with_dispatch(cloud_spec(), "publish");
    spec.tags.publish_aliases = vec!["latest".into()];
    let policy = Policy::from_spec(&spec).unwrap();
    let digest = {
        let probe = World::new(spec.clone());
        probe.reg.add_image(&probe.repo(0), "build")
    };
    let request = tagcore::Request::Publish(
        tagcore::request::PublishRequest::parse(&[digest.to_string()], SHA_A, false, &policy).unwrap(),
    );
    converges(
        spec,
        |w| {
            w.reg.add_image(&w.repo(0), "build");
        },
        request,
    );
}
