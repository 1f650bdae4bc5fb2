//! `resolve` and `prune`: the commands deployers and maintenance jobs run.

use tagcore::engine::{PruneRequest, ResolveRequest};
use tagcore::policy::Policy;
use tagcore::{AuditSink, Engine, OpError, Registry, Timestamp, Verifier};

use super::{Sink, refused};
use crate::cli::Command;
use crate::{exit, output};

fn write_outputs(sink: &mut Sink<'_>, lines: &str) {
    if let Err(e) = Sink::append(sink.github_output.as_deref(), lines) {
        let _ = writeln!(sink.err, "warning: cannot write the GitHub Actions outputs: {e}");
    }
}

/// Runs `resolve` or `prune` and returns the exit code.
pub(super) async fn run<R: Registry, V: Verifier, A: AuditSink>(
    command: &Command,
    policy: &Policy,
    engine: &Engine<'_, R, V, A>,
    now: Timestamp,
    sink: &mut Sink<'_>,
) -> u8 {
    let unit = policy.unit.as_str();
    match command {
        Command::Resolve {
            channel,
            verified,
            at,
        } => {
            let req = match ResolveRequest::parse(channel, at.as_deref(), *verified, policy) {
                Ok(r) => r,
                Err(e) => return refused(sink, "resolve", unit, &OpError::from(e)),
            };
            let report = match engine.resolve_unit(&req).await {
                Ok(r) => r,
                Err(e) => return refused(sink, "resolve", unit, &e),
            };
            sink.print(&output::resolve_text(&report), output::build::resolve(&report));
            for img in &report.images {
                let Some(note) = &img.note else { continue };
                let note = registry_hub::sanitize::printable(note);
                let at = format!("{}@{}", img.repository, img.digest);
                if img.reference.is_none() {
                    let message = format!("resolve: refused {at}, no reference printed: {note}");
                    let _ = writeln!(sink.err, "{message}");
                    sink.annotate("error", &message);
                } else {
                    let _ = writeln!(sink.err, "resolve: {at}: {note}");
                }
            }
            write_outputs(sink, &output::resolve_outputs(&report));
            exit::of_resolve(&report)
        }
        Command::Prune { apply } => {
            let req = PruneRequest {
                retention: policy.retention.clone(),
                apply: *apply,
            };
            let report = match engine.prune(&req, now).await {
                Ok(r) => r,
                Err(e) => return refused(sink, "prune", unit, &e),
            };
            sink.print(&output::prune_text(&report), output::build::prune(&report));
            for img in &report.images {
                for (tag, e) in &img.failed {
                    let message = format!(
                        "prune: deleting {}:{tag} failed: {}",
                        img.repository,
                        registry_hub::sanitize::printable(&e.message)
                    );
                    sink.annotate("error", &message);
                }
            }
            write_outputs(sink, &output::prune_outputs(&report));
            exit::of_prune(&report)
        }
        _ => exit::OK,
    }
}

#[cfg(test)]
#[path = "deploy_tests.rs"]
mod tests;
