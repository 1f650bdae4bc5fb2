//! Rollback: move prod (and its aliases) back to an earlier, verified release.
//!
//! Like promote, a re-run whose every tag already holds its digest writes nothing and so reads
//! no signature and no manifest: verification gates writes.

use super::inventory::{Depth, Inventory};
use super::scope::{release_scope, rollback_scope};
use super::{Engine, OpError, OpErrorKind, Prepared};
use crate::history::{Event, NamedTime, Timeline};
use crate::plan::{ImagePlan, Plan, WriteStep};
use crate::policy::StepMode;
use crate::release::{NotesInput, render_notes};
use crate::request::{RollbackRequest, RollbackTarget, check_confirm};
use crate::source::SourceCommit;
use crate::template::TemplateValues;
use crate::{AuditSink, Digest, Manifest, OperationKind, Registry, ReleaseRequest, Tag, Timestamp, Verifier};

/// How long after an automatic rollback a second automatic rollback is taken to be a re-run of
/// the first (finishing it) rather than a request to go back further. Naming the target
/// explicitly is never ambiguous.
pub const RERUN_WINDOW_SECS: i64 = 3600;

fn event_time(e: &Event) -> Option<Timestamp> {
    e.pushed.or(match e.named {
        NamedTime::Exact(t) => Some(t),
        _ => None,
    })
}

/// What a rollback read before planning its writes.
struct RollbackState {
    /// Where prod and the aliases point now, per image.
    current: Vec<Digest>,
    aliases: Vec<Vec<Option<Digest>>>,
    inventory: Inventory,
    timeline: Timeline,
    warnings: Vec<String>,
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    pub(super) async fn prepare_rollback(
        &self,
        req: &RollbackRequest,
        now: Timestamp,
    ) -> Result<Prepared, OpError> {
        check_confirm(self.policy.rollback.confirm.as_deref(), req.confirm.as_deref())?;
        let mut st = self.read_for_rollback(req, now).await?;
        let (target, mut resume) = self.rollback_target(req, &st, now)?;
        let mut images = self.target_digests(&target, &st).await?;
        let unrecorded = self.check_resume(&st, &images, &target, now, &mut resume)?;
        if unrecorded && resume.is_none() {
            st.warnings.push(format!(
                "prod is already at {target} but no record says so: writing the missing audit tag and finishing"
            ));
        }
        if let Some(r) = &resume {
            st.warnings
                .push(format!("re-run of rollback {r}: finishing its remaining steps"));
            // Prod already moved by that rollback: report what it rolled back from.
            if images
                .iter()
                .all(|i| i.previous_digest.as_ref() == Some(&i.digest))
            {
                let before = st.timeline.before(r).map(|e| e.digest.clone());
                for img in &mut images {
                    img.previous_digest = before.clone();
                }
            }
        }
        let audit = match resume {
            Some(r) => r,
            None => self.audit_tag(&target, now)?,
        };
        let steps = self.rollback_steps(&st, &images, &audit).await?;
        let (commit, manifests) = if steps.iter().all(WriteStep::is_noop) {
            // Nothing to write: no signature is read, the records name the commit.
            let commit = self
                .recorded_commit(&images[0], &st.inventory, Some(&target))
                .await?;
            (commit, vec![None; images.len()])
        } else {
            self.verify_target(&mut images, &st.inventory, &target, &steps)
                .await?
        };
        let plan = self.rollback_plan(st, images, target, audit, steps, commit);
        Ok(Prepared { plan, manifests })
    }

    /// Reads where prod and its aliases point on every image (all at once), then the primary's
    /// release tags: all of them, or for an automatic rollback the newest until they settle
    /// the answer.
    async fn read_for_rollback(
        &self,
        req: &RollbackRequest,
        now: Timestamp,
    ) -> Result<RollbackState, OpError> {
        let tags = &self.policy.tags;
        let reads = futures_util::future::try_join_all(self.policy.images_for(OperationKind::Rollback).map(
            |image| async move {
                let aliases = futures_util::future::try_join_all(
                    tags.prod_aliases
                        .iter()
                        .map(|a| self.resolve(&image.repository, a)),
                );
                futures_util::future::try_join(
                    self.require(&image.repository, &tags.prod, "prod tag"),
                    aliases,
                )
                .await
            },
        ))
        .await?;
        let (current, aliases): (Vec<Digest>, Vec<_>) = reads.into_iter().unzip();
        let scope = match req.target {
            RollbackTarget::Automatic => rollback_scope(tags, &current[0], now),
            _ => release_scope(tags),
        };
        let primary = self.policy.primary();
        let inventory = self.inventory(&primary.repository, Depth::Full, &scope).await?;
        let warnings = inventory.warnings.clone();
        let timeline = self.timeline(&inventory);
        Ok(RollbackState {
            current,
            aliases,
            inventory,
            timeline,
            warnings,
        })
    }

    /// Returns the target and, when this finishes an earlier rollback, that rollback's audit
    /// tag: an unfinished rollback (audit tag newest, prod not there yet) or a finished one
    /// re-run within the window is completed with its own audit tag.
    fn rollback_target(
        &self,
        req: &RollbackRequest,
        st: &RollbackState,
        now: Timestamp,
    ) -> Result<(Tag, Option<Tag>), OpError> {
        let (RollbackTarget::Stamp(t) | RollbackTarget::Version(t)) = &req.target else {
            return self.automatic_target(st, now);
        };
        Ok((t.clone(), None))
    }

    /// Returns the automatic rollback's target (see [`Self::rollback_target`]).
    fn automatic_target(&self, st: &RollbackState, now: Timestamp) -> Result<(Tag, Option<Tag>), OpError> {
        let primary = self.policy.primary();
        if st.inventory.truncated {
            return Err(OpError::new(
                OpErrorKind::History,
                format!(
                    "the tag listing of {} is incomplete, so the previous release cannot be known; name the target explicitly",
                    primary.repository
                ),
            ));
        }
        let timeline = &st.timeline;
        let current = &st.current[0];
        let rerun = timeline
            .newest_rollback()
            .filter(|r| self.interrupted(r, st) || (&r.digest == current && recent(r, now)));
        if let Some(r) = rerun {
            let target = target_of(r, timeline).ok_or_else(|| {
                OpError::new(
                    OpErrorKind::History,
                    format!(
                        "the newest rollback {} names no known target; name the target explicitly",
                        r.tag
                    ),
                )
            })?;
            return Ok((target, Some(r.tag.clone())));
        }
        if !timeline.events.is_empty() && !timeline.explains(current) {
            let head = timeline.head().map_or_else(String::new, |h| h.tag.to_string());
            return Err(OpError::new(
                OpErrorKind::History,
                format!(
                    "prod is at {current} but the records say it should be at {head}: prod was moved without a \
                     record (for example a best-effort audit tag that failed). Automatic rollback will not \
                     guess from there; name the target explicitly (naming the release prod is at records it)"
                ),
            ));
        }
        let previous = timeline
            .previous(current)
            .map_err(|e| OpError::new(OpErrorKind::History, e.to_string()))?;
        Ok((previous.tag.clone(), None))
    }

    /// Tells whether rollback `r` was interrupted: prod has not reached its target and no
    /// promotion came after it. Only prod stamps record promotions: without them nothing can
    /// tell that a promotion followed an unfinished rollback, so none is ever taken as
    /// interrupted.
    fn interrupted(&self, r: &Event, st: &RollbackState) -> bool {
        self.policy.tags.prod_stamp.is_some() && r.digest != st.current[0] && !st.timeline.promoted_since(r)
    }

    /// Returns the target's digest on every image (the primary's from the listing when it
    /// carries it), with where prod is now as "previous".
    async fn target_digests(&self, target: &Tag, st: &RollbackState) -> Result<Vec<ImagePlan>, OpError> {
        let unit: Vec<_> = self.policy.images_for(OperationKind::Rollback).collect();
        let known = st.inventory.lookup(target).flatten();
        futures_util::future::try_join_all(unit.iter().zip(&st.current).enumerate().map(
            |(k, (image, cur))| {
                let known = known.clone().filter(|_| k == 0);
                async move {
                    let digest = match known {
                        Some(d) => d,
                        None => self.require(&image.repository, target, "rollback target").await?,
                    };
                    Ok::<_, OpError>(ImagePlan {
                        repository: image.repository.clone(),
                        digest,
                        previous_digest: Some(cur.clone()),
                        verification: None,
                    })
                }
            },
        ))
        .await
    }

    /// Takes a rollback that already put prod at `images`' digests (or was interrupted) as the
    /// one this run finishes; refuses a target prod already holds with a record of it. Returns
    /// whether prod is at the target without a record of how it got there.
    fn check_resume(
        &self,
        st: &RollbackState,
        images: &[ImagePlan],
        target: &Tag,
        now: Timestamp,
        resume: &mut Option<Tag>,
    ) -> Result<bool, OpError> {
        let at_target = images
            .iter()
            .all(|i| i.previous_digest.as_ref() == Some(&i.digest));
        let stamps = self.policy.tags.prod_stamp.is_some();
        if resume.is_none()
            && let Some(r) = st
                .timeline
                .newest_rollback()
                .filter(|r| r.digest == images[0].digest)
            && ((at_target && (stamps || recent(r, now))) || self.interrupted(r, st))
        {
            *resume = Some(r.tag.clone());
        }
        // Prod already at the named target without a record of how it got there: record it.
        let unrecorded =
            at_target && !st.timeline.events.is_empty() && !st.timeline.explains(&images[0].digest);
        if at_target && resume.is_none() && !unrecorded {
            return Err(OpError::new(
                OpErrorKind::Refused,
                format!(
                    "rollback target {target} is already prod ({}); nothing was written",
                    images[0].digest
                ),
            ));
        }
        Ok(unrecorded)
    }

    /// Returns the audit tag of a new rollback to `target` at `now`.
    fn audit_tag(&self, target: &Tag, now: Timestamp) -> Result<Tag, OpError> {
        let tags = &self.policy.tags;
        let prefix = tags.prod_stamp.as_ref().map_or("", |t| t.literal_prefix());
        let suffix = target.as_str().strip_prefix(prefix).unwrap_or(target.as_str());
        tags.rollback_audit
            .render(&TemplateValues {
                date: Some(&now.date_compact()),
                time: Some(&now.time_compact()),
                target_suffix: Some(suffix),
                ..Default::default()
            })
            .map_err(|e| OpError::new(OpErrorKind::Refused, e.to_string()))
    }

    /// Returns the writes: the audit tag (immutable, first) on every image, then prod and its
    /// aliases.
    async fn rollback_steps(
        &self,
        st: &RollbackState,
        images: &[ImagePlan],
        audit: &Tag,
    ) -> Result<Vec<WriteStep>, OpError> {
        let mut steps = Vec::new();
        for (k, img) in images.iter().enumerate() {
            let listed = (k == 0).then_some(&st.inventory);
            let mode = self.policy.rollback.audit_tag;
            steps.push(
                self.immutable_step(k, &img.repository, audit, &img.digest, mode, listed)
                    .await?,
            );
        }
        let prod_now: Vec<Option<Digest>> = st.current.iter().cloned().map(Some).collect();
        let tags = &self.policy.tags;
        steps.extend(super::step::prod_steps(
            &tags.prod,
            &tags.prod_aliases,
            images,
            &prod_now,
            &st.aliases,
        ));
        Ok(steps)
    }

    /// Verifies the target on every image (all at once) and returns its source commit: from
    /// the certificate, the revision, the staging stamps; when none names it and the listing
    /// was scoped to release tags (no staging stamps in it), from the target's own stamp name.
    async fn verify_target(
        &self,
        images: &mut [ImagePlan],
        inventory: &Inventory,
        target: &Tag,
        steps: &[WriteStep],
    ) -> Result<(SourceCommit, Vec<Option<Manifest>>), OpError> {
        let unit: Vec<_> = self.policy.images_for(OperationKind::Rollback).collect();
        let read = futures_util::future::try_join_all(unit.iter().zip(images.iter()).enumerate().map(
            |(k, (image, plan))| async move {
                let writes = steps.iter().any(|s| s.image == k && !s.is_noop());
                let manifest = async {
                    match writes {
                        true => self.manifest(&plan.repository, &plan.digest).await.map(Some),
                        false => Ok(None),
                    }
                };
                futures_util::future::try_join(self.verify(image, &plan.digest), manifest).await
            },
        ))
        .await?;
        let mut manifests = Vec::new();
        for (plan, (v, m)) in images.iter_mut().zip(read) {
            plan.verification = v;
            manifests.push(m);
        }
        let p = &images[0];
        let cert = p.verification.as_ref().and_then(|v| v.source_commit.clone());
        let commit = self
            .source_commit_of(
                &p.repository,
                &p.digest,
                cert.as_ref(),
                manifests[0].as_ref(),
                inventory,
            )
            .await?;
        if commit.is_derived() && inventory.partial {
            return Ok((self.recorded_commit(p, inventory, Some(target)).await?, manifests));
        }
        Ok((commit, manifests))
    }

    /// Builds the plan: release and dispatches from the audit tag and commit.
    fn rollback_plan(
        &self,
        st: RollbackState,
        images: Vec<ImagePlan>,
        target: Tag,
        audit: Tag,
        steps: Vec<WriteStep>,
        commit: SourceCommit,
    ) -> Plan {
        let policy = self.policy;
        let heading = format!("Production Rollback {audit}");
        let release = (policy.release != StepMode::Off).then(|| ReleaseRequest {
            tag: audit.to_string(),
            title: heading.clone(),
            notes: render_notes(&NotesInput {
                heading: &heading,
                images: &images,
                source: &format!("rollback to `{target}`"),
                commit: Some(&commit),
            }),
            make_latest: false,
            target_commitish: commit.full_commit().map(str::to_owned),
        });
        let dispatches = crate::policy::dispatch_requests(
            &policy.dispatch,
            &crate::policy::DispatchValues {
                operation: OperationKind::Rollback,
                unit: &policy.unit,
                digest: &images[0].digest,
                tag: Some(audit.as_str()),
                channel: policy.tags.prod.as_str(),
                commit: commit.full_commit(),
            },
        );
        let mut plan = Plan::new(OperationKind::Rollback, policy, images, steps);
        plan.stamp = Some(audit);
        plan.target = Some(target);
        plan.source_commit = Some(commit);
        plan.release = release;
        plan.dispatches = dispatches;
        plan.warnings = st.warnings;
        plan
    }
}

/// Tells whether rollback `r` happened within the re-run window before `now`.
fn recent(r: &Event, now: Timestamp) -> bool {
    event_time(r).is_some_and(|t| now.unix() - t.unix() <= RERUN_WINDOW_SECS)
}

/// Returns the release a rollback event went to: the newest promotion at its digest.
fn target_of(rollback: &Event, timeline: &Timeline) -> Option<Tag> {
    timeline
        .promotions()
        .find(|p| p.digest == rollback.digest)
        .map(|p| p.tag.clone())
}
