//! Retag: copy a tag or digest to another (unprotected) tag of the same image.

use super::{Engine, OpError, Prepared};
use crate::plan::{ImagePlan, Plan, TagKind, WriteStep};
use crate::policy::StepMode;
use crate::request::{RetagRequest, RetagSource};
use crate::{AuditSink, OperationKind, Registry, Verifier};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    pub(super) async fn prepare_retag(&self, req: &RetagRequest) -> Result<Prepared, OpError> {
        let policy = self.policy;
        let image = policy.images.get(req.image).ok_or_else(|| {
            OpError::new(
                super::OpErrorKind::Input,
                format!("image index {} is not in the unit", req.image),
            )
        })?;
        if !image.takes_part(OperationKind::Retag) {
            return Err(OpError::new(
                super::OpErrorKind::Refused,
                format!(
                    "image {} does not take part in retag (policy: operations)",
                    image.repository
                ),
            ));
        }
        let repo = &image.repository;
        let digest = match &req.source {
            RetagSource::Tag(t) => self.require(repo, t, "source tag").await?,
            RetagSource::Digest(d) => d.clone(),
        };
        let previous = self.resolve(repo, &req.target).await?;
        let manifest = self.manifest(repo, &digest).await?;
        let images = vec![ImagePlan {
            repository: repo.clone(),
            digest: digest.clone(),
            previous_digest: previous.clone(),
            verification: None,
        }];
        let steps = vec![WriteStep {
            image: 0,
            tag: req.target.clone(),
            kind: TagKind::Moving,
            expected: previous,
            new: digest,
            mode: StepMode::Required,
        }];
        let mut plan = Plan::new(OperationKind::Retag, policy, images, steps);
        plan.target = Some(req.target.clone());
        plan.release_mode = StepMode::Off;
        Ok(Prepared {
            plan,
            // The plan holds this one image, at index 0.
            manifests: vec![Some(manifest)],
        })
    }
}
