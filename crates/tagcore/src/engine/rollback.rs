//! Rollback: move prod (and its aliases) back to an earlier, verified release.

use super::inventory::{Depth, release_scope, rollback_scope};
use super::{Engine, OpError, OpErrorKind, Prepared};
use crate::history::{Event, NamedTime};
use crate::plan::{ImagePlan, Plan, RequestBudget};
use crate::policy::StepMode;
use crate::release::{NotesInput, render_notes};
use crate::request::{RollbackRequest, RollbackTarget, check_confirm};
use crate::template::TemplateValues;
use crate::{AuditSink, OperationKind, Registry, ReleaseRequest, Tag, Timestamp, Verifier};

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

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    pub(super) async fn prepare_rollback(
        &self,
        req: &RollbackRequest,
        now: Timestamp,
    ) -> Result<Prepared, OpError> {
        let policy = self.policy;
        let tags = &policy.tags;
        check_confirm(policy.rollback.confirm.as_deref(), req.confirm.as_deref())?;
        let mut warnings = Vec::new();
        // 1. Where prod is now, on every image; the primary's history.
        let mut current = Vec::new();
        for image in policy.images_for(OperationKind::Rollback) {
            current.push(self.require(&image.repository, &tags.prod, "prod tag").await?);
        }
        let primary = policy.primary();
        let scope = match req.target {
            RollbackTarget::Automatic => rollback_scope(tags, &current[0], now),
            _ => release_scope(tags),
        };
        let inventory = self.inventory(&primary.repository, Depth::Full, &scope).await?;
        warnings.extend(inventory.warnings.iter().cloned());
        let timeline = self.timeline(&inventory);
        // The newest rollback, when it may still need finishing: prod has not reached its
        // target and no promotion came after it (interrupted), or prod is at its target (a
        // re-run of a finished one).
        let newest_rollback = timeline.newest_rollback().cloned();
        // Only prod stamps record promotions: without them nothing can tell that a promotion
        // followed an unfinished rollback, so none is ever taken as interrupted.
        let stamps = tags.prod_stamp.is_some();
        let interrupted = |r: &Event| stamps && r.digest != current[0] && !timeline.promoted_since(r);
        let recent = |r: &Event| event_time(r).is_some_and(|t| now.unix() - t.unix() <= RERUN_WINDOW_SECS);

        // 2. The target. An unfinished rollback (audit tag newest, prod not there yet) or a
        //    finished one that is re-run is completed with its own audit tag.
        let mut resume: Option<Tag> = None;
        let target: Tag = match &req.target {
            RollbackTarget::Stamp(t) | RollbackTarget::Version(t) => t.clone(),
            RollbackTarget::Automatic => {
                if inventory.truncated {
                    return Err(OpError::new(
                        OpErrorKind::History,
                        format!(
                            "the tag listing of {} is incomplete, so the previous release cannot be known; name the target explicitly",
                            primary.repository
                        ),
                    ));
                }
                let rerun = newest_rollback
                    .as_ref()
                    .filter(|r| interrupted(r) || (r.digest == current[0] && recent(r)));
                match rerun {
                    Some(r) => {
                        let target = self.target_of(r, &timeline).ok_or_else(|| {
                            OpError::new(
                                OpErrorKind::History,
                                format!("the newest rollback {} names no known target; name the target explicitly", r.tag),
                            )
                        })?;
                        resume = Some(r.tag.clone());
                        target
                    }
                    None if !timeline.events.is_empty() && !timeline.explains(&current[0]) => {
                        let head = timeline.head().map_or_else(String::new, |h| h.tag.to_string());
                        return Err(OpError::new(
                            OpErrorKind::History,
                            format!(
                                "prod is at {} but the records say it should be at {head}: prod was moved without a \
                                 record (for example a best-effort audit tag that failed). Automatic rollback will not \
                                 guess from there; name the target explicitly (naming the release prod is at records it)",
                                current[0]
                            ),
                        ));
                    }
                    None => timeline
                        .previous(&current[0])
                        .map_err(|e| OpError::new(OpErrorKind::History, e.to_string()))?
                        .tag
                        .clone(),
                }
            }
        };
        let mut images = Vec::new();
        let prod_now: Vec<Option<crate::Digest>> = current.iter().cloned().map(Some).collect();
        for (image, cur) in policy.images_for(OperationKind::Rollback).zip(&prod_now) {
            let digest = self
                .require(&image.repository, &target, "rollback target")
                .await?;
            images.push(ImagePlan {
                repository: image.repository.clone(),
                digest,
                previous_digest: cur.clone(),
                verification: None,
            });
        }
        let at_target = images
            .iter()
            .all(|i| i.previous_digest.as_ref() == Some(&i.digest));
        if resume.is_none()
            && let Some(r) = newest_rollback.as_ref().filter(|r| r.digest == images[0].digest)
            && ((at_target && (stamps || recent(r))) || interrupted(r))
        {
            resume = Some(r.tag.clone());
        }
        // Prod already at the named target without a record of how it got there: record it.
        let unrecorded = at_target && !timeline.events.is_empty() && !timeline.explains(&images[0].digest);
        if unrecorded && resume.is_none() {
            warnings.push(format!(
                "prod is already at {target} but no record says so: writing the missing audit tag and finishing"
            ));
        }
        if at_target && resume.is_none() && !unrecorded {
            return Err(OpError::new(
                OpErrorKind::Refused,
                format!(
                    "rollback target {target} is already prod ({}); nothing was written",
                    images[0].digest
                ),
            ));
        }
        if let Some(r) = &resume {
            warnings.push(format!("re-run of rollback {r}: finishing its remaining steps"));
            // Prod already moved by that rollback: report what it rolled back from.
            if at_target {
                let before = timeline.before(r).map(|e| e.digest.clone());
                for img in &mut images {
                    img.previous_digest = before.clone();
                }
            }
        }
        // 3. Verify the target on every image.
        for (image, plan) in policy.images_for(OperationKind::Rollback).zip(&mut images) {
            plan.verification = self.verify(image, &plan.digest).await?;
        }
        let p = &images[0];
        let cert = p.verification.as_ref().and_then(|v| v.source_commit.clone());
        let commit = self
            .source_commit(&p.repository, &p.digest, cert.as_ref(), &inventory)
            .await?;
        // 4. The audit tag (immutable, first), then prod and aliases.
        let audit = match resume {
            Some(r) => r,
            None => {
                let prefix = tags.prod_stamp.as_ref().map_or("", |t| t.literal_prefix());
                let suffix = target.as_str().strip_prefix(prefix).unwrap_or(target.as_str());
                tags.rollback_audit
                    .render(&TemplateValues {
                        date: Some(&now.date_compact()),
                        time: Some(&now.time_compact()),
                        target_suffix: Some(suffix),
                        ..Default::default()
                    })
                    .map_err(|e| OpError::new(OpErrorKind::Refused, e.to_string()))?
            }
        };
        let mut steps = Vec::new();
        for (k, img) in images.iter().enumerate() {
            steps.push(
                self.immutable_step(
                    k,
                    &img.repository,
                    &audit,
                    &img.digest,
                    policy.rollback.audit_tag,
                    (k == 0).then_some(&inventory),
                )
                .await?,
            );
        }
        let mut aliases = Vec::new();
        for img in &images {
            let mut now_at = Vec::new();
            for a in &tags.prod_aliases {
                now_at.push(self.resolve(&img.repository, a).await?);
            }
            aliases.push(now_at);
        }
        steps.extend(super::step::prod_steps(
            &tags.prod,
            &tags.prod_aliases,
            &images,
            &prod_now,
            &aliases,
        ));
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
                channel: tags.prod.as_str(),
                commit: commit.full_commit(),
            },
        );
        let manifests = self.manifests_for(&images, &steps).await?;
        Ok(Prepared {
            plan: Plan {
                operation: OperationKind::Rollback,
                unit: policy.unit.clone(),
                images,
                stamp: Some(audit),
                target: Some(target),
                source_commit: Some(commit),
                steps,
                release,
                release_mode: policy.release,
                dispatches,
                warnings,
                notices: Vec::new(),
                budget: RequestBudget::default(),
                reads: Vec::new(),
            },
            manifests,
        })
    }

    /// Returns the release a rollback event went to: the newest promotion at its digest.
    fn target_of(&self, rollback: &Event, timeline: &crate::history::Timeline) -> Option<Tag> {
        timeline
            .promotions()
            .find(|p| p.digest == rollback.digest)
            .map(|p| p.tag.clone())
    }
}
