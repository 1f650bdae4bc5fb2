//! tagcore models the lifecycle of container image tags and drives it over ports.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod commit;
mod digest;
mod error;
mod port;
mod reference;
mod tag;
mod time;

pub use commit::{CommitSha, CommitShaError};
pub use digest::{Digest, DigestError};
pub use error::{AuditError, AuditErrorKind, Cause, RegistryError, RegistryErrorKind, VerifyError};
pub use port::{
    AuditSink, DispatchRequest, ListedTag, Manifest, Registry, ReleaseReceipt, ReleaseRequest, TagListing,
    VerifiedSignature, Verifier,
};
pub use reference::{DOCKER_HUB, ImageReference, ReferenceError, Repository, Target, canonical_registry};
pub use tag::{Tag, TagError, is_signature_artifact};
pub use time::{Timestamp, TimestampError, Weekday};
