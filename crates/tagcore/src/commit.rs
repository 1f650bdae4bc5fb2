//! Source commit identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A git commit id, or a prefix of one: 7 to 64 lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitSha(String);

/// Why a string is not a commit id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("commit {input:?} is invalid; expected 7 to 64 hex characters (a git commit id)")]
pub struct CommitShaError {
    /// The rejected input.
    pub input: String,
}

impl CommitSha {
    /// Returns the full id (or prefix) as given, lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the first 7 hex characters, the `<sha7>` of stamps.
    pub fn sha7(&self) -> &str {
        &self.0[..7]
    }

    /// Returns whether this is a full 40- or 64-character id rather than a prefix.
    pub fn is_full(&self) -> bool {
        matches!(self.0.len(), 40 | 64)
    }
}

impl FromStr for CommitSha {
    type Err = CommitShaError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if (7..=64).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(input.to_ascii_lowercase()))
        } else {
            Err(CommitShaError {
                input: input.to_owned(),
            })
        }
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitSha({})", self.0)
    }
}

impl Serialize for CommitSha {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_short_ids() {
        let c: CommitSha = "DAC1007F00DBA11C0FFEE00000000000000000AB".parse().unwrap();
        assert_eq!(c.sha7(), "dac1007");
        assert!(c.is_full());
        assert!(!"dac1007".parse::<CommitSha>().unwrap().is_full());
    }

    #[test]
    fn refuses_non_hex_and_short_ids() {
        assert!("dac100".parse::<CommitSha>().is_err());
        assert!("main".parse::<CommitSha>().is_err());
        assert_eq!(
            "zzzzzzz".parse::<CommitSha>().unwrap_err().to_string(),
            "commit \"zzzzzzz\" is invalid; expected 7 to 64 hex characters (a git commit id)"
        );
    }
}
