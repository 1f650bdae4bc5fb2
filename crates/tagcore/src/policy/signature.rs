//! The signature policy as plain data; `cosign-verify` enforces it.

use std::fmt;

use regex::Regex;

use super::Glob;

/// How the certificate identity must match.
#[derive(Clone)]
pub enum IdentityMatcher {
    /// The identity must equal this string.
    Exact(String),
    /// The identity must match this regex as a whole: it is always anchored (`^(?:…)$`),
    /// unlike cosign's `--certificate-identity-regexp`.
    Regex(Regex),
}

impl IdentityMatcher {
    /// Returns a matcher for `pattern`, anchored at both ends.
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        Regex::new(&format!("^(?:{pattern})$")).map(Self::Regex)
    }

    /// Returns whether `identity` satisfies the matcher.
    pub fn matches(&self, identity: &str) -> bool {
        match self {
            Self::Exact(e) => e == identity,
            Self::Regex(r) => r.is_match(identity),
        }
    }
}

impl fmt::Debug for IdentityMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(e) => write!(f, "Exact({e})"),
            Self::Regex(r) => write!(f, "Regex({})", r.as_str()),
        }
    }
}

impl fmt::Display for IdentityMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(e) => f.write_str(e),
            Self::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

impl PartialEq for IdentityMatcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Regex(a), Self::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// What a signature must be made with.
#[derive(Debug, Clone, PartialEq)]
pub enum SignatureMethod {
    /// A Fulcio certificate (keyless), logged in Rekor.
    Keyless {
        /// The OIDC issuer, e.g. `https://token.actions.githubusercontent.com`.
        issuer: String,
        /// The certificate identity (SAN).
        identity: IdentityMatcher,
        /// The GitHub workflow repository the certificate must name, e.g. `nearai/cloud-api`.
        workflow_repository: Option<String>,
        /// The refs the workflow may have run on; empty means any.
        workflow_refs: Vec<Glob>,
    },
    /// A public key (cosign's `cosign.pub`), as the policy names it: a path or inline PEM.
    Key {
        /// The key's location or PEM text, resolved by the frontend.
        key: String,
    },
}

/// The signature policy of docs/behaviour.md#signature-verification.
#[derive(Debug, Clone, PartialEq)]
pub struct SignaturePolicy {
    /// Keyless or key-based.
    pub method: SignatureMethod,
    /// A `trusted_root.json` named by the policy; `None` means the pinned public-good root.
    pub trusted_root: Option<String>,
}

impl SignaturePolicy {
    /// Returns a one-line description of what a signature must satisfy, for plans and logs.
    pub fn describe(&self) -> String {
        match &self.method {
            SignatureMethod::Keyless {
                issuer,
                identity,
                workflow_repository,
                workflow_refs,
            } => {
                let mut s = format!("keyless: issuer {issuer}, identity {identity}");
                if let Some(r) = workflow_repository {
                    s.push_str(&format!(", repository {r}"));
                }
                if !workflow_refs.is_empty() {
                    let refs: Vec<_> = workflow_refs.iter().map(Glob::as_str).collect();
                    s.push_str(&format!(", refs {}", refs.join("|")));
                }
                s
            }
            SignatureMethod::Key { key } => format!("public key {key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_identities_are_anchored() {
        let m = IdentityMatcher::regex(r"https://github\.com/nearai/cloud-api/.*").unwrap();
        assert!(m.matches("https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main"));
        assert!(!m.matches("evil https://github.com/nearai/cloud-api/x"));
        let prefix = IdentityMatcher::regex(r"https://github\.com/nearai/cloud-api").unwrap();
        assert!(!prefix.matches("https://github.com/nearai/cloud-api-fork"));
        let alt = IdentityMatcher::regex("a|b").unwrap();
        assert!(!alt.matches("ab"), "alternation must not escape the anchors");
    }
}
