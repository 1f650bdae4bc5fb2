//! Raw inputs becoming requests: each input is refused with the input's name and what was
//! expected, before any request is sent.

use tagcore::policy::{SourceMode, TargetMode};
use tagcore::request::{
    OperationKind, PromoteSource, PublishRequest, Request, RetagRequest, RetagSource, RollbackRequest,
    RollbackTarget, check_confirm,
};
use tagcore::{Digest, Tag};

use crate::support::{policy, spec, three_images};

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn tag(s: &str) -> Tag {
    s.parse().expect("a tag")
}

fn source(input: Option<&str>, sources: &[SourceMode]) -> Result<PromoteSource, String> {
    let mut s = spec();
    s.promote.sources = sources.to_vec();
    PromoteSource::parse(input, &policy(&s)).map_err(|e| e.to_string())
}

#[test]
fn an_empty_source_means_staging_only_when_staging_comes_first() {
    use SourceMode::*;
    assert_eq!(source(None, &[Staging, Digest]), Ok(PromoteSource::Staging));
    assert_eq!(source(Some(""), &[Staging]), Ok(PromoteSource::Staging));
    let err = source(None, &[Digest, Staging]).expect_err("digest first");
    assert_eq!(
        err,
        "source: no source given; this policy accepts a digest (sha256:<64 hex>), `staging`"
    );
    let err = source(Some(""), &[Tag, Version]).expect_err("no staging");
    assert_eq!(
        err,
        "source: no source given; this policy accepts a tag, a version (v0.2.13)"
    );
}

#[test]
fn a_digest_source_is_accepted_only_when_the_policy_lists_digests() {
    use SourceMode::*;
    let d = digest('a');
    assert_eq!(
        source(Some(&d), &[Staging, Digest]),
        Ok(PromoteSource::Digest(d.parse().expect("digest")))
    );
    assert_eq!(
        source(Some(&d), &[Staging, Tag]).expect_err("no digests"),
        "source: digests are not accepted by this policy; expected `staging`, a tag"
    );
    // Anything that looks like a digest is parsed as one, and refused as one.
    let err = source(Some("sha256:abc"), &[Staging, Digest]).expect_err("short");
    assert!(
        err.starts_with("source: digest \"sha256:abc\" has 3 hex characters"),
        "{err}"
    );
    let hex32 = "a".repeat(32);
    let err = source(Some(&hex32), &[Staging, Digest]).expect_err("bare hex");
    assert!(err.contains("lacks the `sha256:` prefix"), "{err}");
    // 31 hex characters are a tag name, not a digest attempt.
    let hex31 = "a".repeat(31);
    assert_eq!(source(Some(&hex31), &[Tag]), Ok(PromoteSource::Tag(tag(&hex31))));
    let not_hex = format!("{}g", "a".repeat(40));
    assert_eq!(
        source(Some(&not_hex), &[Tag]),
        Ok(PromoteSource::Tag(tag(&not_hex)))
    );
}

#[test]
fn the_staging_name_is_the_staging_source_only_when_staging_is_allowed() {
    use SourceMode::*;
    assert_eq!(
        source(Some("staging"), &[Digest, Staging]),
        Ok(PromoteSource::Staging)
    );
    assert_eq!(
        source(Some("staging"), &[Tag]),
        Ok(PromoteSource::Tag(tag("staging")))
    );
}

#[test]
fn a_version_source_is_the_version_tag_and_a_bad_version_is_named() {
    use SourceMode::*;
    assert_eq!(
        source(Some("v0.2.13"), &[Version]),
        Ok(PromoteSource::Version(tag("0.2.13")))
    );
    assert_eq!(
        source(Some("0.2.13-p1"), &[Version, Tag]),
        Ok(PromoteSource::Version(tag("0.2.13-p1")))
    );
    assert_eq!(
        source(Some("v1.2"), &[Version]).expect_err("not a version"),
        "source: \"v1.2\" is not a version; expected e.g. v0.2.13 or 0.2.13-p1"
    );
    // Not version-like at all: falls through to the tag rules.
    assert_eq!(
        source(Some("nightly"), &[Version, Tag]),
        Ok(PromoteSource::Tag(tag("nightly")))
    );
    assert_eq!(
        source(Some("v1-beta"), &[Version, Tag]),
        Ok(PromoteSource::Tag(tag("v1-beta"))),
        "a digit-led text without a dot is not a version attempt"
    );
    assert_eq!(
        source(Some("x1.2"), &[Version, Tag]),
        Ok(PromoteSource::Tag(tag("x1.2"))),
        "a text that does not start with a digit is not a version attempt"
    );
    // Versions are not tags when the policy does not take versions.
    assert_eq!(
        source(Some("0.2.13"), &[Tag]),
        Ok(PromoteSource::Tag(tag("0.2.13")))
    );
}

#[test]
fn a_tag_source_must_not_be_owned_by_prod() {
    use SourceMode::*;
    assert_eq!(
        source(Some("rc-1"), &[Staging, Tag]),
        Ok(PromoteSource::Tag(tag("rc-1")))
    );
    for owned in [
        "prod",
        "prod-20260101-abc1234",
        "prod-rollback-20260101-101010-from-x",
    ] {
        let err = source(Some(owned), &[Staging, Tag]).expect_err(owned);
        assert_eq!(
            err,
            format!("source: {owned:?} is not accepted by this policy; expected `staging`, a tag")
        );
    }
    let err = source(Some("rc-1"), &[Staging, Digest]).expect_err("no tags");
    assert!(err.contains("is not accepted by this policy"), "{err}");
    let err = source(Some("a b"), &[Tag]).expect_err("not a tag");
    assert!(err.starts_with("source: tag \"a b\" contains ' '"), "{err}");
}

fn target(input: Option<&str>, targets: &[TargetMode], automatic: bool) -> Result<RollbackTarget, String> {
    let mut s = spec();
    s.rollback.targets = targets.to_vec();
    s.rollback.automatic = automatic;
    RollbackTarget::parse(input, &policy(&s)).map_err(|e| e.to_string())
}

#[test]
fn an_empty_rollback_target_is_automatic_only_when_the_policy_allows_it() {
    assert_eq!(
        target(None, &[TargetMode::Stamp], true),
        Ok(RollbackTarget::Automatic)
    );
    assert_eq!(
        target(Some(""), &[TargetMode::Stamp], true),
        Ok(RollbackTarget::Automatic)
    );
    assert_eq!(
        target(None, &[TargetMode::Stamp], false).expect_err("manual"),
        "target: automatic rollback is off in this policy; name the target explicitly"
    );
}

#[test]
fn a_rollback_target_is_a_stamp_or_a_version_never_a_digest() {
    use TargetMode::*;
    let stamp = "prod-20260101-abc1234";
    assert_eq!(
        target(Some(stamp), &[Stamp], true),
        Ok(RollbackTarget::Stamp(tag(stamp)))
    );
    assert_eq!(
        target(Some("v1.2.3"), &[Stamp, Version], true),
        Ok(RollbackTarget::Version(tag("1.2.3")))
    );
    assert_eq!(
        target(Some(&digest('b')), &[Stamp], true).expect_err("digest"),
        "target: a rollback target is a release name (prod stamp or version), not a digest"
    );
    assert!(
        target(Some("sha256:zz"), &[Stamp], true)
            .expect_err("bad digest")
            .contains("contains 'z'")
    );
    assert_eq!(
        target(Some(stamp), &[Version], true).expect_err("stamps not allowed"),
        format!("target: {stamp:?} is not a rollback target; expected a version (v0.2.13)")
    );
    assert_eq!(
        target(Some("v1.2.3"), &[Stamp], true).expect_err("versions not allowed"),
        "target: \"v1.2.3\" is not a rollback target; expected a prod stamp (prod-{date}-{sha7})"
    );
    assert_eq!(
        target(Some("nightly"), &[Stamp, Version], true).expect_err("neither"),
        "target: \"nightly\" is not a rollback target; expected a prod stamp (prod-{date}-{sha7}) or a version"
    );
    assert_eq!(
        target(Some("v1.2"), &[Version], true).expect_err("bad version"),
        "target: \"v1.2\" is not a version; expected e.g. v0.2.13 or 0.2.13-p1"
    );
}

#[test]
fn confirmation_must_match_exactly_when_the_policy_asks_for_it() {
    assert!(check_confirm(None, None).is_ok());
    assert!(check_confirm(None, Some("anything")).is_ok());
    assert!(check_confirm(Some("cloud-api"), Some("cloud-api")).is_ok());
    let e = check_confirm(Some("cloud-api"), Some("Cloud-API")).expect_err("case");
    assert_eq!(e.input, "--confirm");
    assert_eq!(
        e.message,
        "\"Cloud-API\" does not match; type exactly \"cloud-api\" (case-sensitive)"
    );
    let e = check_confirm(Some("cloud-api"), None).expect_err("missing");
    assert_eq!(
        e.to_string(),
        "--confirm: this policy asks for confirmation: pass --confirm \"cloud-api\""
    );
}

const SHA: &str = "dac1007f00dba11c0ffee00000000000000000ab";

fn publish(digests: &[String]) -> Result<PublishRequest, String> {
    PublishRequest::parse(digests, SHA, false, &policy(&three_images())).map_err(|e| e.to_string())
}

#[test]
fn a_publish_names_one_digest_per_published_image_in_unit_order() {
    let r = publish(&[format!("worker={}", digest('b')), format!("api={}", digest('a'))]).expect("both");
    let want: Vec<Digest> = vec![digest('a').parse().expect("a"), digest('b').parse().expect("b")];
    assert_eq!(r.digests, want);
    assert_eq!(r.commit.to_string(), SHA);
    assert!(!r.force);
    assert_eq!(
        publish(&[format!("api={}", digest('a'))]).expect_err("worker missing"),
        "digest: missing for image ghcr.io/nearai/worker"
    );
    assert_eq!(
        publish(&[format!("api={}", digest('a')), format!("api={}", digest('c'))]).expect_err("twice"),
        "digest: image ghcr.io/nearai/api is given twice"
    );
    assert_eq!(
        publish(&[format!("tools={}", digest('a'))]).expect_err("not published"),
        "digest: image \"tools\" does not take part in publish (policy: operations)"
    );
    assert_eq!(
        publish(&[format!("web={}", digest('a'))]).expect_err("unknown"),
        "digest: \"web\" is not an image of unit cloud-api"
    );
    assert_eq!(
        publish(&[digest('a')]).expect_err("unnamed"),
        "digest: this unit has several images: give each as <image>=sha256:<64 hex>"
    );
    assert!(
        publish(&[format!("api={}", "sha256:1")])
            .expect_err("bad")
            .starts_with("digest: digest")
    );
}

#[test]
fn a_one_image_publish_takes_an_unnamed_digest_and_checks_the_commit() {
    let p = policy(&spec());
    let r = PublishRequest::parse(&[digest('a')], SHA, true, &p).expect("one image");
    assert_eq!(r.digests, vec![digest('a').parse::<Digest>().expect("digest")]);
    assert!(r.force);
    let e = PublishRequest::parse(&[digest('a')], "main", false, &p).expect_err("commit");
    assert_eq!(e.input, "commit");
}

#[test]
fn a_retag_never_writes_a_protected_tag_or_onto_itself() {
    let p = policy(&three_images());
    let r = RetagRequest::parse("rc-1", "qa", Some("worker"), &p).expect("retag");
    assert_eq!(
        (r.image, r.source, r.target),
        (1, RetagSource::Tag(tag("rc-1")), tag("qa"))
    );
    let r = RetagRequest::parse(&digest('c'), "qa", None, &p).expect("by digest");
    assert_eq!(r.image, 0);
    assert_eq!(
        r.source,
        RetagSource::Digest(digest('c').parse().expect("digest"))
    );
    for protected in ["prod", "prod-20260101-abc1234", "staging-20260101-abc1234"] {
        let e = RetagRequest::parse("rc-1", protected, None, &p).expect_err(protected);
        assert_eq!(e.input, "target");
        assert!(e.message.starts_with(&format!("{protected} is protected")), "{e}");
    }
    let e = RetagRequest::parse("qa", "qa", None, &p).expect_err("same");
    assert_eq!(e.to_string(), "target: source and target are both qa");
    let e = RetagRequest::parse("rc-1", "qa", Some("web"), &p).expect_err("image");
    assert_eq!(
        e.to_string(),
        "--image: \"web\" is not an image of unit cloud-api"
    );
    assert_eq!(
        RetagRequest::parse("a b", "qa", None, &p)
            .expect_err("source")
            .input,
        "source"
    );
    assert_eq!(
        RetagRequest::parse("rc-1", "q a", None, &p)
            .expect_err("target")
            .input,
        "target"
    );
}

#[test]
fn a_request_knows_its_operation_and_names_it() {
    let p = policy(&spec());
    let publish = Request::Publish(PublishRequest::parse(&[digest('a')], SHA, false, &p).expect("publish"));
    let rollback = Request::Rollback(RollbackRequest {
        target: RollbackTarget::Automatic,
        confirm: None,
    });
    let retag = Request::Retag(RetagRequest::parse("rc-1", "qa", None, &p).expect("retag"));
    assert_eq!(publish.kind(), OperationKind::Publish);
    assert_eq!(rollback.kind(), OperationKind::Rollback);
    assert_eq!(retag.kind(), OperationKind::Retag);
    let names: Vec<String> = [
        OperationKind::Publish,
        OperationKind::Promote,
        OperationKind::Rollback,
        OperationKind::Retag,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(names, ["publish", "promote", "rollback", "retag"]);
}
