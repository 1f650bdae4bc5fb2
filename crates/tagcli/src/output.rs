//! Rendering results: text for people, one JSON object for machines, GitHub Actions outputs.

use std::fmt::Write as _;

use registry_hub::sanitize::printable;
use serde_json::{Value, json};

mod actions;
mod deploy;

pub(crate) use actions::{annotation, file_annotation, github_outputs, github_summary, refused_outputs};
pub(crate) use deploy::{prune_json, prune_outputs, prune_text, resolve_json, resolve_outputs, resolve_text};
use tagcore::engine::{HistoryReport, StatusReport, VerifyReport};
use tagcore::history::EventKind;
use tagcore::outcome::{Outcome, RunResult, TagStatus};
use tagcore::source::{CommitSource, SourceCommit};
use tagcore::{Digest, OpError, OpErrorKind, VerifiedSignature};

/// Returns `sha256:` and the first 12 hex characters: enough to tell digests apart at a glance.
fn short(d: &Digest) -> String {
    format!("sha256:{}", &d.hex()[..12])
}

fn short_opt(d: Option<&Digest>) -> String {
    d.map_or_else(|| "(absent)".to_owned(), short)
}

fn result_name(r: &RunResult) -> &'static str {
    match r {
        RunResult::Done => "done",
        RunResult::NoOp => "noop",
        RunResult::DryRun => "dry_run",
        RunResult::FailedBeforeWrite(_) => "failed",
        RunResult::Partial(_) => "partial",
    }
}

fn source_name(s: &CommitSource) -> String {
    match s {
        CommitSource::Certificate => "certificate".into(),
        CommitSource::Revision => "revision".into(),
        CommitSource::StagingStamp(t) => format!("staging_stamp:{t}"),
        CommitSource::Digest => "digest".into(),
        CommitSource::Input => "input".into(),
        CommitSource::ProdStamp(t) => format!("prod_stamp:{t}"),
    }
}

fn commit_json(c: Option<&SourceCommit>) -> Value {
    c.map_or(
        Value::Null,
        |c| json!({ "sha": c.sha, "source": source_name(&c.source), "derived_from_digest": c.is_derived() }),
    )
}

fn verification_json(v: Option<&VerifiedSignature>) -> Value {
    v.map_or(Value::Null, |v| {
        json!({
            "identity": v.identity, "issuer": v.issuer, "key": v.key,
            "workflow_repository": v.workflow_repository, "workflow_ref": v.workflow_ref, "layer": v.layer,
        })
    })
}

/// Returns the JSON object (schema 1) of an outcome.
pub(crate) fn outcome_json(o: &Outcome) -> Value {
    let p = &o.plan;
    let images: Vec<Value> = p
        .images
        .iter()
        .map(|img| {
            let tags: Vec<Value> = o
                .tags
                .iter()
                .filter(|t| t.repository == img.repository)
                .map(|t| json!({ "tag": t.tag, "from": t.from, "to": t.to, "status": t.status, "kind": t.kind }))
                .collect();
            json!({
                "repository": img.repository,
                "digest": img.digest,
                "previous_digest": img.previous_digest,
                "verification": verification_json(img.verification.as_ref()),
                "tags": tags,
            })
        })
        .collect();
    let error = match &o.result {
        RunResult::FailedBeforeWrite(e) | RunResult::Partial(e) => json!(e),
        _ => Value::Null,
    };
    json!({
        "schema": 1,
        "operation": p.operation,
        "unit": p.unit,
        "dry_run": o.result == RunResult::DryRun,
        "result": result_name(&o.result),
        "error": error,
        "images": images,
        "stamp": p.stamp,
        "target": p.target,
        "source_commit": commit_json(p.source_commit.as_ref()),
        "verification": verification_json(p.images.first().and_then(|i| i.verification.as_ref())),
        "release": o.release.as_ref().map(|r| json!({ "tag": r.tag, "url": r.url, "status": r.status, "error": r.error })),
        "dispatches": o.dispatches.iter().map(|d| json!({ "target": d.target, "status": d.status, "error": d.error })).collect::<Vec<_>>(),
        "superseded_by": o.superseded_by,
        "warnings": o.warnings,
        "notices": p.notices,
        "budget": p.budget,
        "reads": p.reads,
    })
}

/// Returns the JSON object of an operation refused before any write.
pub(crate) fn error_json(operation: &str, unit: Option<&str>, kind: &str, message: &str) -> Value {
    json!({
        "schema": 1,
        "operation": operation,
        "unit": unit,
        "dry_run": false,
        "result": "refused",
        "error": { "kind": kind, "message": message },
        "images": [],
        "warnings": [],
    })
}

/// Returns the name of an error kind for JSON and messages.
pub(crate) fn kind_name(k: OpErrorKind) -> String {
    match k {
        OpErrorKind::Input => "input".into(),
        OpErrorKind::Refused => "refused".into(),
        OpErrorKind::Verification => "verification".into(),
        OpErrorKind::Conflict => "conflict".into(),
        OpErrorKind::History => "history".into(),
        OpErrorKind::Registry(r) => format!(
            "registry_{}",
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
    }
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
            format!("FAILED before any write, nothing changed: {}", printable(e))
        }
        RunResult::Partial(e) => format!("FAILED after writes: {}", printable(e)),
    };
    let _ = writeln!(s, "{} {}: {head}", p.operation, p.unit);
    for n in &p.notices {
        let _ = writeln!(s, "  note: {n}");
    }
    for img in &p.images {
        let _ = writeln!(
            s,
            "  {}  {}  (was {})",
            img.repository,
            short(&img.digest),
            short_opt(img.previous_digest.as_ref())
        );
        let width = o.tags.iter().map(|t| t.tag.as_str().len()).max().unwrap_or(0);
        for t in o.tags.iter().filter(|t| t.repository == img.repository) {
            let status = match t.status {
                TagStatus::Planned => "would write",
                TagStatus::Created => "created",
                TagStatus::Moved => "moved",
                TagStatus::Unchanged => "unchanged",
                TagStatus::Failed => "FAILED",
                TagStatus::NotAttempted => "not attempted",
            };
            let _ = writeln!(
                s,
                "    {status:<13} {:<width$}  {} -> {}",
                t.tag.as_str(),
                short_opt(t.from.as_ref()),
                short(&t.to)
            );
        }
        match &img.verification {
            Some(v) => {
                let who = match (&v.identity, &v.key) {
                    (Some(id), _) => format!("{id} (issuer {})", v.issuer.as_deref().unwrap_or("?")),
                    (None, Some(k)) => format!("public key {k}"),
                    _ => "accepted".into(),
                };
                let _ = writeln!(s, "    verified      {who}");
            }
            None if p.operation != tagcore::OperationKind::Publish
                && p.operation != tagcore::OperationKind::Retag =>
            {
                let _ = writeln!(s, "    verified      no (verification is off for this image)");
            }
            None => {}
        }
    }
    if let Some(c) = &p.source_commit {
        let _ = writeln!(s, "  commit          {} ({})", c.sha, c.source);
    }
    if let Some(r) = &o.release {
        let _ = writeln!(
            s,
            "  release         {}: {}{}",
            r.tag,
            serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            r.url.as_deref().map(|u| format!(" {u}")).unwrap_or_default()
        );
    }
    for d in &o.dispatches {
        let _ = writeln!(
            s,
            "  deploy          {}: {}",
            d.target,
            serde_json::to_value(d.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        );
    }
    for w in &o.warnings {
        let _ = writeln!(s, "  warning: {}", printable(w));
    }
    if o.result == RunResult::DryRun {
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
    if let RunResult::Partial(_) = &o.result {
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
    s
}

/// Returns the text of a refusal before any write.
pub(crate) fn error_text(operation: &str, e: &OpError) -> String {
    format!(
        "{operation}: refused ({}), nothing changed: {}\n",
        kind_name(e.kind),
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
