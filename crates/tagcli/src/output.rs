//! Rendering results: text for people, one JSON object for machines (`json`, docs/output.md),
//! GitHub Actions outputs.

use std::fmt::Write as _;

use registry_hub::sanitize::printable;

mod actions;
pub(crate) mod build;
mod deploy;
pub(crate) mod json;
mod plan_json;
#[cfg(test)]
pub(crate) mod schema_tests;

pub(crate) use actions::{annotation, file_annotation, github_outputs, github_summary, refused_outputs};
pub(crate) use deploy::{prune_outputs, prune_text, resolve_outputs, resolve_text};
use tagcore::engine::{HistoryReport, StatusReport, VerifyReport};
use tagcore::history::EventKind;
use tagcore::outcome::{Outcome, RunResult, TagStatus};
use tagcore::plan::{ImagePlan, Plan};
use tagcore::{Digest, OpError};

/// Returns `sha256:` and the first 12 hex characters: enough to tell digests apart at a glance.
fn short(d: &Digest) -> String {
    format!("sha256:{}", &d.hex()[..12])
}

fn short_opt(d: Option<&Digest>) -> String {
    d.map_or_else(|| "(absent)".to_owned(), short)
}

/// Returns the text of an outcome, for a person at 2 a.m.
pub(crate) fn outcome_text(o: &Outcome) -> String {
    let p = &o.plan;
    let mut s = String::new();
    let head = match &o.result {
        RunResult::Done => "done".to_owned(),
        RunResult::NoOp => "nothing to do".to_owned(),
        RunResult::DryRun => "dry run (nothing written)".to_owned(),
        RunResult::FailedBeforeWrite(e) => {
            format!(
                "FAILED before any write, nothing changed: {}",
                printable(&e.message)
            )
        }
        RunResult::Partial(e) => format!("FAILED after writes: {}", printable(&e.message)),
    };
    let _ = writeln!(s, "{} {}: {head}", p.operation, p.unit);
    for n in &p.notices {
        let _ = writeln!(s, "  note: {n}");
    }
    for img in &p.images {
        image_text(&mut s, o, img);
    }
    side_steps_text(&mut s, o);
    for w in &o.warnings {
        let _ = writeln!(s, "  warning: {}", printable(w));
    }
    if o.result == RunResult::DryRun {
        reads_text(&mut s, p);
    }
    if let RunResult::Partial(_) = &o.result {
        partial_text(&mut s, o);
    }
    s
}

/// Returns the words of a tag's status in the text output.
fn status_words(status: TagStatus) -> &'static str {
    match status {
        TagStatus::Planned => "would write",
        TagStatus::Created => "created",
        TagStatus::Moved => "moved",
        TagStatus::Unchanged => "unchanged",
        TagStatus::Failed => "FAILED",
        TagStatus::NotAttempted => "not attempted",
    }
}

/// Writes one image of an outcome: its digest, its tag writes and its verification.
fn image_text(s: &mut String, o: &Outcome, img: &ImagePlan) {
    let _ = writeln!(
        s,
        "  {}  {}  (was {})",
        img.repository,
        short(&img.digest),
        short_opt(img.previous_digest.as_ref())
    );
    let width = o.tags.iter().map(|t| t.tag.as_str().len()).max().unwrap_or(0);
    for t in o.tags.iter().filter(|t| t.repository == img.repository) {
        let _ = writeln!(
            s,
            "    {:<13} {:<width$}  {} -> {}",
            status_words(t.status),
            t.tag.as_str(),
            short_opt(t.from.as_ref()),
            short(&t.to)
        );
    }
    let op = o.plan.operation;
    match &img.verification {
        Some(v) => {
            let who = match (&v.identity, &v.key) {
                (Some(id), _) => format!("{id} (issuer {})", v.issuer.as_deref().unwrap_or("?")),
                (None, Some(k)) => format!("public key {k}"),
                _ => "accepted".into(),
            };
            let _ = writeln!(s, "    verified      {who}");
        }
        None if op != tagcore::OperationKind::Publish && op != tagcore::OperationKind::Retag => {
            let _ = writeln!(s, "    verified      no (verification is off for this image)");
        }
        None => {}
    }
}

/// Writes the commit, the release and the deploys of an outcome.
fn side_steps_text(s: &mut String, o: &Outcome) {
    if let Some(c) = &o.plan.source_commit {
        let _ = writeln!(s, "  commit          {} ({})", c.sha, c.source);
    }
    if let Some(r) = &o.release {
        let url = r.url.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
        let _ = writeln!(s, "  release         {}: {}{url}", r.tag, r.status.as_str());
    }
    for d in &o.dispatches {
        let _ = writeln!(s, "  deploy          {}: {}", d.target, d.status.as_str());
    }
}

/// Writes what a dry run read and what its writes will cost.
fn reads_text(s: &mut String, p: &Plan) {
    let _ = writeln!(s, "  read before any write:");
    for r in &p.reads {
        let _ = writeln!(s, "    {:<9} {}  -> {}", r.op, r.target, r.found);
    }
    let _ = writeln!(
        s,
        "  each write re-reads its tag first (compare-and-swap) and is read back after"
    );
    let b = &p.budget;
    let _ = writeln!(
        s,
        "  budget          {} reads and {} verifications made; at most {} registry calls to write",
        b.reads, b.verifications, b.writes
    );
    if let (Some(requests), Some(pulls)) = (b.requests, b.pulls) {
        let _ = writeln!(
            s,
            "  HTTP requests   {requests} sent to prepare ({pulls} Docker Hub pulls); {} more to write (0 pulls)",
            b.write_requests
        );
    }
}

/// Writes what moved in a run that failed after writes, and what to do next.
fn partial_text(s: &mut String, o: &Outcome) {
    let moved: Vec<String> = o.moved().map(|t| format!("{}:{}", t.repository, t.tag)).collect();
    if moved.is_empty() {
        let _ = writeln!(s, "  No tag moved in this run (an earlier run had moved them).");
    } else {
        let _ = writeln!(s, "  These tags moved: {}", moved.join(", "));
    }
    match &o.superseded_by {
        Some(winner) => {
            let _ = writeln!(
                s,
                "  Another run moved the channel to {winner}. Do not re-run this command: it would undo \
                 that run's move. Check `tagcli status`, then promote or roll back deliberately."
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  Re-run the same command to finish: it converges and reuses the same names."
            );
        }
    }
}

/// Returns the text of a refusal before any write.
pub(crate) fn error_text(operation: &str, e: &OpError) -> String {
    format!(
        "{operation}: refused ({}), nothing changed: {}\n",
        e.kind,
        printable(&e.message)
    )
}

/// Returns the status report as text.
pub(crate) fn status_text(r: &StatusReport) -> String {
    let mut s = format!("status {}\n", r.unit);
    for img in &r.images {
        let _ = writeln!(s, "  {}", img.repository);
        for c in &img.channels {
            let stamps: Vec<&str> = c.stamps.iter().map(|t| t.as_str()).collect();
            let commit = c
                .source_commit
                .as_ref()
                .map(|c| format!("  commit {} ({})", c.sha, c.source))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "    {:<14} {:<10} {}{}{}",
                c.role,
                c.tag.as_str(),
                short_opt(c.digest.as_ref()),
                if stamps.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", stamps.join(", "))
                },
                commit
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "  warning: {}", printable(w));
    }
    s
}

/// Returns the history report as text.
pub(crate) fn history_text(r: &HistoryReport) -> String {
    let mut s = format!(
        "history {} ({}), newest first; prod is {}\n",
        r.unit,
        r.repository,
        short_opt(r.current.as_ref())
    );
    for e in &r.events {
        let when = e
            .pushed
            .map_or_else(|| "push time unknown".to_owned(), |t| t.to_string());
        let what = match &e.kind {
            EventKind::Promotion if e.rolled_back => "promotion (rolled back)",
            EventKind::Promotion => "promotion",
            EventKind::Rollback { .. } => "rollback",
        };
        let _ = writeln!(
            s,
            "  {:<52} {:<24} {}  {when}",
            e.tag.as_str(),
            what,
            short(&e.digest)
        );
    }
    if r.events.is_empty() {
        let _ = writeln!(s, "  (no prod stamps or rollbacks recorded)");
    }
    for w in &r.warnings {
        let _ = writeln!(s, "  warning: {}", printable(w));
    }
    s
}

/// Returns the verify report as text.
pub(crate) fn verify_text(r: &VerifyReport) -> String {
    let v = &r.signature;
    let mut s = format!("verified {}@{}\n", r.repository, r.digest);
    for (k, val) in [
        ("identity", v.identity.as_deref()),
        ("issuer", v.issuer.as_deref()),
        ("key", v.key.as_deref()),
        ("workflow repo", v.workflow_repository.as_deref()),
        ("workflow ref", v.workflow_ref.as_deref()),
        ("layer", Some(v.layer.as_str())),
    ] {
        if let Some(val) = val {
            let _ = writeln!(s, "  {k:<14} {val}");
        }
    }
    let _ = writeln!(
        s,
        "  {:<14} {} ({})",
        "commit", r.source_commit.sha, r.source_commit.source
    );
    s
}
