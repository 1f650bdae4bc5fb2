//! Runs one command over the ports and prints the result: the glue between clap and tagcore.

use std::io::Write as _;

use tagcore::request::{
    PromoteRequest, PromoteSource, PublishRequest, RetagRequest, RollbackRequest, RollbackTarget,
};
use tagcore::{AuditSink, Engine, OpError, OperationKind, Registry, Request, Timestamp, Verifier};

use crate::cli::{Command, OutputFormat};
use crate::config::Needs;
use crate::exit;
use crate::output;
use crate::output::build;
use crate::output::json::{Output, RateLimits};

mod deploy;

/// Where results go: stdout, stderr, and the GitHub Actions files when set.
pub(crate) struct Sink<'a> {
    /// Standard output.
    pub(crate) out: &'a mut dyn std::io::Write,
    /// Standard error.
    pub(crate) err: &'a mut dyn std::io::Write,
    /// The output format.
    pub(crate) format: OutputFormat,
    /// `GITHUB_OUTPUT`, when set.
    pub(crate) github_output: Option<std::path::PathBuf>,
    /// `GITHUB_STEP_SUMMARY`, when set.
    pub(crate) github_summary: Option<std::path::PathBuf>,
    /// `GITHUB_ACTIONS=true`.
    pub(crate) annotations: bool,
    /// Progress lines on stderr (only when it is a terminal).
    pub(crate) progress: bool,
    /// The rate-limit headers last seen, for the JSON output.
    pub(crate) rate_limits: &'a dyn Fn() -> Option<RateLimits>,
}

impl Sink<'_> {
    /// Prints `text` (text format) or `output` (JSON format) on stdout.
    pub(crate) fn print(&mut self, text: &str, output: Output) {
        match self.format {
            OutputFormat::Text => {
                let _ = self.out.write_all(text.as_bytes());
            }
            OutputFormat::Json => self.print_json(output),
        }
    }

    /// Prints `output` as one line of JSON on stdout, with the rate limits seen.
    pub(crate) fn print_json(&mut self, mut output: Output) {
        output.rate_limit = (self.rate_limits)();
        match serde_json::to_string(&output) {
            Ok(line) => {
                let _ = writeln!(self.out, "{line}");
            }
            Err(e) => {
                let _ = writeln!(self.err, "tagcli: cannot write the JSON output: {e}");
            }
        }
    }

    pub(crate) fn annotate(&mut self, level: &str, message: &str) {
        if self.annotations {
            let _ = self.err.write_all(output::annotation(level, message).as_bytes());
        }
    }

    pub(crate) fn append(path: Option<&std::path::Path>, text: &str) -> std::io::Result<()> {
        if let Some(p) = path {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p)?;
            f.write_all(text.as_bytes())?;
        }
        Ok(())
    }
}

/// Returns the validated request of a mutating command, or `None` for a read-only one.
pub(crate) fn request(
    command: &Command,
    policy: &tagcore::policy::Policy,
) -> Result<Option<(Request, bool)>, tagcore::InputError> {
    Ok(Some(match command {
        Command::Publish {
            digests,
            commit,
            force,
            write,
            ..
        } => (
            Request::Publish(PublishRequest::parse(digests, commit, *force, policy)?),
            write.dry_run,
        ),
        Command::Promote {
            source,
            confirm,
            expect_digest,
            allow_older,
            write,
            ..
        } => (
            Request::Promote(PromoteRequest {
                source: PromoteSource::parse(source.as_deref(), policy)?,
                confirm: confirm.clone(),
                expect_digest: expect_digest.as_deref().map(str::parse).transpose().map_err(
                    |e: tagcore::DigestError| tagcore::InputError {
                        input: "--expect-digest".into(),
                        message: e.to_string(),
                    },
                )?,
                allow_older: *allow_older,
            }),
            write.dry_run,
        ),
        Command::Rollback {
            target,
            confirm,
            write,
            ..
        } => (
            Request::Rollback(RollbackRequest {
                target: RollbackTarget::parse(target.as_deref(), policy)?,
                confirm: confirm.clone(),
            }),
            write.dry_run,
        ),
        Command::Retag {
            source,
            target,
            image,
            write,
        } => (
            Request::Retag(RetagRequest::parse(source, target, image.as_deref(), policy)?),
            write.dry_run,
        ),
        _ => return Ok(None),
    }))
}

/// Returns the name of the command, for messages.
pub(crate) fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Publish { .. } => "publish",
        Command::Promote { .. } => "promote",
        Command::Rollback { .. } => "rollback",
        Command::Retag { .. } => "retag",
        Command::Status => "status",
        Command::History => "history",
        Command::Verify { .. } => "verify",
        Command::Resolve { .. } => "resolve",
        Command::Prune { .. } => "prune",
        Command::Policy { .. } => "policy",
        Command::Completions { .. } => "completions",
        Command::Man => "man",
    }
}

/// Returns whether the command sends the policy's deploy dispatches (`--dispatch`).
fn dispatch_on(command: &Command) -> bool {
    match command {
        Command::Publish { deploy, .. }
        | Command::Promote { deploy, .. }
        | Command::Rollback { deploy, .. } => deploy.on,
        _ => false,
    }
}

/// Returns the secrets `command` needs: registry credentials for everything that reads the
/// registry; the release and dispatch tokens only for the writes that use them.
pub(crate) fn needs(command: &Command) -> Needs {
    let (op, dry_run) = match command {
        Command::Publish { write, .. } => (OperationKind::Publish, write.dry_run),
        Command::Promote { write, .. } => (OperationKind::Promote, write.dry_run),
        Command::Rollback { write, .. } => (OperationKind::Rollback, write.dry_run),
        Command::Policy { .. } | Command::Completions { .. } | Command::Man => return Needs::default(),
        Command::Retag { .. }
        | Command::Status
        | Command::History
        | Command::Verify { .. }
        | Command::Resolve { .. }
        | Command::Prune { .. } => {
            return Needs::registry_only();
        }
    };
    if dry_run {
        return Needs::registry_only();
    }
    Needs {
        registry: true,
        release: op != OperationKind::Publish,
        dispatch: dispatch_on(command).then_some(op),
    }
}

/// Reports `e`, an operation refused before any write, and returns its exit code.
pub(crate) fn refused(sink: &mut Sink<'_>, name: &str, unit: &str, e: &OpError) -> u8 {
    tracing::info!(operation = name, kind = e.kind.as_str(), "refused: {}", e.message);
    let text = output::error_text(name, e);
    match sink.format {
        OutputFormat::Text => {
            let _ = sink.err.write_all(text.as_bytes());
        }
        OutputFormat::Json => sink.print_json(build::refusal(name, Some(unit), e.kind.as_str(), &e.message)),
    }
    sink.annotate("error", text.trim_end());
    if let Err(err) = Sink::append(sink.github_output.as_deref(), &output::refused_outputs()) {
        let _ = writeln!(
            sink.err,
            "warning: cannot write the GitHub Actions outputs: {err}"
        );
    }
    exit::of_error(e.kind)
}

/// Runs `command` over the ports at time `now` and returns the exit code.
pub(crate) async fn run<R: Registry, V: Verifier, A: AuditSink>(
    command: &Command,
    policy: &tagcore::policy::Policy,
    ports: (&R, &V, &A),
    now: Timestamp,
    sink: &mut Sink<'_>,
) -> u8 {
    let engine = Engine::new(policy, ports.0, ports.1, ports.2);
    let name = command_name(command);
    let span = tracing::info_span!("command", name, unit = policy.unit.as_str());
    let _entered = span.enter();
    if crate::from::reads_sources(command) {
        return match crate::from::push(command, policy, ports.0, sink).await {
            Ok(Some(request)) => {
                let dispatch = dispatch_on(command);
                write(&engine, (name, &request), (false, dispatch), now, sink).await
            }
            Ok(None) => exit::OK,
            Err(e) => refused(sink, name, &policy.unit, &e),
        };
    }
    match request(command, policy) {
        Err(e) => refused(sink, name, &policy.unit, &OpError::from(e)),
        Ok(Some((request, dry_run))) => {
            let dispatch = dispatch_on(command);
            write(&engine, (name, &request), (dry_run, dispatch), now, sink).await
        }
        Ok(None) => read(command, policy, &engine, now, sink).await,
    }
}

/// Prepares `request` and, unless `dry_run`, executes it; reports the outcome.
async fn write<R: Registry, V: Verifier, A: AuditSink>(
    engine: &Engine<'_, R, V, A>,
    (name, request): (&str, &Request),
    (dry_run, dispatch): (bool, bool),
    now: Timestamp,
    sink: &mut Sink<'_>,
) -> u8 {
    let unit = engine.policy().unit.as_str();
    if sink.progress {
        let _ = writeln!(sink.err, "{name} {unit}: resolving and verifying…");
    }
    let mut prepared = match engine.prepare(request, now).await {
        Ok(p) => p,
        Err(e) => return refused(sink, name, unit, &e),
    };
    if !dispatch {
        prepared.plan.dispatches.clear();
    }
    let outcome = if dry_run {
        tagcore::engine::dry_run(prepared)
    } else {
        if sink.progress {
            let writes = prepared.plan.steps.iter().filter(|s| !s.is_noop()).count();
            let _ = writeln!(sink.err, "{name} {unit}: writing {writes} tag(s)…");
        }
        engine.execute(prepared).await
    };
    report(sink, &outcome)
}

/// Prints an outcome, annotates its warnings and failure, writes the GitHub Actions outputs,
/// and returns the exit code.
fn report(sink: &mut Sink<'_>, outcome: &tagcore::outcome::Outcome) -> u8 {
    sink.print(&output::outcome_text(outcome), build::run(outcome));
    for w in &outcome.warnings {
        sink.annotate("warning", w);
    }
    if let Some(f) = outcome.result.failure() {
        tracing::info!(kind = f.kind.as_str(), "failed: {}", f.message);
        sink.annotate("error", &f.message);
    }
    // A dry run writes them too: a workflow plans, waits for approval, then acts on the plan.
    let written = Sink::append(sink.github_output.as_deref(), &output::github_outputs(outcome))
        .and_then(|()| Sink::append(sink.github_summary.as_deref(), &output::github_summary(outcome)));
    if let Err(e) = written {
        let _ = writeln!(sink.err, "warning: cannot write the GitHub Actions outputs: {e}");
    }
    exit::of_result(&outcome.result)
}

/// Runs a read-only command and returns the exit code.
async fn read<R: Registry, V: Verifier, A: AuditSink>(
    command: &Command,
    policy: &tagcore::policy::Policy,
    engine: &Engine<'_, R, V, A>,
    now: Timestamp,
    sink: &mut Sink<'_>,
) -> u8 {
    let name = command_name(command);
    let result = match command {
        Command::Resolve { .. } | Command::Prune { .. } => {
            return deploy::run(command, policy, engine, now, sink).await;
        }
        Command::Status => engine
            .status()
            .await
            .map(|r| (output::status_text(&r), build::status(&r))),
        Command::History => engine
            .history()
            .await
            .map(|r| (output::history_text(&r), build::history(&r))),
        Command::Verify { reference, image } => verify(engine, reference, image.as_deref()).await,
        _ => return exit::OK,
    };
    match result {
        Ok((text, json)) => {
            sink.print(&text, json);
            exit::OK
        }
        Err(e) => refused(sink, name, &policy.unit, &e),
    }
}

/// Runs `verify`: `image` names the image of the unit (the primary when `None`).
async fn verify<R: Registry, V: Verifier, A: AuditSink>(
    engine: &Engine<'_, R, V, A>,
    reference: &str,
    image: Option<&str>,
) -> Result<(String, Output), OpError> {
    let policy = engine.policy();
    let request = tagcore::request::VerifyRequest::parse(reference, image, policy)?;
    let r = engine.verify_reference(request.image, &request.target).await?;
    Ok((output::verify_text(&r), build::verify(&policy.unit, &r)))
}

#[cfg(test)]
mod needs_tests {
    use clap::Parser as _;

    use super::needs;
    use crate::cli::Cli;
    use crate::config::Needs;
    use tagcore::OperationKind;

    fn of(args: &[&str]) -> Needs {
        let mut all = vec!["tagcli"];
        all.extend_from_slice(args);
        needs(&Cli::try_parse_from(all).unwrap().command)
    }

    #[test]
    fn commands_need_only_the_secrets_of_the_steps_they_run() {
        let registry = Needs::registry_only();
        for args in [
            &["status"][..],
            &["history"],
            &["verify", "staging"],
            &["retag", "a", "b"],
            &["promote", "--dry-run"],
            &["rollback", "--dry-run"],
            &["publish", "--digest", "d", "--commit", "c", "--dry-run"],
            &["resolve", "prod", "--verified"],
            &["prune", "--apply"],
        ] {
            assert_eq!(of(args), registry, "{args:?}");
        }
        assert_eq!(of(&["policy", "check"]), Needs::default());
        assert_eq!(
            of(&["rollback"]),
            Needs {
                registry: true,
                release: true,
                dispatch: Some(OperationKind::Rollback)
            }
        );
        assert_eq!(
            of(&["publish", "--digest", "d", "--commit", "c"]),
            Needs {
                registry: true,
                release: false,
                dispatch: Some(OperationKind::Publish)
            }
        );
        assert_eq!(of(&["promote", "--dispatch=false"]).dispatch, None);
    }
}
