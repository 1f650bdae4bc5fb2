//! The write steps every operation builds the same way.

use super::{Engine, OpError, OpErrorKind};
use crate::plan::{ImagePlan, TagKind, WriteStep};
use crate::policy::StepMode;
use crate::{AuditSink, Digest, Registry, Repository, Tag, Verifier};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Returns the step that creates the immutable `tag` (a stamp or audit tag) of image
    /// `image` at `digest`, after reading it (unless the listing read for the plan, `listed`,
    /// already says where it is): absent, or already at `digest` (a re-run), is fine; at
    /// another digest is a conflict, since such tags are never re-pointed. Execution re-reads
    /// it right before the PUT either way.
    pub(super) async fn immutable_step(
        &self,
        image: usize,
        repo: &Repository,
        tag: &Tag,
        digest: &Digest,
        mode: StepMode,
        listed: Option<&super::inventory::Inventory>,
    ) -> Result<WriteStep, OpError> {
        let existing = match listed.and_then(|i| i.lookup(tag)) {
            Some(known) => known,
            None => self.resolve(repo, tag).await?,
        };
        if let Some(d) = existing.as_ref().filter(|d| *d != digest) {
            return Err(OpError::new(
                OpErrorKind::Conflict,
                format!(
                    "{repo}:{tag} already points at {d}, not {digest}; stamps and audit tags are never \
                     re-pointed (nothing was written)"
                ),
            ));
        }
        Ok(WriteStep {
            image,
            tag: tag.clone(),
            kind: TagKind::Immutable,
            expected: existing,
            new: digest.clone(),
            mode,
        })
    }
}

/// Returns the moving steps of a prod move: `prod` of every image, then every alias of every
/// image (`current[k]` holds where image k's prod points now and `aliases[k]` where its aliases
/// point now, in the policy's order: the compare-and-swap expectations).
pub(super) fn prod_steps(
    prod: &Tag,
    alias_tags: &[Tag],
    images: &[ImagePlan],
    current: &[Option<Digest>],
    aliases: &[Vec<Option<Digest>>],
) -> Vec<WriteStep> {
    let moving = |image: usize, tag: &Tag, expected: Option<Digest>, new: &Digest| WriteStep {
        image,
        tag: tag.clone(),
        kind: TagKind::Moving,
        expected,
        new: new.clone(),
        mode: StepMode::Required,
    };
    let mut steps: Vec<WriteStep> = images
        .iter()
        .enumerate()
        .map(|(k, img)| moving(k, prod, current.get(k).cloned().flatten(), &img.digest))
        .collect();
    for (k, img) in images.iter().enumerate() {
        for (a, now_at) in alias_tags.iter().zip(aliases.get(k).into_iter().flatten()) {
            steps.push(moving(k, a, now_at.clone(), &img.digest));
        }
    }
    steps
}
