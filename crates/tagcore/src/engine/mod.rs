//! The drive loop: resolve and verify everything, plan, then write with compare-and-swap, then
//! read back. Generic over the ports; `now` is an argument, never read from a clock.

mod downgrade;
mod execute;
mod inventory;
mod promote;
mod promote_plan;
mod prune;
mod publish;
mod push;
mod read;
mod report;
mod resolve;
mod retag;
mod rollback;
mod scope;
mod step;

use std::sync::atomic::{AtomicU32, Ordering};

pub use prune::{ImagePrune, PruneReport, PruneRequest};
pub use push::{KnownBlobs, PushReport, push_image};
pub use report::{HistoryReport, ImageStatus, StatusReport, TagPointer, VerifyReport};
pub use resolve::{ResolveReport, ResolveRequest, ResolvedImage};
pub use rollback::RERUN_WINDOW_SECS;

use crate::outcome::Outcome;

/// Returns the outcome of a prepared plan that is not executed: every write `Planned`.
pub fn dry_run(prepared: Prepared) -> Outcome {
    execute::dry_run(prepared)
}
use crate::plan::Plan;
use crate::policy::Policy;
use crate::request::{InputError, Request};
use crate::{AuditSink, Cause, Manifest, Registry, RegistryError, RegistryErrorKind, Timestamp, Verifier};

/// What kind of refusal or failure stopped an operation, before its first write or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpErrorKind {
    /// A bad input value (exit 2).
    Input,
    /// The policy or the current state forbids the operation (e.g. target equals prod).
    Refused,
    /// No signature satisfied the policy.
    Verification,
    /// A tag is not where it must be (a stamp at another digest, a concurrent move seen by a
    /// compare-and-swap re-read or a read-back).
    Conflict,
    /// Another run moved the channel during this run; re-running would undo that run's move.
    Superseded,
    /// The history cannot name a target without guessing.
    History,
    /// A registry failure of this kind.
    Registry(RegistryErrorKind),
    /// The release or the deploy dispatch failed with this kind.
    Audit(crate::AuditErrorKind),
}

/// Why an operation stopped before writing anything.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    /// The kind, which decides the exit code.
    pub kind: OpErrorKind,
    /// A message naming what was asked and what was found.
    pub message: String,
    /// The cause.
    #[source]
    pub source: Option<Cause>,
}

impl OpError {
    pub(crate) fn new(kind: OpErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }
}

impl From<InputError> for OpError {
    fn from(e: InputError) -> Self {
        Self::new(OpErrorKind::Input, e.to_string())
    }
}

impl From<RegistryError> for OpError {
    fn from(e: RegistryError) -> Self {
        Self {
            kind: OpErrorKind::Registry(e.kind),
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// A plan ready to execute, with the manifests every write will put (fetched and checked while
/// preparing, so that execution reads nothing but the compare-and-swap re-reads).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The plan.
    pub plan: Plan,
    manifests: Vec<Option<Manifest>>,
}

/// Drives operations over a registry, a verifier and an audit sink under one policy.
pub struct Engine<'a, R, V, A> {
    policy: &'a Policy,
    registry: &'a R,
    verifier: &'a V,
    audit: &'a A,
    calls: AtomicU32,
    verifications: AtomicU32,
    reads: std::sync::Mutex<Vec<crate::plan::ReadStep>>,
}

impl<'a, R: Registry, V: Verifier, A: AuditSink> Engine<'a, R, V, A> {
    /// Returns an engine over the given policy and ports.
    pub fn new(policy: &'a Policy, registry: &'a R, verifier: &'a V, audit: &'a A) -> Self {
        Self {
            policy,
            registry,
            verifier,
            audit,
            calls: AtomicU32::new(0),
            verifications: AtomicU32::new(0),
            reads: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Returns the policy.
    pub fn policy(&self) -> &Policy {
        self.policy
    }

    /// Resolves, validates and verifies everything `request` needs and returns the plan.
    /// Writes nothing.
    #[tracing::instrument(name = "prepare", skip_all, fields(operation = %request.kind(), unit = %self.policy.unit))]
    pub async fn prepare(&self, request: &Request, now: Timestamp) -> Result<Prepared, OpError> {
        self.calls.store(0, Ordering::Relaxed);
        self.verifications.store(0, Ordering::Relaxed);
        self.take_reads();
        let before = self.registry.traffic();
        let mut prepared = match request {
            Request::Publish(r) => self.prepare_publish(r, now).await?,
            Request::Promote(r) => self.prepare_promote(r, now).await?,
            Request::Rollback(r) => self.prepare_rollback(r, now).await?,
            Request::Retag(r) => self.prepare_retag(r).await?,
        };
        prepared.plan.reads = self.take_reads();
        prepared.plan.budget.reads = self.calls.load(Ordering::Relaxed);
        prepared.plan.budget.verifications = self.verifications.load(Ordering::Relaxed);
        prepared.plan.budget.writes = prepared
            .plan
            .steps
            .iter()
            .filter(|s| !s.is_noop())
            .count()
            .saturating_mul(3)
            .try_into()
            .unwrap_or(u32::MAX);
        let sent = self
            .registry
            .traffic()
            .zip(before)
            .map(|(now, then)| now.since(then));
        prepared.plan.budget.requests = sent.map(|t| t.requests);
        prepared.plan.budget.pulls = sent.map(|t| t.pulls);
        prepared.plan.budget.write_requests =
            crate::plan::RequestBudget::write_requests_of(&prepared.plan.steps);
        Ok(prepared)
    }

    /// Prepares `request` and, unless `dry_run`, executes it (a dry run returns
    /// [`dry_run`]'s outcome).
    pub async fn run(&self, request: &Request, now: Timestamp, dry_run: bool) -> Result<Outcome, OpError> {
        let prepared = self.prepare(request, now).await?;
        Ok(if dry_run {
            execute::dry_run(prepared)
        } else {
            self.execute(prepared).await
        })
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a read made while preparing.
    fn note(&self, op: &str, target: String, found: String) {
        let step = crate::plan::ReadStep {
            op: op.to_owned(),
            target,
            found,
        };
        // A poisoned lock only means another thread panicked mid-push; the log stays usable.
        self.reads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(step);
    }

    fn take_reads(&self) -> Vec<crate::plan::ReadStep> {
        std::mem::take(
            &mut *self
                .reads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}
