//! The `[tags]` section: the tag vocabulary, its templates, and the names that must never
//! collide.

use super::collisions::check_collisions;
use super::lists::parse_each;
use super::{Glob, PolicyError, TagsSpec, err};
use crate::Tag;
use crate::template::{Placeholder, TagTemplate};

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

    /// Returns the validated `[tags]` section, or the first problem, naming its field.
    pub fn from_spec(t: &TagsSpec) -> Result<Self, PolicyError> {
        use Placeholder::{Date, Sha7, TargetSuffix, Time, Version};
        let staging = parse_tag("tags.staging", &t.staging)?;
        let prod = parse_tag("tags.prod", &t.prod)?;
        if staging == prod {
            return Err(err(
                "tags.prod",
                format!("prod and staging are both {prod:?}; they must differ"),
            ));
        }
        let stamp = |field: &str, text: &str| {
            (!text.is_empty())
                .then(|| parse_template(field, text, &[Sha7], &[Date, Sha7]))
                .transpose()
        };
        let tags = Self {
            staging,
            staging_stamp: stamp("tags.staging_stamp", &t.staging_stamp)?,
            prod,
            prod_stamp: stamp("tags.prod_stamp", &t.prod_stamp)?,
            prod_aliases: parse_each("tags.prod_aliases", &t.prod_aliases)?,
            publish_aliases: parse_each("tags.publish_aliases", &t.publish_aliases)?,
            rollback_audit: parse_template(
                "tags.rollback_audit",
                &t.rollback_audit,
                &[Date, Time],
                &[Date, Time, TargetSuffix],
            )?,
            version: parse_template("tags.version", &t.version, &[Version], &[Version])?,
            protected: parse_each("tags.protected", &t.protected)?,
        };
        check_collisions(&tags)?;
        Ok(tags)
    }
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
