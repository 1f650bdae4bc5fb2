//! The downgrade guard of promote: a build signed before the one prod holds is not promoted
//! unless asked for (rollbacks name their target and are exempt), and one promotion's images
//! come from one commit unless the policy allows otherwise.

use super::{Engine, OpError, OpErrorKind};
use crate::plan::ImagePlan;
use crate::{AuditSink, Digest, OperationKind, Registry, Verifier};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Checks the verified `images` against where prod is (`current`, per image). Returns the
    /// warnings for comparisons that could not be made.
    pub(super) async fn check_downgrade(
        &self,
        images: &[ImagePlan],
        current: &[Option<Digest>],
        allow_older: bool,
    ) -> Result<Vec<String>, OpError> {
        self.check_one_commit(images)?;
        let mut warnings = Vec::new();
        if allow_older {
            return Ok(warnings);
        }
        let unit = self.policy.images_for(OperationKind::Promote);
        for ((image, img), prod) in unit.zip(images).zip(current) {
            let (Some(prod), Some(new_at)) = (
                prod.as_ref().filter(|p| **p != img.digest),
                img.verification.as_ref().and_then(|v| v.signed_at),
            ) else {
                continue;
            };
            let prod_at = match self.verify(image, prod).await {
                Ok(v) => v.and_then(|v| v.signed_at),
                Err(e) => {
                    warnings.push(format!(
                        "the signature of prod's {prod} could not be checked, so its signing time is not \
                         compared ({})",
                        e.message.trim_end_matches("; nothing was written")
                    ));
                    continue;
                }
            };
            if let Some(prod_at) = prod_at.filter(|p| new_at < *p) {
                return Err(OpError::new(
                    OpErrorKind::Refused,
                    format!(
                        "{}@{} was signed at {new_at}, before prod's {prod} (signed at {prod_at}): promoting it \
                         is a downgrade; pass --allow-older to promote it deliberately (nothing was written)",
                        img.repository, img.digest
                    ),
                ));
            }
        }
        Ok(warnings)
    }

    /// Refuses images whose certificates name different commits, unless the policy allows it.
    fn check_one_commit(&self, images: &[ImagePlan]) -> Result<(), OpError> {
        if self.policy.promote.allow_mixed_commits {
            return Ok(());
        }
        let commits: Vec<(String, String)> = images
            .iter()
            .filter_map(|i| {
                let c = i.verification.as_ref()?.source_commit.as_ref()?;
                Some((i.repository.to_string(), c.to_string()))
            })
            .collect();
        if commits.windows(2).all(|w| w[0].1 == w[1].1) {
            return Ok(());
        }
        let listed: Vec<String> = commits.iter().map(|(r, c)| format!("{r}: {c}")).collect();
        Err(OpError::new(
            OpErrorKind::Refused,
            format!(
                "the images' certificates name different commits ({}); set promote.allow_mixed_commits = true \
                 to promote them together (nothing was written)",
                listed.join(", ")
            ),
        ))
    }
}
