//! The downgrade guard: promote refuses a build signed before prod's unless told to; rollbacks
//! are exempt; one promotion's images come from one commit unless the policy allows otherwise.

use tagcore::outcome::RunResult;
use tagcore::request::{PromoteRequest, PromoteSource, RollbackTarget};
use tagcore::{OpErrorKind, Request};

use crate::support::*;

fn promote_allowing_older(allow_older: bool) -> Request {
    Request::Promote(PromoteRequest {
        source: PromoteSource::Staging,
        confirm: None,
        expect_digest: None,
        allow_older,
    })
}

/// Prod holds a build signed on June 20; staging is re-pointed at an older signed build.
fn old_build_on_staging() -> (World, tagcore::Digest, tagcore::Digest) {
    let w = World::cloud();
    let old = w.signed_image(0, "old", SHA_B);
    w.ver.signed_at(&old, t("2026-06-01T09:00:00Z"));
    let new = w.signed_image(0, "new", SHA_A);
    w.ver.signed_at(&new, t("2026-06-20T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(0), "staging", &new, t("2026-06-20T09:30:00Z"));
    w.run(&promote_staging(), "2026-06-20T10:00:00Z").unwrap();
    w.reg
        .set_tag(&w.repo(0), "staging", &old, t("2026-06-24T09:00:00Z"));
    (w, old, new)
}

#[test]
fn an_older_signed_build_is_refused_and_prod_stays() {
    let (w, old, new) = old_build_on_staging();
    let err = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Refused);
    assert_eq!(
        err.message,
        format!(
            "docker.io/nearai/cloud-api@{old} was signed at 2026-06-01T09:00:00Z, before prod's {new} (signed at \
             2026-06-20T09:00:00Z): promoting it is a downgrade; pass --allow-older to promote it deliberately \
             (nothing was written)"
        )
    );
    assert_eq!(w.tag(0, "prod"), Some(new));
}

#[test]
fn allow_older_promotes_it_deliberately() {
    let (w, old, _) = old_build_on_staging();
    let out = w
        .run(&promote_allowing_older(true), "2026-06-24T10:00:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(old));
}

#[test]
fn rollbacks_are_exempt() {
    let (w, old, new) = old_build_on_staging();
    w.run(&promote_allowing_older(true), "2026-06-24T10:00:00Z")
        .unwrap();
    assert_eq!(w.tag(0, "prod"), Some(old));
    // Back to the newer build, then a rollback to the older one: no guard.
    w.reg
        .set_tag(&w.repo(0), "staging", &new, t("2026-06-25T09:00:00Z"));
    w.run(&promote_staging(), "2026-06-25T10:00:00Z").unwrap();
    let out = w
        .run(&rollback(RollbackTarget::Automatic), "2026-06-26T10:00:00Z")
        .unwrap();
    assert_eq!(out.result, RunResult::Done);
}

#[test]
fn images_from_different_commits_are_refused_unless_allowed() {
    let mut s = cloud_spec();
    let mut launcher = s.images[0].clone();
    launcher.repository = "docker.io/nearai/cloud-api-launcher".into();
    s.images.push(launcher);
    let w = World::new(s.clone());
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.signed_image(1, "b", SHA_B);
    w.reg
        .set_tag(&w.repo(0), "staging", &a, t("2026-06-24T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(1), "staging", &b, t("2026-06-24T09:00:00Z"));
    let err = w.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Refused);
    assert!(
        err.message
            .starts_with("the images' certificates name different commits"),
        "{}",
        err.message
    );
    assert_eq!(w.reg.writes(), 0);
    s.promote.allow_mixed_commits = true;
    let w2 = World::new(s);
    let a = w2.signed_image(0, "a", SHA_A);
    let b = w2.signed_image(1, "b", SHA_B);
    w2.reg
        .set_tag(&w2.repo(0), "staging", &a, t("2026-06-24T09:00:00Z"));
    w2.reg
        .set_tag(&w2.repo(1), "staging", &b, t("2026-06-24T09:00:00Z"));
    assert_eq!(
        w2.run(&promote_staging(), "2026-06-24T10:00:00Z").unwrap().result,
        RunResult::Done
    );
}

#[test]
fn a_build_signed_at_the_same_time_as_prod_is_no_downgrade() {
    let w = World::cloud();
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.signed_image(0, "b", SHA_B);
    for d in [&a, &b] {
        w.ver.signed_at(d, t("2026-06-20T09:00:00Z"));
    }
    w.reg
        .set_tag(&w.repo(0), "staging", &a, t("2026-06-20T09:30:00Z"));
    w.run(&promote_staging(), "2026-06-20T10:00:00Z").unwrap();
    w.reg
        .set_tag(&w.repo(0), "staging", &b, t("2026-06-21T09:00:00Z"));
    let out = w.run(&promote_staging(), "2026-06-21T10:00:00Z").unwrap();
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.tag(0, "prod"), Some(b));
}
