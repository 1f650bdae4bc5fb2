//! Prune over the in-memory registry: exactly the expected set goes, the rollback window stays
//! usable, and a dry run deletes nothing.

use tagcore::engine::PruneRequest;
use tagcore::outcome::RunResult;
use tagcore::policy::Glob;
use tagcore::request::RollbackTarget;
use tagcore::retention::RetentionPolicy;
use tagcore::testing::block_on;

use crate::support::*;

fn retention() -> RetentionPolicy {
    RetentionPolicy {
        keep_releases: 10,
        keep_days: 30,
        prunable: ["pr-*", "sha-*", "staging-2*", "prod-2*"]
            .iter()
            .map(|g| Glob::parse(g).unwrap())
            .collect(),
    }
}

/// 40 releases (one a day from 2026-01-01), prod at the last; 200 noise tags.
fn forty_releases(w: &World) -> Vec<(String, tagcore::Digest)> {
    let mut stamps = Vec::new();
    for i in 0..40u32 {
        let day = tagcore::Timestamp::from_unix(t("2026-01-01T10:00:00Z").unix() + i64::from(i) * 86_400);
        let sha = format!("{i:07x}");
        let d = w.signed_image(0, &format!("r{i}"), &format!("{sha}{}", "0".repeat(33)));
        let stamp = format!("prod-{}-{sha}", day.date_compact());
        w.reg.set_tag(&w.repo(0), &stamp, &d, day);
        stamps.push((stamp, d));
    }
    let last = &stamps[39].1;
    w.reg.set_tag(&w.repo(0), "prod", last, t("2026-02-09T10:00:00Z"));
    for i in 0..200u32 {
        let d = w.reg.add_image(&w.repo(0), &format!("noise{i}"));
        let name = if i % 2 == 0 {
            format!("pr-{i}")
        } else {
            format!("sha-{i:07x}")
        };
        w.reg.set_tag(&w.repo(0), &name, &d, t("2026-01-15T00:00:00Z"));
    }
    stamps
}

#[test]
fn prunes_exactly_the_expected_set_and_the_window_still_rolls_back() {
    let w = World::cloud();
    let stamps = forty_releases(&w);
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let now = t("2026-03-31T00:00:00Z");
    // A dry run deletes nothing.
    let dry = block_on(engine.prune(
        &PruneRequest {
            retention: retention(),
            apply: false,
        },
        now,
    ))
    .unwrap();
    assert_eq!(dry.images[0].plan.delete.len(), 230);
    assert_eq!(w.reg.tags(&w.repo(0)).len(), 241);
    let report = block_on(engine.prune(
        &PruneRequest {
            retention: retention(),
            apply: true,
        },
        now,
    ))
    .unwrap();
    let img = &report.images[0];
    assert_eq!(img.deleted.len(), 230);
    assert!(img.failed.is_empty());
    let mut left: Vec<String> = w.reg.tags(&w.repo(0)).into_keys().collect();
    left.sort();
    let mut expected: Vec<String> = stamps[30..].iter().map(|(s, _)| s.clone()).collect();
    expected.push("prod".into());
    expected.sort();
    assert_eq!(left, expected);
    // Roll back to the oldest kept release.
    let oldest = &stamps[30];
    let out = w
        .run(
            &rollback(RollbackTarget::Stamp(oldest.0.parse().unwrap())),
            "2026-03-31T10:00:00Z",
        )
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(oldest.1.clone()));
}

#[test]
fn deleting_by_digest_keeps_a_tag_that_shares_a_kept_digest() {
    let w = World::cloud();
    let stamps = forty_releases(&w);
    w.reg.delete_by_digest(true);
    // An old PR tag at the digest of a release inside the window.
    w.reg
        .set_tag(&w.repo(0), "pr-9999", &stamps[35].1, t("2026-01-02T00:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let report = block_on(engine.prune(
        &PruneRequest {
            retention: retention(),
            apply: true,
        },
        t("2026-03-31T00:00:00Z"),
    ))
    .unwrap();
    let kept = report.images[0]
        .plan
        .keep
        .iter()
        .find(|v| v.tag.as_str() == "pr-9999")
        .unwrap();
    assert_eq!(
        kept.reason,
        format!(
            "shares its digest with kept tag {} (this registry deletes by digest)",
            stamps[35].0
        )
    );
    assert_eq!(w.tag(0, &stamps[35].0), Some(stamps[35].1.clone()));
}

#[test]
fn a_channel_moved_onto_a_planned_digest_keeps_that_manifest_on_a_delete_by_digest_registry() {
    let w = World::cloud();
    let stamps = forty_releases(&w);
    w.reg.delete_by_digest(true);
    w.reg.clear_calls();
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    // The listing is call 1 (digests come with it); a rollback to the oldest release lands
    // right after it, before the prune re-reads the channels.
    w.reg.hook(tagcore::testing::Hook::MoveTagBeforeCall {
        call: 2,
        repository: w.repo(0),
        tag: "prod".into(),
        digest: stamps[0].1.clone(),
    });
    let report = block_on(engine.prune(
        &PruneRequest {
            retention: retention(),
            apply: true,
        },
        t("2026-03-31T00:00:00Z"),
    ))
    .unwrap();
    let img = &report.images[0];
    assert!(img.plan.delete.iter().any(|v| v.tag.as_str() == stamps[0].0));
    let (_, why) = img
        .failed
        .iter()
        .find(|(t, _)| t.as_str() == stamps[0].0)
        .unwrap();
    assert!(why.message.contains("prod moved to"), "{why}");
    assert_eq!(why.kind, tagcore::OpErrorKind::Conflict);
    assert_eq!(img.failed.len(), 1, "{:?}", img.failed);
    assert_eq!(w.tag(0, "prod"), Some(stamps[0].1.clone()));
    assert_eq!(img.deleted.len(), img.plan.delete.len() - 1);
}

fn apply() -> PruneRequest {
    PruneRequest {
        retention: retention(),
        apply: true,
    }
}

#[test]
fn a_registry_that_cannot_delete_is_refused_before_any_deletion() {
    let w = World::cloud();
    forty_releases(&w);
    w.reg.cannot_delete();
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let err = block_on(engine.prune(&apply(), t("2026-03-31T00:00:00Z"))).unwrap_err();
    assert_eq!(err.kind, tagcore::OpErrorKind::Refused);
    assert!(err.message.contains("cannot delete tags"), "{}", err.message);
    assert_eq!(w.reg.tags(&w.repo(0)).len(), 241);
}

#[test]
fn deletes_disabled_at_the_first_deletion_is_a_refusal_with_nothing_deleted() {
    let w = World::cloud();
    forty_releases(&w);
    w.reg.refuse_deletes_after(0);
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let err = block_on(engine.prune(&apply(), t("2026-03-31T00:00:00Z"))).unwrap_err();
    assert_eq!(err.kind, tagcore::OpErrorKind::Refused);
    assert_eq!(err.message, "the registry disallows deletes; nothing was deleted");
    assert_eq!(w.reg.tags(&w.repo(0)).len(), 241);
}

#[test]
fn deletes_refused_after_some_succeeded_are_reported_per_tag() {
    let w = World::cloud();
    forty_releases(&w);
    w.reg.refuse_deletes_after(5);
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let report = block_on(engine.prune(&apply(), t("2026-03-31T00:00:00Z"))).unwrap();
    let img = &report.images[0];
    assert_eq!(img.deleted.len(), 5);
    // It stops at the first refusal: the rest are neither deleted nor tried.
    assert_eq!(img.failed.len(), 1);
    assert!(
        img.failed[0].1.message.contains("the registry disallows deletes"),
        "{:?}",
        img.failed
    );
    assert_eq!(w.reg.tags(&w.repo(0)).len(), 236);
}

/// Three images, each with three build tags older than the retention window (all prunable).
fn three_images_to_prune() -> World {
    let mut spec = cloud_spec();
    spec.images = ["docker.io/nearai/a", "docker.io/nearai/b", "docker.io/nearai/c"]
        .into_iter()
        .map(|r| tagcore::policy::ImageSpec {
            repository: r.into(),
            verify: false,
            ..tagcore::policy::ImageSpec::default()
        })
        .collect();
    let w = World::new(spec);
    for i in 0..3 {
        for k in 0..3 {
            let d = w.reg.add_image(&w.repo(i), &format!("build{i}-{k}"));
            w.reg
                .set_tag(&w.repo(i), &format!("pr-{k}"), &d, t("2026-01-15T00:00:00Z"));
        }
    }
    w
}

fn prune_on(w: &World) -> Result<tagcore::engine::PruneReport, tagcore::OpError> {
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    block_on(engine.prune(&apply(), t("2026-03-31T00:00:00Z")))
}

#[test]
fn deletes_disabled_after_two_images_are_reported_on_the_third_not_refused() {
    let w = three_images_to_prune();
    // The first two images delete their three tags each; the third's registry then refuses.
    w.reg.refuse_deletes_after(6);
    let report = prune_on(&w).expect("earlier images deleted tags: a report, not a refusal");
    let deleted: Vec<usize> = report.images.iter().map(|i| i.deleted.len()).collect();
    let failed: Vec<usize> = report.images.iter().map(|i| i.failed.len()).collect();
    assert_eq!((deleted, failed), (vec![3, 3, 0], vec![0, 0, 1]));
    assert!(
        report.images[2].failed[0]
            .1
            .message
            .contains("the registry disallows deletes"),
        "{:?}",
        report.images[2].failed
    );
    assert_eq!(w.reg.tags(&w.repo(2)).len(), 3);
}

#[test]
fn a_transient_deletion_failure_is_reported_and_the_other_deletions_go_on() {
    // Find the call that is the second deletion, on an identical world.
    let probe = three_images_to_prune();
    probe.reg.clear_calls();
    prune_on(&probe).expect("prune");
    let second = probe
        .reg
        .calls()
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, tagcore::testing::Call::Delete(_)))
        .nth(1)
        .map(|(n, _)| n + 1)
        .expect("a second deletion");
    let w = three_images_to_prune();
    w.reg.clear_calls();
    w.reg.inject(tagcore::testing::Fault::NthCall(
        second,
        tagcore::RegistryErrorKind::Transient,
    ));
    let report = prune_on(&w).expect("a failure to report, not a refusal");
    let img = &report.images[0];
    assert_eq!((img.deleted.len(), img.failed.len()), (2, 1), "{:?}", img.failed);
    assert!(
        img.failed[0].1.message.contains("injected failure"),
        "{:?}",
        img.failed
    );
    assert_eq!(report.images.iter().map(|i| i.deleted.len()).sum::<usize>(), 8);
}
