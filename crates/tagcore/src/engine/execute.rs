//! Execution: compare-and-swap writes in plan order, read-back, then release and dispatch.

use super::{Engine, Prepared};
use crate::outcome::{DispatchOutcome, Outcome, ReleaseOutcome, RunResult, SideStatus, TagChange, TagStatus};
use crate::plan::{Plan, TagKind, WriteStep};
use crate::policy::StepMode;
use crate::{AuditSink, Manifest, Registry, Repository, Verifier};

fn changes(plan: &Plan, status: impl Fn(&WriteStep) -> TagStatus) -> Vec<TagChange> {
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

/// Returns the outcome of not executing `prepared`: every write `Planned` (or `Unchanged`).
pub(super) fn dry_run(prepared: Prepared) -> Outcome {
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
    }
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Executes a prepared plan: each write re-reads its tag and aborts if it moved since it was
    /// read (compare-and-swap), immutable tags first; then reads every written tag back; then
    /// creates or edits the release and dispatches the deploy. Never panics on a port's answer;
    /// a failure after a write is [`RunResult::Partial`] with every tag's status.
    pub async fn execute(&self, prepared: Prepared) -> Outcome {
        let Prepared { plan, manifests } = prepared;
        let mut tags = changes(&plan, |_| TagStatus::NotAttempted);
        let mut warnings = plan.warnings.clone();
        let mut failure: Option<String> = None;
        for (i, step) in plan.steps.iter().enumerate() {
            if step.is_noop() {
                tags[i].status = TagStatus::Unchanged;
                continue;
            }
            let repo = &plan.images[step.image].repository;
            let Some(manifest) = manifests.get(step.image).and_then(Option::as_ref) else {
                tags[i].status = TagStatus::Failed;
                failure = Some(format!(
                    "no manifest was read for {repo}; nothing more was written"
                ));
                break;
            };
            match self.write(repo, step, manifest).await {
                Ok(status) => tags[i].status = status,
                Err(message) => {
                    tags[i].status = TagStatus::Failed;
                    if step.mode == StepMode::BestEffort {
                        warnings.push(format!(
                            "{message} (best-effort step: continuing; to record it later, re-run naming the target explicitly)"
                        ));
                    } else {
                        failure = Some(message);
                        break;
                    }
                }
            }
        }
        if failure.is_none() {
            failure = self.read_back(&tags).await;
        }
        let mut side_effects = false;

        let release = match &plan.release {
            None => None,
            Some(r) if failure.is_some() => Some(ReleaseOutcome {
                tag: r.tag.clone(),
                url: None,
                status: SideStatus::Skipped,
                error: None,
            }),
            Some(r) => Some(match self.audit.publish_release(r).await {
                Ok(receipt) => {
                    side_effects = true;
                    ReleaseOutcome {
                        tag: r.tag.clone(),
                        url: Some(receipt.url),
                        status: if receipt.created {
                            SideStatus::Created
                        } else {
                            SideStatus::Updated
                        },
                        error: None,
                    }
                }
                Err(e) => {
                    let message = format!("release {} failed: {e}", r.tag);
                    if plan.release_mode == StepMode::Required {
                        failure = Some(message.clone());
                    } else {
                        warnings.push(message.clone());
                    }
                    ReleaseOutcome {
                        tag: r.tag.clone(),
                        url: None,
                        status: SideStatus::Failed,
                        error: Some(message),
                    }
                }
            }),
        };
        // The deploy follows the channel even when the release failed.
        let mut side = Side {
            failure,
            warnings,
            side_effects,
        };
        let dispatches = self.dispatch_all(&plan, &tags, &mut side).await;
        let Side {
            failure,
            warnings,
            side_effects,
        } = side;
        let wrote = tags.iter().any(|t| t.status.wrote());
        let result = match failure {
            Some(f) if wrote || side_effects => RunResult::Partial(f),
            Some(f) if plan_already_moved(&plan) => RunResult::Partial(f),
            Some(f) => RunResult::FailedBeforeWrite(f),
            None if wrote || side_effects => RunResult::Done,
            None => RunResult::NoOp,
        };
        Outcome {
            plan,
            tags,
            release,
            dispatches,
            warnings,
            result,
        }
    }

    /// Sends every planned dispatch when the channel holds the run's digest, else skips it.
    async fn dispatch_all(&self, plan: &Plan, tags: &[TagChange], side: &mut Side) -> Vec<DispatchOutcome> {
        let mut out = Vec::new();
        for d in &plan.dispatches {
            let holds = channel_holds(plan, tags, &d.channel, |s| s.wrote() || s == TagStatus::Unchanged);
            let mode = self
                .policy
                .dispatch
                .get(d.target)
                .map_or(StepMode::Required, |t| t.mode);
            let (status, error) = if !holds {
                (SideStatus::Skipped, None)
            } else {
                match self.audit.dispatch(d).await {
                    Ok(()) => {
                        side.side_effects = true;
                        (SideStatus::Sent, None)
                    }
                    Err(e) => {
                        let message =
                            format!("deploy dispatch ({}) after {} failed: {e}", d.name, d.operation);
                        if mode == StepMode::Required && side.failure.is_none() {
                            side.failure = Some(message.clone());
                        } else {
                            side.warnings.push(message.clone());
                        }
                        (SideStatus::Failed, Some(message))
                    }
                }
            };
            out.push(DispatchOutcome {
                target: d.name.clone(),
                status,
                error,
            });
        }
        out
    }

    async fn write(
        &self,
        repo: &Repository,
        step: &WriteStep,
        manifest: &Manifest,
    ) -> Result<TagStatus, String> {
        let tag = &step.tag;
        self.count();
        let now = self
            .registry
            .resolve_tag(repo, tag)
            .await
            .map_err(|e| format!("re-reading {repo}:{tag} before writing it failed: {e}"))?;
        if now.as_ref() == Some(&step.new) {
            return Ok(TagStatus::Unchanged);
        }
        if now != step.expected {
            let show = |d: &Option<crate::Digest>| {
                d.as_ref()
                    .map_or_else(|| "(absent)".to_owned(), ToString::to_string)
            };
            return Err(match step.kind {
                TagKind::Immutable => format!(
                    "{repo}:{tag} appeared at {} while this run was preparing; immutable tags are never overwritten",
                    show(&now)
                ),
                TagKind::Moving => format!(
                    "{repo}:{tag} moved from {} to {} since it was read: someone else moved it; not overwriting (compare-and-swap)",
                    show(&step.expected),
                    show(&now)
                ),
            });
        }
        self.count();
        let put = self
            .registry
            .put_manifest(repo, tag, manifest)
            .await
            .map_err(|e| format!("writing {repo}:{tag} failed: {e}"))?;
        if put != step.new {
            return Err(format!(
                "writing {repo}:{tag}: the registry reports digest {put}, expected {}; the tag may now point at {put}",
                step.new
            ));
        }
        Ok(if step.expected.is_none() {
            TagStatus::Created
        } else {
            TagStatus::Moved
        })
    }

    /// Returns a failure message if any written tag does not read back at its new digest.
    async fn read_back(&self, tags: &[TagChange]) -> Option<String> {
        for t in tags.iter().filter(|t| t.status.wrote()) {
            self.count();
            match self.registry.resolve_tag(&t.repository, &t.tag).await {
                Ok(Some(d)) if d == t.to => {}
                Ok(other) => {
                    let got = other.map_or_else(|| "(absent)".to_owned(), |d| d.to_string());
                    return Some(format!(
                        "read-back: {}:{} points at {got}, expected {}",
                        t.repository, t.tag, t.to
                    ));
                }
                Err(e) => return Some(format!("read-back of {}:{} failed: {e}", t.repository, t.tag)),
            }
        }
        None
    }
}

/// The run's state that the release and dispatch steps add to.
struct Side {
    failure: Option<String>,
    warnings: Vec<String>,
    side_effects: bool,
}

/// Returns whether, once the run ends, the operation's channel holds this run's digest on every
/// image of the plan: its channel write has a status that `held` accepts, or (no write planned)
/// it already pointed there.
fn channel_holds(plan: &Plan, tags: &[TagChange], channel: &str, held: impl Fn(TagStatus) -> bool) -> bool {
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
fn plan_already_moved(plan: &Plan) -> bool {
    !plan.steps.is_empty() && plan.steps.iter().all(WriteStep::is_noop)
}
