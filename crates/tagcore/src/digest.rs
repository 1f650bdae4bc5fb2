//! Content digests: `sha256:<64 lowercase hex>`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A sha256 content digest, always `sha256:` followed by 64 lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The input is empty.
    #[error("digest is empty; expected sha256:<64 lowercase hex>")]
    Empty,
    /// The algorithm prefix is missing or is not `sha256:`.
    #[error("digest {input:?} lacks the `sha256:` prefix; expected sha256:<64 lowercase hex>")]
    MissingPrefix {
        /// The rejected input.
        input: String,
    },
    /// The hex part has the wrong length.
    #[error("digest {input:?} has {len} hex characters; expected exactly 64 after `sha256:`")]
    Length {
        /// The rejected input.
        input: String,
        /// How many characters followed the prefix.
        len: usize,
    },
    /// The hex part contains a character outside `0-9a-f`.
    #[error("digest {input:?} contains {ch:?}; expected only lowercase hex (0-9, a-f)")]
    Character {
        /// The rejected input.
        input: String,
        /// The first offending character.
        ch: char,
    },
}

impl Digest {
    /// Returns the digest of `bytes`, computed locally.
    pub fn of(bytes: &[u8]) -> Self {
        Self(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// Returns the full string, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the 64 hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Returns the first 7 hex characters, used when the source commit is unknown.
    pub fn short(&self) -> &str {
        &self.hex()[..7]
    }

    /// Returns the cosign signature tag of this digest, `sha256-<hex>.sig`.
    pub fn signature_tag(&self) -> String {
        format!("sha256-{}.sig", self.hex())
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(DigestError::Empty);
        }
        let Some(hex) = input.strip_prefix("sha256:") else {
            return Err(DigestError::MissingPrefix {
                input: input.to_owned(),
            });
        };
        if let Some(ch) = hex.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
            return Err(DigestError::Character {
                input: input.to_owned(),
                ch,
            });
        }
        if hex.len() != 64 {
            return Err(DigestError::Length {
                input: input.to_owned(),
                len: hex.len(),
            });
        }
        Ok(Self(input.to_owned()))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_a_valid_digest() {
        let d: Digest = format!("sha256:{HEX}").parse().unwrap();
        assert_eq!(d.hex(), HEX);
        assert_eq!(d.short(), "0123456");
        assert_eq!(d.signature_tag(), format!("sha256-{HEX}.sig"));
    }

    #[test]
    fn refuses_uppercase_with_the_offending_character() {
        let err = "sha256:ABC".parse::<Digest>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "digest \"sha256:ABC\" contains 'A'; expected only lowercase hex (0-9, a-f)"
        );
    }

    #[test]
    fn refuses_hex_without_prefix() {
        let err = HEX.parse::<Digest>().unwrap_err();
        assert!(matches!(err, DigestError::MissingPrefix { .. }));
        assert!(err.to_string().contains("lacks the `sha256:` prefix"));
    }

    #[test]
    fn refuses_63_hex_characters() {
        let err = format!("sha256:{}", &HEX[..63]).parse::<Digest>().unwrap_err();
        assert_eq!(
            err,
            DigestError::Length {
                input: format!("sha256:{}", &HEX[..63]),
                len: 63
            }
        );
    }

    #[test]
    fn computes_the_digest_of_bytes() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
