//! The signature policy's matchers and the `[verify]` checks the gate relies on: how identities
//! and refs match, compare and print, and what an empty or malformed setting is refused as.

use tagcore::policy::{
    IdentityMatcher, ImageSpec, Policy, PolicyError, RefPattern, SignatureMethod, SignaturePolicy, VerifySpec,
};

use crate::support::spec;

const ISSUER: &str = "https://token.actions.githubusercontent.com";
const IDENTITY: &str = "https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main";

fn keyless(v: VerifySpec) -> Result<SignaturePolicy, PolicyError> {
    let mut s = spec();
    s.images[0].verify = true;
    s.verify = Some(VerifySpec {
        issuer: Some(ISSUER.into()),
        ..v
    });
    Policy::from_spec(&s).map(|p| p.signature.expect("a signature policy"))
}

fn identity(p: &SignaturePolicy) -> &IdentityMatcher {
    match &p.method {
        SignatureMethod::Keyless(k) => &k.identity,
        other => panic!("not keyless: {other:?}"),
    }
}

#[test]
fn an_exact_identity_matches_only_itself_and_a_regex_the_whole_identity() {
    let exact = IdentityMatcher::Exact(IDENTITY.into());
    assert!(exact.matches(IDENTITY));
    assert!(!exact.matches(&format!("{IDENTITY}x")));
    let regex = IdentityMatcher::regex("https://github.com/nearai/.*").expect("compiles");
    assert!(regex.matches(IDENTITY));
    assert!(!regex.matches(&format!("x{IDENTITY}")));
}

#[test]
fn identities_compare_by_kind_and_text_and_print_as_written() {
    let exact = |s: &str| IdentityMatcher::Exact(s.into());
    let regex = |s: &str| IdentityMatcher::regex(s).expect("compiles");
    assert_eq!(exact("a"), exact("a"));
    assert_ne!(exact("a"), exact("b"));
    assert_eq!(regex("a.*"), regex("a.*"));
    assert_ne!(regex("a.*"), regex("b.*"));
    assert_ne!(exact("a"), regex("a"));
    assert_ne!(regex("a"), exact("a"));
    assert_eq!(format!("{:?}", exact("a")), "Exact(a)");
    assert_eq!(format!("{:?}", regex("a.*")), "Regex(^(?:a.*)$)");
    assert_eq!(exact("a").to_string(), "a");
    assert_eq!(regex("a.*").to_string(), "/^(?:a.*)$/");
    // The built policy keeps the matcher it was given.
    let built = keyless(VerifySpec {
        identity: Some(IDENTITY.into()),
        ..VerifySpec::default()
    })
    .expect("valid");
    assert_eq!(identity(&built), &exact(IDENTITY));
}

#[test]
fn ref_patterns_print_as_written() {
    for text in ["refs/heads/main", "refs/tags/v*"] {
        let p: RefPattern = text.parse().expect("a ref pattern");
        assert_eq!(p.to_string(), text);
    }
}

#[test]
fn an_empty_identity_regex_is_refused_and_a_bad_one_is_named_in_one_line() {
    let err = keyless(VerifySpec {
        identity_regex: Some("  ".into()),
        ..VerifySpec::default()
    })
    .expect_err("empty");
    assert_eq!(err.field, "verify.identity_regex");
    assert!(err.message.contains("is empty"), "{}", err.message);
    let err = keyless(VerifySpec {
        identity_regex: Some("(unclosed".into()),
        ..VerifySpec::default()
    })
    .expect_err("does not compile");
    assert_eq!(err.field, "verify.identity_regex");
    assert!(
        err.message.starts_with("\"(unclosed\" is not a valid regex: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("unclosed group"), "{}", err.message);
    assert!(!err.message.contains('\n'), "{}", err.message);
}

#[test]
fn an_allowed_reference_with_a_tag_or_digest_is_refused_as_such() {
    for entry in [
        "ghcr.io/o/n:v1",
        "ghcr.io/o/n@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let err = keyless(VerifySpec {
            identity: Some(IDENTITY.into()),
            allowed_references: vec![entry.into()],
            ..VerifySpec::default()
        })
        .expect_err("a tag or digest");
        assert_eq!(err.field, "verify.allowed_references[0]");
        assert!(
            err.message.contains("expected one without tag or digest"),
            "{entry}: {}",
            err.message
        );
    }
    // A registry port is not a tag.
    let ok = keyless(VerifySpec {
        identity: Some(IDENTITY.into()),
        allowed_references: vec!["127.0.0.1:5000/o/n".into()],
        ..VerifySpec::default()
    })
    .expect("a repository on a port");
    assert_eq!(ok.allowed_references[0].to_string(), "127.0.0.1:5000/o/n");
}

#[test]
fn an_image_written_without_verify_or_staging_stamp_gets_both() {
    let image: ImageSpec =
        serde_json::from_str(r#"{"repository": "docker.io/nearai/cloud-api"}"#).expect("an image");
    assert!(image.verify && image.staging_stamp, "{image:?}");
    assert_eq!(
        image,
        ImageSpec {
            repository: "docker.io/nearai/cloud-api".into(),
            ..ImageSpec::default()
        }
    );
}
