//! Concurrent runs: the registry has no conditional PUT, so the guard is built from the order of
//! writes and the read-back. A run that finds its channel moved by another run stops, names that
//! run's digest, and reports as written only what still holds its own digest.

use tagcore::outcome::{RunResult, TagStatus};
use tagcore::request::{PublishRequest, RollbackTarget};
use tagcore::testing::{Call, Hook, block_on};
use tagcore::{Digest, Engine, Request};

use crate::support::*;

fn with_alias() -> World {
    let mut s = cloud_spec();
    s.tags.publish_aliases.clear();
    s.tags.prod_aliases = vec!["latest".into()];
    World::new(s)
}

/// Returns the 1-based index of the `n`-th call (0-based) that `pick` accepts in a run of
/// `request` on a world prepared by `setup`.
fn call_index(
    setup: impl Fn(&World),
    request: &Request,
    now: &str,
    pick: impl Fn(&Call) -> bool,
    n: usize,
) -> usize {
    let probe = with_alias();
    setup(&probe);
    call_indexes(&probe, request, now, pick)[n]
}

fn staged(w: &World) -> (Digest, Digest) {
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.signed_image(0, "b", SHA_B);
    w.reg
        .set_tag(&w.repo(0), "staging", &a, t("2026-06-24T09:00:00Z"));
    (a, b)
}

#[test]
fn a_run_whose_prod_was_overwritten_stops_before_its_aliases_and_names_the_winner() {
    // Both runs passed their compare-and-swap on a new unit; the other run's PUT of prod landed
    // after this run's. This run must not move `latest`, and must not claim prod.
    let w = with_alias();
    let (a, b) = staged(&w);
    let now = "2026-06-24T10:00:00Z";
    // The call right after this run's prod PUT: the re-read of prod before `latest`.
    let guard = call_index(
        |p| drop(staged(p)),
        &promote_staging(),
        now,
        |c| matches!(c, Call::Put(t) if t.ends_with(":prod")),
        0,
    ) + 1;
    w.reg.clear_calls();
    w.reg.hook(Hook::MoveTagBeforeCall {
        call: guard,
        repository: w.repo(0),
        tag: "prod".into(),
        digest: b.clone(),
    });
    let out = w.run(&promote_staging(), now).unwrap();
    let RunResult::Partial(msg) = &out.result else {
        panic!("{:?}", out.result)
    };
    assert_eq!(
        msg,
        &tagcore::outcome::Failure::new(
            tagcore::OpErrorKind::Superseded,
            format!(
                "another run moved prod to {b} (docker.io/nearai/cloud-api); this run stopped and does not undo it"
            )
        )
    );
    assert_eq!(out.superseded_by, Some(b.clone()));
    assert_eq!(
        statuses(&out),
        [
            ("prod-20260624-a2fad42", TagStatus::Created),
            ("prod", TagStatus::Failed),
            ("latest", TagStatus::Failed)
        ]
    );
    assert_eq!(
        out.moved().map(|c| c.tag.as_str()).collect::<Vec<_>>(),
        ["prod-20260624-a2fad42"],
        "only the stamp holds this run's digest"
    );
    assert_eq!(w.tag(0, "prod"), Some(b));
    assert_eq!(
        w.tag(0, "latest"),
        None,
        "the alias was not moved behind the winner's back"
    );
    assert_eq!(w.tag(0, "prod-20260624-a2fad42"), Some(a));
}

#[test]
fn an_alias_follows_prod_even_if_another_run_moved_it() {
    // Prod still holds this run's digest: the alias follows it, whatever another run left there.
    let w = with_alias();
    let (a, b) = staged(&w);
    let now = "2026-06-24T10:00:00Z";
    let alias_put = call_index(
        |p| drop(staged(p)),
        &promote_staging(),
        now,
        |c| matches!(c, Call::Put(t) if t.ends_with(":latest")),
        0,
    );
    w.reg.clear_calls();
    w.reg.hook(Hook::MoveTagBeforeCall {
        call: alias_put,
        repository: w.repo(0),
        tag: "latest".into(),
        digest: b,
    });
    let out = w.run(&promote_staging(), now).unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(a.clone()));
    assert_eq!(w.tag(0, "latest"), Some(a));
}

#[test]
fn prepared_promote_loses_to_a_rollback_that_moved_prod_first() {
    // Promote vs rollback: the rollback finished while the promote was being prepared.
    let w = with_alias();
    let p1 = w.signed_image(0, "p1", SHA_A);
    let p2 = w.signed_image(0, "p2", SHA_B);
    let p3 = w.signed_image(0, "p3", SHA_C);
    for (d, day) in [(&p1, "2026-06-20"), (&p2, "2026-06-22")] {
        w.reg
            .set_tag(&w.repo(0), "staging", d, t(&format!("{day}T09:00:00Z")));
        w.run(&promote_staging(), &format!("{day}T10:00:00Z")).unwrap();
    }
    w.reg
        .set_tag(&w.repo(0), "staging", &p3, t("2026-06-24T09:00:00Z"));
    let engine = Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let promote = block_on(engine.prepare(&promote_staging(), t("2026-06-24T10:00:00Z"))).unwrap();
    w.run(&rollback(RollbackTarget::Automatic), "2026-06-24T10:00:05Z")
        .unwrap();
    let out = block_on(engine.execute(promote));
    assert_eq!(out.superseded_by, Some(p1.clone()));
    assert!(matches!(out.result, RunResult::Partial(_)), "{:?}", out.result);
    assert_eq!(w.tag(0, "prod"), Some(p1.clone()));
    assert_eq!(w.tag(0, "latest"), Some(p1), "the rollback's alias is left alone");
}

#[test]
fn publish_against_publish_keeps_staging_and_its_alias_together() {
    let mut s = cloud_spec();
    s.tags.publish_aliases = vec!["latest".into()];
    let w = World::new(s);
    let a = w.reg.add_image(&w.repo(0), "a");
    let b = w.reg.add_image(&w.repo(0), "b");
    let publish = |d: &Digest, sha: &str| {
        Request::Publish(PublishRequest::parse(&[d.to_string()], sha, false, &w.policy).unwrap())
    };
    let engine = Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let now = t("2026-06-25T12:00:00Z");
    let first = block_on(engine.prepare(&publish(&a, SHA_A), now)).unwrap();
    let second = block_on(engine.prepare(&publish(&b, SHA_B), now)).unwrap();
    let won = block_on(engine.execute(second));
    assert_eq!(won.result, RunResult::Done);
    let lost = block_on(engine.execute(first));
    assert_eq!(lost.superseded_by, Some(b.clone()));
    let RunResult::Partial(msg) = &lost.result else {
        panic!("{:?}", lost.result)
    };
    assert!(
        msg.message.starts_with("another run moved staging to sha256:"),
        "{msg}"
    );
    assert_eq!(msg.kind, tagcore::OpErrorKind::Superseded);
    assert_eq!(w.tag(0, "staging"), Some(b.clone()));
    assert_eq!(w.tag(0, "latest"), Some(b));
    assert_eq!(
        w.tag(0, "staging-20260625-a2fad42"),
        Some(a),
        "its own stamp stays"
    );
}
