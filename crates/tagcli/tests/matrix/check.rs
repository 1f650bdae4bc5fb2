//! The invariants checked after every case, against the registry's real state read afterwards.

use tagcore::OpError;
use tagcore::outcome::{Outcome, RunResult, TagStatus};
use tagcore::policy::Policy;

use crate::world::{Case, TagState};

/// Returns whether `tag` is a channel (it moves by design): prod, its aliases, staging, and the
/// publish aliases. Every other tag (stamps, audit tags, versions) must never be re-pointed.
fn is_channel(policy: &Policy, tag: &str) -> bool {
    let t = &policy.tags;
    tag == t.prod.as_str()
        || tag == t.staging.as_str()
        || t.prod_aliases.iter().any(|a| a.as_str() == tag)
        || t.publish_aliases.iter().any(|a| a.as_str() == tag)
}

fn show(d: Option<&tagcore::Digest>) -> String {
    d.map_or_else(|| "(absent)".to_owned(), |d| d.as_str()[7..19].to_owned())
}

/// (a) prod and its aliases hold only verified digests.
pub(crate) fn prod_verified(case: &Case, state: &TagState, when: &str, out: &mut Vec<String>) {
    let t = &case.policy.tags;
    for tag in std::iter::once(&t.prod).chain(&t.prod_aliases) {
        if let Some(d) = state.get(tag.as_str())
            && !case.verified.contains(d)
        {
            out.push(format!(
                "(a) {when}: {tag} points at unverified {}",
                show(Some(d))
            ));
        }
    }
}

/// (b) no stamp or audit tag that existed in `before` points elsewhere in `after`.
pub(crate) fn stamps_kept(
    case: &Case,
    before: &TagState,
    after: &TagState,
    when: &str,
    out: &mut Vec<String>,
) {
    for (tag, d) in before {
        if is_channel(&case.policy, tag) {
            continue;
        }
        if after.get(tag) != Some(d) {
            out.push(format!(
                "(b) {when}: stamp {tag} re-pointed from {} to {}",
                show(Some(d)),
                show(after.get(tag))
            ));
        }
    }
}

/// (c) the result and every tag's reported status match the registry's state `after`, given
/// the state `before` the run.
pub(crate) fn report_matches(
    result: &Result<Outcome, OpError>,
    before: &TagState,
    after: &TagState,
    when: &str,
    out: &mut Vec<String>,
) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|t| before.get(*t) != after.get(*t))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let outcome = match result {
        Err(e) => {
            for tag in changed {
                out.push(format!(
                    "(c) {when}: failed before any write ({:?}: {}) but {tag} moved from {} to {}",
                    e.kind,
                    first_line(&e.message),
                    show(before.get(tag)),
                    show(after.get(tag))
                ));
            }
            return;
        }
        Ok(o) => o,
    };
    for c in &outcome.tags {
        let tag = c.tag.as_str();
        let (was, now) = (before.get(tag), after.get(tag));
        let wrong = match c.status {
            TagStatus::Created => now != Some(&c.to) || was.is_some(),
            TagStatus::Moved => now != Some(&c.to) || was.is_none() || was == Some(&c.to),
            TagStatus::Unchanged => now != Some(&c.to) || was != Some(&c.to),
            TagStatus::Failed | TagStatus::NotAttempted | TagStatus::Planned => was != now,
        };
        if wrong {
            out.push(format!(
                "(c) {when}: {tag} reported {:?} (to {}) but it went from {} to {} [{}]",
                c.status,
                show(Some(&c.to)),
                show(was),
                show(now),
                result_name(&outcome.result)
            ));
        }
    }
    for tag in &changed {
        if !outcome.tags.iter().any(|c| c.tag.as_str() == tag.as_str()) {
            out.push(format!(
                "(c) {when}: {tag} moved from {} to {} but is not in the report",
                show(before.get(*tag)),
                show(after.get(*tag))
            ));
        }
    }
    let statuses_ok = outcome.tags.iter().all(|c| {
        matches!(
            c.status,
            TagStatus::Created | TagStatus::Moved | TagStatus::Unchanged
        )
    });
    let result_wrong = match &outcome.result {
        RunResult::Done => !statuses_ok,
        RunResult::NoOp | RunResult::FailedBeforeWrite(_) => !changed.is_empty(),
        RunResult::Partial(_) | RunResult::DryRun => false,
    };
    if result_wrong {
        out.push(format!(
            "(c) {when}: result {} does not match: {} tag(s) changed, statuses {:?}",
            result_name(&outcome.result),
            changed.len(),
            outcome
                .tags
                .iter()
                .map(|c| (c.tag.as_str(), c.status))
                .collect::<Vec<_>>()
        ));
    }
}

/// (d) a re-run succeeds and ends where a clean run ends.
pub(crate) fn converged(
    rerun: &Result<Outcome, OpError>,
    end: &TagState,
    clean_end: &TagState,
    out: &mut Vec<String>,
) {
    match rerun {
        Err(e) => out.push(format!(
            "(d) the re-run failed: {:?}: {}",
            e.kind,
            first_line(&e.message)
        )),
        Ok(o) if matches!(o.result, RunResult::Partial(_) | RunResult::FailedBeforeWrite(_)) => out.push(
            format!("(d) the re-run did not finish: {}", result_name(&o.result)),
        ),
        Ok(_) => {}
    }
    if end != clean_end {
        let diff: Vec<String> = end
            .keys()
            .chain(clean_end.keys())
            .filter(|t| end.get(*t) != clean_end.get(*t))
            .map(|t| {
                format!(
                    "{t}: {} (clean run: {})",
                    show(end.get(t)),
                    show(clean_end.get(t))
                )
            })
            .collect();
        out.push(format!(
            "(d) the re-run ends elsewhere than a clean run: {}",
            diff.join(", ")
        ));
    }
}

pub(crate) fn result_name(r: &RunResult) -> String {
    match r {
        RunResult::Done => "Done".into(),
        RunResult::NoOp => "NoOp".into(),
        RunResult::DryRun => "DryRun".into(),
        RunResult::FailedBeforeWrite(m) => format!("FailedBeforeWrite({})", first_line(&m.message)),
        RunResult::Partial(m) => format!("Partial({})", first_line(&m.message)),
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_owned()
    }
}
