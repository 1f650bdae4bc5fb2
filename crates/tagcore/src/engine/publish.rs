//! Publish: stamp a freshly built digest and move staging (and publish aliases) to it.

use super::{Engine, OpError, OpErrorKind, Prepared};
use crate::plan::{ImagePlan, Plan, RequestBudget, TagKind, WriteStep};
use crate::policy::{DispatchValues, StepMode, dispatch_requests};
use crate::request::PublishRequest;
use crate::source::{CommitSource, SourceCommit};
use crate::template::TemplateValues;
use crate::{AuditSink, OperationKind, Registry, Timestamp, Verifier};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    pub(super) async fn prepare_publish(
        &self,
        req: &PublishRequest,
        now: Timestamp,
    ) -> Result<Prepared, OpError> {
        let policy = self.policy;
        let tags = &policy.tags;
        let taking_part = policy.images_for(OperationKind::Publish).count();
        if req.digests.len() != taking_part {
            return Err(OpError::new(
                OpErrorKind::Input,
                format!(
                    "digest: {} given for a unit of {taking_part} published images",
                    req.digests.len(),
                ),
            ));
        }
        let commit = SourceCommit {
            sha: req.commit.as_str().to_owned(),
            source: CommitSource::Input,
        };
        let stamp = tags
            .staging_stamp
            .as_ref()
            .map(|t| {
                t.render(&TemplateValues {
                    date: Some(&now.date_compact()),
                    sha7: Some(req.commit.sha7()),
                    ..Default::default()
                })
            })
            .transpose()
            .map_err(|e| OpError::new(OpErrorKind::Refused, e.to_string()))?;
        let mut notices = Vec::new();
        let frozen = policy.freeze.contains(&now.weekday());
        if frozen && !req.force {
            notices.push(format!(
                "staging is frozen on {:?} (UTC) by policy; nothing moved (use --force to publish anyway)",
                now.weekday()
            ));
        }
        let mut images = Vec::new();
        let mut manifests = Vec::new();
        let mut steps = Vec::new();
        let mut moving = Vec::new();
        for (k, (image, digest)) in policy
            .images_for(OperationKind::Publish)
            .zip(&req.digests)
            .enumerate()
        {
            let repo = &image.repository;
            manifests.push(Some(self.manifest(repo, digest).await?));
            let previous = self.resolve(repo, &tags.staging).await?;
            if let Some(stamp) = stamp.as_ref().filter(|_| image.staging_stamp) {
                steps.push(
                    self.immutable_step(k, repo, stamp, digest, StepMode::Required, None)
                        .await?,
                );
            }
            moving.push(WriteStep {
                image: k,
                tag: tags.staging.clone(),
                kind: TagKind::Moving,
                expected: previous.clone(),
                new: digest.clone(),
                mode: StepMode::Required,
            });
            for a in &tags.publish_aliases {
                moving.push(WriteStep {
                    image: k,
                    tag: a.clone(),
                    kind: TagKind::Moving,
                    expected: self.resolve(repo, a).await?,
                    new: digest.clone(),
                    mode: StepMode::Required,
                });
            }
            images.push(ImagePlan {
                repository: repo.clone(),
                digest: digest.clone(),
                previous_digest: previous,
                verification: None,
            });
        }
        if frozen && !req.force {
            steps.clear();
        } else {
            steps.extend(moving);
        }
        let stamp_name = stamp.as_ref().map(ToString::to_string);
        let dispatches = dispatch_requests(
            &policy.dispatch,
            &DispatchValues {
                operation: OperationKind::Publish,
                unit: &policy.unit,
                digest: &images[0].digest,
                tag: stamp_name.as_deref(),
                channel: tags.staging.as_str(),
                commit: Some(req.commit.as_str()),
            },
        );
        Ok(Prepared {
            plan: Plan {
                operation: OperationKind::Publish,
                unit: policy.unit.clone(),
                images,
                stamp,
                target: Some(tags.staging.clone()),
                source_commit: Some(commit),
                steps,
                release: None,
                release_mode: StepMode::Off,
                dispatches,
                warnings: Vec::new(),
                notices,
                budget: RequestBudget::default(),
                reads: Vec::new(),
            },
            manifests,
        })
    }
}
