//! Builds the JSON [`Output`] of every command from the engine's results.

use registry_hub::sanitize::printable;
use tagcore::engine::{HistoryReport, PruneReport, ResolveReport, StatusReport, VerifyReport};
use tagcore::history::{EventKind, NamedTime};
use tagcore::outcome::{Failure, Outcome, RunResult};

use super::deploy::{delete_status, prune_result};
use super::json::{
    Body, Budget, Channel, Commit, Dispatch, ErrorObject, Event, HistoryBody, Output, PolicyBody, PruneBody,
    PruneDelete, PruneImage, PruneKeep, PushPlan, RateLimit, RateLimits, Read, Release, ResolveBody,
    ResolvedImage, RunBody, RunImage, RunResultName, SCHEMA, StatusBody, StatusImage, TagWrite, Verification,
    VerifyBody, digest,
};

impl From<&Failure> for ErrorObject {
    fn from(f: &Failure) -> Self {
        Self {
            kind: f.kind.as_str().to_owned(),
            message: f.message.clone(),
        }
    }
}

/// Returns an envelope with `body` and nothing failed.
fn done(unit: &str, result: RunResultName, body: Body) -> Output {
    Output {
        schema: SCHEMA,
        unit: Some(unit.to_owned()),
        result,
        dry_run: result == RunResultName::DryRun,
        error: None,
        warnings: Vec::new(),
        rate_limit: None,
        body,
    }
}

/// Returns the output of `publish --from --dry-run`: what would be pushed, per image.
pub(crate) fn push_plan(unit: &str, push: Vec<PushPlan>) -> Output {
    done(
        unit,
        RunResultName::DryRun,
        Body::Publish(RunBody {
            push,
            ..RunBody::default()
        }),
    )
}

/// Returns the output of `operation` (a command name) refused before any write: the error
/// object and the operation's fields, empty.
pub(crate) fn refusal(operation: &str, unit: Option<&str>, kind: &str, message: &str) -> Output {
    Output {
        unit: unit.map(str::to_owned),
        error: Some(ErrorObject {
            kind: kind.to_owned(),
            message: message.to_owned(),
        }),
        ..done("", RunResultName::Refused, Body::empty(operation))
    }
}

/// Returns the result name of a run: a failure before any write is `refused`, wherever it
/// happened (while preparing or at the first write).
pub(crate) fn result_name(r: &RunResult) -> RunResultName {
    match r {
        RunResult::Done => RunResultName::Done,
        RunResult::NoOp => RunResultName::Noop,
        RunResult::DryRun => RunResultName::DryRun,
        RunResult::FailedBeforeWrite(_) => RunResultName::Refused,
        RunResult::Partial(_) => RunResultName::Partial,
    }
}

/// Returns the output of an executed or dry-run plan.
pub(crate) fn run(o: &Outcome) -> Output {
    let p = &o.plan;
    let images = p
        .images
        .iter()
        .map(|img| RunImage {
            repository: img.repository.to_string(),
            digest: digest(&img.digest),
            previous_digest: img.previous_digest.as_ref().map(digest),
            verification: img.verification.as_ref().map(Verification::from),
            tags: o
                .tags
                .iter()
                .filter(|t| t.repository == img.repository)
                .map(|t| TagWrite {
                    tag: t.tag.to_string(),
                    kind: t.kind,
                    from: t.from.as_ref().map(digest),
                    to: digest(&t.to),
                    status: t.status,
                })
                .collect(),
        })
        .collect();
    let body = RunBody {
        images,
        stamp: p.stamp.as_ref().map(ToString::to_string),
        target: p.target.as_ref().map(ToString::to_string),
        source_commit: p.source_commit.as_ref().map(Commit::from),
        release: o.release.as_ref().map(|r| Release {
            tag: r.tag.clone(),
            url: r.url.clone(),
            status: r.status,
            error: r.error.as_ref().map(ErrorObject::from),
        }),
        dispatches: o
            .dispatches
            .iter()
            .map(|d| Dispatch {
                target: d.target.clone(),
                status: d.status,
                error: d.error.as_ref().map(ErrorObject::from),
            })
            .collect(),
        superseded_by: o.superseded_by.as_ref().map(digest),
        notices: p.notices.clone(),
        budget: Some(Budget {
            reads: p.budget.reads,
            verifications: p.budget.verifications,
            writes: p.budget.writes,
            requests: p.budget.requests,
            pulls: p.budget.pulls,
            write_requests: p.budget.write_requests,
        }),
        reads: p
            .reads
            .iter()
            .map(|r| Read {
                op: r.op.clone(),
                target: r.target.clone(),
                found: r.found.clone(),
            })
            .collect(),
        push: Vec::new(),
    };
    let body = match p.operation {
        tagcore::OperationKind::Publish => Body::Publish(body),
        tagcore::OperationKind::Promote => Body::Promote(body),
        tagcore::OperationKind::Rollback => Body::Rollback(body),
        tagcore::OperationKind::Retag => Body::Retag(body),
    };
    Output {
        error: o.result.failure().map(ErrorObject::from),
        warnings: o.warnings.clone(),
        ..done(&p.unit, result_name(&o.result), body)
    }
}

/// Returns the output of `status`.
pub(crate) fn status(r: &StatusReport) -> Output {
    let images = r
        .images
        .iter()
        .map(|img| StatusImage {
            repository: img.repository.to_string(),
            channels: img
                .channels
                .iter()
                .map(|c| Channel {
                    tag: c.tag.to_string(),
                    role: c.role.to_owned(),
                    digest: c.digest.as_ref().map(digest),
                    stamps: c.stamps.iter().map(ToString::to_string).collect(),
                    source_commit: c.source_commit.as_ref().map(Commit::from),
                })
                .collect(),
        })
        .collect();
    Output {
        warnings: r.warnings.clone(),
        ..done(&r.unit, RunResultName::Done, Body::Status(StatusBody { images }))
    }
}

/// Returns the output of `history`.
pub(crate) fn history(r: &HistoryReport) -> Output {
    let events = r
        .events
        .iter()
        .map(|e| Event {
            tag: e.tag.to_string(),
            digest: digest(&e.digest),
            kind: match e.kind {
                EventKind::Promotion => "promotion",
                EventKind::Rollback { .. } => "rollback",
            }
            .to_owned(),
            target_suffix: match &e.kind {
                EventKind::Rollback { target_suffix } => target_suffix.clone(),
                EventKind::Promotion => None,
            },
            pushed: e.pushed.map(|t| t.to_string()),
            named_at: match e.named {
                NamedTime::Exact(t) | NamedTime::Day(t) => Some(t.to_string()),
                NamedTime::Unknown => None,
            },
            rolled_back: e.rolled_back,
        })
        .collect();
    let body = HistoryBody {
        repository: Some(r.repository.to_string()),
        current: r.current.as_ref().map(digest),
        events,
    };
    Output {
        warnings: r.warnings.clone(),
        ..done(&r.unit, RunResultName::Done, Body::History(body))
    }
}

/// Returns the output of `verify`.
pub(crate) fn verify(unit: &str, r: &VerifyReport) -> Output {
    let body = VerifyBody {
        repository: Some(r.repository.to_string()),
        digest: Some(digest(&r.digest)),
        verification: Some(Verification::from(&r.signature)),
        source_commit: Some(Commit::from(&r.source_commit)),
    };
    done(unit, RunResultName::Done, Body::Verify(body))
}

/// Returns the output of `resolve`: refused when an image got no reference.
pub(crate) fn resolve(r: &ResolveReport) -> Output {
    let images = r
        .images
        .iter()
        .map(|i| ResolvedImage {
            repository: i.repository.to_string(),
            digest: digest(&i.digest),
            reference: i.reference.clone(),
            verification: i.verification.as_ref().map(Verification::from),
            note: i.note.as_deref().map(printable),
        })
        .collect();
    let body = ResolveBody {
        tag: Some(r.tag.to_string()),
        verified: r.verified,
        complete: r.complete(),
        images,
    };
    let refused: Vec<String> = r
        .images
        .iter()
        .filter(|i| i.reference.is_none())
        .map(|i| format!("{}@{}", i.repository, i.digest))
        .collect();
    if refused.is_empty() {
        return done(&r.unit, RunResultName::Done, Body::Resolve(body));
    }
    Output {
        error: Some(ErrorObject {
            kind: if r.verified { "verification" } else { "refused" }.to_owned(),
            message: format!("no reference for {}", refused.join(", ")),
        }),
        ..done(&r.unit, RunResultName::Refused, Body::Resolve(body))
    }
}

/// Returns the output of `prune`: the first failed deletion is the error.
pub(crate) fn prune(r: &PruneReport) -> Output {
    let images = r
        .images
        .iter()
        .map(|img| PruneImage {
            repository: img.repository.to_string(),
            delete_mode: img.mode,
            delete: img
                .plan
                .delete
                .iter()
                .map(|v| {
                    let (status, error) = delete_status(img, r.applied, v.tag.as_str());
                    PruneDelete {
                        tag: v.tag.to_string(),
                        digest: digest(&v.digest),
                        reason: v.reason.clone(),
                        status: status.to_owned(),
                        error: error.map(|f| ErrorObject {
                            message: printable(&f.message),
                            ..ErrorObject::from(f)
                        }),
                    }
                })
                .collect(),
            keep: img
                .plan
                .keep
                .iter()
                .map(|v| PruneKeep {
                    tag: v.tag.to_string(),
                    digest: digest(&v.digest),
                    reason: v.reason.clone(),
                })
                .collect(),
        })
        .collect();
    let body = PruneBody {
        deleted: r.images.iter().map(|i| i.deleted.len()).sum(),
        images,
    };
    let result = match prune_result(r) {
        "planned" => RunResultName::DryRun,
        "done" => RunResultName::Done,
        "partial" => RunResultName::Partial,
        _ => RunResultName::Refused,
    };
    let first_failure = r
        .images
        .iter()
        .find_map(|i| i.failed.first().map(|(tag, f)| (&i.repository, tag, f)));
    Output {
        error: first_failure.map(|(repo, tag, f)| ErrorObject {
            message: format!("deleting {repo}:{tag} failed: {}", printable(&f.message)),
            ..ErrorObject::from(f)
        }),
        ..done(&r.unit, result, Body::Prune(body))
    }
}

/// Returns the output of `policy check`.
pub(crate) fn policy(unit: &str, resolved: serde_json::Value) -> Output {
    done(
        unit,
        RunResultName::Done,
        Body::Policy(PolicyBody {
            policy: Some(resolved),
        }),
    )
}

/// Returns the rate-limit headers `registry` (and its Hub API client) last saw.
pub(crate) fn rate_limits(registry: &registry_hub::AnyRegistry) -> Option<RateLimits> {
    let hub = match registry {
        registry_hub::AnyRegistry::Remote(r) => r.hub().and_then(registry_hub::HubClient::last_rate_limit),
        _ => None,
    };
    let limits = RateLimits {
        registry: registry.last_rate_limit().map(RateLimit::from),
        hub_api: hub.map(RateLimit::from),
    };
    (limits.registry.is_some() || limits.hub_api.is_some()).then_some(limits)
}

/// Logs the rate limits seen (shown with `-v`).
pub(crate) fn log_rate_limits(limits: Option<RateLimits>) {
    let Some(limits) = limits else { return };
    for (service, limit) in [("registry", limits.registry), ("Hub API", limits.hub_api)] {
        if let Some(l) = limit {
            tracing::info!(
                service,
                remaining = l.remaining.as_deref().unwrap_or("?"),
                limit = l.limit.as_deref().unwrap_or("?"),
                reset = l.reset.as_deref().unwrap_or("?"),
                "rate limit"
            );
        }
    }
}
