//! The policy file is untrusted input: arbitrary text, and the fixture
//! policies with bytes flipped, inserted or cut, never make the loader panic; every refusal
//! names the file and says what is wrong. `PROPTEST_CASES=10000` locally; 256 by default.

use std::path::Path;

use proptest::prelude::*;

use super::{Needs, parse};
use tagcore::OperationKind;

const FIXTURES: [&str; 3] = [
    include_str!("../../../../fixtures/policies/cloud-api.toml"),
    include_str!("../../../../fixtures/policies/chat-api.toml"),
    include_str!("../../../../fixtures/policies/compose-manager.toml"),
];

fn env(name: &str) -> Option<String> {
    match name {
        "EMPTY" => Some(String::new()),
        "WEIRD" => Some("${WEIRD}\n\"'\\[x]".to_owned()),
        _ => Some(format!("value-of-{name}")),
    }
}

/// A fixture with up to 4 byte edits (indexes wrap), kept as text.
fn mutated() -> impl Strategy<Value = String> {
    (
        0usize..FIXTURES.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..5),
    )
        .prop_map(|(i, edits)| {
            let mut b = FIXTURES[i].as_bytes().to_vec();
            for (at, byte, op) in edits {
                let at = at % (b.len() + 1);
                match op {
                    0 if at < b.len() => b[at] = byte,
                    1 => b.insert(at, byte),
                    _ => b.truncate(at),
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        })
}

/// Small TOML documents made of the policy's own keys with arbitrary values.
fn shaped() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("unit"),
        Just("images"),
        Just("repository"),
        Just("host"),
        Just("prod"),
        Just("prod_stamp"),
        Just("prod_aliases"),
        Just("staging_stamp"),
        Just("hub_api"),
        Just("key"),
        Just("identity_regex"),
        Just("trusted_root"),
        Just("freeze_weekdays"),
        Just("sources"),
        Just("mode"),
        Just("after"),
        Just("workflow"),
        Just("api_url"),
    ];
    let value = prop_oneof![
        "\"[ -~]{0,30}\"".prop_map(|s| s),
        "[0-9-]{1,12}",
        Just("true".to_owned()),
        "\\[\"[ -~&&[^\"\\\\]]{0,12}\"\\]",
        Just("\"${GITHUB_TOKEN}\"".to_owned()),
        Just("{ repository = \"docker.io/a/b\" }".to_owned()),
    ];
    let section = prop_oneof![
        Just(""),
        Just("[unit.a]\n"),
        Just("[tags]\n"),
        Just("[verify]\n"),
        Just("[registry]\n"),
        Just("[[images]]\n"),
        Just("[release]\n"),
        Just("[dispatch]\n"),
        Just("[[dispatch]]\n"),
    ];
    proptest::collection::vec((section, key, value), 0..12).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(s, k, v)| format!("{s}{k} = {v}\n"))
            .collect()
    })
}

fn check(text: &str) -> Result<(), TestCaseError> {
    for unit in [None, Some("cloud-api"), Some("é")] {
        let needs = Needs {
            registry: true,
            release: true,
            dispatch: Some(OperationKind::Rollback),
        };
        if let Err(e) = parse(Path::new("tagcli.toml"), text, unit, &env, &needs) {
            prop_assert!(!e.message.trim().is_empty());
            prop_assert_eq!(e.file.as_path(), Path::new("tagcli.toml"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(testkit::prop_config())]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text)?;
    }

    #[test]
    fn mutated_fixture_policies_never_panic(text in mutated()) {
        check(&text)?;
    }

    #[test]
    fn policy_shaped_documents_never_panic(text in shaped()) {
        check(&text)?;
    }
}
