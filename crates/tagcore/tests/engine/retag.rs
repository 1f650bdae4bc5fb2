use tagcore::outcome::TagStatus;
use tagcore::request::{Request, RetagRequest};
use tagcore::testing::Fault;
use tagcore::{OpErrorKind, RegistryErrorKind};

use crate::support::*;

#[test]
/// The reasons retag refuses (that no request is made is shown through the binary on the real
/// registry: tagcli's e2e `bad_inputs_are_refused_before_any_request`).
fn retag_refuses_protected_targets_and_bad_names_with_their_reason() {
    let w = World::cloud();
    for (source, target, expected) in [
        ("staging", "prod", "target: prod is protected"),
        (
            "staging",
            "prod-20260101-abc1234",
            "target: prod-20260101-abc1234 is protected",
        ),
        (
            "staging",
            "prod-rollback-x",
            "target: prod-rollback-x is protected",
        ),
        ("staging", "staging-20260101-abc1234", "is protected"),
        (
            "lat est",
            "dev",
            "source: tag \"lat est\" contains ' ' at position 3",
        ),
        ("dev", "dev", "target: source and target are both dev"),
        ("sha256:ABC", "dev", "source: digest \"sha256:ABC\" contains 'A'"),
    ] {
        let err = RetagRequest::parse(source, target, None, &w.policy).unwrap_err();
        assert!(err.to_string().contains(expected), "{source} → {target}: {err}");
    }
}

#[test]
fn retag_copies_the_manifest_and_is_idempotent() {
    let w = World::cloud();
    let d = w.reg.add_image(&w.repo(0), "x");
    w.reg
        .set_tag(&w.repo(0), "staging", &d, t("2026-06-24T09:00:00Z"));
    let req = Request::Retag(RetagRequest::parse("staging", "qa", None, &w.policy).unwrap());
    let out = w.run(&req, "2026-06-24T10:00:00Z").unwrap();
    assert_eq!(out.tags[0].status, TagStatus::Created);
    assert_eq!(w.tag(0, "qa"), Some(d));
    let out = w.run(&req, "2026-06-24T10:05:00Z").unwrap();
    assert_eq!(out.tags[0].status, TagStatus::Unchanged);
}

#[test]
fn an_authentication_failure_is_not_reported_as_not_found() {
    let w = World::cloud();
    w.reg.inject(Fault::NthCall(1, RegistryErrorKind::Unauthorized));
    let req = Request::Retag(RetagRequest::parse("staging", "qa", None, &w.policy).unwrap());
    let err = w.run(&req, "2026-06-24T10:00:00Z").unwrap_err();
    assert_eq!(err.kind, OpErrorKind::Registry(RegistryErrorKind::Unauthorized));
    assert!(
        err.message
            .starts_with("reading docker.io/nearai/cloud-api:staging: authentication failed"),
        "{}",
        err.message
    );
}
