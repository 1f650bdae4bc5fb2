//! Globs over tag names and refs (`tags.protected`, `workflow_refs`): `*` is any run.

use tagcore::policy::Glob;

fn m(pattern: &str, text: &str) -> bool {
    Glob::parse(pattern).expect("a glob").matches(text)
}

#[test]
fn a_star_matches_any_run_including_none_and_the_rest_is_literal() {
    assert!(m("*", ""));
    assert!(m("*", "anything"));
    assert!(m("**", "x"));
    assert!(m("prod-*", "prod-"));
    assert!(m("*-rc", "1.0-rc"));
    assert!(!m("*-rc", "1.0-rc1"));
    assert!(m("a*b", "ab"));
    assert!(m("a*b", "abab"));
    assert!(!m("a*b", "aba"));
    assert!(m("a*a*a", "aaa"));
    assert!(!m("a*a*a", "aa"));
    assert!(m("*a*b", "xxaxxbxxb"));
    assert!(!m("prod", "prod2"));
    assert!(!m("prod", "pro"));
    assert!(!m("prod*", "pro"));
}

#[test]
fn a_glob_is_a_restricted_alphabet_and_shows_as_written() {
    let g = Glob::parse("refs/tags/v*_x.y-z").expect("a glob");
    assert_eq!(g.as_str(), "refs/tags/v*_x.y-z");
    assert_eq!(g.to_string(), "refs/tags/v*_x.y-z");
    assert_eq!(format!("{g:?}"), "Glob(refs/tags/v*_x.y-z)");
    for bad in ["a b", "a?", "a[b]", "ä", "a:b"] {
        assert!(Glob::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Glob::parse("").expect_err("empty"), "pattern is empty");
}
