use tagcore::outcome::TagStatus;
use tagcore::policy::{ImageSpec, PolicySpec};
use tagcore::request::{PromoteSource, RollbackTarget};
use tagcore::{OpErrorKind, RegistryErrorKind};

use crate::support::*;

const MGR: &str = "docker.io/nearai/compose-manager";
const LAUNCHER: &str = "docker.io/nearai/compose-manager-launcher";

fn compose_spec() -> PolicySpec {
    let mut s = cloud_spec();
    s.unit = "compose-manager".into();
    s.images = vec![
        ImageSpec {
            repository: MGR.into(),
            verify: true,
            ..Default::default()
        },
        ImageSpec {
            repository: LAUNCHER.into(),
            verify: true,
            ..Default::default()
        },
    ];
    s.tags.publish_aliases.clear();
    s.tags.prod_aliases = vec!["latest".into()];
    s.promote.confirm = "promote".into();
    s
}

fn confirmed(source: PromoteSource) -> tagcore::Request {
    tagcore::Request::Promote(tagcore::request::PromoteRequest {
        source,
        confirm: Some("promote".into()),
        expect_digest: None,
        allow_older: false,
    })
}

#[test]
fn launcher_without_staging_stamp_gets_the_primary_stamp_and_rolls_back_with_it() {
    // Regression case (docs/behaviour.md#regression-cases): primary has a staging stamp, launcher has none → both get the primary's prod stamp
    // name, with a warning; a later rollback to that stamp finds both images.
    let w = World::new(compose_spec());
    let m1 = w.signed_image(0, "m1", SHA_A);
    let l1 = w.signed_image(1, "l1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &m1, t("2026-06-20T09:00:00Z"));
    w.reg.set_tag(
        &w.repo(0),
        "staging-20260620-a2fad42",
        &m1,
        t("2026-06-20T09:00:00Z"),
    );
    w.reg
        .set_tag(&w.repo(1), "staging", &l1, t("2026-06-20T09:00:00Z"));
    w.ver.sign(&m1, "nearai/cloud-api", "refs/heads/main", None);
    let out = w
        .run(&confirmed(PromoteSource::Staging), "2026-06-20T10:00:00Z")
        .unwrap();
    assert_eq!(out.plan.source_commit.as_ref().unwrap().sha, "a2fad42");
    let stamp = "prod-20260620-a2fad42";
    assert_eq!(w.tag(0, stamp), Some(m1.clone()));
    assert_eq!(w.tag(1, stamp), Some(l1.clone()));
    assert!(
        out.warnings.iter().any(|x| x
            == &format!(
                "{LAUNCHER} has no staging stamp of commit a2fad42 for {l1}; it gets the primary's stamp name"
            )),
        "{:?}",
        out.warnings
    );
    // Immutable tags of every image come before any moving tag.
    let order: Vec<_> = out
        .tags
        .iter()
        .map(|c| format!("{}:{}", c.repository.path(), c.tag))
        .collect();
    assert_eq!(
        order,
        [
            "nearai/compose-manager:prod-20260620-a2fad42",
            "nearai/compose-manager-launcher:prod-20260620-a2fad42",
            "nearai/compose-manager:prod",
            "nearai/compose-manager-launcher:prod",
            "nearai/compose-manager:latest",
            "nearai/compose-manager-launcher:latest",
        ]
    );
    // A second release, then roll back to the first by its stamp: both images move.
    let m2 = w.signed_image(0, "m2", SHA_B);
    let l2 = w.signed_image(1, "l2", SHA_B);
    w.reg
        .set_tag(&w.repo(0), "staging", &m2, t("2026-06-22T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(1), "staging", &l2, t("2026-06-22T09:00:00Z"));
    w.run(&confirmed(PromoteSource::Staging), "2026-06-22T10:00:00Z")
        .unwrap();
    let out = w
        .run(
            &rollback(RollbackTarget::Stamp(stamp.parse().unwrap())),
            "2026-06-23T10:00:00Z",
        )
        .unwrap();
    assert!(out.tags.iter().all(|c| c.status != TagStatus::Failed));
    for (i, d) in [(0, &m1), (1, &l1)] {
        assert_eq!(w.tag(i, "prod").as_ref(), Some(d));
        assert_eq!(w.tag(i, "latest").as_ref(), Some(d));
    }
}

#[test]
fn an_image_missing_the_source_fails_the_whole_unit_before_any_write() {
    let w = World::new(compose_spec());
    let m1 = w.signed_image(0, "m1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &m1, t("2026-06-20T09:00:00Z"));
    let err = w
        .run(&confirmed(PromoteSource::Staging), "2026-06-20T10:00:00Z")
        .unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Registry(RegistryErrorKind::NotFound));
    assert!(err.message.contains(LAUNCHER), "{}", err.message);
    assert_eq!(w.reg.writes(), 0);
}

#[test]
fn one_unverified_image_blocks_the_unit() {
    let w = World::new(compose_spec());
    let m1 = w.signed_image(0, "m1", SHA_A);
    let l1 = w.reg.add_image(&w.repo(1), "unsigned");
    w.reg
        .set_tag(&w.repo(0), "staging", &m1, t("2026-06-20T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(1), "staging", &l1, t("2026-06-20T09:00:00Z"));
    let err = w
        .run(&confirmed(PromoteSource::Staging), "2026-06-20T10:00:00Z")
        .unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Verification);
    assert_eq!(w.reg.writes(), 0);
}

#[test]
fn nothing_to_do_means_every_image_matches() {
    let w = World::new(compose_spec());
    let m1 = w.signed_image(0, "m1", SHA_A);
    let l1 = w.signed_image(1, "l1", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "staging", &m1, t("2026-06-20T09:00:00Z"));
    w.reg
        .set_tag(&w.repo(1), "staging", &l1, t("2026-06-20T09:00:00Z"));
    w.reg.set_tag(&w.repo(0), "prod", &m1, t("2026-06-20T09:00:00Z"));
    let out = w
        .run(&confirmed(PromoteSource::Staging), "2026-06-20T10:00:00Z")
        .unwrap();
    assert_eq!(w.tag(1, "prod"), Some(l1));
    assert!(
        out.tags
            .iter()
            .any(|c| c.tag.as_str() == "prod" && c.status == TagStatus::Created)
    );
}
