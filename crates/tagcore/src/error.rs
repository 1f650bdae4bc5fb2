//! The error kinds that adapters map their failures into, in one place each.

use std::error::Error as StdError;
use std::fmt;

use crate::OpErrorKind;

/// A boxed underlying cause, kept for `source()` chains; never shown with secrets.
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of registry failure happened; callers act on the kind, not on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistryErrorKind {
    /// Credentials are missing or were refused (HTTP 401).
    Unauthorized,
    /// Credentials were accepted but lack permission (HTTP 403).
    Forbidden,
    /// The repository, tag or manifest does not exist.
    NotFound,
    /// The registry is rate limiting; retry later.
    RateLimited,
    /// A temporary failure (connection, timeout, 5xx) that outlived the retries.
    Transient,
    /// A concurrent change or an immutable tag at another digest.
    Conflict,
    /// The registry answered something that breaks the protocol or a digest check.
    InvalidResponse,
    /// The request itself was invalid (refused before or by the registry).
    InvalidInput,
    /// The backend does not support this operation.
    Unsupported,
}

impl RegistryErrorKind {
    /// Returns the kind's stable machine name (`not_found`, `rate_limited`, …), as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Transient => "transient",
            Self::Conflict => "conflict",
            Self::InvalidResponse => "invalid_response",
            Self::InvalidInput => "invalid_input",
            Self::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for RegistryErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthorized => "authentication failed",
            Self::Forbidden => "permission denied",
            Self::NotFound => "not found",
            Self::RateLimited => "rate limited",
            Self::Transient => "temporary failure",
            Self::Conflict => "conflict",
            Self::InvalidResponse => "invalid response",
            Self::InvalidInput => "invalid input",
            Self::Unsupported => "unsupported",
        })
    }
}

/// A registry failure: a kind to act on, a message naming what was asked, and the cause.
#[derive(Debug)]
pub struct RegistryError {
    /// What kind of failure.
    pub kind: RegistryErrorKind,
    /// A human-readable message naming the repository/tag involved; never contains secrets.
    pub message: String,
    /// The underlying cause, if any.
    pub source: Option<Cause>,
}

impl RegistryError {
    /// Returns an error of `kind` with `message` and no cause.
    pub fn new(kind: RegistryErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Returns this error with `source` attached as its cause.
    pub fn with_source(mut self, source: impl Into<Cause>) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl StdError for RegistryError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// Why a verification did not produce an accepted signature. Every variant fails closed.
#[derive(Debug)]
pub enum VerifyError {
    /// Signatures were examined and none satisfied the policy; every reason is listed.
    Refused {
        /// One line per rejected layer or missing signature.
        reasons: Vec<String>,
    },
    /// The signatures could not be read (registry, network, trust root); nothing was accepted.
    Unavailable {
        /// What could not be read.
        message: String,
        /// The underlying cause.
        source: Option<Cause>,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { reasons } => write!(f, "signature refused: {}", reasons.join("; ")),
            Self::Unavailable { message, .. } => write!(f, "signatures could not be checked: {message}"),
        }
    }
}

impl StdError for VerifyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Unavailable { source: Some(s), .. } => Some(s.as_ref()),
            _ => None,
        }
    }
}

/// What kind of audit-sink failure happened (GitHub releases, deploy dispatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditErrorKind {
    /// Credentials missing or refused.
    Unauthorized,
    /// The service refused the request as invalid.
    Rejected,
    /// The service is down or timed out.
    Unavailable,
}

impl AuditErrorKind {
    /// Returns the kind's stable machine name (`unauthorized`, `rejected`, `unavailable`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Rejected => "rejected",
            Self::Unavailable => "unavailable",
        }
    }
}

/// An audit-sink failure.
#[derive(Debug)]
pub struct AuditError {
    /// What kind of failure.
    pub kind: AuditErrorKind,
    /// A message naming what was attempted; never contains secrets.
    pub message: String,
    /// The underlying cause, if any.
    pub source: Option<Cause>,
}

impl AuditError {
    /// Returns an error of `kind` with `message` and no cause.
    pub fn new(kind: AuditErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for AuditError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

// The names of the engine's failure kinds, next to the kinds they embed.

impl OpErrorKind {
    /// Returns the kind's stable machine name: `input`, `refused`, `verification`,
    /// `conflict`, `superseded`, `history`, `registry_<kind>` or `audit_<kind>`.
    pub fn as_str(self) -> &'static str {
        use crate::AuditErrorKind as A;
        use crate::RegistryErrorKind as R;
        match self {
            Self::Input => "input",
            Self::Refused => "refused",
            Self::Verification => "verification",
            Self::Conflict => "conflict",
            Self::Superseded => "superseded",
            Self::History => "history",
            Self::Registry(k) => match k {
                R::Unauthorized => "registry_unauthorized",
                R::Forbidden => "registry_forbidden",
                R::NotFound => "registry_not_found",
                R::RateLimited => "registry_rate_limited",
                R::Transient => "registry_transient",
                R::Conflict => "registry_conflict",
                R::InvalidResponse => "registry_invalid_response",
                R::InvalidInput => "registry_invalid_input",
                R::Unsupported => "registry_unsupported",
            },
            Self::Audit(k) => match k {
                A::Unauthorized => "audit_unauthorized",
                A::Rejected => "audit_rejected",
                A::Unavailable => "audit_unavailable",
            },
        }
    }
}

impl fmt::Display for OpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for OpErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
