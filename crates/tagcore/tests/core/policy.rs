//! Policy validation: each problem is named by its field, and the built policy answers the
//! questions operations ask (which image, which tags prod owns).

use tagcore::OperationKind;
use tagcore::policy::{PolicySpec, SourceMode, StepMode, TargetMode, VerifySpec};

use crate::support::{policy, spec, three_images};

/// An edit of a spec, and the field its refusal names.
type Case = (&'static str, Box<dyn Fn(&mut PolicySpec)>);

fn field(s: &PolicySpec) -> String {
    tagcore::policy::Policy::from_spec(s).expect_err("refused").field
}

#[test]
fn tag_names_and_templates_are_refused_by_their_field() {
    let cases: Vec<Case> = vec![
        ("tags.staging", Box::new(|s| s.tags.staging = "a b".into())),
        ("tags.prod", Box::new(|s| s.tags.prod = String::new())),
        ("tags.prod", Box::new(|s| s.tags.prod = "staging".into())),
        (
            "tags.staging_stamp",
            Box::new(|s| s.tags.staging_stamp = "staging-{date}".into()),
        ),
        (
            "tags.staging_stamp",
            Box::new(|s| s.tags.staging_stamp = "staging-{time}-{sha7}".into()),
        ),
        (
            "tags.prod_stamp",
            Box::new(|s| s.tags.prod_stamp = "prod-{version}-{sha7}".into()),
        ),
        (
            "tags.rollback_audit",
            Box::new(|s| s.tags.rollback_audit = "rb-{date}".into()),
        ),
        (
            "tags.rollback_audit",
            Box::new(|s| s.tags.rollback_audit = "rb-{date}-{time}-{sha7}".into()),
        ),
        ("tags.version", Box::new(|s| s.tags.version = "v-{date}".into())),
        (
            "tags.prod_aliases[1]",
            Box::new(|s| s.tags.prod_aliases = vec!["live".into(), "a b".into()]),
        ),
        (
            "tags.prod_aliases[0]",
            Box::new(|s| s.tags.prod_aliases = vec!["prod".into()]),
        ),
        (
            "tags.publish_aliases[0]",
            Box::new(|s| s.tags.publish_aliases = vec![":x".into()]),
        ),
        (
            "tags.publish_aliases[0]",
            Box::new(|s| s.tags.publish_aliases = vec!["prod-20260101-0000000".into()]),
        ),
        (
            "tags.protected[1]",
            Box::new(|s| s.tags.protected = vec!["prod".into(), "a?".into()]),
        ),
        (
            "tags.staging_stamp",
            Box::new(|s| s.tags.prod_aliases = vec!["staging-20260101-0000000".into()]),
        ),
        (
            "tags.prod_stamp",
            Box::new(|s| s.tags.prod_stamp = "0.0.{sha7}".into()),
        ),
        (
            "tags.prod_stamp",
            Box::new(|s| {
                s.tags.prod_stamp = "r{sha7}".into();
                s.tags.prod_aliases = vec!["rabcdef0".into()];
            }),
        ),
    ];
    for (want, edit) in cases {
        let mut s = spec();
        edit(&mut s);
        assert_eq!(field(&s), want, "{:?}", s.tags);
    }
}

#[test]
fn templates_may_use_exactly_their_allowed_placeholders() {
    let mut s = spec();
    s.tags.staging_stamp = "build-{sha7}".into();
    s.tags.prod_stamp = "release-{date}-{sha7}".into();
    s.tags.rollback_audit = "undo-{date}-{time}".into();
    s.tags.version = "v{version}".into();
    let p = policy(&s);
    assert!(p.tags.is_prod_owned("release-20260101-abc1234"));
    assert!(p.tags.is_prod_owned("undo-20260101-101010"));
    assert!(!p.tags.is_prod_owned("build-abc1234"));
}

#[test]
fn prod_owns_its_channel_aliases_stamps_and_audit_tags() {
    let mut s = spec();
    s.tags.prod_aliases = vec!["live".into()];
    s.tags.publish_aliases = vec!["latest".into()];
    s.tags.protected = vec!["keep-*".into()];
    let p = policy(&s);
    for owned in [
        "prod",
        "live",
        "prod-20260101-abc1234",
        "prod-rollback-20260101-101010-from-x",
    ] {
        assert!(p.tags.is_prod_owned(owned), "{owned}");
        assert!(p.tags.is_protected(owned), "{owned}");
    }
    for not in [
        "latest",
        "staging",
        "staging-20260101-abc1234",
        "keep-me",
        "prod-x",
    ] {
        assert!(!p.tags.is_prod_owned(not), "{not}");
    }
    assert!(p.tags.is_protected("keep-me"));
    assert!(!p.tags.is_protected("latest"));
}

#[test]
fn promote_and_rollback_settings_are_checked_together() {
    let mut s = spec();
    s.promote.sources = vec![];
    assert_eq!(field(&s), "promote.sources");
    let mut s = three_images();
    s.promote.sources = vec![SourceMode::Digest];
    assert_eq!(field(&s), "promote.sources");
    s.promote.sources = vec![SourceMode::Digest, SourceMode::Staging];
    assert!(tagcore::policy::Policy::from_spec(&s).is_ok());
    // One image taking part in promote may promote by digest alone.
    let mut s = spec();
    s.promote.sources = vec![SourceMode::Digest];
    assert!(tagcore::policy::Policy::from_spec(&s).is_ok());
    let mut s = spec();
    s.rollback.audit_tag = StepMode::Off;
    assert_eq!(field(&s), "rollback.audit_tag");
    let mut s = spec();
    s.rollback.targets = vec![];
    assert_eq!(field(&s), "rollback.targets");
    let mut s = spec();
    s.tags.prod_stamp = String::new();
    s.rollback.automatic = false;
    assert_eq!(field(&s), "rollback.targets");
    s.rollback.targets = vec![TargetMode::Version];
    assert!(tagcore::policy::Policy::from_spec(&s).is_ok());
    s.rollback.automatic = true;
    assert_eq!(field(&s), "rollback.automatic");
}

#[test]
fn confirmations_are_off_when_empty_and_the_unit_has_a_default_name() {
    let mut s = spec();
    s.unit = String::new();
    let p = policy(&s);
    assert_eq!(p.unit, "default");
    assert_eq!(p.promote.confirm, None);
    assert_eq!(p.rollback.confirm, None);
    s.promote.confirm = "cloud-api".into();
    s.rollback.confirm = "rollback cloud-api".into();
    s.unit = "cloud-api".into();
    let p = policy(&s);
    assert_eq!(p.unit, "cloud-api");
    assert_eq!(p.promote.confirm.as_deref(), Some("cloud-api"));
    assert_eq!(p.rollback.confirm.as_deref(), Some("rollback cloud-api"));
}

#[test]
fn an_image_is_found_by_full_name_path_or_last_component() {
    let p = policy(&three_images());
    assert_eq!(p.find_image("ghcr.io/nearai/worker"), Some(1));
    assert_eq!(p.find_image("nearai/worker"), Some(1));
    assert_eq!(p.find_image("worker"), Some(1));
    assert_eq!(p.find_image("tools"), Some(2));
    assert_eq!(p.find_image("nearai"), None);
    assert_eq!(p.find_image("ghcr.io/nearai"), None);
    assert_eq!(p.primary().repository.path(), "nearai/api");
    let promoted: Vec<&str> = p
        .images_for(OperationKind::Promote)
        .map(|i| i.repository.path())
        .collect();
    assert_eq!(promoted, ["nearai/api", "nearai/worker", "nearai/tools"]);
    let published: Vec<&str> = p
        .images_for(OperationKind::Publish)
        .map(|i| i.repository.path())
        .collect();
    assert_eq!(published, ["nearai/api", "nearai/worker"]);
}

#[test]
fn image_operations_are_named_once_and_cover_every_operation() {
    let with_ops = |ops: &[&[&str]]| {
        let mut s = three_images();
        for (i, o) in ops.iter().enumerate() {
            s.images[i].operations = Some(o.iter().map(|x| (*x).to_owned()).collect());
        }
        s
    };
    assert_eq!(
        field(&with_ops(&[&["promote", "rollback", "promote"]])),
        "images[0].operations[2]"
    );
    assert_eq!(
        field(&with_ops(&[&["promote", "deploy"]])),
        "images[0].operations[1]"
    );
    assert_eq!(field(&with_ops(&[&["promote"]])), "images[0].operations");
    assert_eq!(field(&with_ops(&[&["rollback"]])), "images[0].operations");
    assert_eq!(
        field(&with_ops(&[
            &["promote", "rollback"],
            &["promote", "rollback", "publish"]
        ])),
        "images[2].operations",
        "nobody retags"
    );
    assert!(
        tagcore::policy::Policy::from_spec(&with_ops(&[
            &["promote", "rollback"],
            &["publish", "retag", "promote"]
        ]))
        .is_ok()
    );
    let mut s = spec();
    s.images = vec![];
    assert_eq!(field(&s), "images");
    let mut s = three_images();
    s.images[2].repository = "ghcr.io/nearai/api".into();
    assert_eq!(field(&s), "images[2].repository");
}

#[test]
fn keyless_and_key_settings_are_exclusive_and_complete() {
    let keyless = || VerifySpec {
        issuer: Some("https://token.actions.githubusercontent.com".into()),
        identity: Some(
            "https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main".into(),
        ),
        ..Default::default()
    };
    let with = |v: VerifySpec| {
        let mut s = spec();
        s.images[0].verify = true;
        s.verify = Some(v);
        s
    };
    assert!(tagcore::policy::Policy::from_spec(&with(keyless())).is_ok());
    assert_eq!(
        field(&with(VerifySpec {
            issuer: Some(String::new()),
            ..keyless()
        })),
        "verify.issuer"
    );
    assert_eq!(
        field(&with(VerifySpec {
            issuer: None,
            ..keyless()
        })),
        "verify.issuer"
    );
    assert_eq!(
        field(&with(VerifySpec {
            key: Some("cosign.pub".into()),
            ..keyless()
        })),
        "verify.key"
    );
    for only in [
        VerifySpec {
            identity: Some("x".into()),
            ..Default::default()
        },
        VerifySpec {
            identity_regex: Some("x".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(
            field(&with(VerifySpec {
                key: Some("k.pub".into()),
                ..only
            })),
            "verify.key"
        );
    }
    assert_eq!(
        field(&with(VerifySpec {
            key: Some(" ".into()),
            ..Default::default()
        })),
        "verify.key"
    );
    assert!(
        tagcore::policy::Policy::from_spec(&with(VerifySpec {
            key: Some("cosign.pub".into()),
            ..Default::default()
        }))
        .is_ok()
    );
    assert_eq!(
        field(&with(VerifySpec {
            workflow_refs: vec!["refs/heads/main".into(), "refs/*?".into()],
            ..keyless()
        })),
        "verify.workflow_refs[1]"
    );
}

#[test]
fn a_dispatch_payload_keeps_its_template_text() {
    let mut s = spec();
    s.dispatch = vec![tagcore::policy::DispatchSpec {
        target: "deploy".into(),
        after: vec!["promote".into()],
        payload: Some([("image".to_owned(), "{unit}@{digest}".to_owned())].into()),
        ..Default::default()
    }];
    let p = policy(&s);
    let payload = p.dispatch[0].payload.as_ref().expect("a payload");
    assert_eq!(payload[0].0, "image");
    assert_eq!(payload[0].1.as_str(), "{unit}@{digest}");
}

#[test]
fn a_dispatch_payload_may_have_exactly_the_allowed_number_of_keys() {
    let with_keys = |n: usize| {
        let mut s = spec();
        s.dispatch = vec![tagcore::policy::DispatchSpec {
            target: "deploy".into(),
            after: vec!["promote".into()],
            payload: Some((0..n).map(|i| (format!("k{i}"), "{digest}".to_owned())).collect()),
            payload_max_keys: 3,
            ..Default::default()
        }];
        s
    };
    assert!(tagcore::policy::Policy::from_spec(&with_keys(3)).is_ok());
    assert_eq!(field(&with_keys(4)), "dispatch[0].payload");
}
