//! tagcore models the lifecycle of container image tags and drives it over ports.
//!
//! It is pure: no IO, no clock, no runtime. Adapters implement three ports —
//! [`Registry`] (`registry-hub`), [`Verifier`] (`cosign-verify`) and [`AuditSink`] (GitHub
//! releases in `tagcli`) — and a frontend hands the [`Engine`] a validated [`policy::Policy`], a
//! validated [`Request`] and the time `now`.
//!
//! # The drive loop
//!
//! Every mutating operation goes through the same steps, in this order (docs/behaviour.md#operations; ARCHITECTURE.md, safety invariants):
//!
//! 1. **Validate** — raw inputs become [`Request`]s ([`request`]): digests, tags, versions,
//!    confirm strings and protected names are checked before any request is sent.
//! 2. **Resolve** — [`Engine::prepare`] reads every tag it needs once (the source digest is
//!    resolved exactly once per image), lists the history, and fetches each manifest to copy,
//!    checking the sha256 of its bytes.
//! 3. **Verify** — every digest bound for prod or an alias is verified; any refusal stops the
//!    operation before the first write.
//! 4. **Plan** — the [`plan::Plan`] lists every write: immutable tags (stamps, audit tags) first,
//!    then moving tags, each with the digest it was read at. A dry run stops here.
//! 5. **Write** — [`Engine::execute`] re-reads each tag right before writing it and aborts if it
//!    moved (compare-and-swap), puts the exact manifest bytes, and checks the digest the registry
//!    reports.
//! 6. **Check** — every written tag is read back; then the release is created or edited and the
//!    deploy dispatched. The [`outcome::Outcome`] lists every tag's before, after and status; a
//!    failure after a write is [`outcome::RunResult::Partial`], and re-running converges.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod commit;
mod digest;
mod endpoint;
mod error;
mod port;
mod reference;
mod tag;
mod time;

pub use commit::{CommitSha, CommitShaError};
pub use digest::{Digest, DigestError};
pub use endpoint::{Endpoint, EndpointError, is_loopback_authority, is_loopback_host};
pub use error::{AuditError, AuditErrorKind, Cause, RegistryError, RegistryErrorKind, VerifyError};
pub use port::{
    AuditSink, DispatchRequest, EnoughTags, ListedTag, ListingScope, Manifest, Registry, ReleaseReceipt,
    ReleaseRequest, TagListing, Traffic, VerifiedSignature, Verifier,
};
pub use reference::{DOCKER_HUB, ImageReference, ReferenceError, Repository, Target, canonical_registry};
pub use tag::{Tag, TagError, is_signature_artifact};
pub use time::{Timestamp, TimestampError, Weekday};

pub mod engine;
pub mod history;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod request;
pub mod retention;
pub mod source;
pub mod template;

mod release;

pub use engine::{Engine, OpError, OpErrorKind, Prepared};
pub use request::{InputError, OperationKind, Request};

#[cfg(feature = "testing")]
pub mod testing;
