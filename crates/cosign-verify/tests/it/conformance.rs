//! The public conformance suite `sigstore/sigstore-conformance` (`test/assets/bundle-verify`,
//! vendored in `tests/data/conformance/`, see its README), run through the crate's bundle
//! verification (`Policy::verify_bundle`): every happy path must be accepted and every `_fail`
//! case refused, except the cases listed in [`EXCEPTIONS`], each with its reason.

use std::path::{Path, PathBuf};

use cosign_verify::TrustedRootSource;
use cosign_verify::testing::TestPolicy;
use tagcore::policy::VerifySpec;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases whose outcome differs from the suite's expectation, and why. The test fails when an
/// exception starts matching the suite (so the list cannot go stale).
const EXCEPTIONS: &[(&str, &str)] = &[];

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance/bundle-verify")
}

/// Runs one case: `Ok` with a summary when accepted, `Err` with the reasons when refused.
fn run(dir: &Path) -> Result<String, String> {
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let text = |name: &str| read(name).map(|b| String::from_utf8_lossy(&b).trim().to_owned());
    let bundle = read("bundle.sigstore.json").expect("every case has a bundle");
    let artifact = read("artifact").unwrap_or_else(|| std::fs::read(cases().join("a.txt")).expect("a.txt"));
    let trusted_root =
        read("trusted_root.json").map_or(TrustedRootSource::PublicGood, TrustedRootSource::Json);
    let spec = match text("key.pub") {
        Some(pem) => VerifySpec {
            key: Some(pem),
            ..VerifySpec::default()
        },
        None => VerifySpec {
            issuer: Some(text("issuer").unwrap_or_else(|| DEFAULT_ISSUER.into())),
            identity: Some(text("identity").unwrap_or_else(|| DEFAULT_IDENTITY.into())),
            ..VerifySpec::default()
        },
    };
    let policy = TestPolicy { spec, trusted_root };
    let policy = policy.compile().map_err(|e| format!("policy: {e}"))?;
    policy
        .verify_bundle(&bundle, &artifact)
        .map(|v| format!("{:?} at {:?}", v.identity.or(v.key), v.signed_at))
        .map_err(|r| r.join("; "))
}

#[test]
fn the_public_conformance_suite_passes() {
    let mut names: Vec<String> = std::fs::read_dir(cases())
        .expect("cases")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut passed, mut excepted, mut wrong) = (0, 0, Vec::new());
    for name in &names {
        let expect_fail = name.ends_with("_fail");
        let outcome = run(&cases().join(name));
        let as_expected = outcome.is_err() == expect_fail;
        let exception = EXCEPTIONS.iter().find(|(n, _)| n == name);
        match (as_expected, exception) {
            (true, None) => passed += 1,
            (false, Some(_)) => excepted += 1,
            (true, Some((_, why))) => {
                wrong.push(format!("{name}: listed as an exception ({why}) but now passes"))
            }
            (false, None) => wrong.push(format!(
                "{name}: expected {}, got {outcome:?}",
                if expect_fail { "refusal" } else { "acceptance" }
            )),
        }
        println!("{name}: {outcome:?}");
    }
    println!(
        "conformance: {passed} of {} cases as the suite expects, {excepted} exceptions",
        names.len()
    );
    assert!(
        wrong.is_empty(),
        "{} cases disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(passed + excepted, names.len());
    assert!(names.len() >= 69, "the vendored suite has 69 cases");
}

#[test]
fn the_real_rekor_v2_happy_path_is_accepted() {
    for case in ["rekor2-dsse-happy-path", "rekor2-happy-path"] {
        let accepted = run(&cases().join(case)).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(accepted.contains("extremely-dangerous-oidc-beacon"), "{accepted}");
    }
}
