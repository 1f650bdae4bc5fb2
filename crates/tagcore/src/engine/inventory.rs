//! A repository's tags, classified, with digests where the operation needs them; and the
//! listing scope each operation asks for (ARCHITECTURE.md, "Decisions": reading only what can
//! change the answer).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::rollback::RERUN_WINDOW_SECS;
use super::{Engine, OpError};
use crate::history::{KnownTag, TagRole, Timeline, classify};
use crate::policy::TagPolicy;
use crate::{
    AuditSink, Digest, ListedTag, ListingScope, Registry, Repository, Tag, TagListing, Timestamp, Verifier,
};

/// The most tags whose digest is read one by one (registries that list names only).
pub(super) const MAX_RESOLVES: usize = 500;

/// How many of those reads are in flight at once.
pub(super) const PARALLEL_READS: usize = 8;

/// How much of the history an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// Every release tag (rollback, history, status).
    Full,
    /// Only the newest day of release tags (promote: is the newest event ours?); staging
    /// stamps are read later, and only if the source commit needs them.
    Newest,
}

/// A repository's tags, classified, with digests where known.
pub(super) struct Inventory {
    pub(super) known: Vec<KnownTag>,
    /// Staging stamps listed without a digest and not read yet (depth `Newest`).
    pub(super) unresolved: Vec<ListedTag>,
    /// Whether older release tags were left out (depth `Newest` on a names-only listing).
    pub(super) older_skipped: bool,
    /// Those release tags, without digests (read only if a re-run needs the whole timeline).
    pub(super) older: Vec<ListedTag>,
    /// Whether the listing held only the tags its scope asked for (staging stamps may be
    /// missing: the source commit lists them separately).
    pub(super) partial: bool,
    /// Every name the listing carried (when it was complete).
    listed: Option<BTreeSet<Tag>>,
    pub(super) warnings: Vec<String>,
    pub(super) truncated: bool,
}

impl Inventory {
    /// Returns what the listing already says about `tag`, when it says enough to skip a read:
    /// `Some(Some(digest))` when its digest is known, `Some(None)` when a complete listing does
    /// not carry the name, `None` otherwise.
    pub(super) fn lookup(&self, tag: &Tag) -> Option<Option<Digest>> {
        if let Some(k) = self.known.iter().find(|k| &k.tag == tag) {
            return Some(Some(k.digest.clone()));
        }
        let listed = self.listed.as_ref()?;
        (!listed.contains(tag)).then_some(None)
    }

    /// Returns the staging stamps pointing at `digest`, with their sha7 and push time.
    pub(super) fn staging_stamps_at<'a>(
        &'a self,
        engine_tags: &TagPolicy,
        digest: &Digest,
    ) -> Vec<(&'a Tag, String, Option<Timestamp>)> {
        self.known
            .iter()
            .filter(|k| &k.digest == digest)
            .filter_map(|k| match classify(engine_tags, k.tag.as_str()) {
                TagRole::StagingStamp { sha7, .. } => Some((&k.tag, sha7, k.pushed)),
                _ => None,
            })
            .collect()
    }
}

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

/// Returns the scope of an automatic rollback's listing: release tags, newest first, until the
/// tags read settle the answer for prod at `current` at time `now` (ARCHITECTURE.md,
/// "Decisions"): every release tag read has a digest and a push time after the cutoff; there
/// is a promotion; a rollback is among them or the cutoff lies before the re-run window; and
/// the timeline is settled without older events.
pub(super) fn rollback_scope(tags: &TagPolicy, current: &Digest, now: Timestamp) -> ListingScope {
    let tags = tags.clone();
    let current = current.clone();
    ListingScope {
        contains: release_substring(&tags),
        enough: Some(Arc::new(move |listed: &[ListedTag], cutoff: Timestamp| {
            let mut known = Vec::new();
            for t in listed {
                let release = matches!(
                    classify(&tags, t.tag.as_str()),
                    TagRole::ProdStamp { .. } | TagRole::RollbackAudit { .. }
                );
                if !release {
                    continue;
                }
                match (&t.digest, t.pushed) {
                    (Some(digest), Some(pushed)) if pushed > cutoff => known.push(KnownTag {
                        tag: t.tag.clone(),
                        digest: digest.clone(),
                        pushed: Some(pushed),
                    }),
                    _ => return false,
                }
            }
            let timeline = Timeline::build(&tags, &known);
            timeline.promotions().next().is_some()
                && (timeline.newest_rollback().is_some() || cutoff.unix() < now.unix() - RERUN_WINDOW_SECS)
                && timeline.settled_without_older(&current)
        })),
    }
}

/// The tags of a listing an inventory reads, and what it left out.
#[derive(Default)]
struct Selection {
    chosen: Vec<ListedTag>,
    unresolved: Vec<ListedTag>,
    older: Vec<ListedTag>,
    older_skipped: bool,
    capped: bool,
    resolves: usize,
}

/// Returns the release-relevant tags of `tags` (stamps, audit tags, versions when they are the
/// history), newest first (push time, then the day in the name), so a cap drops the oldest.
fn relevant(policy: &TagPolicy, tags: Vec<ListedTag>) -> Vec<(ListedTag, TagRole, String)> {
    let versions_are_history = policy.prod_stamp.is_none();
    let mut relevant: Vec<(ListedTag, TagRole, String)> = tags
        .into_iter()
        .filter_map(|t| {
            let role = classify(policy, t.tag.as_str());
            let day = match &role {
                TagRole::ProdStamp { date, .. } | TagRole::StagingStamp { date, .. } => {
                    date.clone().unwrap_or_default()
                }
                TagRole::RollbackAudit { date, .. } => date.clone(),
                TagRole::Version { .. } if versions_are_history => String::new(),
                _ => return None,
            };
            Some((t, role, day))
        })
        .collect();
    relevant.sort_by(|a, b| {
        b.0.pushed
            .cmp(&a.0.pushed)
            .then_with(|| b.2.cmp(&a.2))
            .then_with(|| b.0.tag.cmp(&a.0.tag))
    });
    relevant
}

/// Chooses which relevant tags get a digest now: at depth `Newest`, staging stamps and release
/// tags older than the newest release day wait; at most [`MAX_RESOLVES`] digests are read.
fn select(relevant: Vec<(ListedTag, TagRole, String)>, depth: Depth) -> Selection {
    let newest_release_day = relevant
        .iter()
        .filter(|(_, role, _)| !matches!(role, TagRole::StagingStamp { .. }))
        .map(|(_, _, day)| day.clone())
        .max()
        .unwrap_or_default();
    let mut s = Selection::default();
    for (t, role, day) in relevant {
        if t.digest.is_none() && depth == Depth::Newest {
            if matches!(role, TagRole::StagingStamp { .. }) {
                s.unresolved.push(t);
                continue;
            }
            if day < newest_release_day {
                s.older_skipped = true;
                s.older.push(t);
                continue;
            }
        }
        if t.digest.is_none() {
            if s.resolves == MAX_RESOLVES {
                s.capped = true;
                continue;
            }
            s.resolves += 1;
        }
        s.chosen.push(t);
    }
    s
}

/// Returns the warnings a listing carries: incomplete, degraded, invalid names skipped.
fn listing_warnings(repo: &Repository, listing: &TagListing) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(reason) = &listing.truncated {
        warnings.push(format!("tag listing of {repo} is incomplete: {reason}"));
    }
    if let Some(reason) = &listing.degraded {
        warnings.push(format!("tag listing of {repo} is degraded: {reason}"));
    }
    if !listing.skipped_invalid.is_empty() {
        warnings.push(format!(
            "{repo}: skipped {} invalid tag names from the listing",
            listing.skipped_invalid.len()
        ));
    }
    warnings
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Returns the repository's tags with digests for the roles that matter (stamps, audit
    /// tags, versions), reading digests one by one where the listing lacks them. `scope` says
    /// which tags the operation needs (services that can filter read less).
    pub(super) async fn inventory(
        &self,
        repo: &Repository,
        depth: Depth,
        scope: &ListingScope,
    ) -> Result<Inventory, OpError> {
        self.count();
        let mut listing = self.registry.list_tags_scoped(repo, scope).await.map_err(|e| {
            let mut err = OpError::from(e);
            err.message = format!("listing tags of {repo}: {}", err.message);
            err
        })?;
        let mut warnings = listing_warnings(repo, &listing);
        let count = listing.tags.len();
        let complete = listing.truncated.is_none() && listing.partial.is_none();
        let names = complete.then(|| listing.tags.iter().map(|t| t.tag.clone()).collect());
        let tags = std::mem::take(&mut listing.tags);
        let s = select(relevant(&self.policy.tags, tags), depth);
        let known = self.digests_of(repo, s.chosen).await?;
        let mut found = format!(
            "{count} tags, {} release tags, {} digests read one by one",
            known.len(),
            s.resolves
        );
        if listing.truncated.is_some() {
            found.push_str(", listing incomplete");
        }
        if let Some(partial) = &listing.partial {
            found.push_str(&format!(" ({partial})"));
        }
        self.note("list", repo.to_string(), found);
        if s.capped {
            warnings.push(format!(
                "{repo}: read the digests of the newest {MAX_RESOLVES} release tags only; older ones are not in the history"
            ));
        }
        Ok(Inventory {
            known,
            unresolved: s.unresolved,
            older_skipped: s.older_skipped,
            older: s.older,
            partial: listing.partial.is_some(),
            listed: names,
            warnings,
            truncated: listing.truncated.is_some() || s.capped,
        })
    }
}
