//! The signature policy: validated once here, enforced by `cosign-verify`.
//!
//! [`SignaturePolicy::from_spec`] applies every rule a `[verify]` section must satisfy
//! (docs/policy.md), so a policy that builds here is one the verifier accepts; what is left to
//! the verifier is reading the key and the trust root it names.

use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};

use super::lists::parse_each;
use super::{PolicyError, VerifySpec, err};
use crate::Repository;

/// The largest compiled size of an identity regex, in bytes (a policy file is trusted, but a
/// pattern that compiles to megabytes is a mistake).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

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
    /// Returns a matcher for `pattern`, anchored at both ends. The pattern must compile on its
    /// own: `x)|(.*` does not, yet wrapped as `^(?:x)|(.*)$` it would, and would match anything.
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        let build = |text: &str| RegexBuilder::new(text).size_limit(REGEX_SIZE_LIMIT).build();
        build(pattern)?;
        build(&format!("^(?:{pattern})$")).map(Self::Regex)
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

/// A pattern for the git ref a workflow ran on: exact (`refs/heads/main`), or a prefix and one
/// trailing `*` meaning "any non-empty suffix" (`refs/tags/v*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefPattern {
    /// The ref must equal this string.
    Exact(String),
    /// The ref must start with this string and go on (the pattern was `<prefix>*`).
    Prefix(String),
}

impl RefPattern {
    /// Returns the pattern for `text`, or why it is not one: it must start with `refs/` and
    /// may hold one `*`, at the end.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "pattern {text:?} is not a git ref pattern: expected `refs/…` with at most one trailing `*`"
            )
        };
        if !text.starts_with("refs/") {
            return Err(bad());
        }
        match text.strip_suffix('*') {
            Some(prefix) if prefix.contains('*') => Err(bad()),
            Some(prefix) => Ok(Self::Prefix(prefix.to_owned())),
            None if text.contains('*') => Err(bad()),
            None => Ok(Self::Exact(text.to_owned())),
        }
    }

    /// Returns whether `git_ref` matches.
    pub fn matches(&self, git_ref: &str) -> bool {
        match self {
            Self::Exact(e) => git_ref == e,
            Self::Prefix(p) => git_ref.starts_with(p.as_str()) && git_ref.len() > p.len(),
        }
    }
}

impl FromStr for RefPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for RefPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(e) => f.write_str(e),
            Self::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// What a keyless signature's Fulcio certificate must say.
#[derive(Debug, Clone, PartialEq)]
pub struct KeylessPolicy {
    /// The OIDC issuer, e.g. `https://token.actions.githubusercontent.com`.
    pub issuer: String,
    /// The certificate identity (SAN).
    pub identity: IdentityMatcher,
    /// The GitHub workflow repository the certificate must name, e.g. `nearai/cloud-api`.
    pub workflow_repository: Option<String>,
    /// The refs the workflow may have run on; empty means any.
    pub workflow_refs: Vec<RefPattern>,
    /// Whether the certificate's embedded SCT is checked (when the trust root lists CT logs);
    /// `insecure_ignore_sct` turns it off.
    pub verify_sct: bool,
}

/// What a signature must be made with.
#[derive(Debug, Clone, PartialEq)]
pub enum SignatureMethod {
    /// A Fulcio certificate (keyless), logged in Rekor.
    Keyless(KeylessPolicy),
    /// A public key (cosign's `cosign.pub`), as the policy names it: a path or inline PEM.
    Key {
        /// The key's location or PEM text, read by the frontend.
        key: String,
    },
}

/// The signature policy of docs/behaviour.md#signature-verification, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SignaturePolicy {
    /// Keyless or key-based.
    pub method: SignatureMethod,
    /// A `trusted_root.json` named by the policy; `None` means the pinned public-good root.
    pub trusted_root: Option<String>,
    /// Other repositories whose signatures count for the verified one (the origin of a
    /// mirror): a payload must name the repository being verified or one of these.
    pub allowed_references: Vec<Repository>,
}

/// The keyless settings of a `[verify]` section, with whether each is set.
fn keyless_fields(v: &VerifySpec) -> [(&'static str, bool); 6] {
    [
        ("issuer", v.issuer.is_some()),
        ("identity", v.identity.is_some()),
        ("identity_regex", v.identity_regex.is_some()),
        ("workflow_repository", v.workflow_repository.is_some()),
        ("workflow_refs", !v.workflow_refs.is_empty()),
        ("insecure_ignore_sct", v.insecure_ignore_sct),
    ]
}

impl SignaturePolicy {
    /// Returns the validated signature policy of a `[verify]` section, or its first problem,
    /// naming the field (`verify.workflow_refs[0]`).
    pub fn from_spec(v: &VerifySpec) -> Result<Self, PolicyError> {
        let method = match &v.key {
            Some(key) => {
                if let Some((name, _)) = keyless_fields(v).iter().find(|(_, set)| *set) {
                    return Err(err(
                        "verify.key",
                        format!(
                            "give either a key or keyless settings (issuer, identity), not both; `{name}` is set too"
                        ),
                    ));
                }
                if key.trim().is_empty() {
                    return Err(err("verify.key", "is empty; expected a path to a PEM public key"));
                }
                SignatureMethod::Key { key: key.clone() }
            }
            None => SignatureMethod::Keyless(keyless(v)?),
        };
        if v.trusted_root.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(err(
                "verify.trusted_root",
                "is empty; expected a path to a trusted_root.json",
            ));
        }
        let allowed_references = v
            .allowed_references
            .iter()
            .enumerate()
            .map(|(i, r)| allowed_reference(r).map_err(|m| err(format!("verify.allowed_references[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            method,
            trusted_root: v.trusted_root.clone(),
            allowed_references,
        })
    }
}

fn keyless(v: &VerifySpec) -> Result<KeylessPolicy, PolicyError> {
    let issuer = v
        .issuer
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| err("verify.issuer", "keyless verification needs the OIDC issuer"))?;
    let identity = match (&v.identity, &v.identity_regex) {
        (Some(e), None) if e.trim().is_empty() => {
            return Err(err(
                "verify.identity",
                "is empty; expected the certificate identity",
            ));
        }
        (Some(e), None) => IdentityMatcher::Exact(e.clone()),
        (None, Some(r)) if r.trim().is_empty() => {
            return Err(err(
                "verify.identity_regex",
                "is empty; expected a regex the identity must match",
            ));
        }
        (None, Some(r)) => {
            IdentityMatcher::regex(r).map_err(|e| err("verify.identity_regex", regex_problem(r, &e)))?
        }
        (Some(_), Some(_)) => {
            return Err(err(
                "verify.identity",
                "give identity or identity_regex, not both",
            ));
        }
        (None, None) => {
            return Err(err(
                "verify.identity",
                "keyless verification needs identity or identity_regex (an anchored pattern)",
            ));
        }
    };
    if v.workflow_repository
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        return Err(err("verify.workflow_repository", "is empty; expected owner/name"));
    }
    let workflow_refs = parse_each("verify.workflow_refs", &v.workflow_refs)?;
    Ok(KeylessPolicy {
        issuer,
        identity,
        workflow_repository: v.workflow_repository.clone(),
        workflow_refs,
        verify_sct: !v.insecure_ignore_sct,
    })
}

/// Returns a one-line message for a pattern that does not compile (the regex crate's own
/// message spans several lines, pointing at the column).
fn regex_problem(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let reason = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(text.lines().next().unwrap_or_default());
    format!("{pattern:?} is not a valid regex: {reason}")
}

/// Returns the repository an `allowed_references` entry names (Docker Hub names normalised),
/// refusing a tag or digest.
fn allowed_reference(entry: &str) -> Result<Repository, String> {
    if entry.contains('@') || entry.rsplit('/').next().is_some_and(|l| l.contains(':')) {
        return Err(format!(
            "{entry:?} is not a repository: expected one without tag or digest, e.g. ghcr.io/owner/name"
        ));
    }
    Repository::from_str(entry).map_err(|e| format!("{entry:?} is not a repository: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyless_spec() -> VerifySpec {
        VerifySpec {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            identity_regex: Some(r"https://github\.com/nearai/cloud-api/.*".into()),
            ..VerifySpec::default()
        }
    }

    fn refusal(v: VerifySpec) -> PolicyError {
        SignaturePolicy::from_spec(&v).unwrap_err()
    }

    #[test]
    fn regex_identities_are_anchored() {
        let m = IdentityMatcher::regex(r"https://github\.com/nearai/cloud-api/.*").unwrap();
        assert!(m.matches("https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main"));
        assert!(!m.matches("evil https://github.com/nearai/cloud-api/x"));
        let prefix = IdentityMatcher::regex(r"https://github\.com/nearai/cloud-api").unwrap();
        assert!(!prefix.matches("https://github.com/nearai/cloud-api-fork"));
        let alt = IdentityMatcher::regex("a|b").unwrap();
        assert!(!alt.matches("ab"), "alternation must not escape the anchors");
        assert!(alt.matches("a") && !alt.matches("xa") && !alt.matches("bx"));
    }

    #[test]
    fn a_pattern_that_closes_the_anchor_group_is_refused() {
        for escape in ["x)|(.*", ".*)|(?:", "a)"] {
            let e = refusal(VerifySpec {
                identity_regex: Some(escape.into()),
                ..keyless_spec()
            });
            assert_eq!(e.field, "verify.identity_regex", "{escape}: {e}");
        }
    }

    #[test]
    fn ref_patterns_allow_only_a_trailing_star() {
        let p = RefPattern::parse("refs/tags/v*").unwrap();
        assert!(p.matches("refs/tags/v0.2.13"));
        assert!(!p.matches("refs/tags/v"));
        assert!(!p.matches("refs/heads/v1"));
        let e = RefPattern::parse("refs/heads/main").unwrap();
        assert!(e.matches("refs/heads/main"));
        assert!(!e.matches("refs/heads/main2"));
        for bad in ["refs/*/main", "refs/heads/**", "main", "*"] {
            assert!(RefPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_what_the_verifier_would_refuse() {
        let cases: Vec<(VerifySpec, &str)> = vec![
            (
                VerifySpec {
                    workflow_refs: vec!["main".into()],
                    ..keyless_spec()
                },
                "verify.workflow_refs[0]",
            ),
            (
                VerifySpec {
                    workflow_refs: vec!["refs/heads/main".into(), "refs/*/x".into()],
                    ..keyless_spec()
                },
                "verify.workflow_refs[1]",
            ),
            (
                VerifySpec {
                    issuer: Some("  ".into()),
                    ..keyless_spec()
                },
                "verify.issuer",
            ),
            (
                VerifySpec {
                    identity_regex: None,
                    identity: Some(String::new()),
                    ..keyless_spec()
                },
                "verify.identity",
            ),
            (
                VerifySpec {
                    workflow_repository: Some(String::new()),
                    ..keyless_spec()
                },
                "verify.workflow_repository",
            ),
            (
                VerifySpec {
                    key: Some("cosign.pub".into()),
                    workflow_repository: Some("o/n".into()),
                    ..VerifySpec::default()
                },
                "verify.key",
            ),
            (
                VerifySpec {
                    key: Some("cosign.pub".into()),
                    insecure_ignore_sct: true,
                    ..VerifySpec::default()
                },
                "verify.key",
            ),
            (
                VerifySpec {
                    allowed_references: vec!["Not A Repo".into()],
                    ..keyless_spec()
                },
                "verify.allowed_references[0]",
            ),
            (
                VerifySpec {
                    allowed_references: vec!["ghcr.io/o/n".into(), "ghcr.io/o/n:tag".into()],
                    ..keyless_spec()
                },
                "verify.allowed_references[1]",
            ),
            (VerifySpec::default(), "verify.issuer"),
        ];
        for (spec, field) in cases {
            assert_eq!(refusal(spec.clone()).field, field, "{spec:?}");
        }
    }

    #[test]
    fn names_the_keyless_field_that_mixes_with_a_key() {
        let e = refusal(VerifySpec {
            key: Some("cosign.pub".into()),
            workflow_refs: vec!["refs/heads/main".into()],
            ..VerifySpec::default()
        });
        assert_eq!(
            e.to_string(),
            "policy field `verify.key`: give either a key or keyless settings (issuer, identity), not both; `workflow_refs` is set too"
        );
    }

    #[test]
    fn allowed_references_are_normalised() {
        let p = SignaturePolicy::from_spec(&VerifySpec {
            allowed_references: vec!["index.docker.io/nearai/cloud-api".into(), "ubuntu".into()],
            ..keyless_spec()
        })
        .unwrap();
        let names: Vec<String> = p.allowed_references.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["docker.io/nearai/cloud-api", "docker.io/library/ubuntu"]);
        assert!(allowed_reference("localhost:5000/o/n").is_ok());
        assert!(allowed_reference("ghcr.io/o/n@sha256:00").is_err());
    }

    #[test]
    fn keeps_what_a_valid_section_says() {
        let p = SignaturePolicy::from_spec(&VerifySpec {
            workflow_repository: Some("nearai/cloud-api".into()),
            workflow_refs: vec!["refs/tags/v*".into()],
            insecure_ignore_sct: true,
            trusted_root: Some("root.json".into()),
            ..keyless_spec()
        })
        .unwrap();
        let SignatureMethod::Keyless(k) = &p.method else {
            panic!("keyless expected")
        };
        assert_eq!(k.workflow_refs, [RefPattern::Prefix("refs/tags/v".into())]);
        assert_eq!(k.workflow_repository.as_deref(), Some("nearai/cloud-api"));
        assert!(!k.verify_sct);
        assert_eq!(p.trusted_root.as_deref(), Some("root.json"));
        let key = SignaturePolicy::from_spec(&VerifySpec {
            key: Some("cosign.pub".into()),
            ..VerifySpec::default()
        })
        .unwrap();
        assert_eq!(
            key.method,
            SignatureMethod::Key {
                key: "cosign.pub".into()
            }
        );
    }
}
