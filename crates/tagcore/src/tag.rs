//! Tag names: the OCI grammar `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A tag name that satisfies the OCI distribution grammar.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

/// Why a string is not a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// The input is empty.
    #[error("tag is empty; expected [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}")]
    Empty,
    /// The input is longer than 128 characters.
    #[error("tag {input:?} is {len} characters long; expected at most 128")]
    TooLong {
        /// The rejected input.
        input: String,
        /// Its length.
        len: usize,
    },
    /// The input contains a character outside the grammar.
    #[error("tag {input:?} contains {ch:?} at position {pos}; expected [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}")]
    Character {
        /// The rejected input.
        input: String,
        /// The offending character.
        ch: char,
        /// Its 0-based character position.
        pos: usize,
    },
}

impl Tag {
    /// Returns the tag as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns whether this is a cosign/referrers artifact tag (`sha256-<hex>`, `.sig`, `.att`,
    /// `.sbom`): such tags are never candidates for anything and are filtered from listings.
    pub fn is_signature_artifact(&self) -> bool {
        is_signature_artifact(&self.0)
    }
}

/// Returns whether `name` is a cosign/referrers artifact tag such as `sha256-<hex>.sig`.
pub fn is_signature_artifact(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("sha256-") else {
        return false;
    };
    let hex = rest
        .strip_suffix(".sig")
        .or_else(|| rest.strip_suffix(".att"))
        .or_else(|| rest.strip_suffix(".sbom"))
        .unwrap_or(rest);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

impl FromStr for Tag {
    type Err = TagError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(TagError::Empty);
        }
        for (pos, ch) in input.chars().enumerate() {
            let ok = ch.is_ascii_alphanumeric() || ch == '_' || (pos > 0 && matches!(ch, '.' | '-'));
            if !ok {
                return Err(TagError::Character {
                    input: input.to_owned(),
                    ch,
                    pos,
                });
            }
        }
        if input.len() > 128 {
            return Err(TagError::TooLong {
                input: input.to_owned(),
                len: input.len(),
            });
        }
        Ok(Self(input.to_owned()))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.0)
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_grammar() {
        for ok in [
            "prod",
            "_x",
            "0.2.13-p1",
            "staging-20260624-abc1234",
            &"a".repeat(128),
        ] {
            assert_eq!(ok.parse::<Tag>().unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_a_space_naming_the_position() {
        let err = "lat est".parse::<Tag>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "tag \"lat est\" contains ' ' at position 3; expected [A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
        );
    }

    #[test]
    fn refuses_leading_dot_or_dash_and_overlong() {
        assert!(matches!(
            ".x".parse::<Tag>(),
            Err(TagError::Character { pos: 0, .. })
        ));
        assert!(matches!(
            "-x".parse::<Tag>(),
            Err(TagError::Character { pos: 0, .. })
        ));
        assert!(matches!(
            "a".repeat(129).parse::<Tag>(),
            Err(TagError::TooLong { len: 129, .. })
        ));
        assert_eq!("".parse::<Tag>(), Err(TagError::Empty));
    }

    #[test]
    fn recognises_signature_artifacts() {
        let hex = "a".repeat(64);
        assert!(is_signature_artifact(&format!("sha256-{hex}")));
        assert!(is_signature_artifact(&format!("sha256-{hex}.sig")));
        assert!(is_signature_artifact(&format!("sha256-{hex}.att")));
        assert!(!is_signature_artifact("sha256-abc.sig"));
        assert!(!is_signature_artifact("prod"));
    }
}
