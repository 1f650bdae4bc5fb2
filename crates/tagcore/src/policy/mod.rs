//! The validated policy: every name, rule and mode an operation needs.
//!
//! A [`PolicySpec`] is what a file says; [`Policy::from_spec`] checks it whole and names the
//! field of the first problem. Once built, a `Policy` is internally consistent.

mod collisions;
mod dispatch;
mod images;
mod pattern;
mod signature;
mod spec;

pub use dispatch::{DispatchTarget, DispatchValues, PayloadTemplate, requests as dispatch_requests};
pub use pattern::Glob;
pub use signature::{IdentityMatcher, KeylessPolicy, RefPattern, SignatureMethod, SignaturePolicy};
pub use spec::{
    AlreadyInProd, DispatchSpec, ImageSpec, PolicySpec, PromoteSpec, PublishSpec, ReleaseSpec, RetentionSpec,
    RollbackSpec, SourceMode, StepMode, TagsSpec, TargetMode, VerifySpec,
};

use crate::template::{Placeholder, TagTemplate};
use crate::{OperationKind, Repository, Tag, Weekday};
use collisions::check_collisions;
use images::{check_operations, image_operations};

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

/// One image of a release unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitImage {
    /// Where the image lives.
    pub repository: Repository,
    /// Whether prod writes need a verified signature.
    pub verify: bool,
    /// The operations that move this image.
    pub operations: Vec<OperationKind>,
    /// Whether publish writes the staging stamp for this image.
    pub staging_stamp: bool,
}

impl UnitImage {
    /// Returns whether `op` moves this image.
    pub fn takes_part(&self, op: OperationKind) -> bool {
        self.operations.contains(&op)
    }
}

/// The tag vocabulary of docs/behaviour.md#tag-vocabulary, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPolicy {
    /// The staging channel.
    pub staging: Tag,
    /// The staging stamp template, if staging stamps are written.
    pub staging_stamp: Option<TagTemplate>,
    /// The prod channel.
    pub prod: Tag,
    /// The prod stamp template, if prod stamps are written.
    pub prod_stamp: Option<TagTemplate>,
    /// Tags that move with prod.
    pub prod_aliases: Vec<Tag>,
    /// Tags that move with staging.
    pub publish_aliases: Vec<Tag>,
    /// The rollback audit tag template.
    pub rollback_audit: TagTemplate,
    /// The version tag template.
    pub version: TagTemplate,
    /// Extra protected globs (retag refuses them).
    pub protected: Vec<Glob>,
}

impl TagPolicy {
    /// Returns whether `tag` is written only by promote and rollback: prod, its aliases, prod
    /// stamps and audit tags. Such tags are always protected.
    pub fn is_prod_owned(&self, tag: &str) -> bool {
        tag == self.prod.as_str()
            || self.prod_aliases.iter().any(|a| a.as_str() == tag)
            || self.prod_stamp.as_ref().is_some_and(|t| t.matches(tag).is_some())
            || self.rollback_audit.matches(tag).is_some()
    }

    /// Returns whether retag must refuse to write `tag`.
    pub fn is_protected(&self, tag: &str) -> bool {
        self.is_prod_owned(tag) || self.protected.iter().any(|g| g.matches(tag))
    }
}

/// Promote rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotePolicy {
    /// Accepted sources; the first is the default.
    pub sources: Vec<SourceMode>,
    /// The confirm string, if one is required.
    pub confirm: Option<String>,
    /// What to do when the digest is already in prod.
    pub already_in_prod: AlreadyInProd,
    /// Whether the images of one promotion may come from different commits.
    pub allow_mixed_commits: bool,
}

/// Rollback rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPolicy {
    /// The confirm string, if one is required.
    pub confirm: Option<String>,
    /// Audit tag mode (never `Off`).
    pub audit_tag: StepMode,
    /// Accepted explicit targets.
    pub targets: Vec<TargetMode>,
    /// Whether the target may be resolved automatically.
    pub automatic: bool,
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
    pub retention: crate::retention::RetentionPolicy,
}

fn parse_tag(field: &str, s: &str) -> Result<Tag, PolicyError> {
    s.parse().map_err(|e| err(field, format!("{e}")))
}

fn parse_template(
    field: &str,
    s: &str,
    required: &[Placeholder],
    allowed: &[Placeholder],
) -> Result<TagTemplate, PolicyError> {
    let t = TagTemplate::parse(s).map_err(|e| err(field, e.to_string()))?;
    for p in required {
        if !t.has(*p) {
            return Err(err(
                field,
                format!("template {s:?} must contain {{{}}}", placeholder_name(*p)),
            ));
        }
    }
    for p in [
        Placeholder::Date,
        Placeholder::Time,
        Placeholder::Sha7,
        Placeholder::TargetSuffix,
        Placeholder::Version,
    ] {
        if t.has(p) && !allowed.contains(&p) {
            return Err(err(
                field,
                format!("template {s:?} may not use {{{}}} here", placeholder_name(p)),
            ));
        }
    }
    Ok(t)
}

fn placeholder_name(p: Placeholder) -> &'static str {
    match p {
        Placeholder::Date => "date",
        Placeholder::Time => "time",
        Placeholder::Sha7 => "sha7",
        Placeholder::TargetSuffix => "target_suffix",
        Placeholder::Version => "version",
    }
}

impl Policy {
    /// Returns the validated policy, or the first problem found, naming its field.
    pub fn from_spec(spec: &PolicySpec) -> Result<Self, PolicyError> {
        use Placeholder::{Date, Sha7, TargetSuffix, Time, Version};
        if spec.images.is_empty() {
            return Err(err(
                "images",
                "a unit needs at least one image; the first is the primary",
            ));
        }
        let mut images = Vec::new();
        for (i, img) in spec.images.iter().enumerate() {
            let field = format!("images[{i}].repository");
            let repository: Repository = img.repository.parse().map_err(|e| err(&field, format!("{e}")))?;
            if images.iter().any(|x: &UnitImage| x.repository == repository) {
                return Err(err(field, format!("repository {repository} is listed twice")));
            }
            images.push(UnitImage {
                repository,
                verify: img.verify,
                operations: image_operations(i, img.operations.as_deref())?,
                staging_stamp: img.staging_stamp,
            });
        }
        check_operations(&images)?;
        let t = &spec.tags;
        let staging = parse_tag("tags.staging", &t.staging)?;
        let prod = parse_tag("tags.prod", &t.prod)?;
        if staging == prod {
            return Err(err(
                "tags.prod",
                format!("prod and staging are both {prod:?}; they must differ"),
            ));
        }
        let staging_stamp = (!t.staging_stamp.is_empty())
            .then(|| parse_template("tags.staging_stamp", &t.staging_stamp, &[Sha7], &[Date, Sha7]))
            .transpose()?;
        let prod_stamp = (!t.prod_stamp.is_empty())
            .then(|| parse_template("tags.prod_stamp", &t.prod_stamp, &[Sha7], &[Date, Sha7]))
            .transpose()?;
        let rollback_audit = parse_template(
            "tags.rollback_audit",
            &t.rollback_audit,
            &[Date, Time],
            &[Date, Time, TargetSuffix],
        )?;
        let version = parse_template("tags.version", &t.version, &[Version], &[Version])?;
        let prod_aliases = t
            .prod_aliases
            .iter()
            .enumerate()
            .map(|(i, a)| parse_tag(&format!("tags.prod_aliases[{i}]"), a))
            .collect::<Result<Vec<_>, _>>()?;
        let publish_aliases = t
            .publish_aliases
            .iter()
            .enumerate()
            .map(|(i, a)| parse_tag(&format!("tags.publish_aliases[{i}]"), a))
            .collect::<Result<Vec<_>, _>>()?;
        let protected = t
            .protected
            .iter()
            .enumerate()
            .map(|(i, g)| Glob::parse(g).map_err(|m| err(format!("tags.protected[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let tags = TagPolicy {
            staging,
            staging_stamp,
            prod,
            prod_stamp,
            prod_aliases,
            publish_aliases,
            rollback_audit,
            version,
            protected,
        };
        check_collisions(&tags)?;

        let mut freeze = Vec::new();
        for (i, d) in spec.publish.freeze_weekdays.iter().enumerate() {
            freeze.push(
                d.parse::<Weekday>()
                    .map_err(|m| err(format!("publish.freeze_weekdays[{i}]"), m))?,
            );
        }

        if spec.promote.sources.is_empty() {
            return Err(err(
                "promote.sources",
                "needs at least one of staging, tag, version, digest",
            ));
        }
        if images
            .iter()
            .filter(|i| i.takes_part(OperationKind::Promote))
            .count()
            > 1
            && spec.promote.sources == [SourceMode::Digest]
        {
            return Err(err(
                "promote.sources",
                "a digest names one image's manifest; a unit of several images needs staging, tag or version",
            ));
        }
        let promote = PromotePolicy {
            sources: spec.promote.sources.clone(),
            confirm: non_empty(&spec.promote.confirm),
            already_in_prod: spec.promote.already_in_prod,
            allow_mixed_commits: spec.promote.allow_mixed_commits,
        };

        let r = &spec.rollback;
        if r.audit_tag == StepMode::Off {
            return Err(err(
                "rollback.audit_tag",
                "must be best-effort or required; every prod move leaves a record",
            ));
        }
        if r.targets.is_empty() {
            return Err(err("rollback.targets", "needs at least one of stamp, version"));
        }
        if tags.prod_stamp.is_none() {
            if r.automatic {
                return Err(err(
                    "rollback.automatic",
                    "automatic rollback reads the prod timeline from prod stamps, but tags.prod_stamp is empty",
                ));
            }
            if r.targets.contains(&TargetMode::Stamp) {
                return Err(err("rollback.targets", "`stamp` needs tags.prod_stamp"));
            }
        }
        let rollback = RollbackPolicy {
            confirm: non_empty(&r.confirm),
            audit_tag: r.audit_tag,
            targets: r.targets.clone(),
            automatic: r.automatic,
        };

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
        let retention = crate::retention::RetentionPolicy::from_spec(&spec.retention)?;
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

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests;
