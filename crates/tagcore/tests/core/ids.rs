//! Digests and commit ids: parsing, their text forms and their JSON forms.

use tagcore::{CommitSha, Digest};

const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn a_digest_is_the_sha256_of_its_bytes() {
    // sha256("") is a well-known constant.
    assert_eq!(
        Digest::of(b"").as_str(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_ne!(Digest::of(b"a"), Digest::of(b"b"));
}

#[test]
fn a_digest_parses_to_itself_and_shows_its_text_in_debug() {
    let text = format!("sha256:{HEX}");
    let d: Digest = text.parse().expect("a valid digest");
    assert_eq!(d.as_str(), text);
    assert_eq!(d.hex(), HEX);
    assert_eq!(d.short(), "0123456");
    assert_eq!(d.signature_tag(), format!("sha256-{HEX}.sig"));
    assert_eq!(format!("{d:?}"), format!("Digest({text})"));
    assert_eq!(d.to_string(), text);
}

#[test]
fn a_digest_round_trips_through_json_and_a_bad_one_is_refused() {
    let text = format!("sha256:{HEX}");
    let d: Digest = text.parse().expect("a valid digest");
    let json = serde_json::to_string(&d).expect("serialize");
    assert_eq!(json, format!("\"{text}\""));
    let back: Digest = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, d);
    let err = serde_json::from_str::<Digest>("\"sha256:abc\"").expect_err("too short");
    assert!(err.to_string().contains("expected exactly 64"), "{err}");
}

#[test]
fn a_commit_id_is_lowercased_and_shows_its_text() {
    let c: CommitSha = "DAC1007F00DBA11C0FFEE00000000000000000AB"
        .parse()
        .expect("a commit");
    assert_eq!(c.to_string(), "dac1007f00dba11c0ffee00000000000000000ab");
    assert_eq!(
        format!("{c:?}"),
        "CommitSha(dac1007f00dba11c0ffee00000000000000000ab)"
    );
    assert_eq!(
        serde_json::to_string(&c).expect("serialize"),
        "\"dac1007f00dba11c0ffee00000000000000000ab\""
    );
}
