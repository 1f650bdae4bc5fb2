//! Execution: compare-and-swap writes in plan order, read-back, then release and dispatch.
//!
//! Concurrent runs: the registry has no conditional PUT, so two runs can both pass their
//! compare-and-swap re-read of the channel and both PUT it; the later PUT wins. Every run
//! therefore re-reads the channel right before each alias write (aliases follow the channel:
//! they are written only while it holds this run's digest) and reads back every tag it wrote.
//! A run that finds the channel at another digest stops, names that digest, and reports as
//! written only the tags that still hold its own digest.

use super::{Engine, Prepared};
use crate::outcome::{DispatchOutcome, Outcome, ReleaseOutcome, RunResult, SideStatus, TagChange, TagStatus};
use crate::plan::{Plan, TagKind, WriteStep};
use crate::policy::StepMode;
use crate::{AuditSink, Digest, Manifest, OperationKind, Registry, Repository, Tag, Verifier};

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

fn show(d: Option<&Digest>) -> String {
    d.map_or_else(|| "(absent)".to_owned(), ToString::to_string)
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
        superseded_by: None,
    }
}

/// Why one write did not happen.
struct WriteFailure {
    message: String,
    /// The channel's digest when another run moved it (`Some(None)`: it was deleted).
    channel_moved_to: Option<Option<Digest>>,
}

impl WriteFailure {
    fn plain(message: String) -> Self {
        Self {
            message,
            channel_moved_to: None,
        }
    }
}

/// The state of a run between its steps.
struct Run {
    tags: Vec<TagChange>,
    warnings: Vec<String>,
    failure: Option<String>,
    superseded_by: Option<Option<Digest>>,
    side_effects: bool,
}

impl Run {
    /// Records that another run moved the channel of `repo` to `to`: the first such finding
    /// names the failure.
    fn superseded(&mut self, channel: &Tag, repo: &Repository, to: Option<Digest>) {
        if self.failure.is_none() {
            self.failure = Some(format!(
                "another run moved {channel} to {} ({repo}); this run stopped and does not undo it",
                show(to.as_ref())
            ));
        }
        self.superseded_by.get_or_insert(to);
    }
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Executes a prepared plan: each write re-reads its tag and aborts if it moved since it was
    /// read (compare-and-swap), immutable tags first, and each alias is written only while the
    /// channel still holds this run's digest; then every written tag is read back; then the
    /// release is created or edited and the deploy dispatched. Never panics on a port's answer;
    /// a failure after a write is [`RunResult::Partial`] with every tag's status.
    pub async fn execute(&self, prepared: Prepared) -> Outcome {
        let Prepared { plan, manifests } = prepared;
        let channel = self.channel(plan.operation).cloned();
        let mut run = Run {
            tags: changes(&plan, |_| TagStatus::NotAttempted),
            warnings: plan.warnings.clone(),
            failure: None,
            superseded_by: None,
            side_effects: false,
        };
        self.write_all(&plan, &manifests, channel.as_ref(), &mut run)
            .await;
        let read_back_ok = self.read_back(channel.as_ref(), &mut run).await;
        let release = self.release_step(&plan, &mut run).await;
        let dispatches = self.dispatch_all(&plan, read_back_ok, &mut run).await;
        let wrote = run.tags.iter().any(|t| t.status.wrote());
        let result = match run.failure {
            Some(f) if wrote || run.side_effects => RunResult::Partial(f),
            Some(f) if plan_already_moved(&plan) || run.superseded_by.is_some() => RunResult::Partial(f),
            Some(f) => RunResult::FailedBeforeWrite(f),
            None if wrote || run.side_effects => RunResult::Done,
            None => RunResult::NoOp,
        };
        Outcome {
            plan,
            tags: run.tags,
            release,
            dispatches,
            warnings: run.warnings,
            result,
            superseded_by: run.superseded_by.flatten(),
        }
    }

    /// Returns the channel an operation moves (staging for publish, prod for promote and
    /// rollback; none for retag).
    fn channel(&self, op: OperationKind) -> Option<&Tag> {
        match op {
            OperationKind::Publish => Some(&self.policy.tags.staging),
            OperationKind::Promote | OperationKind::Rollback => Some(&self.policy.tags.prod),
            OperationKind::Retag => None,
        }
    }

    /// Runs the writes in plan order until one that must succeed fails.
    async fn write_all(
        &self,
        plan: &Plan,
        manifests: &[Option<Manifest>],
        channel: Option<&Tag>,
        run: &mut Run,
    ) {
        for (i, step) in plan.steps.iter().enumerate() {
            if step.is_noop() {
                run.tags[i].status = TagStatus::Unchanged;
                continue;
            }
            let repo = &plan.images[step.image].repository;
            let Some(manifest) = manifests.get(step.image).and_then(Option::as_ref) else {
                run.tags[i].status = TagStatus::Failed;
                run.failure = Some(format!(
                    "no manifest was read for {repo}; nothing more was written"
                ));
                break;
            };
            let alias_of = channel.filter(|c| step.kind == TagKind::Moving && step.tag != **c);
            let written = match alias_of {
                Some(c) => self.write_alias(repo, c, step, manifest).await,
                None => self.write(repo, step, manifest, channel).await,
            };
            match written {
                Ok(status) => run.tags[i].status = status,
                Err(WriteFailure {
                    channel_moved_to: Some(to),
                    ..
                }) => {
                    run.tags[i].status = TagStatus::Failed;
                    run.superseded(channel.unwrap_or(&step.tag), repo, to);
                    break;
                }
                Err(f) => {
                    run.tags[i].status = TagStatus::Failed;
                    if step.mode == StepMode::BestEffort {
                        run.warnings.push(format!(
                            "{} (best-effort step: continuing; to record it later, re-run naming the target explicitly)",
                            f.message
                        ));
                    } else {
                        run.failure = Some(f.message);
                        break;
                    }
                }
            }
        }
    }

    /// Writes one tag: re-reads it (compare-and-swap), PUTs the exact bytes, checks the digest
    /// the registry reports. A write whose answer is lost is judged by the registry's state.
    async fn write(
        &self,
        repo: &Repository,
        step: &WriteStep,
        manifest: &Manifest,
        channel: Option<&Tag>,
    ) -> Result<TagStatus, WriteFailure> {
        let tag = &step.tag;
        // An immutable tag the plan found absent is written without a re-read: nothing may
        // move it, and the read-back of every written tag reports one found at another digest
        // (ARCHITECTURE.md, "Decisions"). Moving tags keep their compare-and-swap re-read.
        if step.kind == TagKind::Immutable && step.expected.is_none() {
            return self.put(repo, step, manifest).await;
        }
        let expected = |d: &Option<Digest>| *d == step.expected || d.as_ref() == Some(&step.new);
        let now = self.confirmed_read(repo, tag, expected).await.map_err(|e| {
            WriteFailure::plain(format!("re-reading {repo}:{tag} before writing it failed: {e}"))
        })?;
        if now.as_ref() == Some(&step.new) {
            return Ok(TagStatus::Unchanged);
        }
        if now != step.expected {
            return Err(match step.kind {
                TagKind::Immutable => WriteFailure::plain(format!(
                    "{repo}:{tag} appeared at {} while this run was preparing; immutable tags are never overwritten",
                    show(now.as_ref())
                )),
                TagKind::Moving if channel == Some(tag) => WriteFailure {
                    message: String::new(),
                    channel_moved_to: Some(now),
                },
                TagKind::Moving => WriteFailure::plain(format!(
                    "{repo}:{tag} moved from {} to {} since it was read: someone else moved it; not overwriting (compare-and-swap)",
                    show(step.expected.as_ref()),
                    show(now.as_ref())
                )),
            });
        }
        self.put(repo, step, manifest).await
    }

    /// Writes an alias of `channel`: aliases follow the channel, so it is written (whatever it
    /// holds now) only while the channel still holds this run's digest.
    async fn write_alias(
        &self,
        repo: &Repository,
        channel: &Tag,
        step: &WriteStep,
        manifest: &Manifest,
    ) -> Result<TagStatus, WriteFailure> {
        let at = self
            .confirmed_read(repo, channel, |d| d.as_ref() == Some(&step.new))
            .await
            .map_err(|e| {
                WriteFailure::plain(format!(
                    "re-reading {repo}:{channel} before moving its alias {} failed: {e}",
                    step.tag
                ))
            })?;
        if at.as_ref() != Some(&step.new) {
            return Err(WriteFailure {
                message: String::new(),
                channel_moved_to: Some(at),
            });
        }
        self.put(repo, step, manifest).await
    }

    /// Returns where `tag` points, read again when the first read is not what `expected`
    /// accepts: a surprise (another writer) is believed only when a second read confirms it,
    /// so that one wrong answer neither stops a run nor hides a write.
    async fn confirmed_read(
        &self,
        repo: &Repository,
        tag: &Tag,
        expected: impl Fn(&Option<Digest>) -> bool,
    ) -> Result<Option<Digest>, crate::RegistryError> {
        self.count();
        let first = self.registry.resolve_tag(repo, tag).await?;
        if expected(&first) {
            return Ok(first);
        }
        self.count();
        self.registry.resolve_tag(repo, tag).await
    }

    /// PUTs the manifest under the step's tag and checks the digest the registry reports.
    async fn put(
        &self,
        repo: &Repository,
        step: &WriteStep,
        manifest: &Manifest,
    ) -> Result<TagStatus, WriteFailure> {
        let tag = &step.tag;
        self.count();
        // An answer that is lost, or that names another digest, does not say what the registry
        // stored: its state, read again, does.
        let answer = self.registry.put_manifest(repo, tag, manifest).await;
        if matches!(&answer, Ok(put) if *put == step.new) {
            return Ok(created_or_moved(step));
        }
        self.count();
        let applied = matches!(self.registry.resolve_tag(repo, tag).await, Ok(Some(d)) if d == step.new);
        match answer {
            _ if applied => Ok(created_or_moved(step)),
            Ok(put) => Err(WriteFailure::plain(format!(
                "writing {repo}:{tag}: the registry reports digest {put}, expected {}; the tag may now point at {put}",
                step.new
            ))),
            Err(e) => Err(WriteFailure::plain(format!("writing {repo}:{tag} failed: {e}"))),
        }
    }

    /// Reads back every tag this run wrote, even after a failure, so that the report says only
    /// what holds: a tag found at another digest is not reported as written (on the channel, it
    /// means another run moved it). Returns whether every written tag read back as written (the
    /// deploy then follows the channel, even if a later step failed).
    async fn read_back(&self, channel: Option<&Tag>, run: &mut Run) -> bool {
        let written: Vec<usize> = (0..run.tags.len())
            .filter(|&i| run.tags[i].status.wrote())
            .collect();
        // Independent reads: all in flight at once.
        let reads = futures_util::future::join_all(written.iter().map(|&i| {
            let t = &run.tags[i];
            self.count();
            self.registry.resolve_tag(&t.repository, &t.tag)
        }))
        .await;
        let mut ok = true;
        for (i, read) in written.into_iter().zip(reads) {
            let t = &run.tags[i];
            // A surprise is believed only when a second read confirms it.
            let read = match read {
                Ok(d) if d.as_ref() != Some(&t.to) => {
                    self.count();
                    self.registry.resolve_tag(&t.repository, &t.tag).await
                }
                other => other,
            };
            match read {
                Ok(Some(d)) if d == t.to => {}
                Ok(other) => {
                    ok = false;
                    let (repo, tag, to) = (t.repository.clone(), t.tag.clone(), t.to.clone());
                    run.tags[i].status = TagStatus::Failed;
                    if channel == Some(&tag) {
                        run.superseded(&tag, &repo, other);
                    } else if run.failure.is_none() {
                        run.failure = Some(format!(
                            "read-back: {repo}:{tag} points at {}, expected {to}",
                            show(other.as_ref())
                        ));
                    }
                }
                Err(e) => {
                    ok = false;
                    if run.failure.is_none() {
                        run.failure = Some(format!("read-back of {}:{} failed: {e}", t.repository, t.tag));
                    }
                }
            }
        }
        ok
    }

    /// Creates or edits the release, unless the run failed before it.
    async fn release_step(&self, plan: &Plan, run: &mut Run) -> Option<ReleaseOutcome> {
        let r = plan.release.as_ref()?;
        let skipped = |status| ReleaseOutcome {
            tag: r.tag.clone(),
            url: None,
            status,
            error: None,
        };
        if run.failure.is_some() {
            return Some(skipped(SideStatus::Skipped));
        }
        Some(match self.audit.publish_release(r).await {
            Ok(receipt) => {
                run.side_effects = true;
                ReleaseOutcome {
                    url: Some(receipt.url),
                    status: if receipt.created {
                        SideStatus::Created
                    } else {
                        SideStatus::Updated
                    },
                    ..skipped(SideStatus::Skipped)
                }
            }
            Err(e) => {
                let message = format!("release {} failed: {e}", r.tag);
                if plan.release_mode == StepMode::Required {
                    run.failure = Some(message.clone());
                } else {
                    run.warnings.push(message.clone());
                }
                ReleaseOutcome {
                    error: Some(message),
                    ..skipped(SideStatus::Failed)
                }
            }
        })
    }

    /// Sends every planned dispatch whose channel holds this run's digest on every image at the
    /// end (moved now, or already in place on a re-run whose earlier dispatch may have failed),
    /// even if the release failed; skips it otherwise, or when the read-back did not confirm
    /// the writes.
    async fn dispatch_all(&self, plan: &Plan, read_back_ok: bool, run: &mut Run) -> Vec<DispatchOutcome> {
        let mut out = Vec::new();
        for d in &plan.dispatches {
            let holds = read_back_ok
                && channel_holds(plan, &run.tags, &d.channel, |s| {
                    s.wrote() || s == TagStatus::Unchanged
                });
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
                        run.side_effects = true;
                        (SideStatus::Sent, None)
                    }
                    Err(e) => {
                        let message =
                            format!("deploy dispatch ({}) after {} failed: {e}", d.name, d.operation);
                        if mode == StepMode::Required && run.failure.is_none() {
                            run.failure = Some(message.clone());
                        } else {
                            run.warnings.push(message.clone());
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
}

/// Returns the status of a write that took effect.
fn created_or_moved(step: &WriteStep) -> TagStatus {
    if step.expected.is_none() {
        TagStatus::Created
    } else {
        TagStatus::Moved
    }
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
