//! Plans: the exact steps an operation will take, as plain data (printed by `--dry-run`).

use serde::Serialize;

use crate::policy::StepMode;
use crate::source::SourceCommit;
use crate::{Digest, DispatchRequest, OperationKind, ReleaseRequest, Repository, Tag, VerifiedSignature};

/// Whether a tag is written once or moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    /// Stamps and audit tags: created once, never re-pointed.
    Immutable,
    /// Channels and aliases: moved, guarded by compare-and-swap.
    Moving,
}

/// One tag write, in execution order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteStep {
    /// Index of the image in the unit.
    pub image: usize,
    /// The tag written.
    pub tag: Tag,
    /// Immutable or moving.
    pub kind: TagKind,
    /// What the tag pointed at when read (`None`: absent). Re-read right before the write; a
    /// difference aborts (compare-and-swap).
    pub expected: Option<Digest>,
    /// The digest written.
    pub new: Digest,
    /// Required, or best-effort (a failure is a warning).
    pub mode: StepMode,
}

impl WriteStep {
    /// Returns whether the tag already points at the new digest (nothing to write).
    pub fn is_noop(&self) -> bool {
        self.expected.as_ref() == Some(&self.new)
    }
}

/// What was resolved for one image before any write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImagePlan {
    /// The repository.
    pub repository: Repository,
    /// The digest every write of this image uses (resolved once).
    pub digest: Digest,
    /// The channel's digest before the operation (prod, or staging for publish; the target tag
    /// for retag).
    pub previous_digest: Option<Digest>,
    /// The accepted signature, when verification applied to this image.
    pub verification: Option<VerifiedSignature>,
}

/// One read or verification made while preparing, in order, with what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadStep {
    /// `resolve`, `list`, `fetch`, `revision` or `verify`.
    pub op: String,
    /// What was read, e.g. `docker.io/nearai/cloud-api:staging`.
    pub target: String,
    /// What it found, e.g. a digest, `absent`, `12 tags`, the verified identity.
    pub found: String,
}

/// The registry calls an operation makes: those already made to prepare it, and those the
/// execution will make; as port calls, and (where the adapter counts them) as HTTP requests and
/// Docker Hub pulls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestBudget {
    /// Calls made while resolving and verifying.
    pub reads: u32,
    /// Verifications made.
    pub verifications: u32,
    /// At most this many calls to write and check.
    pub writes: u32,
    /// HTTP requests sent while preparing (registry and Hub API, verification included), when
    /// the registry adapter counts them.
    pub requests: Option<u64>,
    /// Docker Hub pulls (manifest GETs) among them.
    pub pulls: Option<u64>,
    /// HTTP requests the execution sends when nothing fails: per written stamp or audit tag a
    /// PUT and its read-back; per moved channel or alias a re-read, a PUT and a read-back. It
    /// makes no pull (HEADs and PUTs only).
    pub write_requests: u32,
}

impl RequestBudget {
    /// Returns the HTTP requests of `steps`' execution when nothing fails (see
    /// [`RequestBudget::write_requests`]).
    pub fn write_requests_of(steps: &[WriteStep]) -> u32 {
        steps
            .iter()
            .filter(|s| !s.is_noop())
            .map(|s| match (s.kind, &s.expected) {
                (TagKind::Immutable, None) => 2,
                _ => 3,
            })
            .sum()
    }
}

/// Everything an operation will do, decided before the first write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The operation.
    pub operation: OperationKind,
    /// The unit.
    pub unit: String,
    /// Per image: what was resolved.
    pub images: Vec<ImagePlan>,
    /// Every read and verification made before the first write, in order. Each write then
    /// re-reads its tag (compare-and-swap) and every written tag is read back.
    pub reads: Vec<ReadStep>,
    /// The stamp or audit tag that names this release, if any.
    pub stamp: Option<Tag>,
    /// The tag the operation went by: the promote source tag, the rollback target, the retag
    /// target.
    pub target: Option<Tag>,
    /// The source commit and how it was found.
    pub source_commit: Option<SourceCommit>,
    /// The writes, in order: immutable tags first, then moving tags.
    pub steps: Vec<WriteStep>,
    /// The release to create or edit after the writes.
    pub release: Option<ReleaseRequest>,
    /// Its mode.
    pub release_mode: StepMode,
    /// The deploys to dispatch once the channel holds the digest (the policy's targets for
    /// this operation; each target's mode is in the policy).
    pub dispatches: Vec<DispatchRequest>,
    /// Things the operator should know (e.g. "derived from digest, commit unknown").
    pub warnings: Vec<String>,
    /// Why nothing will be written, when nothing will.
    pub notices: Vec<String>,
    /// The calls made and planned.
    pub budget: RequestBudget,
}

impl Plan {
    /// Returns the plan of `operation` on `policy`'s unit, writing `steps` for `images`: the one
    /// place a plan is built. Everything else starts empty (no stamp, target, commit, release,
    /// dispatch, warning or notice) for the operation to fill in; the release mode is the
    /// policy's; reads and budget are filled in by the engine after preparing.
    pub fn new(
        operation: OperationKind,
        policy: &crate::policy::Policy,
        images: Vec<ImagePlan>,
        steps: Vec<WriteStep>,
    ) -> Self {
        Self {
            operation,
            unit: policy.unit.clone(),
            images,
            reads: Vec::new(),
            stamp: None,
            target: None,
            source_commit: None,
            steps,
            release: None,
            release_mode: policy.release,
            dispatches: Vec::new(),
            warnings: Vec::new(),
            notices: Vec::new(),
            budget: RequestBudget::default(),
        }
    }

    /// Returns whether executing the plan writes nothing to the registry.
    pub fn writes_nothing(&self) -> bool {
        self.steps.iter().all(WriteStep::is_noop)
    }
}
