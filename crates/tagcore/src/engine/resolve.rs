//! Resolve: what deployers pin. Each image of the unit resolved once to `repo@sha256:…`,
//! optionally verified under the policy, so that a tag moved after verification cannot change
//! what is deployed.

use serde::Serialize;

use super::{Engine, OpError, OpErrorKind};
use crate::policy::Policy;
use crate::template::TemplateValues;
use crate::{
    AuditSink, Digest, InputError, OperationKind, Registry, Repository, Tag, VerifiedSignature, Verifier,
};

/// What to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// The channel the deployer follows (`prod`, `staging`, an alias).
    pub channel: Tag,
    /// A named release (a stamp, an audit tag or a version) to resolve instead of where the
    /// channel points now.
    pub at: Option<Tag>,
    /// Whether each digest must pass the signature policy.
    pub verified: bool,
}

impl ResolveRequest {
    /// Returns the request for `channel` (a channel or alias of `policy`), optionally `at` a
    /// named release (a prod stamp, an audit tag, or a version such as `v0.2.13`).
    pub fn parse(
        channel: &str,
        at: Option<&str>,
        verified: bool,
        policy: &Policy,
    ) -> Result<Self, InputError> {
        let bad = |input: &str, message: String| InputError {
            input: input.to_owned(),
            message,
        };
        let t = &policy.tags;
        let channels: Vec<&Tag> = [&t.prod, &t.staging]
            .into_iter()
            .chain(&t.prod_aliases)
            .chain(&t.publish_aliases)
            .collect();
        let Some(channel) = channels.iter().find(|c| c.as_str() == channel) else {
            let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
            return Err(bad(
                "channel",
                format!(
                    "{channel:?} is not a channel of unit {}; expected one of {}",
                    policy.unit,
                    names.join(", ")
                ),
            ));
        };
        let at = at.map(|a| release_tag(a, policy)).transpose()?;
        Ok(Self {
            channel: (*channel).clone(),
            at,
            verified,
        })
    }
}

/// Returns the tag of the release `input` names: a prod stamp or audit tag as written, or a
/// version (one leading `v` dropped) through the version template.
fn release_tag(input: &str, policy: &Policy) -> Result<Tag, InputError> {
    let t = &policy.tags;
    let named = t.prod_stamp.as_ref().is_some_and(|s| s.matches(input).is_some())
        || t.rollback_audit.matches(input).is_some();
    if named && let Ok(tag) = input.parse::<Tag>() {
        return Ok(tag);
    }
    let version = input.strip_prefix('v').unwrap_or(input);
    if version.starts_with(|c: char| c.is_ascii_digit()) {
        let values = TemplateValues {
            version: Some(version),
            ..TemplateValues::default()
        };
        if let Ok(tag) = t.version.render(&values)
            && t.version.matches(tag.as_str()).is_some()
        {
            return Ok(tag);
        }
    }
    let stamp = t
        .prod_stamp
        .as_ref()
        .map_or_else(String::new, |s| format!("a prod stamp ({s}), "));
    Err(InputError {
        input: "--at".into(),
        message: format!(
            "{input:?} is not a release; expected {stamp}a rollback audit tag or a version (v0.2.13)"
        ),
    })
}

/// One image, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedImage {
    /// The repository.
    pub repository: Repository,
    /// The digest the tag pointed at when read.
    pub digest: Digest,
    /// `repository@digest`, what to pin; `None` when verification was asked for and refused.
    pub reference: Option<String>,
    /// The accepted signature, when verified.
    pub verification: Option<VerifiedSignature>,
    /// Why verification refused this digest, or why it was not verified.
    pub note: Option<String>,
}

/// Every image of the unit, resolved once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolveReport {
    /// The unit.
    pub unit: String,
    /// The tag read (the release named by `at`, else the channel).
    pub tag: Tag,
    /// Whether verification was asked for.
    pub verified: bool,
    /// Per image, in the policy's order.
    pub images: Vec<ResolvedImage>,
}

impl ResolveReport {
    /// Returns whether every image has a reference to pin (none was refused).
    pub fn complete(&self) -> bool {
        self.images.iter().all(|i| i.reference.is_some())
    }
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Resolves the channel (or the named release) of every image that gets it (staging: the
    /// images publish moves; otherwise those promote moves) once and, when asked,
    /// verifies each digest. A refused image keeps its digest but gets no reference; a missing
    /// tag on any image is an error naming it.
    #[tracing::instrument(name = "resolve", skip_all, fields(unit = %self.policy.unit, channel = %req.channel))]
    pub async fn resolve_unit(&self, req: &ResolveRequest) -> Result<ResolveReport, OpError> {
        let tag = req.at.clone().unwrap_or_else(|| req.channel.clone());
        let t = &self.policy.tags;
        // Staging and its aliases are moved by publish; prod, its aliases and releases by
        // promote and rollback: an image that never gets the tag is not resolved.
        let op = if req.at.is_none() && (req.channel == t.staging || t.publish_aliases.contains(&req.channel))
        {
            OperationKind::Publish
        } else {
            OperationKind::Promote
        };
        let mut images = Vec::new();
        for image in self.policy.images_for(op) {
            let repo = &image.repository;
            let digest = self.require(repo, &tag, "tag").await.map_err(|e| OpError {
                message: format!("{repo}:{tag} does not exist"),
                ..e
            })?;
            let (verification, note) = if !req.verified {
                (None, None)
            } else if !image.verify || self.policy.signature.is_none() {
                (
                    None,
                    Some("not verified: the policy does not ask for a signature on this image".into()),
                )
            } else {
                match self.verify(image, &digest).await {
                    Ok(v) => (v, None),
                    Err(e) if e.kind == OpErrorKind::Verification => {
                        let reason = e.message.trim_end_matches("; nothing was written").to_owned();
                        (None, Some(reason))
                    }
                    Err(e) => return Err(e),
                }
            };
            let refused =
                req.verified && verification.is_none() && image.verify && self.policy.signature.is_some();
            images.push(ResolvedImage {
                reference: (!refused).then(|| format!("{repo}@{digest}")),
                repository: repo.clone(),
                digest,
                verification,
                note,
            });
        }
        Ok(ResolveReport {
            unit: self.policy.unit.clone(),
            tag,
            verified: req.verified,
            images,
        })
    }
}
