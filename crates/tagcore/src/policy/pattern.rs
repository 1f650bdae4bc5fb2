//! Glob patterns over tag names and refs: `*` matches any run of characters.

use std::fmt;

/// A glob such as `prod-*` or `refs/tags/v*`; `*` matches any (possibly empty) run.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Glob(String);

impl Glob {
    /// Returns the glob for `pattern`, or why it is not one (empty, or a character outside
    /// `[A-Za-z0-9._/*-]`).
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("pattern is empty".to_owned());
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '*')))
        {
            return Err(format!(
                "pattern {pattern:?} contains {c:?}; expected [A-Za-z0-9._/-] and '*'"
            ));
        }
        Ok(Self(pattern.to_owned()))
    }

    /// Returns the pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        glob_match(self.0.as_bytes(), text.as_bytes())
    }
}

fn glob_match(p: &[u8], t: &[u8]) -> bool {
    // Iterative wildcard matching with one backtrack point: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

impl std::str::FromStr for Glob {
    type Err = String;

    fn from_str(pattern: &str) -> Result<Self, Self::Err> {
        Self::parse(pattern)
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({})", self.0)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prefixes_and_exact_names() {
        let g = Glob::parse("prod-*").unwrap();
        assert!(g.matches("prod-20260101-abc1234"));
        assert!(g.matches("prod-rollback-x"));
        assert!(!g.matches("prod"));
        assert!(Glob::parse("prod").unwrap().matches("prod"));
        assert!(Glob::parse("refs/tags/v*").unwrap().matches("refs/tags/v0.2.13"));
        assert!(!Glob::parse("refs/tags/v*").unwrap().matches("refs/pull/12/merge"));
        assert!(Glob::parse("a*b*c").unwrap().matches("axxbyyc"));
        assert!(!Glob::parse("a*b*c").unwrap().matches("axxbyy"));
    }

    #[test]
    fn refuses_bad_patterns() {
        assert!(Glob::parse("").is_err());
        assert_eq!(
            Glob::parse("prod?").unwrap_err(),
            "pattern \"prod?\" contains '?'; expected [A-Za-z0-9._/-] and '*'"
        );
    }
}
