//! Publish: stamp a freshly built digest and move staging (and publish aliases) to it.

use super::{Engine, OpError, OpErrorKind, Prepared};
use crate::plan::{ImagePlan, Plan, RequestBudget, TagKind, WriteStep};
use crate::policy::{DispatchValues, StepMode, dispatch_requests};
use crate::request::PublishRequest;
use crate::source::{CommitSource, SourceCommit};
use crate::template::TemplateValues;
use crate::{AuditSink, Digest, Manifest, OperationKind, Registry, Tag, Timestamp, Verifier};

/// The writes planned for one image of a publish.
struct ImageWrites {
    plan: ImagePlan,
    manifest: Manifest,
    immutable: Option<WriteStep>,
    moving: Vec<WriteStep>,
}

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
        let stamp = self.publish_stamp(req, now)?;
        let frozen = policy.freeze.contains(&now.weekday()) && !req.force;
        let mut notices = Vec::new();
        if frozen {
            notices.push(format!(
                "staging is frozen on {:?} (UTC) by policy; nothing moved (use --force to publish anyway)",
                now.weekday()
            ));
        }
        let (mut images, mut manifests, mut steps, mut moving) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, digest) in req.digests.iter().enumerate() {
            let w = self.publish_image(k, digest, stamp.as_ref()).await?;
            images.push(w.plan);
            manifests.push(Some(w.manifest));
            steps.extend(w.immutable);
            moving.extend(w.moving);
        }
        if frozen {
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
                source_commit: Some(SourceCommit {
                    sha: req.commit.as_str().to_owned(),
                    source: CommitSource::Input,
                }),
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

    /// Returns the staging stamp this publish writes, when the policy names one.
    fn publish_stamp(&self, req: &PublishRequest, now: Timestamp) -> Result<Option<Tag>, OpError> {
        self.policy
            .tags
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
            .map_err(|e| OpError::new(OpErrorKind::Refused, e.to_string()))
    }

    /// Reads what image `k` of the publishing images needs and returns its writes: the stamp
    /// (immutable), then staging and the publish aliases (moving), each at the digest read.
    async fn publish_image(
        &self,
        k: usize,
        digest: &Digest,
        stamp: Option<&Tag>,
    ) -> Result<ImageWrites, OpError> {
        let tags = &self.policy.tags;
        let image = self
            .policy
            .images_for(OperationKind::Publish)
            .nth(k)
            .ok_or_else(|| OpError::new(OpErrorKind::Input, format!("digest: no published image #{k}")))?;
        let repo = &image.repository;
        let manifest = self.manifest(repo, digest).await?;
        let previous = self.resolve(repo, &tags.staging).await?;
        let immutable = match stamp.filter(|_| image.staging_stamp) {
            Some(stamp) => Some(
                self.immutable_step(k, repo, stamp, digest, StepMode::Required, None)
                    .await?,
            ),
            None => None,
        };
        let mut moving = vec![WriteStep {
            image: k,
            tag: tags.staging.clone(),
            kind: TagKind::Moving,
            expected: previous.clone(),
            new: digest.clone(),
            mode: StepMode::Required,
        }];
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
        Ok(ImageWrites {
            plan: ImagePlan {
                repository: repo.clone(),
                digest: digest.clone(),
                previous_digest: previous,
                verification: None,
            },
            manifest,
            immutable,
            moving,
        })
    }
}
