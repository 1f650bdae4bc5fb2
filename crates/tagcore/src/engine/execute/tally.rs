//! The tag statuses of a plan: before execution (a dry run), and the checks execution makes on
//! them.

use crate::Digest;
use crate::engine::Prepared;
use crate::outcome::{DispatchOutcome, Outcome, ReleaseOutcome, RunResult, SideStatus, TagChange, TagStatus};
use crate::plan::{Plan, WriteStep};

/// Returns every write of `plan` as a tag change with the status `status` gives it.
pub(super) fn changes(plan: &Plan, status: impl Fn(&WriteStep) -> TagStatus) -> Vec<TagChange> {
    plan.steps
        .iter()
        .map(|s| TagChange {
            repository: plan.images[s.image].repository.clone(),
            tag: s.tag.clone(),
            kind: s.kind,
            from: s.expected.clone(),
            to: s.new.clone(),
            status: status(s),
        })
        .collect()
}

pub(super) fn show(d: Option<&Digest>) -> String {
    d.map_or_else(|| "(absent)".to_owned(), ToString::to_string)
}

/// Returns the outcome of not executing `prepared`: every write `Planned` (or `Unchanged`).
pub(in crate::engine) fn dry_run(prepared: Prepared) -> Outcome {
    let plan = prepared.plan;
    let tags = changes(&plan, |s| {
        if s.is_noop() {
            TagStatus::Unchanged
        } else {
            TagStatus::Planned
        }
    });
    Outcome {
        release: plan.release.as_ref().map(|r| ReleaseOutcome {
            tag: r.tag.clone(),
            url: None,
            status: SideStatus::Planned,
            error: None,
        }),
        dispatches: plan
            .dispatches
            .iter()
            .map(|d| DispatchOutcome {
                target: d.name.clone(),
                status: if channel_holds(&plan, &tags, &d.channel, |_| true) {
                    SideStatus::Planned
                } else {
                    SideStatus::Skipped
                },
                error: None,
            })
            .collect(),
        warnings: plan.warnings.clone(),
        tags,
        plan,
        result: RunResult::DryRun,
        superseded_by: None,
    }
}

/// Returns the status of a write that took effect.
pub(super) fn created_or_moved(step: &WriteStep) -> TagStatus {
    if step.expected.is_none() {
        TagStatus::Created
    } else {
        TagStatus::Moved
    }
}

/// Returns whether, once the run ends, the operation's channel holds this run's digest on every
/// image of the plan: its channel write has a status that `held` accepts, or (no write planned)
/// it already pointed there.
pub(super) fn channel_holds(
    plan: &Plan,
    tags: &[TagChange],
    channel: &str,
    held: impl Fn(TagStatus) -> bool,
) -> bool {
    plan.images.iter().enumerate().all(|(k, img)| {
        let write = plan
            .steps
            .iter()
            .zip(tags)
            .find(|(s, _)| s.image == k && s.tag.as_str() == channel);
        match write {
            Some((_, t)) => held(t.status),
            None => img.previous_digest.as_ref() == Some(&img.digest),
        }
    })
}

/// Returns whether an earlier run already moved the channel (a re-run whose every write is a
/// no-op): a failure now is still a failure after writes.
pub(super) fn plan_already_moved(plan: &Plan) -> bool {
    !plan.steps.is_empty() && plan.steps.iter().all(WriteStep::is_noop)
}
