//! A repository's tags, classified, with digests where the operation needs them (the scope of
//! each operation's listing is in `scope.rs`).

use std::collections::BTreeSet;

use super::{Engine, OpError};
use crate::history::{KnownTag, TagRole, classify};
use crate::policy::TagPolicy;
use crate::{
    AuditSink, Digest, ListedTag, ListingScope, Registry, Repository, Tag, TagListing, Timestamp, Verifier,
};

/// The most tags whose digest is read one by one (registries that list names only).
pub(super) const MAX_RESOLVES: usize = 500;

/// How many of those reads are in flight at once: 500 release tags at 25 ms one way are then
/// about 16 round trips. Over HTTP/2 (ghcr.io, Docker Hub) they share one connection, well
/// under the 100 concurrent streams servers commonly allow; over HTTP/1.1, 32 connections.
pub(super) const PARALLEL_READS: usize = 32;

/// The fewest tags an early-stopping read (see `digests_until`) reads before it asks whether
/// it has read enough: a whole day at a time, at least this many.
const STOP_BATCH: usize = 16;

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
    /// Whether the service left staging stamps out of a depth-`Newest` listing (its name filter,
    /// or an early stop): they are then listed apart when the source commit needs them.
    pub(super) staging_unlisted: bool,
    /// Every name the listing carried (when it was complete).
    listed: Option<BTreeSet<Tag>>,
    /// Tags read one by one while planning, outside the history (a stamp name read early).
    pub(super) read: Vec<(Tag, Option<Digest>)>,
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
        if let Some((_, digest)) = self.read.iter().find(|(t, _)| t == tag) {
            return Some(digest.clone());
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

/// Returns the day a release tag's name carries (`""` when none).
fn named_day(policy: &TagPolicy, tag: &Tag) -> String {
    match classify(policy, tag.as_str()) {
        TagRole::ProdStamp { date, .. } => date.unwrap_or_default(),
        TagRole::RollbackAudit { date, .. } => date,
        _ => String::new(),
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
/// tags older than the newest release day wait; at most [`MAX_RESOLVES`] digests are read when
/// `cap` (an early-stopping read applies the cap to the reads it actually makes).
fn select(relevant: Vec<(ListedTag, TagRole, String)>, depth: Depth, cap: bool) -> Selection {
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
            if cap && s.resolves == MAX_RESOLVES {
                s.capped = true;
                continue;
            }
            s.resolves += 1;
        }
        s.chosen.push(t);
    }
    s
}

/// Keeps the tags whose names contain `contains`, whatever the registry did with the scope's
/// filter: on a names-only registry it spares a HEAD per tag outside it (staging stamps, for a
/// rollback). At depth `Newest` staging stamps cost no read until needed, so those listed stay.
fn keep_scoped(policy: &TagPolicy, tags: &mut Vec<ListedTag>, contains: &str, depth: Depth) {
    tags.retain(|t| {
        t.tag.as_str().contains(contains)
            || (depth == Depth::Newest
                && matches!(classify(policy, t.tag.as_str()), TagRole::StagingStamp { .. }))
    });
}

/// Returns what the plan's reads say of a listing: how many tags, release tags and digests read
/// one by one, and whether it was incomplete or partial.
fn listing_note(count: usize, release_tags: usize, resolves: usize, listing: &TagListing) -> String {
    let mut found = format!("{count} tags, {release_tags} release tags, {resolves} digests read one by one");
    if listing.truncated.is_some() {
        found.push_str(", listing incomplete");
    }
    if let Some(partial) = &listing.partial {
        found.push_str(&format!(" ({partial})"));
    }
    found
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
        let mut tags = std::mem::take(&mut listing.tags);
        let staging_unlisted = depth == Depth::Newest && listing.partial.is_some();
        if let Some(contains) = &scope.contains {
            keep_scoped(&self.policy.tags, &mut tags, contains, depth);
            listing
                .partial
                .get_or_insert_with(|| format!("only tags whose names contain `{contains}`"));
        }
        let relevant = relevant(&self.policy.tags, tags);
        let names_only = relevant
            .iter()
            .all(|(t, _, _)| t.digest.is_none() && t.pushed.is_none());
        // Names-only listings of promote (depth `Newest`) read the newest day and leave the
        // rest for a re-run (see `select`).
        let early_stop = scope.enough.is_some() && names_only && depth == Depth::Full;
        let mut s = select(relevant, depth, !early_stop);
        let known = match &scope.enough {
            Some(enough) if early_stop && !s.chosen.is_empty() => {
                let (known, skipped, capped) = self.digests_until(repo, s.chosen, enough).await?;
                s.resolves = known.len();
                s.capped = capped;
                if skipped > 0 {
                    listing.partial = Some(format!(
                        "newest release days only: {skipped} older release tags cannot change the answer"
                    ));
                }
                known
            }
            _ => self.digests_of(repo, s.chosen).await?,
        };
        let found = listing_note(count, known.len(), s.resolves, &listing);
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
            staging_unlisted,
            listed: names,
            read: Vec::new(),
            warnings,
            truncated: listing.truncated.is_some() || s.capped,
        })
    }

    /// Returns the digests of `chosen` (release tags, newest day first, names only), read a
    /// whole day and at least [`STOP_BATCH`] tags at a time, until `enough` says the days read
    /// settle the answer: every unread tag is of an earlier day; or until [`MAX_RESOLVES`]
    /// were read (the older ones are then out of the history: `capped`). Returns them, how
    /// many were left unread, and whether the cap stopped the reads.
    async fn digests_until(
        &self,
        repo: &Repository,
        chosen: Vec<ListedTag>,
        enough: &crate::EnoughTags,
    ) -> Result<(Vec<KnownTag>, usize, bool), OpError> {
        let policy = &self.policy.tags;
        let mut known: Vec<KnownTag> = Vec::new();
        let mut rest = chosen.into_iter().peekable();
        while rest.peek().is_some() {
            let mut batch = Vec::new();
            while let Some(t) = rest.next() {
                let day = named_day(policy, &t.tag);
                batch.push(t);
                let same_day = rest.peek().is_some_and(|n| named_day(policy, &n.tag) == day);
                if batch.len() >= STOP_BATCH && !same_day {
                    break;
                }
            }
            let room = MAX_RESOLVES - known.len();
            if batch.len() > room {
                batch.truncate(room);
                known.extend(self.digests_of(repo, batch).await?);
                return Ok((known, 0, true));
            }
            let oldest = batch
                .last()
                .map(|t| named_day(policy, &t.tag))
                .unwrap_or_default();
            known.extend(self.digests_of(repo, batch).await?);
            let Some(day_start) = Timestamp::parse_date_compact(&oldest) else {
                continue;
            };
            let listed: Vec<ListedTag> = known
                .iter()
                .map(|k| ListedTag {
                    tag: k.tag.clone(),
                    digest: Some(k.digest.clone()),
                    pushed: k.pushed,
                })
                .collect();
            if rest.peek().is_some() && enough(&listed, Timestamp::from_unix(day_start.unix() - 1)) {
                return Ok((known, rest.count(), false));
            }
        }
        Ok((known, 0, false))
    }
}
