//! The prod timeline (docs/behaviour.md#history): classify tags, order events, and find "previous".

use serde::Serialize;

use crate::policy::TagPolicy;

mod replay;

use crate::{Digest, Tag, Timestamp};
use replay::{permutations, replay};

/// What a tag is, by name, under a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum TagRole {
    /// The staging channel.
    StagingChannel,
    /// A staging stamp, with its date and sha7.
    StagingStamp {
        /// `YYYYMMDD`, if the template has a date.
        date: Option<String>,
        /// The commit prefix.
        sha7: String,
    },
    /// The prod channel.
    ProdChannel,
    /// A tag that moves with prod.
    ProdAlias,
    /// A tag that moves with staging.
    PublishAlias,
    /// A prod stamp, with its date and sha7.
    ProdStamp {
        /// `YYYYMMDD`, if the template has a date.
        date: Option<String>,
        /// The commit prefix.
        sha7: String,
    },
    /// A rollback audit tag.
    RollbackAudit {
        /// `YYYYMMDD`.
        date: String,
        /// `HHMMSS`.
        time: String,
        /// The target's name without the stamp prefix.
        target_suffix: Option<String>,
    },
    /// A version tag.
    Version {
        /// The version, e.g. `0.2.13`.
        version: String,
    },
    /// A name in the prod namespace from an older scheme (e.g. `prod-YYYYMMDD-HHMMSS`): shown,
    /// never a rollback target.
    Legacy,
    /// A cosign signature, attestation or referrers-fallback tag: filtered everywhere.
    SignatureArtifact,
    /// Anything else.
    Other,
}

/// Returns the role of `tag` under `tags`.
pub fn classify(tags: &TagPolicy, tag: &str) -> TagRole {
    if crate::is_signature_artifact(tag) {
        return TagRole::SignatureArtifact;
    }
    if tag == tags.staging.as_str() {
        return TagRole::StagingChannel;
    }
    if tag == tags.prod.as_str() {
        return TagRole::ProdChannel;
    }
    if tags.prod_aliases.iter().any(|a| a.as_str() == tag) {
        return TagRole::ProdAlias;
    }
    if tags.publish_aliases.iter().any(|a| a.as_str() == tag) {
        return TagRole::PublishAlias;
    }
    if let Some(m) = tags.rollback_audit.matches(tag)
        && let (Some(date), Some(time)) = (m.date, m.time)
    {
        return TagRole::RollbackAudit {
            date,
            time,
            target_suffix: m.target_suffix,
        };
    }
    if let Some(m) = tags.prod_stamp.as_ref().and_then(|t| t.matches(tag))
        && let Some(sha7) = m.sha7
    {
        return TagRole::ProdStamp { date: m.date, sha7 };
    }
    if let Some(m) = tags.staging_stamp.as_ref().and_then(|t| t.matches(tag))
        && let Some(sha7) = m.sha7
    {
        return TagRole::StagingStamp { date: m.date, sha7 };
    }
    if let Some(version) = tags.version.matches(tag).and_then(|m| m.version) {
        return TagRole::Version { version };
    }
    let prefix = tags.prod_stamp.as_ref().map_or("prod-", |t| t.literal_prefix());
    if !prefix.is_empty() && tag.starts_with(prefix) {
        return TagRole::Legacy;
    }
    TagRole::Other
}

/// What a tag's name says about when it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "precision", content = "at")]
pub enum NamedTime {
    /// The exact second (audit tags).
    Exact(Timestamp),
    /// Some time during this UTC day (stamps).
    Day(Timestamp),
    /// The name carries no time.
    Unknown,
}

/// What an event did to prod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EventKind {
    /// A promotion recorded by a prod stamp (or, with stamps off, a version tag).
    Promotion,
    /// A rollback recorded by an audit tag, which points at the target's digest.
    Rollback {
        /// The target's name without the stamp prefix, from the audit tag.
        target_suffix: Option<String>,
    },
}

/// A tag with what is known about it, as input to the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownTag {
    /// The tag.
    pub tag: Tag,
    /// Its digest.
    pub digest: Digest,
    /// When it was pushed, if the registry says.
    pub pushed: Option<Timestamp>,
}

/// One prod move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The stamp, audit or version tag that records it.
    pub tag: Tag,
    /// The digest prod was set to.
    pub digest: Digest,
    /// Promotion or rollback.
    #[serde(flatten)]
    pub kind: EventKind,
    /// When the tag was pushed, if known.
    pub pushed: Option<Timestamp>,
    /// What the name says about the time.
    pub named: NamedTime,
    /// Set on promotions that a later rollback undid.
    pub rolled_back: bool,
}

impl Event {
    /// Returns the earliest and latest Unix second at which the event may have happened.
    pub fn interval(&self) -> (i64, i64) {
        if let Some(p) = self.pushed {
            return (p.unix(), p.unix());
        }
        match self.named {
            NamedTime::Exact(t) => (t.unix(), t.unix()),
            NamedTime::Day(t) => (t.unix(), t.unix() + 86_399),
            NamedTime::Unknown => (i64::MIN, i64::MIN),
        }
    }
}

/// Why no automatic rollback target could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The current prod digest is not the result of any recorded event.
    #[error(
        "current prod {current} does not match any prod stamp or rollback in the history; name a target explicitly"
    )]
    CurrentUnknown {
        /// The current prod digest.
        current: Digest,
    },
    /// Nothing before the current release.
    #[error("no earlier prod release than the current one ({current}) is recorded; name a target explicitly")]
    NoPrevious {
        /// The current prod digest.
        current: Digest,
    },
    /// The order of candidates cannot be established; no guess is made.
    #[error(
        "the order of these releases cannot be established (no push times, same day): {}; name a target explicitly",
        .candidates.iter().map(describe).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// The candidates with what is known about each.
        candidates: Vec<Event>,
    },
}

fn describe(e: &Event) -> String {
    let when = match (e.pushed, e.named) {
        (Some(p), _) => format!("pushed {p}"),
        (None, NamedTime::Exact(t)) => format!("named {t}"),
        (None, NamedTime::Day(d)) => format!("day {}", d.date_compact()),
        (None, NamedTime::Unknown) => "time unknown".to_owned(),
    };
    format!("{} @ {} ({when})", e.tag, e.digest)
}

/// The prod timeline, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The events, oldest first.
    pub events: Vec<Event>,
}

/// The most events one tie group may hold before order is declared unknowable outright.
const MAX_TIE_PERMUTATION: usize = 6;

impl Timeline {
    /// Returns the timeline built from the prod stamps and audit tags among `tags` (other roles
    /// are ignored). With stamps off, version tags are the promotions.
    pub fn build(policy: &TagPolicy, tags: &[KnownTag]) -> Self {
        let mut events: Vec<Event> = tags
            .iter()
            .filter_map(|k| {
                let (kind, named) = match classify(policy, k.tag.as_str()) {
                    TagRole::ProdStamp { date, .. } => (
                        EventKind::Promotion,
                        date.as_deref()
                            .and_then(Timestamp::parse_date_compact)
                            .map_or(NamedTime::Unknown, NamedTime::Day),
                    ),
                    TagRole::Version { .. } if policy.prod_stamp.is_none() => {
                        (EventKind::Promotion, NamedTime::Unknown)
                    }
                    TagRole::RollbackAudit {
                        date,
                        time,
                        target_suffix,
                    } => (
                        EventKind::Rollback { target_suffix },
                        Timestamp::parse_compact(&date, &time).map_or(NamedTime::Unknown, NamedTime::Exact),
                    ),
                    _ => return None,
                };
                Some(Event {
                    tag: k.tag.clone(),
                    digest: k.digest.clone(),
                    kind,
                    pushed: k.pushed,
                    named,
                    rolled_back: false,
                })
            })
            .collect();
        events.sort_by(|a, b| a.interval().cmp(&b.interval()).then_with(|| a.tag.cmp(&b.tag)));
        let order: Vec<usize> = (0..events.len()).collect();
        let undone = replay(&events, &order).undone;
        for i in undone {
            events[i].rolled_back = true;
        }
        Self { events }
    }

    /// Returns the newest event, if any.
    pub fn latest(&self) -> Option<&Event> {
        self.events.last()
    }

    /// Returns the promotions, newest first, that are not audit or legacy tags.
    pub fn promotions(&self) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .rev()
            .filter(|e| e.kind == EventKind::Promotion)
    }

    /// Returns the release prod should be at according to the records: the top of the replayed
    /// promotions once rollbacks have undone what they rolled back from.
    pub fn head(&self) -> Option<&Event> {
        let order: Vec<usize> = (0..self.events.len()).collect();
        replay(&self.events, &order)
            .stack
            .last()
            .map(|&i| &self.events[i])
    }

    /// Returns the release prod was at just before the event recorded by `tag`: the top of the
    /// replay of the events ordered before it. A re-run completing that event reports it as the
    /// event's "previous", whatever prod holds now.
    pub fn before(&self, tag: &Tag) -> Option<&Event> {
        let at = self.events.iter().position(|e| &e.tag == tag)?;
        let order: Vec<usize> = (0..at).collect();
        replay(&self.events, &order)
            .stack
            .last()
            .map(|&i| &self.events[i])
    }

    /// Returns the groups of adjacent events whose relative order is not established.
    fn tie_groups(&self) -> Vec<std::ops::Range<usize>> {
        let mut groups = Vec::new();
        let mut start = 0;
        // The latest end of the group so far: a day-long stamp ties with every exact time of
        // its day, not only with the event next to it.
        let mut hi = i64::MIN;
        for i in 1..=self.events.len() {
            hi = hi.max(self.events[i - 1].interval().1);
            let tied = i < self.events.len() && hi >= self.events[i].interval().0;
            if !tied {
                hi = i64::MIN;
                if i - start > 1 {
                    groups.push(start..i);
                }
                start = i;
            }
        }
        groups
    }

    /// Returns every order of the events that the known times allow, one tie group at a time
    /// (the sorted order, then each permutation of each tie group whose members differ), and
    /// the tie groups too large to permute (their order is unknowable).
    fn orders(&self) -> (Vec<Vec<usize>>, Vec<std::ops::Range<usize>>) {
        let base: Vec<usize> = (0..self.events.len()).collect();
        let mut orders = vec![base.clone()];
        let mut unknowable = Vec::new();
        for g in self.tie_groups() {
            let members = &self.events[g.clone()];
            let distinct = members
                .iter()
                .any(|e| e.digest != members[0].digest || e.kind != members[0].kind);
            if !distinct {
                continue;
            }
            if g.len() > MAX_TIE_PERMUTATION {
                unknowable.push(g);
                continue;
            }
            for perm in permutations(g.clone()) {
                let mut alt = base.clone();
                alt.splice(g.clone(), perm);
                orders.push(alt);
            }
        }
        (orders, unknowable)
    }

    /// Returns whether some order the known times allow leaves prod at `current`: false means
    /// prod was moved without a record (or by another tool). A tie too large to try in every
    /// order may hold one that does, so it never proves such a move (`previous` then refuses
    /// as ambiguous, naming the candidates).
    pub fn explains(&self, current: &Digest) -> bool {
        let (orders, unknowable) = self.orders();
        if !unknowable.is_empty() {
            return true;
        }
        orders
            .iter()
            .map(|o| replay(&self.events, o))
            .any(|r| r.valid && r.stack.last().is_some_and(|&i| &self.events[i].digest == current))
    }

    /// Returns the promotion an automatic rollback goes to from `current`: the latest distinct
    /// digest below the current one once rollbacks have undone what they rolled back from.
    /// Orders that would not leave prod at `current` are discarded; if the orders that remain
    /// disagree, it refuses rather than guesses and lists the candidates.
    pub fn previous(&self, current: &Digest) -> Result<&Event, HistoryError> {
        let (orders, unknowable) = self.orders();
        let mut answers: Vec<usize> = Vec::new();
        let mut no_previous = false;
        for o in &orders {
            match replay(&self.events, o).previous(&self.events, current) {
                Ok(i) => answers.push(i),
                Err(HistoryError::NoPrevious { .. }) => no_previous = true,
                Err(_) => {}
            }
        }
        answers.sort_unstable();
        answers.dedup();
        // Candidates at one digest are one answer: rolling back to either puts the same bytes in
        // prod. The one the sorted order gives names the target.
        let same_digest = |a: &[usize]| {
            a.windows(2)
                .all(|w| self.events[w[0]].digest == self.events[w[1]].digest)
        };
        if answers.len() > 1 && same_digest(&answers) {
            let base = replay(&self.events, &orders[0]).previous(&self.events, current);
            let pick = base.ok().filter(|i| answers.contains(i));
            answers = vec![pick.unwrap_or(answers[answers.len() - 1])];
        }
        let undecided = answers.len() > 1 || (no_previous && !answers.is_empty()) || !unknowable.is_empty();
        if undecided {
            let mut candidates: Vec<usize> = answers;
            candidates.extend(unknowable.into_iter().flatten());
            candidates.sort_unstable();
            candidates.dedup();
            return Err(HistoryError::Ambiguous {
                candidates: candidates.into_iter().map(|i| self.events[i].clone()).collect(),
            });
        }
        match answers.first() {
            Some(&i) => Ok(&self.events[i]),
            None if no_previous => Err(HistoryError::NoPrevious {
                current: current.clone(),
            }),
            None => Err(HistoryError::CurrentUnknown {
                current: current.clone(),
            }),
        }
    }

    /// Tells whether events older than all of these cannot change what the timeline says about
    /// prod at `current` (docs: ARCHITECTURE.md, "Decisions"): in every order the known times
    /// allow, every rollback finds its target among these events, the replay ends with
    /// `current` on top and another digest below it. Older events would then only add entries
    /// below, so `previous`, `explains` and `head` answer as with every event.
    ///
    /// An order that is impossible (a rollback to the digest prod already had) without any
    /// rollback missing its target stays impossible with older events below, so it is left out,
    /// as `previous` leaves it out; at least one possible order must remain.
    pub fn settled_without_older(&self, current: &Digest) -> bool {
        let (orders, unknowable) = self.orders();
        let replays: Vec<_> = orders.iter().map(|o| replay(&self.events, o)).collect();
        unknowable.is_empty()
            && replays.iter().all(|r| !r.underflow)
            && replays.iter().any(|r| r.valid)
            && replays
                .iter()
                .filter(|r| r.valid)
                .all(|r| r.previous(&self.events, current).is_ok())
    }

    /// Returns the newest rollback (audit tags carry exact times, so rollbacks are ordered).
    pub fn newest_rollback(&self) -> Option<&Event> {
        self.events
            .iter()
            .rev()
            .find(|e| matches!(e.kind, EventKind::Rollback { .. }))
    }

    /// Returns whether a promotion may have happened after `event` (it is after it, or their
    /// order is not established).
    pub fn promoted_since(&self, event: &Event) -> bool {
        let (from, _) = event.interval();
        self.events
            .iter()
            .any(|e| e.kind == EventKind::Promotion && e.tag != event.tag && e.interval().1 >= from)
    }
}
