//! Tag names: the OCI grammar, cosign's artifact tags, and the tag's text and JSON forms.

use tagcore::{Tag, TagError, is_signature_artifact};

#[test]
fn a_tag_has_at_most_128_characters_and_starts_with_a_word_character() {
    assert!("a".repeat(128).parse::<Tag>().is_ok());
    assert_eq!(
        "a".repeat(129).parse::<Tag>(),
        Err(TagError::TooLong {
            input: "a".repeat(129),
            len: 129
        })
    );
    assert!("_x".parse::<Tag>().is_ok());
    assert!("x.-_".parse::<Tag>().is_ok());
    for (bad, ch, pos) in [(".x", '.', 0), ("-x", '-', 0), ("x/y", '/', 1), ("x:y", ':', 1)] {
        assert_eq!(
            bad.parse::<Tag>(),
            Err(TagError::Character {
                input: bad.into(),
                ch,
                pos
            }),
            "{bad}"
        );
    }
    assert_eq!("".parse::<Tag>(), Err(TagError::Empty));
}

#[test]
fn cosign_artifact_tags_are_sha256_dash_hex_with_an_optional_known_suffix() {
    let hex = "0123456789abcdef".repeat(4);
    for ok in [
        format!("sha256-{hex}"),
        format!("sha256-{hex}.sig"),
        format!("sha256-{hex}.att"),
        format!("sha256-{hex}.sbom"),
        format!("sha256-{}.sig", hex.to_uppercase()),
    ] {
        assert!(is_signature_artifact(&ok), "{ok}");
        assert!(ok.parse::<Tag>().expect("a tag").is_signature_artifact(), "{ok}");
    }
    for not in [
        format!("sha256-{}.sig", &hex[1..]),
        format!("sha256-{hex}0.sig"),
        format!("sha256-{}g.sig", &hex[1..]),
        format!("sha512-{hex}.sig"),
        format!("sha256-{hex}.sig.sig"),
        format!("sha256-{hex}.cert"),
        "prod".to_owned(),
    ] {
        assert!(!is_signature_artifact(&not), "{not}");
        if let Ok(t) = not.parse::<Tag>() {
            assert!(!t.is_signature_artifact(), "{not}");
        }
    }
}

#[test]
fn a_tag_shows_its_name_in_text_debug_and_json() {
    let t: Tag = "staging-20260624-abc1234".parse().expect("a tag");
    assert_eq!(t.as_str(), "staging-20260624-abc1234");
    assert_eq!(t.to_string(), "staging-20260624-abc1234");
    assert_eq!(format!("{t:?}"), "Tag(staging-20260624-abc1234)");
    let json = serde_json::to_string(&t).expect("json");
    assert_eq!(json, "\"staging-20260624-abc1234\"");
    assert_eq!(serde_json::from_str::<Tag>(&json).expect("back"), t);
    assert!(serde_json::from_str::<Tag>("\"a b\"").is_err());
}
