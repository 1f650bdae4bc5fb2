//! The validated policy: every name, rule and mode an operation needs.
//!
//! A [`PolicySpec`] is what a file says; [`Policy::from_spec`] checks it whole and names the
//! field of the first problem. Once built, a `Policy` is internally consistent.

mod collisions;
mod dispatch;
mod images;
mod lists;
mod pattern;
mod rules;
mod signature;
mod spec;
mod tags;

pub use dispatch::{DispatchTarget, DispatchValues, PayloadTemplate, requests as dispatch_requests};
pub use pattern::Glob;
pub use signature::{IdentityMatcher, KeylessPolicy, RefPattern, SignatureMethod, SignaturePolicy};
pub use spec::{
    AlreadyInProd, DispatchSpec, ImageSpec, PolicySpec, PromoteSpec, PublishSpec, ReleaseSpec, RetentionSpec,
    RollbackSpec, SourceMode, StepMode, TagsSpec, TargetMode, VerifySpec,
};

pub use images::UnitImage;
pub(crate) use lists::parse_each;
pub use rules::{PromotePolicy, RollbackPolicy};
pub use tags::TagPolicy;

use crate::retention::RetentionPolicy;
use crate::{OperationKind, Weekday};

/// A policy problem, naming the field (`tags.prod_stamp`) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy field `{field}`: {message}")]
pub struct PolicyError {
    /// The dotted path of the field, e.g. `tags.prod_aliases[0]`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError {
        field: field.into(),
        message: message.into(),
    }
}

/// A validated policy for one release unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The unit's name.
    pub unit: String,
    /// The images; the first is the primary.
    pub images: Vec<UnitImage>,
    /// The tag vocabulary.
    pub tags: TagPolicy,
    /// UTC weekdays on which publish does not move staging unless forced.
    pub freeze: Vec<Weekday>,
    /// Promote rules.
    pub promote: PromotePolicy,
    /// Rollback rules.
    pub rollback: RollbackPolicy,
    /// The signature policy, if verification is enabled.
    pub signature: Option<SignaturePolicy>,
    /// The release step's mode.
    pub release: StepMode,
    /// Dispatch targets, in file order.
    pub dispatch: Vec<DispatchTarget>,
    /// What `prune` may delete.
    pub retention: RetentionPolicy,
}

impl Policy {
    /// Returns the validated policy, or the first problem found, naming its field. Each
    /// section has its own constructor; this checks what spans sections.
    pub fn from_spec(spec: &PolicySpec) -> Result<Self, PolicyError> {
        let images = images::images(&spec.images)?;
        let tags = TagPolicy::from_spec(&spec.tags)?;
        let freeze = parse_each("publish.freeze_weekdays", &spec.publish.freeze_weekdays)?;
        let promote = PromotePolicy::from_spec(&spec.promote, &images)?;
        let rollback = RollbackPolicy::from_spec(&spec.rollback, &tags)?;
        let signature = spec.verify.as_ref().map(SignaturePolicy::from_spec).transpose()?;
        if signature.is_none()
            && let Some(i) = images.iter().position(|i| i.verify)
        {
            return Err(err(
                format!("images[{i}].verify"),
                "verification is on for this image but the policy has no [verify] section; \
                     add one or set verify = false",
            ));
        }
        let dispatch = dispatch::targets(&spec.dispatch)?;
        let retention = RetentionPolicy::from_spec(&spec.retention)?;
        let unit = if spec.unit.is_empty() {
            "default".to_owned()
        } else {
            spec.unit.clone()
        };
        Ok(Self {
            unit,
            images,
            tags,
            freeze,
            promote,
            rollback,
            signature,
            release: spec.release.mode,
            dispatch,
            retention,
        })
    }

    /// Returns the images that `op` moves, in unit order (the primary first for promote and
    /// rollback, which it always takes part in).
    pub fn images_for(&self, op: OperationKind) -> impl Iterator<Item = &UnitImage> {
        self.images.iter().filter(move |i| i.takes_part(op))
    }

    /// Returns the primary image (the first; `from_spec` guarantees there is one).
    pub fn primary(&self) -> &UnitImage {
        &self.images[0]
    }

    /// Returns the index of the image named `name`: its full repository, its path, or the
    /// path's last component (`cloud-api`).
    pub fn find_image(&self, name: &str) -> Option<usize> {
        self.images.iter().position(|im| {
            let r = &im.repository;
            r.to_string() == name || r.path() == name || r.path().rsplit('/').next() == Some(name)
        })
    }
}

#[cfg(test)]
mod tests;
