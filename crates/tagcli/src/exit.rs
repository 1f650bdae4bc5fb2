//! Exit codes, decided in one place (docs/behaviour.md#interfaces).

use tagcore::OpErrorKind;
use tagcore::outcome::RunResult;

/// Done, including a no-op and a dry run.
pub(crate) const OK: u8 = 0;
/// Refused or failed before any write: nothing changed.
pub(crate) const REFUSED: u8 = 1;
/// Usage or configuration error.
pub(crate) const USAGE: u8 = 2;
/// Failed after some writes: the output lists the state; re-running converges.
pub(crate) const PARTIAL: u8 = 3;

/// Returns the exit code of a run's result.
pub(crate) fn of_result(r: &RunResult) -> u8 {
    match r {
        RunResult::Done | RunResult::NoOp | RunResult::DryRun => OK,
        RunResult::FailedBeforeWrite(_) => REFUSED,
        RunResult::Partial(_) => PARTIAL,
    }
}

/// Returns the exit code of an operation refused before any write.
pub(crate) fn of_error(k: OpErrorKind) -> u8 {
    match k {
        OpErrorKind::Input => USAGE,
        OpErrorKind::Refused
        | OpErrorKind::Verification
        | OpErrorKind::Conflict
        | OpErrorKind::History
        | OpErrorKind::Registry(_) => REFUSED,
        // Kinds added later refuse: nothing was written before an `OpError`.
        _ => REFUSED,
    }
}

/// Returns the exit code of `resolve`: refused when any image got no reference.
pub(crate) fn of_resolve(r: &tagcore::engine::ResolveReport) -> u8 {
    if r.complete() { OK } else { REFUSED }
}

/// Returns the exit code of `prune`: partial when a deletion failed after others succeeded,
/// refused when deletions failed and none succeeded.
pub(crate) fn of_prune(r: &tagcore::engine::PruneReport) -> u8 {
    let failed = r.images.iter().any(|i| !i.failed.is_empty());
    let deleted = r.images.iter().any(|i| !i.deleted.is_empty());
    match (failed, deleted) {
        (false, _) => OK,
        (true, true) => PARTIAL,
        (true, false) => REFUSED,
    }
}
