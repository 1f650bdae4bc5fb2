//! Retention: which tags `prune` may delete, and why every other tag is kept. Pure: the caller
//! lists the tags (with digests and push times where the registry has them) and deletes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::history::{KnownTag, TagRole, Timeline, classify};
use crate::policy::{Glob, PolicyError, RetentionSpec, TagPolicy};
use crate::{Digest, Tag, Timestamp};

/// The `[retention]` policy: what may be deleted, and what is always kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// The newest release events (promotions and rollbacks) kept: the rollback window. Their
    /// stamps, version tags and audit tags are never deleted.
    pub keep_releases: usize,
    /// Tags younger than this many days are kept. A tag whose age is unknown (no push time, no
    /// date in its name) is kept unless this is 0.
    pub keep_days: u32,
    /// Only tags matching one of these are ever deleted.
    pub prunable: Vec<Glob>,
}

/// How a registry deletes a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// The tag alone (Docker Hub's API, an OCI layout).
    ByTag,
    /// The manifest, and with it every tag that points at it (the OCI distribution API).
    ByDigest,
}

/// A tag and the reason it is deleted or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The tag.
    pub tag: Tag,
    /// Its digest.
    pub digest: Digest,
    /// Why.
    pub reason: String,
}

/// What `prune` deletes and what it keeps, every tag accounted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrunePlan {
    /// The tags to delete, oldest first.
    pub delete: Vec<Verdict>,
    /// The tags kept, with the reason.
    pub keep: Vec<Verdict>,
}

fn age_of(tags: &TagPolicy, k: &KnownTag) -> Option<Timestamp> {
    if let Some(p) = k.pushed {
        return Some(p);
    }
    let day = match classify(tags, k.tag.as_str()) {
        TagRole::StagingStamp { date, .. } | TagRole::ProdStamp { date, .. } => date,
        TagRole::RollbackAudit { date, .. } => Some(date),
        _ => None,
    };
    // A day in the name: the end of that day, so a tag is never judged older than it may be.
    day.as_deref()
        .and_then(Timestamp::parse_date_compact)
        .map(|d| Timestamp::from_unix(d.unix() + 86_399))
}

/// Returns why `k` must be kept regardless of its age, if it must. `prod` is the prod
/// channel's digest, when it exists.
fn protected(
    tags: &TagPolicy,
    k: &KnownTag,
    window: &BTreeSet<&Tag>,
    prod: Option<&Digest>,
) -> Option<String> {
    let name = k.tag.as_str();
    if crate::is_signature_artifact(name) {
        return Some("signature or attestation artifact".into());
    }
    match classify(tags, name) {
        TagRole::StagingChannel | TagRole::ProdChannel => return Some("a channel".into()),
        TagRole::ProdAlias | TagRole::PublishAlias => return Some("an alias".into()),
        _ => {}
    }
    if window.contains(&k.tag) {
        return Some("inside the rollback window".into());
    }
    // After a rollback, the release prod runs may be older than the window's events.
    let release = matches!(
        classify(tags, name),
        TagRole::ProdStamp { .. } | TagRole::Version { .. }
    );
    if release && prod == Some(&k.digest) {
        return Some("names the release prod runs".into());
    }
    None
}

impl RetentionPolicy {
    /// Returns the validated `[retention]` section, or the first problem, naming its field.
    pub fn from_spec(spec: &RetentionSpec) -> Result<Self, PolicyError> {
        let err = |field: String, message: String| PolicyError { field, message };
        if spec.keep_releases == 0 {
            return Err(err(
                "retention.keep_releases".into(),
                "must be at least 1: the rollback window holds prod's own release and the ones before it"
                    .into(),
            ));
        }
        let prunable = crate::policy::parse_each("retention.prunable", &spec.prunable)?;
        Ok(Self {
            keep_releases: spec.keep_releases,
            keep_days: spec.keep_days,
            prunable,
        })
    }

    /// Returns the prune plan for `known` (every tag of one repository) at `now`.
    pub fn plan(&self, tags: &TagPolicy, known: &[KnownTag], now: Timestamp, mode: DeleteMode) -> PrunePlan {
        let timeline = Timeline::build(tags, known);
        let window: BTreeSet<&Tag> = timeline
            .events
            .iter()
            .rev()
            .take(self.keep_releases)
            .map(|e| &e.tag)
            .collect();
        let cutoff = now.unix() - i64::from(self.keep_days) * 86_400;
        let prod = known.iter().find(|k| k.tag == tags.prod).map(|k| &k.digest);
        let mut keep = Vec::new();
        let mut candidates = Vec::new();
        for k in known {
            let reason = protected(tags, k, &window, prod).or_else(|| {
                if !self.prunable.iter().any(|g| g.matches(k.tag.as_str())) {
                    return Some("not prunable".into());
                }
                match age_of(tags, k) {
                    Some(t) if t.unix() > cutoff => Some(format!("newer than {} days", self.keep_days)),
                    None if self.keep_days > 0 => Some("age unknown".into()),
                    _ => None,
                }
            });
            let verdict = |reason: String| Verdict {
                tag: k.tag.clone(),
                digest: k.digest.clone(),
                reason,
            };
            match reason {
                Some(r) => keep.push(verdict(r)),
                None => candidates.push((age_of(tags, k), verdict(String::new()))),
            }
        }
        let mut delete = Vec::new();
        // Deleting by digest takes every tag at that digest along: never one a kept tag needs.
        let kept_at: BTreeMap<Digest, Tag> = keep
            .iter()
            .rev()
            .map(|v| (v.digest.clone(), v.tag.clone()))
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.tag.cmp(&b.1.tag)));
        for (_, mut v) in candidates {
            match kept_at.get(&v.digest).filter(|_| mode == DeleteMode::ByDigest) {
                Some(other) => {
                    v.reason =
                        format!("shares its digest with kept tag {other} (this registry deletes by digest)");
                    keep.push(v);
                }
                None => {
                    v.reason = "prunable and old enough, outside the rollback window".into();
                    delete.push(v);
                }
            }
        }
        keep.sort_by(|a, b| a.tag.cmp(&b.tag));
        PrunePlan { delete, keep }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Policy, PolicySpec};

    fn d(n: u16) -> Digest {
        format!("sha256:{:064x}", n).parse().unwrap()
    }

    fn k(tag: &str, n: u16, pushed: Option<&str>) -> KnownTag {
        KnownTag {
            tag: tag.parse().unwrap(),
            digest: d(n),
            pushed: pushed.map(|p| p.parse().unwrap()),
        }
    }

    fn policy() -> Policy {
        let mut s = PolicySpec {
            unit: "u".into(),
            ..PolicySpec::default()
        };
        s.images = vec![crate::policy::ImageSpec {
            repository: "docker.io/o/u".into(),
            ..serde_default_image()
        }];
        Policy::from_spec(&s).unwrap()
    }

    fn serde_default_image() -> crate::policy::ImageSpec {
        crate::policy::ImageSpec {
            repository: String::new(),
            verify: false,
            ..Default::default()
        }
    }

    fn retention(keep_releases: usize, keep_days: u32) -> RetentionPolicy {
        RetentionPolicy {
            keep_releases,
            keep_days,
            prunable: ["staging-*", "pr-*", "prod-2*"]
                .iter()
                .map(|g| Glob::parse(g).unwrap())
                .collect(),
        }
    }

    #[test]
    fn keeps_channels_the_window_young_and_unprunable_tags_and_deletes_the_rest() {
        let p = policy();
        let known = [
            k("prod", 3, None),
            k("staging", 4, None),
            k("prod-20260601-1111111", 1, Some("2026-06-01T10:00:00Z")),
            k("prod-20260602-2222222", 2, Some("2026-06-02T10:00:00Z")),
            k("prod-20260603-3333333", 3, Some("2026-06-03T10:00:00Z")),
            k("staging-20260601-1111111", 1, Some("2026-06-01T09:00:00Z")),
            k("staging-20260630-4444444", 4, Some("2026-06-30T09:00:00Z")),
            k("pr-17", 5, Some("2026-05-01T09:00:00Z")),
            k("pr-18", 6, None),
            k("dev", 7, Some("2026-01-01T09:00:00Z")),
        ];
        let plan = retention(2, 7).plan(
            &p.tags,
            &known,
            "2026-07-01T00:00:00Z".parse().unwrap(),
            DeleteMode::ByTag,
        );
        let deleted: Vec<_> = plan.delete.iter().map(|v| v.tag.as_str()).collect();
        assert_eq!(
            deleted,
            ["pr-17", "staging-20260601-1111111", "prod-20260601-1111111"]
        );
        let why = |t: &str| {
            plan.keep
                .iter()
                .find(|v| v.tag.as_str() == t)
                .unwrap()
                .reason
                .clone()
        };
        assert_eq!(why("prod"), "a channel");
        assert_eq!(why("prod-20260602-2222222"), "inside the rollback window");
        assert_eq!(why("staging-20260630-4444444"), "newer than 7 days");
        assert_eq!(why("pr-18"), "age unknown");
        assert_eq!(why("dev"), "not prunable");
        assert_eq!(plan.delete.len() + plan.keep.len(), known.len());
    }

    #[test]
    fn after_a_rollback_the_stamp_of_the_release_prod_runs_is_kept_outside_the_window() {
        let p = policy();
        let known = [
            k("prod", 1, None),
            k("prod-20260601-1111111", 1, Some("2026-06-01T10:00:00Z")),
            k("prod-20260602-2222222", 2, Some("2026-06-02T10:00:00Z")),
            k(
                "prod-rollback-20260603-101010-from-20260601-1111111",
                1,
                Some("2026-06-03T10:10:10Z"),
            ),
        ];
        let now = "2026-07-01T00:00:00Z".parse().unwrap();
        let plan = retention(1, 0).plan(&p.tags, &known, now, DeleteMode::ByTag);
        let deleted: Vec<_> = plan.delete.iter().map(|v| v.tag.as_str()).collect();
        assert_eq!(deleted, ["prod-20260602-2222222"]);
        let stamp = plan
            .keep
            .iter()
            .find(|v| v.tag.as_str() == "prod-20260601-1111111")
            .unwrap();
        assert_eq!(stamp.reason, "names the release prod runs");
    }

    #[test]
    fn deleting_by_digest_never_takes_a_kept_tag_along() {
        let p = policy();
        let known = [
            k("prod", 1, None),
            k("staging-20260101-1111111", 1, Some("2026-01-01T09:00:00Z")),
            k("staging-20260102-2222222", 2, Some("2026-01-02T09:00:00Z")),
        ];
        let now = "2026-07-01T00:00:00Z".parse().unwrap();
        let plan = retention(0, 0).plan(&p.tags, &known, now, DeleteMode::ByDigest);
        let deleted: Vec<_> = plan.delete.iter().map(|v| v.tag.as_str()).collect();
        assert_eq!(deleted, ["staging-20260102-2222222"]);
        assert!(
            plan.keep
                .iter()
                .any(|v| v.tag.as_str() == "staging-20260101-1111111"
                    && v.reason == "shares its digest with kept tag prod (this registry deletes by digest)")
        );
        let by_tag = retention(0, 0).plan(&p.tags, &known, now, DeleteMode::ByTag);
        assert_eq!(by_tag.delete.len(), 2);
    }

    fn everything_prunable(keep_days: u32) -> RetentionPolicy {
        RetentionPolicy {
            keep_releases: 1,
            keep_days,
            prunable: vec![Glob::parse("*").unwrap()],
        }
    }

    fn deleted(plan: &PrunePlan) -> Vec<&str> {
        plan.delete.iter().map(|v| v.tag.as_str()).collect()
    }

    #[test]
    fn aliases_are_kept_even_when_a_pattern_matches_them() {
        let mut s = PolicySpec {
            unit: "u".into(),
            ..PolicySpec::default()
        };
        s.images = vec![crate::policy::ImageSpec {
            repository: "docker.io/o/u".into(),
            verify: false,
            ..Default::default()
        }];
        s.tags.publish_aliases = vec!["latest".into()];
        s.tags.prod_aliases = vec!["stable".into()];
        let p = Policy::from_spec(&s).unwrap();
        let known = [
            k("latest", 1, Some("2020-01-01T00:00:00Z")),
            k("stable", 2, Some("2020-01-01T00:00:00Z")),
        ];
        let now = "2026-07-01T00:00:00Z".parse().unwrap();
        let plan = everything_prunable(0).plan(&p.tags, &known, now, DeleteMode::ByTag);
        assert!(plan.delete.is_empty(), "{plan:?}");
        assert!(plan.keep.iter().all(|v| v.reason == "an alias"), "{plan:?}");
    }

    #[test]
    fn without_push_times_the_day_in_the_name_is_the_age_up_to_its_last_second() {
        let p = policy();
        let known = [
            k("staging-20260620-1111111", 1, None),
            k("staging-20260623-2222222", 2, None),
            k("prod-rollback-20260620-100000-from-x", 3, None),
            k("prod-rollback-20260623-100000-from-x", 4, None),
        ];
        // Cutoff: 2026-06-23T00:00:00Z. A name dated the 23rd may be from its last second.
        let now = "2026-06-30T00:00:00Z".parse().unwrap();
        let plan = everything_prunable(7).plan(&p.tags, &known, now, DeleteMode::ByTag);
        let mut gone = deleted(&plan);
        gone.sort_unstable();
        assert_eq!(
            gone,
            ["prod-rollback-20260620-100000-from-x", "staging-20260620-1111111"]
        );
    }

    #[test]
    fn a_tag_exactly_at_the_cutoff_is_old_enough_and_unknown_ages_go_when_no_age_is_kept() {
        let p = policy();
        let known = [k("pr-1", 1, Some("2026-06-23T00:00:00Z")), k("pr-2", 2, None)];
        let now = "2026-06-30T00:00:00Z".parse().unwrap();
        let plan = everything_prunable(7).plan(&p.tags, &known, now, DeleteMode::ByTag);
        assert_eq!(deleted(&plan), ["pr-1"], "{plan:?}");
        let plan = everything_prunable(0).plan(&p.tags, &known, now, DeleteMode::ByTag);
        let mut gone = deleted(&plan);
        gone.sort_unstable();
        assert_eq!(gone, ["pr-1", "pr-2"]);
    }
}
