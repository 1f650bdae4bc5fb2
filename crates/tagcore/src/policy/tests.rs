use super::*;

fn spec() -> PolicySpec {
    PolicySpec {
        unit: "cloud-api".into(),
        images: vec![ImageSpec {
            repository: "docker.io/nearai/cloud-api".into(),
            verify: false,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn field_of(s: &PolicySpec) -> String {
    Policy::from_spec(s).unwrap_err().field
}

#[test]
fn accepts_the_defaults() {
    let p = Policy::from_spec(&spec()).unwrap();
    assert_eq!(p.tags.prod.as_str(), "prod");
    assert!(p.tags.is_protected("prod-20260101-abc1234"));
    assert!(p.tags.is_protected("prod-rollback-x"));
    assert!(p.tags.is_protected("staging-20260101-abc1234"));
    assert!(!p.tags.is_protected("staging"));
}

#[test]
fn refuses_a_build_owned_prod_alias() {
    let mut s = spec();
    s.tags.prod_aliases = vec!["latest".into()];
    s.tags.publish_aliases = vec!["latest".into()];
    let e = Policy::from_spec(&s).unwrap_err();
    assert_eq!(e.field, "tags.publish_aliases[0]");
    assert!(e.message.contains("prod-owned"), "{e}");
}

#[test]
fn refuses_a_staging_stamp_in_the_prod_namespace() {
    let mut s = spec();
    s.tags.staging_stamp = "prod-{date}-{sha7}".into();
    assert_eq!(field_of(&s), "tags.staging_stamp");
}

#[test]
fn refuses_stamps_without_sha7_and_unknown_placeholders() {
    let mut s = spec();
    s.tags.prod_stamp = "prod-{date}".into();
    assert_eq!(
        Policy::from_spec(&s).unwrap_err().message,
        "template \"prod-{date}\" must contain {sha7}"
    );
    s.tags.prod_stamp = "prod-{date}-{sha8}".into();
    assert_eq!(field_of(&s), "tags.prod_stamp");
}

#[test]
fn refuses_automatic_rollback_without_stamps() {
    let mut s = spec();
    s.tags.prod_stamp = String::new();
    assert_eq!(field_of(&s), "rollback.automatic");
    s.rollback.automatic = false;
    s.rollback.targets = vec![TargetMode::Version];
    assert!(Policy::from_spec(&s).is_ok());
}

#[test]
fn refuses_verify_without_a_signature_policy() {
    let mut s = spec();
    s.images[0].verify = true;
    assert_eq!(field_of(&s), "images[0].verify");
    s.verify = Some(VerifySpec {
        issuer: Some("https://token.actions.githubusercontent.com".into()),
        ..Default::default()
    });
    assert_eq!(field_of(&s), "verify.identity");
    s.verify.as_mut().unwrap().identity_regex = Some("(".into());
    assert_eq!(field_of(&s), "verify.identity_regex");
    s.verify.as_mut().unwrap().identity_regex = Some(r"https://github\.com/nearai/cloud-api/.*".into());
    s.verify.as_mut().unwrap().key = Some("cosign.pub".into());
    assert_eq!(field_of(&s), "verify.key");
}

#[test]
fn refuses_bad_weekdays_dispatch_and_repositories() {
    let mut s = spec();
    s.publish.freeze_weekdays = vec!["tue".into(), "someday".into()];
    assert_eq!(field_of(&s), "publish.freeze_weekdays[1]");
    let mut s = spec();
    s.dispatch = vec![DispatchSpec {
        after: vec!["retag".into()],
        ..Default::default()
    }];
    assert_eq!(field_of(&s), "dispatch[0].after[0]");
    let mut s = spec();
    s.images.push(s.images[0].clone());
    assert_eq!(field_of(&s), "images[1].repository");
    let mut s = spec();
    s.images.clear();
    assert_eq!(field_of(&s), "images");
}

#[test]
fn checks_per_image_operations() {
    let mut s = spec();
    s.images.push(ImageSpec {
        repository: "docker.io/nearai/dashboard".into(),
        verify: false,
        operations: Some(vec!["publish".into()]),
        staging_stamp: false,
    });
    let p = Policy::from_spec(&s).unwrap();
    assert_eq!(p.images_for(OperationKind::Promote).count(), 1);
    assert_eq!(p.images_for(OperationKind::Publish).count(), 2);
    assert!(!p.images[1].staging_stamp);
    s.images[1].operations = Some(vec!["deploy".into()]);
    assert_eq!(field_of(&s), "images[1].operations[0]");
    s.images[1].operations = Some(vec![]);
    assert_eq!(field_of(&s), "images[1].operations");
    s.images.swap(0, 1);
    s.images[0].operations = Some(vec!["publish".into()]);
    assert_eq!(field_of(&s), "images[0].operations");
}

#[test]
fn retention_defaults_to_ten_releases_thirty_days_and_the_build_tag_patterns() {
    let p = Policy::from_spec(&spec()).unwrap();
    assert_eq!(p.retention.keep_releases, 10);
    assert_eq!(p.retention.keep_days, 30);
    let globs: Vec<_> = p.retention.prunable.iter().map(Glob::as_str).collect();
    assert_eq!(globs, ["staging-*", "pr-*", "sha-*"]);
}

#[test]
fn refuses_an_empty_rollback_window_and_bad_prunable_patterns() {
    let mut s = spec();
    s.retention.keep_releases = 0;
    let e = Policy::from_spec(&s).unwrap_err();
    assert_eq!(e.field, "retention.keep_releases");
    assert!(e.message.contains("at least 1"), "{e}");
    let mut s = spec();
    s.retention.prunable = vec!["pr-*".into(), "sha-[0-9]".into()];
    let e = Policy::from_spec(&s).unwrap_err();
    assert_eq!(e.field, "retention.prunable[1]");
    assert!(e.message.contains("'['"), "{e}");
}
