//! The JSON of what a run read, will send, and (for `publish --from`) would push.

use schemars::JsonSchema;
use serde::Serialize;

/// The registry calls of a run.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Budget {
    /// Calls made while resolving and verifying.
    pub(crate) reads: u32,
    /// Verifications made.
    pub(crate) verifications: u32,
    /// At most this many calls to write and check.
    pub(crate) writes: u32,
    /// HTTP requests sent to prepare (registry and Hub API, verification included); null where
    /// the registry backend does not count them (the OCI layout).
    pub(crate) requests: Option<u64>,
    /// Docker Hub pulls (manifest GETs) among them.
    pub(crate) pulls: Option<u64>,
    /// HTTP requests the writes send when nothing fails (they pull nothing).
    pub(crate) write_requests: u32,
}

/// One read made before the first write.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Read {
    /// `resolve`, `list`, `fetch`, `revision` or `verify`.
    pub(crate) op: String,
    /// What was read.
    pub(crate) target: String,
    /// What it found.
    pub(crate) found: String,
}

/// What `publish --from` would push for one image (its blobs checked with `HEAD` only).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PushPlan {
    /// The repository it would be pushed to.
    pub(crate) repository: String,
    /// The source, as given (`oci-archive:…`, `oci:…`, `docker-archive:…`).
    pub(crate) source: String,
    /// The digest of the source's manifest or index: the digest the publish reports.
    pub(crate) digest: String,
    /// The blobs of the image.
    pub(crate) blobs: usize,
    /// The blobs the registry lacks.
    pub(crate) missing_blobs: usize,
    /// Their size in bytes.
    pub(crate) missing_bytes: u64,
}
