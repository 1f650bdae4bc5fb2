//! `tagcli`: the command line over tagcore, registry-hub and cosign-verify.
#![forbid(unsafe_code)]

mod app;
#[cfg(test)]
mod app_tests;
mod cli;
mod config;
mod exit;
mod from;
mod github;
mod output;
mod wiring;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    init_logs(cli.verbose, cli.quiet);
    ExitCode::from(run(&cli))
}

/// Installs the log on stderr: `RUST_LOG` when set, else warnings (`--quiet`: errors only),
/// `-v` information (retries, credential sources, rate limits), `-vv` every HTTP request.
/// Stdout keeps the result alone.
fn init_logs(verbose: u8, quiet: bool) {
    const OURS: [&str; 4] = ["tagcli", "tagcore", "registry_hub", "cosign_verify"];
    // Other crates' logs (HTTP, TLS, Sigstore) show only their errors, and warnings with -v.
    let (others, ours) = match (quiet, verbose) {
        (true, _) => ("error", "error"),
        (false, 0) => ("error", "warn"),
        (false, 1) => ("warn", "info"),
        (false, _) => ("warn", "debug"),
    };
    let directives = std::iter::once(others.to_owned())
        .chain(OURS.iter().map(|c| format!("{c}={ours}")))
        .collect::<Vec<_>>()
        .join(",");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .init();
}

fn run(cli: &Cli) -> u8 {
    let mut stdout = std::io::stdout().lock();
    // Not locked for the whole run: the log writes to stderr from other threads too (a
    // credential helper runs on the blocking pool), and would wait for the lock for ever.
    let mut stderr = std::io::stderr();
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "tagcli", &mut stdout);
            return exit::OK;
        }
        Command::Man => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut stdout) {
                Ok(()) => exit::OK,
                Err(e) => {
                    let _ = writeln!(stderr, "tagcli: cannot write the man page: {e}");
                    exit::USAGE
                }
            };
        }
        _ => {}
    }
    let json = cli.output == cli::OutputFormat::Json;
    let operation = app::command_name(&cli.command);
    let usage = |stderr: &mut dyn std::io::Write, message: String| {
        let _ = writeln!(stderr, "tagcli: {message}");
        if json {
            // Machines reading stdout still get one object, with the reason.
            let object = output::build::refusal(operation, cli.unit.as_deref(), "usage", &message);
            if let Ok(line) = serde_json::to_string(&object) {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
        }
        exit::USAGE
    };
    let now = match &cli.now {
        Some(s) => match s.parse::<tagcore::Timestamp>() {
            Ok(t) => t,
            Err(e) => return usage(&mut stderr, format!("--now: {e}")),
        },
        None => match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => tagcore::Timestamp::from_unix(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(_) => return usage(&mut stderr, "the system clock is before 1970; pass --now".into()),
        },
    };
    let needs = app::needs(&cli.command);
    let cfg = match config::load(&cli.config, cli.unit.as_deref(), &config::process_env, &needs) {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
                let _ = stderr.write_all(e.annotation().as_bytes());
            }
            return usage(&mut stderr, e.to_string());
        }
    };
    if let Command::Policy { .. } = &cli.command {
        return policy_check(cli, &cfg, &mut stdout);
    }
    let registry = match wiring::registry(&cfg) {
        Ok(r) => r,
        Err(e) => return usage(&mut stderr, e),
    };
    if let (Command::Publish { chunk_size, .. }, registry_hub::AnyRegistry::Remote(r)) =
        (&cli.command, &registry)
    {
        r.set_upload_chunk_size(*chunk_size);
    }
    let verifier = wiring::verifier(&cfg, registry.clone());
    let audit = match github::GitHub::new(cfg.release.clone(), cfg.dispatch.clone()) {
        Ok(a) => a,
        Err(e) => return usage(&mut stderr, e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return usage(&mut stderr, format!("cannot start the async runtime: {e}")),
    };
    let rate_limits = || output::build::rate_limits(&registry);
    let mut sink = app::Sink {
        out: &mut stdout,
        err: &mut stderr,
        format: cli.output,
        github_output: std::env::var_os("GITHUB_OUTPUT").map(Into::into),
        github_summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(Into::into),
        annotations: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        progress: cli.output == cli::OutputFormat::Text
            && !cli.quiet
            && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        rate_limits: &rate_limits,
    };
    let code = runtime.block_on(app::run(
        &cli.command,
        &cfg.policy,
        (&registry, &verifier, &audit),
        now,
        &mut sink,
    ));
    output::build::log_rate_limits(rate_limits());
    code
}

/// Prints the resolved policy (`tagcli policy check`), secrets redacted.
fn policy_check(cli: &Cli, cfg: &config::UnitConfig, stdout: &mut dyn std::io::Write) -> u8 {
    let resolved = config::describe(cfg);
    let _ = match cli.output {
        cli::OutputFormat::Json => writeln!(
            stdout,
            "{}",
            serde_json::to_string(&output::build::policy(&cfg.policy.unit, resolved)).unwrap_or_default()
        ),
        cli::OutputFormat::Text => writeln!(
            stdout,
            "{}: ok\n{}",
            cli.config.display(),
            serde_json::to_string_pretty(&resolved).unwrap_or_default()
        ),
    };
    exit::OK
}
