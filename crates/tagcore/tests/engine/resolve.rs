//! Resolve: one pinned reference per image, verified when asked; none for a refused image.

use tagcore::engine::ResolveRequest;
use tagcore::testing::block_on;

use crate::support::*;

fn two_images() -> World {
    let mut s = cloud_spec();
    let mut launcher = s.images[0].clone();
    launcher.repository = "docker.io/nearai/cloud-api-launcher".into();
    s.images.push(launcher);
    World::new(s)
}

fn request(verified: bool, at: Option<&str>) -> ResolveRequest {
    ResolveRequest {
        channel: "prod".parse().unwrap(),
        at: at.map(|a| a.parse().unwrap()),
        verified,
    }
}

#[test]
fn resolves_every_image_once_and_pins_it_by_digest() {
    let w = two_images();
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.signed_image(1, "b", SHA_A);
    w.reg.set_tag(&w.repo(0), "prod", &a, t("2026-06-24T09:00:00Z"));
    w.reg.set_tag(&w.repo(1), "prod", &b, t("2026-06-24T09:00:00Z"));
    w.reg.clear_calls();
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let r = block_on(engine.resolve_unit(&request(true, None))).unwrap();
    assert!(r.complete());
    let refs: Vec<_> = r.images.iter().map(|i| i.reference.clone().unwrap()).collect();
    assert_eq!(
        refs,
        [
            format!("docker.io/nearai/cloud-api@{a}"),
            format!("docker.io/nearai/cloud-api-launcher@{b}")
        ]
    );
    assert_eq!(w.reg.calls().len(), 2, "one read per image: {:?}", w.reg.calls());
    assert_eq!(w.ver.asked(), [a, b]);
}

#[test]
fn a_refused_image_gets_no_reference_and_the_report_is_incomplete() {
    let w = two_images();
    let a = w.signed_image(0, "a", SHA_A);
    let b = w.reg.add_image(&w.repo(1), "b");
    w.ver.refuse(&b, "signed by a pull-request build");
    w.reg.set_tag(&w.repo(0), "prod", &a, t("2026-06-24T09:00:00Z"));
    w.reg.set_tag(&w.repo(1), "prod", &b, t("2026-06-24T09:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let r = block_on(engine.resolve_unit(&request(true, None))).unwrap();
    assert!(!r.complete());
    assert!(r.images[0].reference.is_some());
    assert_eq!(r.images[1].reference, None);
    assert_eq!(
        r.images[1].note.as_deref(),
        Some(
            format!(
                "docker.io/nearai/cloud-api-launcher@{b}: signature refused: signed by a pull-request build"
            )
            .as_str()
        )
    );
    // Without --verified, both are pinned as they are.
    let r = block_on(engine.resolve_unit(&request(false, None))).unwrap();
    assert!(r.complete());
}

#[test]
fn at_names_a_release_and_a_missing_tag_is_an_error() {
    let w = World::cloud();
    let a = w.signed_image(0, "a", SHA_A);
    w.reg
        .set_tag(&w.repo(0), "prod-20260624-a2fad42", &a, t("2026-06-24T09:00:00Z"));
    let engine = tagcore::Engine::new(&w.policy, &w.reg, &w.ver, &w.audit);
    let r = block_on(engine.resolve_unit(&request(true, Some("prod-20260624-a2fad42")))).unwrap();
    assert_eq!(r.tag.as_str(), "prod-20260624-a2fad42");
    assert_eq!(r.images[0].digest, a);
    let err = block_on(engine.resolve_unit(&request(false, None))).unwrap_err();
    assert_eq!(err.message, "docker.io/nearai/cloud-api:prod does not exist");
}

#[test]
fn parse_accepts_channels_and_releases_and_names_the_bad_input() {
    let w = two_images();
    let p = &w.policy;
    let r = ResolveRequest::parse("prod", Some("prod-20260624-abcdef1"), true, p).unwrap();
    assert_eq!(
        (r.channel.as_str(), r.at.unwrap().as_str()),
        ("prod", "prod-20260624-abcdef1")
    );
    let r = ResolveRequest::parse("staging", Some("v0.2.13"), false, p).unwrap();
    assert_eq!(r.at.unwrap().as_str(), "0.2.13");
    let e = ResolveRequest::parse("latest-build", None, false, p).unwrap_err();
    assert_eq!(e.input, "channel");
    assert!(e.message.contains("expected one of prod, staging"), "{e:?}");
    let e = ResolveRequest::parse("prod", Some("pr-17"), false, p).unwrap_err();
    assert_eq!(e.input, "--at");
    assert!(e.message.contains("a version (v0.2.13)"), "{e:?}");
}
