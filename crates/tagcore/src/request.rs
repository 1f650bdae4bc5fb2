//! Operation requests, validated from raw user input before any request is sent.

use std::fmt;

use serde::Serialize;

use crate::policy::{Policy, SourceMode, TargetMode};
use crate::{CommitSha, Digest, Tag};

/// The operations that write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// Move staging to a freshly built digest.
    Publish,
    /// Move prod to a verified digest.
    Promote,
    /// Move prod back to an earlier release.
    Rollback,
    /// Copy a tag or digest to another tag.
    Retag,
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Publish => "publish",
            Self::Promote => "promote",
            Self::Rollback => "rollback",
            Self::Retag => "retag",
        })
    }
}

/// A bad input, naming the input and what was expected. Raised before any request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {message}")]
pub struct InputError {
    /// The input's name, e.g. `source` or `--confirm`.
    pub input: String,
    /// What is wrong and what was expected.
    pub message: String,
}

fn bad(input: &str, message: impl Into<String>) -> InputError {
    InputError {
        input: input.to_owned(),
        message: message.into(),
    }
}

/// Returns the input parsed as a digest when it looks like one was meant (`sha256…` or a long
/// hex run), so that `sha256:ABC` or 64 hex without prefix get a digest error, not a tag error.
fn digest_attempt(input: &str, name: &str) -> Option<Result<Digest, InputError>> {
    let looks =
        input.starts_with("sha256") || (input.len() >= 32 && input.bytes().all(|b| b.is_ascii_hexdigit()));
    looks.then(|| input.parse::<Digest>().map_err(|e| bad(name, e.to_string())))
}

/// Returns `input` as a version tag name: one leading `v` stripped (`v0.2.13` → `0.2.13`).
fn version_tag(input: &str, policy: &Policy, name: &str) -> Option<Result<Tag, InputError>> {
    let v = input.strip_prefix('v').unwrap_or(input);
    let template = &policy.tags.version;
    let rendered = template.render(&crate::template::TemplateValues {
        version: Some(v),
        ..Default::default()
    });
    match rendered {
        Ok(tag) if template.matches(tag.as_str()).is_some() => Some(Ok(tag)),
        Ok(_) | Err(_) => {
            let looks = v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.');
            looks.then(|| {
                Err(bad(
                    name,
                    format!("{input:?} is not a version; expected e.g. v0.2.13 or 0.2.13-p1"),
                ))
            })
        }
    }
}

fn allowed(policy: &Policy) -> String {
    let names: Vec<_> = policy
        .promote
        .sources
        .iter()
        .map(|s| match s {
            SourceMode::Staging => format!("`{}`", policy.tags.staging),
            SourceMode::Tag => "a tag".to_owned(),
            SourceMode::Version => "a version (v0.2.13)".to_owned(),
            SourceMode::Digest => "a digest (sha256:<64 hex>)".to_owned(),
        })
        .collect();
    names.join(", ")
}

/// Checks a confirm string: exact and case-sensitive.
pub fn check_confirm(expected: Option<&str>, given: Option<&str>) -> Result<(), InputError> {
    match (expected, given) {
        (None, _) => Ok(()),
        (Some(e), Some(g)) if e == g => Ok(()),
        (Some(e), Some(g)) => Err(bad(
            "--confirm",
            format!("{g:?} does not match; type exactly {e:?} (case-sensitive)"),
        )),
        (Some(e), None) => Err(bad(
            "--confirm",
            format!("this policy asks for confirmation: pass --confirm {e:?}"),
        )),
    }
}

/// Where promote takes its digest from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "value")]
pub enum PromoteSource {
    /// The staging channel.
    Staging,
    /// An explicit tag.
    Tag(Tag),
    /// A version tag, normalised (`v0.2.13` → `0.2.13`).
    Version(Tag),
    /// An explicit digest.
    Digest(Digest),
}

impl PromoteSource {
    /// Returns the source `input` names under `policy`; `None` means the policy's default.
    pub fn parse(input: Option<&str>, policy: &Policy) -> Result<Self, InputError> {
        const NAME: &str = "source";
        let sources = &policy.promote.sources;
        // An empty input (an unset workflow input) means the default, as for rollback.
        let Some(input) = input.filter(|s| !s.is_empty()) else {
            return match sources.first() {
                Some(SourceMode::Staging) => Ok(Self::Staging),
                _ => Err(bad(
                    NAME,
                    format!("no source given; this policy accepts {}", allowed(policy)),
                )),
            };
        };
        if let Some(d) = digest_attempt(input, NAME) {
            let d = d?;
            if !sources.contains(&SourceMode::Digest) {
                return Err(bad(
                    NAME,
                    format!(
                        "digests are not accepted by this policy; expected {}",
                        allowed(policy)
                    ),
                ));
            }
            return Ok(Self::Digest(d));
        }
        if input == policy.tags.staging.as_str() && sources.contains(&SourceMode::Staging) {
            return Ok(Self::Staging);
        }
        if sources.contains(&SourceMode::Version)
            && let Some(v) = version_tag(input, policy, NAME)
        {
            return v.map(Self::Version);
        }
        let tag: Tag = input
            .parse()
            .map_err(|e: crate::TagError| bad(NAME, e.to_string()))?;
        if sources.contains(&SourceMode::Tag) && !policy.tags.is_prod_owned(tag.as_str()) {
            return Ok(Self::Tag(tag));
        }
        Err(bad(
            NAME,
            format!(
                "{input:?} is not accepted by this policy; expected {}",
                allowed(policy)
            ),
        ))
    }
}

/// What rollback goes back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "value")]
pub enum RollbackTarget {
    /// Resolved from the prod timeline.
    Automatic,
    /// A prod stamp.
    Stamp(Tag),
    /// A version tag, normalised.
    Version(Tag),
}

impl RollbackTarget {
    /// Returns the target `input` names under `policy`; `None` means automatic.
    pub fn parse(input: Option<&str>, policy: &Policy) -> Result<Self, InputError> {
        const NAME: &str = "target";
        let targets = &policy.rollback.targets;
        let Some(input) = input.filter(|s| !s.is_empty()) else {
            return if policy.rollback.automatic {
                Ok(Self::Automatic)
            } else {
                Err(bad(
                    NAME,
                    "automatic rollback is off in this policy; name the target explicitly",
                ))
            };
        };
        if let Some(d) = digest_attempt(input, NAME) {
            d?;
            return Err(bad(
                NAME,
                "a rollback target is a release name (prod stamp or version), not a digest",
            ));
        }
        if targets.contains(&TargetMode::Stamp)
            && let Some(t) = &policy.tags.prod_stamp
            && t.matches(input).is_some()
        {
            return Ok(Self::Stamp(
                input
                    .parse()
                    .map_err(|e: crate::TagError| bad(NAME, e.to_string()))?,
            ));
        }
        if targets.contains(&TargetMode::Version)
            && let Some(v) = version_tag(input, policy, NAME)
        {
            return v.map(Self::Version);
        }
        let expected = match (&policy.tags.prod_stamp, targets.contains(&TargetMode::Version)) {
            (Some(t), true) if targets.contains(&TargetMode::Stamp) => {
                format!("a prod stamp ({}) or a version", t)
            }
            (Some(t), _) if targets.contains(&TargetMode::Stamp) => format!("a prod stamp ({t})"),
            _ => "a version (v0.2.13)".to_owned(),
        };
        Err(bad(
            NAME,
            format!("{input:?} is not a rollback target; expected {expected}"),
        ))
    }
}

/// A publish: the digests just pushed (one per image, in unit order) and their commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishRequest {
    /// One digest per image that takes part in publish, in unit order.
    pub digests: Vec<Digest>,
    /// The source commit of the build.
    pub commit: CommitSha,
    /// Move staging even inside a freeze window.
    pub force: bool,
}

impl PublishRequest {
    /// Returns the request from raw inputs: `digests` holds one digest per image, either bare
    /// (single-image units) or as `repository=digest`.
    pub fn parse(digests: &[String], commit: &str, force: bool, policy: &Policy) -> Result<Self, InputError> {
        let commit: CommitSha = commit
            .parse()
            .map_err(|e: crate::CommitShaError| bad("commit", e.to_string()))?;
        let published: Vec<usize> = (0..policy.images.len())
            .filter(|i| policy.images[*i].takes_part(OperationKind::Publish))
            .collect();
        let mut out: Vec<Option<Digest>> = vec![None; policy.images.len()];
        for raw in digests {
            let (image, d) = match raw.split_once('=') {
                Some((name, d)) => {
                    let i = policy.find_image(name).ok_or_else(|| {
                        bad(
                            "digest",
                            format!("{name:?} is not an image of unit {}", policy.unit),
                        )
                    })?;
                    if !published.contains(&i) {
                        return Err(bad(
                            "digest",
                            format!("image {name:?} does not take part in publish (policy: operations)"),
                        ));
                    }
                    (i, d)
                }
                None if published.len() == 1 => (published[0], raw.as_str()),
                None => {
                    return Err(bad(
                        "digest",
                        "this unit has several images: give each as <image>=sha256:<64 hex>",
                    ));
                }
            };
            let d: Digest = d
                .parse()
                .map_err(|e: crate::DigestError| bad("digest", e.to_string()))?;
            if out[image].replace(d).is_some() {
                return Err(bad(
                    "digest",
                    format!("image {} is given twice", policy.images[image].repository),
                ));
            }
        }
        // One digest per published image, in unit order.
        let digests = published
            .iter()
            .map(|&i| {
                out[i].take().ok_or_else(|| {
                    bad(
                        "digest",
                        format!("missing for image {}", policy.images[i].repository),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            digests,
            commit,
            force,
        })
    }
}

/// A promote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromoteRequest {
    /// Where the digest comes from.
    pub source: PromoteSource,
    /// The confirm string given.
    pub confirm: Option<String>,
    /// The digest the source must resolve to (`--expect-digest`): a plan that was approved is
    /// promoted exactly, or not at all.
    pub expect_digest: Option<Digest>,
    /// Promote even a digest signed before the one in prod (`--allow-older`).
    pub allow_older: bool,
}

/// A rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackRequest {
    /// What to roll back to.
    pub target: RollbackTarget,
    /// The confirm string given.
    pub confirm: Option<String>,
}

/// What retag copies from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "value")]
pub enum RetagSource {
    /// A tag, resolved once.
    Tag(Tag),
    /// A digest.
    Digest(Digest),
}

/// A retag within one image of the unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetagRequest {
    /// The image index in the unit.
    pub image: usize,
    /// The source.
    pub source: RetagSource,
    /// The tag to write.
    pub target: Tag,
}

impl RetagRequest {
    /// Returns the request from raw inputs, refusing protected targets and identical names.
    pub fn parse(
        source: &str,
        target: &str,
        image: Option<&str>,
        policy: &Policy,
    ) -> Result<Self, InputError> {
        let source = match digest_attempt(source, "source") {
            Some(d) => RetagSource::Digest(d?),
            None => RetagSource::Tag(
                source
                    .parse()
                    .map_err(|e: crate::TagError| bad("source", e.to_string()))?,
            ),
        };
        let target: Tag = target
            .parse()
            .map_err(|e: crate::TagError| bad("target", e.to_string()))?;
        if policy.tags.is_protected(target.as_str()) {
            return Err(bad(
                "target",
                format!(
                    "{target} is protected (prod, prod aliases, stamps, audit tags, or tags.protected); only promote and rollback write it"
                ),
            ));
        }
        if source == RetagSource::Tag(target.clone()) {
            return Err(bad("target", format!("source and target are both {target}")));
        }
        Ok(Self {
            image: image_index(image, policy)?,
            source,
            target,
        })
    }
}

/// Returns the index of the image `--image` names (its repository, path or last path
/// component), or the primary's when it is left out.
fn image_index(image: Option<&str>, policy: &Policy) -> Result<usize, InputError> {
    match image {
        None => Ok(0),
        Some(name) => policy.find_image(name).ok_or_else(|| {
            bad(
                "--image",
                format!("{name:?} is not an image of unit {}", policy.unit),
            )
        }),
    }
}

/// What `verify` checks: one image of the unit, at a tag or a digest (read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    /// The image index in the unit.
    pub image: usize,
    /// The tag or digest whose signature is checked.
    pub target: crate::Target,
}

impl VerifyRequest {
    /// Returns the request from raw inputs: `reference` is a digest when it starts with
    /// `sha256`, else a tag; `image` names an image of the unit (the primary when left out).
    pub fn parse(reference: &str, image: Option<&str>, policy: &Policy) -> Result<Self, InputError> {
        let image = image_index(image, policy)?;
        let target = if reference.starts_with("sha256") {
            crate::Target::Digest(
                reference
                    .parse()
                    .map_err(|e: crate::DigestError| bad("reference", e.to_string()))?,
            )
        } else {
            crate::Target::Tag(
                reference
                    .parse()
                    .map_err(|e: crate::TagError| bad("reference", e.to_string()))?,
            )
        };
        Ok(Self { image, target })
    }
}

/// A mutating operation, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "operation")]
pub enum Request {
    /// Publish.
    Publish(PublishRequest),
    /// Promote.
    Promote(PromoteRequest),
    /// Rollback.
    Rollback(RollbackRequest),
    /// Retag.
    Retag(RetagRequest),
}

impl Request {
    /// Returns which operation this is.
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::Publish(_) => OperationKind::Publish,
            Self::Promote(_) => OperationKind::Promote,
            Self::Rollback(_) => OperationKind::Rollback,
            Self::Retag(_) => OperationKind::Retag,
        }
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
