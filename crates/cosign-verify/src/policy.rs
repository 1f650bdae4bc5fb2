//! The signature policy: plain configuration data, and its validated, compiled form.
//!
//! [`SignaturePolicy`] is what a configuration file holds (docs/policy.md, `[verify]`). It is compiled
//! once into a [`Policy`] by [`SignaturePolicy::compile`], which refuses every ambiguous or
//! incomplete configuration before any registry is contacted.

use regex::Regex;

use crate::trust_root::{TrustRoot, TrustRootError};

/// Where the trusted Fulcio certificate authorities and Rekor keys come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrustedRootSource {
    /// Sigstore's public-good trust root, pinned into this crate (see the crate docs).
    #[default]
    PublicGood,
    /// The bytes of a `trusted_root.json` file (cosign's `--trusted-root` format).
    Json(Vec<u8>),
}

/// The signature policy as configured: plain data, easy to build from a policy file.
///
/// Keyless policies set `issuer` and exactly one of `identity` / `identity_regex`, and may add
/// `workflow_repository` and `workflow_refs`. Key-based policies set `key_pem` and nothing
/// keyless. Everything is checked by [`SignaturePolicy::compile`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// The OIDC issuer the certificate must name, e.g.
    /// `https://token.actions.githubusercontent.com`.
    pub issuer: Option<String>,
    /// The exact certificate identity (SAN URI or e-mail).
    pub identity: Option<String>,
    /// A regular expression the whole certificate identity must match; always anchored (it is
    /// wrapped as `^(?:…)$`, unlike cosign's `--certificate-identity-regexp`).
    pub identity_regex: Option<String>,
    /// The GitHub repository that ran the workflow, `owner/name` (exact match).
    pub workflow_repository: Option<String>,
    /// The git refs the workflow may have run on: exact (`refs/heads/main`) or with one trailing
    /// `*` meaning "any suffix" (`refs/tags/v*`). Empty: any ref.
    pub workflow_refs: Vec<String>,
    /// A PEM public key (cosign's `cosign.pub`); switches the policy to key-based.
    pub key_pem: Option<String>,
    /// The trust root for keyless signatures and Rekor bundles.
    pub trusted_root: TrustedRootSource,
    /// Other repositories (`host/path`, Docker Hub names normalised) whose signatures are
    /// accepted for the repository being verified, e.g. the origin of a mirror. A payload's
    /// `docker-reference` must name the repository being verified or one of these.
    pub allowed_references: Vec<String>,
    /// Skips the check of the certificate's embedded SCT (cosign's `--insecure-ignore-sct`).
    /// By default a keyless certificate must carry an SCT from a CT log of the trust root
    /// whenever the trust root lists CT logs; private Sigstore instances without CT list none.
    pub insecure_ignore_sct: bool,
}

/// Why a signature policy cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Neither a key nor an issuer was configured.
    #[error(
        "signature policy is empty: set `key` (key-based) or `issuer` and `identity`/`identity_regex` (keyless)"
    )]
    Empty,
    /// A key and keyless fields were both configured.
    #[error("signature policy mixes `key` with keyless settings ({0}); choose one")]
    Mixed(&'static str),
    /// A keyless policy lacks its issuer.
    #[error("keyless signature policy needs `issuer`")]
    MissingIssuer,
    /// A keyless policy lacks its identity.
    #[error("keyless signature policy needs `identity` or `identity_regex`")]
    MissingIdentity,
    /// Both identity forms were configured.
    #[error("signature policy sets both `identity` and `identity_regex`; choose one")]
    TwoIdentities,
    /// The identity regex does not compile.
    #[error("`identity_regex` {pattern:?} is invalid: {source}")]
    Regex {
        /// The configured pattern.
        pattern: String,
        /// Why it does not compile.
        source: regex::Error,
    },
    /// A workflow ref pattern is malformed.
    #[error("workflow ref pattern {0:?} is invalid: expected `refs/…` with at most one trailing `*`")]
    RefPattern(String),
    /// A configured string is empty.
    #[error("signature policy field `{0}` is empty")]
    EmptyField(&'static str),
    /// The PEM key cannot be read.
    #[error("public key is not a supported PEM public key: {0}")]
    Key(String),
    /// An allowed reference is not a repository name.
    #[error("`allowed_references` entry {input:?} is invalid: {reason}")]
    Reference {
        /// The configured entry.
        input: String,
        /// Why it is not a repository.
        reason: String,
    },
    /// The trust root cannot be read.
    #[error(transparent)]
    TrustRoot(#[from] TrustRootError),
}

/// A pattern for a git ref: exact, or a prefix followed by `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefPattern {
    /// The ref must equal this string.
    Exact(String),
    /// The ref must start with this string (the pattern was `<prefix>*`).
    Prefix(String),
}

impl RefPattern {
    /// Returns the pattern for `text`, refusing a `*` anywhere but at the end.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let bad = || PolicyError::RefPattern(text.to_owned());
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

impl std::fmt::Display for RefPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(e) => f.write_str(e),
            Self::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// How the certificate identity is matched.
#[derive(Debug, Clone)]
pub enum IdentityMatcher {
    /// Exact string equality.
    Exact(String),
    /// An anchored regex; `source` is the pattern as configured.
    Regex {
        /// The pattern as configured (before anchoring).
        source: String,
        /// The anchored, compiled regex.
        regex: Regex,
    },
}

impl IdentityMatcher {
    /// Returns whether `identity` is accepted.
    pub fn matches(&self, identity: &str) -> bool {
        match self {
            Self::Exact(e) => e == identity,
            Self::Regex { regex, .. } => regex.is_match(identity),
        }
    }
}

impl std::fmt::Display for IdentityMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(e) => write!(f, "{e:?}"),
            Self::Regex { source, .. } => write!(f, "regex ^(?:{source})$"),
        }
    }
}

/// The keyless constraints of a compiled policy.
#[derive(Debug, Clone)]
pub struct KeylessPolicy {
    /// The required OIDC issuer.
    pub issuer: String,
    /// The required identity.
    pub identity: IdentityMatcher,
    /// The required workflow repository, `owner/name`.
    pub workflow_repository: Option<String>,
    /// The allowed workflow refs; empty means any.
    pub workflow_refs: Vec<RefPattern>,
    /// Whether the certificate's SCT is checked (when the trust root lists CT logs).
    pub verify_sct: bool,
}

/// What a compiled policy requires.
#[derive(Debug, Clone)]
pub enum Requirement {
    /// A Fulcio certificate satisfying these constraints, logged in a trusted Rekor.
    Keyless(KeylessPolicy),
    /// A signature by this public key.
    Key(crate::key::PublicKey),
}

/// A validated policy together with its loaded trust root.
#[derive(Debug, Clone)]
pub struct Policy {
    /// What a signature must satisfy.
    pub requirement: Requirement,
    /// The trusted Fulcio CAs and Rekor keys.
    pub trust_root: TrustRoot,
    /// Repositories besides the verified one that payloads may name.
    pub allowed_references: Vec<tagcore::Repository>,
}

impl SignaturePolicy {
    /// Returns the validated policy with its trust root loaded, or the first configuration
    /// error found.
    pub fn compile(&self) -> Result<Policy, PolicyError> {
        let keyless_set = [
            ("issuer", self.issuer.is_some()),
            ("identity", self.identity.is_some()),
            ("identity_regex", self.identity_regex.is_some()),
            ("workflow_repository", self.workflow_repository.is_some()),
            ("workflow_refs", !self.workflow_refs.is_empty()),
            ("insecure_ignore_sct", self.insecure_ignore_sct),
        ];
        let trust_root = match &self.trusted_root {
            TrustedRootSource::PublicGood => TrustRoot::public_good()?,
            TrustedRootSource::Json(bytes) => TrustRoot::from_json(bytes)?,
        };
        let requirement = if let Some(pem) = &self.key_pem {
            if let Some((name, _)) = keyless_set.iter().find(|(_, set)| *set) {
                return Err(PolicyError::Mixed(name));
            }
            Requirement::Key(crate::key::PublicKey::from_pem(pem).map_err(PolicyError::Key)?)
        } else {
            Requirement::Keyless(self.compile_keyless()?)
        };
        let allowed_references = self
            .allowed_references
            .iter()
            .map(|r| crate::reference::parse_repository(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            requirement,
            trust_root,
            allowed_references,
        })
    }

    fn compile_keyless(&self) -> Result<KeylessPolicy, PolicyError> {
        let issuer = match (&self.issuer, &self.identity, &self.identity_regex) {
            (None, None, None) => return Err(PolicyError::Empty),
            (None, _, _) => return Err(PolicyError::MissingIssuer),
            (Some(i), _, _) => non_empty(i, "issuer")?,
        };
        let identity = match (&self.identity, &self.identity_regex) {
            (Some(_), Some(_)) => return Err(PolicyError::TwoIdentities),
            (None, None) => return Err(PolicyError::MissingIdentity),
            (Some(exact), None) => IdentityMatcher::Exact(non_empty(exact, "identity")?),
            (None, Some(pattern)) => {
                let source = non_empty(pattern, "identity_regex")?;
                let build = |text: &str| {
                    regex::RegexBuilder::new(text)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|source| PolicyError::Regex {
                            pattern: pattern.clone(),
                            source,
                        })
                };
                // The pattern must compile on its own: `x)|(.*` does not, yet wrapped as
                // `^(?:x)|(.*)$` it would, and would match anything.
                build(&source)?;
                let regex = build(&format!("^(?:{source})$"))?;
                IdentityMatcher::Regex { source, regex }
            }
        };
        let workflow_repository = self
            .workflow_repository
            .as_deref()
            .map(|r| non_empty(r, "workflow_repository"))
            .transpose()?;
        let workflow_refs = self
            .workflow_refs
            .iter()
            .map(|r| RefPattern::parse(r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeylessPolicy {
            issuer,
            identity,
            workflow_repository,
            workflow_refs,
            verify_sct: !self.insecure_ignore_sct,
        })
    }
}

fn non_empty(value: &str, field: &'static str) -> Result<String, PolicyError> {
    if value.trim().is_empty() {
        Err(PolicyError::EmptyField(field))
    } else {
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyless() -> SignaturePolicy {
        SignaturePolicy {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            identity_regex: Some(r"https://github\.com/nearai/cloud-api/.*".into()),
            ..SignaturePolicy::default()
        }
    }

    #[test]
    fn identity_regex_is_anchored() {
        let Requirement::Keyless(k) = keyless().compile().unwrap().requirement else {
            panic!("keyless expected")
        };
        assert!(
            k.identity
                .matches("https://github.com/nearai/cloud-api/.github/workflows/b.yml@refs/heads/main")
        );
        assert!(
            !k.identity
                .matches("https://evil.example/?https://github.com/nearai/cloud-api/x")
        );
        assert_eq!(
            k.identity.to_string(),
            r"regex ^(?:https://github\.com/nearai/cloud-api/.*)$"
        );
    }

    #[test]
    fn alternation_cannot_escape_the_anchor() {
        let policy = SignaturePolicy {
            identity_regex: Some("a|b".into()),
            ..keyless()
        };
        let Requirement::Keyless(k) = policy.compile().unwrap().requirement else {
            panic!("keyless expected")
        };
        assert!(k.identity.matches("a"));
        assert!(!k.identity.matches("xa"));
        assert!(!k.identity.matches("bx"));
    }

    #[test]
    fn a_pattern_that_closes_the_anchor_group_is_refused() {
        for escape in ["x)|(.*", ".*)|(?:", "a)"] {
            let err = SignaturePolicy {
                identity_regex: Some(escape.into()),
                ..keyless()
            }
            .compile()
            .unwrap_err();
            assert!(matches!(err, PolicyError::Regex { .. }), "{escape}: {err}");
            assert!(
                err.to_string()
                    .starts_with(&format!("`identity_regex` {escape:?} is invalid"))
            );
        }
    }

    #[test]
    fn allowed_references_are_normalised_and_checked() {
        let policy = SignaturePolicy {
            allowed_references: vec!["index.docker.io/nearai/cloud-api".into(), "ubuntu".into()],
            ..keyless()
        }
        .compile()
        .unwrap();
        let names: Vec<String> = policy
            .allowed_references
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["docker.io/nearai/cloud-api", "docker.io/library/ubuntu"]);
        let err = SignaturePolicy {
            allowed_references: vec!["Not A Repo".into()],
            ..keyless()
        }
        .compile()
        .unwrap_err();
        assert!(matches!(err, PolicyError::Reference { .. }), "{err}");
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
            assert!(
                matches!(RefPattern::parse(bad), Err(PolicyError::RefPattern(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_incomplete_or_mixed_policies() {
        let err = SignaturePolicy::default().compile().unwrap_err();
        assert!(matches!(err, PolicyError::Empty), "{err}");
        let err = SignaturePolicy {
            issuer: None,
            ..keyless()
        }
        .compile()
        .unwrap_err();
        assert!(matches!(err, PolicyError::MissingIssuer), "{err}");
        let err = SignaturePolicy {
            identity: Some("x".into()),
            ..keyless()
        }
        .compile()
        .unwrap_err();
        assert!(matches!(err, PolicyError::TwoIdentities), "{err}");
        let err = SignaturePolicy {
            key_pem: Some("-----BEGIN PUBLIC KEY-----".into()),
            ..keyless()
        }
        .compile()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "signature policy mixes `key` with keyless settings (issuer); choose one"
        );
        let err = SignaturePolicy {
            identity_regex: Some("(".into()),
            ..keyless()
        }
        .compile()
        .unwrap_err();
        assert!(matches!(err, PolicyError::Regex { .. }), "{err}");
    }

    #[test]
    fn refuses_a_key_that_is_not_pem() {
        let err = SignaturePolicy {
            key_pem: Some("not a key".into()),
            ..SignaturePolicy::default()
        }
        .compile()
        .unwrap_err();
        assert!(matches!(err, PolicyError::Key(_)), "{err}");
    }
}
