//! The listing scope each operation asks for (ARCHITECTURE.md, "Decisions": reading only what
//! can change the answer): release tags only, and for an automatic rollback and a promote,
//! newest first until the tags read settle the answer.

use std::sync::Arc;

use super::rollback::RERUN_WINDOW_SECS;
use crate::history::{EventKind, KnownTag, TagRole, Timeline, classify};
use crate::policy::TagPolicy;
use crate::{Digest, ListedTag, ListingScope, Timestamp};

/// Returns the substring every release tag (prod stamp, rollback audit tag) contains: their
/// common literal prefix, or `None` when there is none (or versions are the history).
pub(super) fn release_substring(tags: &TagPolicy) -> Option<String> {
    let stamp = tags.prod_stamp.as_ref()?.literal_prefix();
    let audit = tags.rollback_audit.literal_prefix();
    let common: String = stamp
        .chars()
        .zip(audit.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    (!common.is_empty()).then_some(common)
}

/// Returns the scope of a listing for the prod history: release tags only.
pub(super) fn release_scope(tags: &TagPolicy) -> ListingScope {
    ListingScope {
        contains: release_substring(tags),
        enough: None,
    }
}

/// Returns the scope of a listing of staging stamps only (promote lists them apart when its
/// release listing left them out and the source commit needs them), or `None` when the
/// policy has no staging stamps.
pub(super) fn staging_scope(tags: &TagPolicy) -> Option<ListingScope> {
    let prefix = tags.staging_stamp.as_ref()?.literal_prefix();
    Some(ListingScope {
        contains: (!prefix.is_empty()).then(|| prefix.to_owned()),
        enough: None,
    })
}

/// Returns the scope of an automatic rollback's listing: release tags, newest first, until the
/// tags read settle the answer for prod at `current` at time `now` (ARCHITECTURE.md,
/// "Decisions"): every release tag read has a digest and a push time after the cutoff; there
/// is a promotion; a rollback is among them or the cutoff lies before the re-run window; and
/// the timeline is settled without older events.
pub(super) fn rollback_scope(tags: &TagPolicy, current: &Digest, now: Timestamp) -> ListingScope {
    let current = current.clone();
    settling(tags, move |timeline, cutoff| {
        timeline.promotions().next().is_some()
            && (timeline.newest_rollback().is_some() || cutoff.unix() < now.unix() - RERUN_WINDOW_SECS)
            && timeline.settled_without_older(&current)
    })
}

/// Returns the scope of promote's listing: release tags, newest first, until the tags read
/// settle what promote asks of the history (ARCHITECTURE.md, "Decisions"): every release tag
/// read has a digest and a push time after the cutoff, so the newest event read is the newest
/// there is (is it a promotion of this digest, to be completed?); and when it is a promotion,
/// the timeline is settled without older events for its digest, so a re-run reports the same
/// "previous" as with every event. The digest being promoted is read in the same round, so
/// the rule does not depend on it. With stamps off (versions are the history): every tag.
/// Staging stamps are not in this listing; promote lists them apart when it needs them.
pub(super) fn promote_scope(tags: &TagPolicy) -> ListingScope {
    if tags.prod_stamp.is_none() {
        return ListingScope::default();
    }
    settling(tags, |timeline, _| match timeline.latest() {
        None => false,
        Some(e) if e.kind == EventKind::Promotion => timeline.settled_without_older(&e.digest),
        Some(_) => true,
    })
}

/// Returns a scope of release tags, newest first, that stops once every release tag read has a
/// digest and a push time after the cutoff and `settled` holds for their timeline.
fn settling(
    tags: &TagPolicy,
    settled: impl Fn(&Timeline, Timestamp) -> bool + Send + Sync + 'static,
) -> ListingScope {
    let tags = tags.clone();
    ListingScope {
        contains: release_substring(&tags),
        enough: Some(Arc::new(move |listed: &[ListedTag], cutoff: Timestamp| {
            read_after(&tags, listed, cutoff)
                .is_some_and(|known| settled(&Timeline::build(&tags, &known), cutoff))
        })),
    }
}

/// Returns the release tags of `listed` (prod stamps, audit tags) as known tags, or `None` when
/// one of them lacks a digest or may have been pushed at or before `cutoff` (then an unread
/// tag may be as new as it).
fn read_after(tags: &TagPolicy, listed: &[ListedTag], cutoff: Timestamp) -> Option<Vec<KnownTag>> {
    let mut known = Vec::new();
    for t in listed {
        let role = classify(tags, t.tag.as_str());
        if !matches!(role, TagRole::ProdStamp { .. } | TagRole::RollbackAudit { .. }) {
            continue;
        }
        // The earliest the event may have happened: its push time, else its name's.
        let earliest = t.pushed.or_else(|| named_time(&role));
        match (&t.digest, earliest) {
            (Some(digest), Some(at)) if at > cutoff => known.push(KnownTag {
                tag: t.tag.clone(),
                digest: digest.clone(),
                pushed: t.pushed,
            }),
            _ => return None,
        }
    }
    Some(known)
}

/// Returns the earliest time a release tag's name gives: the start of a stamp's day, an audit
/// tag's exact second.
fn named_time(role: &TagRole) -> Option<Timestamp> {
    match role {
        TagRole::ProdStamp { date, .. } => date.as_deref().and_then(Timestamp::parse_date_compact),
        TagRole::RollbackAudit { date, time, .. } => Timestamp::parse_compact(date, time),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Digest;
    use crate::policy::{ImageSpec, Policy, PolicySpec};

    fn tags() -> TagPolicy {
        let spec = PolicySpec {
            unit: "u".into(),
            images: vec![ImageSpec {
                repository: "docker.io/team/app".into(),
                verify: false,
                ..ImageSpec::default()
            }],
            ..PolicySpec::default()
        };
        Policy::from_spec(&spec).expect("valid").tags
    }

    fn d(n: u8) -> Digest {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
            .parse()
            .expect("digest")
    }

    fn listed(name: &str, digest: u8, pushed: &str) -> ListedTag {
        ListedTag {
            tag: name.parse().expect("tag"),
            digest: Some(d(digest)),
            pushed: Some(pushed.parse().expect("time")),
        }
    }

    fn enough(current: u8, now: &str, tags_read: &[ListedTag], cutoff: &str) -> bool {
        let scope = rollback_scope(&tags(), &d(current), now.parse().expect("time"));
        assert_eq!(scope.contains.as_deref(), Some("prod-"));
        (scope.enough.expect("enough"))(tags_read, cutoff.parse().expect("time"))
    }

    #[test]
    fn older_pages_cannot_change_the_rollback_target_once_the_newest_events_settle_it() {
        let now = "2026-06-26T12:00:00Z";
        let two = [
            listed("prod-20260625-a2fad42", 2, "2026-06-25T11:00:00Z"),
            listed("prod-20260624-851f2cc", 1, "2026-06-24T11:00:00Z"),
        ];
        assert!(enough(2, now, &two, "2026-06-24T10:00:00Z"));
        // A release tag pushed at the cutoff may tie with an unread one.
        assert!(!enough(2, now, &two, "2026-06-24T11:00:00Z"));
        // One promotion only: the previous release may be on an older page.
        assert!(!enough(2, now, &two[..1], "2026-06-25T10:00:00Z"));
        // Prod is not where these events put it: an older event may explain it.
        assert!(!enough(1, now, &two, "2026-06-24T10:00:00Z"));
        // A rollback to a digest no event read holds: its target is older.
        let mut back = two.to_vec();
        back.insert(
            0,
            listed(
                "prod-rollback-20260625-120000-from-20260620-0000000",
                9,
                "2026-06-25T12:00:00Z",
            ),
        );
        assert!(!enough(9, now, &back, "2026-06-24T10:00:00Z"));
        // No rollback read and the cutoff within the re-run window: an older rollback could be
        // the one to finish.
        assert!(!enough(2, "2026-06-24T10:30:00Z", &two, "2026-06-24T10:00:00Z"));
        // A release tag without a push time proves nothing.
        let mut unknown = two.to_vec();
        unknown[1].pushed = None;
        assert!(!enough(2, now, &unknown, "2026-06-24T10:00:00Z"));
        // Build tags do not count.
        let mut builds = two.to_vec();
        builds.push(ListedTag {
            tag: "build-7".parse().expect("tag"),
            digest: None,
            pushed: None,
        });
        assert!(enough(2, now, &builds, "2026-06-24T10:00:00Z"));
    }

    fn promote_enough(tags_read: &[ListedTag], cutoff: &str) -> bool {
        let scope = promote_scope(&tags());
        assert_eq!(scope.contains.as_deref(), Some("prod-"));
        (scope.enough.expect("enough"))(tags_read, cutoff.parse().expect("time"))
    }

    #[test]
    fn older_pages_cannot_change_what_promote_reads_once_the_newest_event_and_its_previous_settle() {
        let two = [
            listed("prod-20260625-a2fad42", 2, "2026-06-25T11:00:00Z"),
            listed("prod-20260624-851f2cc", 1, "2026-06-24T11:00:00Z"),
        ];
        assert!(promote_enough(&two, "2026-06-24T10:00:00Z"));
        // Nothing read yet, or a tag pushed at the cutoff (an unread one may be as new).
        assert!(!promote_enough(&[], "2026-06-24T10:00:00Z"));
        assert!(!promote_enough(&two, "2026-06-24T11:00:00Z"));
        // The newest event is a promotion: a re-run needs what prod held before it.
        assert!(!promote_enough(&two[..1], "2026-06-25T10:00:00Z"));
        // The newest event is a rollback: no promotion to complete, so it settles it alone.
        let rollback = listed(
            "prod-rollback-20260625-120000-from-20260625-a2fad42",
            1,
            "2026-06-25T12:00:00Z",
        );
        assert!(promote_enough(
            std::slice::from_ref(&rollback),
            "2026-06-25T11:30:00Z"
        ));
        // A promotion after a rollback whose target was not read: its "previous" is older.
        let mut after = vec![listed("prod-20260626-970361d", 3, "2026-06-26T09:00:00Z")];
        after.push(ListedTag {
            digest: Some(d(9)),
            ..rollback
        });
        after.push(two[0].clone());
        assert!(!promote_enough(&after, "2026-06-25T10:00:00Z"));
        // A release tag without a digest proves nothing.
        let mut unknown = two.to_vec();
        unknown[0].digest = None;
        assert!(!promote_enough(&unknown, "2026-06-24T10:00:00Z"));
    }

    #[test]
    fn with_stamps_off_promote_lists_every_tag() {
        let mut tags = tags();
        tags.prod_stamp = None;
        let scope = promote_scope(&tags);
        assert!(scope.contains.is_none() && scope.enough.is_none());
    }
}
