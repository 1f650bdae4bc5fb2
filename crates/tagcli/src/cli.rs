//! The command line: subcommands, global flags and their help.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Publish, promote (verified), roll back and audit container image tags.
#[derive(Debug, Parser)]
#[command(name = "tagcli", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// Policy file.
    #[arg(long, global = true, default_value = "tagcli.toml", value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// Which unit of the policy file, when it holds several.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) unit: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,
    /// Fix the clock (RFC 3339, UTC), for reproducible runs and tests.
    #[arg(long, global = true, env = "TAGCLI_NOW", value_name = "RFC3339")]
    pub(crate) now: Option<String>,
    /// Log to stderr: `-v` retries, credential sources and rate limits; `-vv` every HTTP
    /// request. `RUST_LOG` (e.g. `registry_hub=debug`) overrides both. Stdout keeps the result.
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Log nothing but errors, not even warnings; the result is still printed.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// For people.
    Text,
    /// One JSON object on stdout (`"schema": 2`, docs/output.md).
    Json,
}

/// Flags shared by the commands that write.
#[derive(Debug, Clone, Args)]
pub(crate) struct WriteFlags {
    /// Resolve, verify and print the plan; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// The deploy dispatch switch of publish, promote and rollback.
#[derive(Debug, Clone, Args)]
pub(crate) struct DispatchFlag {
    /// Send the policy's deploy dispatches (`--dispatch=false` skips them all, e.g. from a
    /// workflow boolean).
    #[arg(
        long = "dispatch",
        env = "TAGCLI_DISPATCH",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        action = ArgAction::Set
    )]
    pub(crate) on: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Stamp a freshly pushed digest and move staging to it (the build step); with `--from`,
    /// push the image from the build's output first.
    Publish {
        /// The digest just pushed; for several images, `<image>=sha256:…` once per image.
        #[arg(
            long = "digest",
            required_unless_present = "from",
            conflicts_with = "from",
            value_name = "DIGEST"
        )]
        digests: Vec<String>,
        /// Push the image from this source first, named as skopeo names it:
        /// `oci-archive:PATH[:ref]`, `oci:DIR[:ref]` or `docker-archive:PATH`; for several
        /// images, `<image>=<source>` once per image.
        #[arg(long = "from", value_name = "SOURCE")]
        from: Vec<String>,
        /// Blobs up to this size are uploaded in one request, larger ones in chunks of it.
        #[arg(long, value_name = "BYTES", default_value_t = registry_hub::DEFAULT_CHUNK_SIZE)]
        chunk_size: u64,
        /// The source commit of the build (full sha).
        #[arg(long, env = "GITHUB_SHA", value_name = "SHA")]
        commit: String,
        /// Move staging even inside the freeze window (`--force` or `--force=true|false`).
        #[arg(
            long,
            value_name = "BOOL",
            num_args = 0..=1,
            require_equals = true,
            default_value_t = false,
            default_missing_value = "true",
            action = ArgAction::Set
        )]
        force: bool,
        #[command(flatten)]
        write: WriteFlags,
        #[command(flatten)]
        deploy: DispatchFlag,
    },
    /// Move prod to a verified digest: staging (default), a tag, a version or a digest.
    Promote {
        /// `staging`, a tag, a version (`v0.2.13`) or `sha256:…`, as the policy allows.
        source: Option<String>,
        /// The confirm string the policy asks for.
        #[arg(long)]
        confirm: Option<String>,
        /// Refuse (before any write) unless the source resolves to this digest: promote exactly
        /// what a dry run planned and someone approved.
        #[arg(long, value_name = "DIGEST")]
        expect_digest: Option<String>,
        /// Promote even a digest signed before the one in prod (a deliberate downgrade);
        /// `--allow-older=false` keeps the guard (for workflow booleans).
        #[arg(
            long,
            value_name = "BOOL",
            num_args = 0..=1,
            require_equals = true,
            default_missing_value = "true",
            default_value = "false"
        )]
        allow_older: bool,
        #[command(flatten)]
        write: WriteFlags,
        #[command(flatten)]
        deploy: DispatchFlag,
    },
    /// Move prod back to an earlier release: a prod stamp, a version, or (omitted) the previous one.
    Rollback {
        /// A prod stamp or version; omitted: the previous release from the history.
        target: Option<String>,
        /// The confirm string the policy asks for (e.g. ROLLBACK).
        #[arg(long)]
        confirm: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
        #[command(flatten)]
        deploy: DispatchFlag,
    },
    /// Copy a tag or digest to another, unprotected tag of the same image.
    Retag {
        /// Source tag or digest.
        source: String,
        /// Target tag.
        target: String,
        /// Which image of the unit (default: the primary).
        #[arg(long)]
        image: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Show every channel and alias with its digest, stamps and source commit.
    Status,
    /// Show the prod timeline, newest first, with what was rolled back.
    History,
    /// Verify a tag or digest against the signature policy.
    Verify {
        /// A tag or `sha256:…` of the image.
        reference: String,
        /// Which image of the unit (default: the primary).
        #[arg(long)]
        image: Option<String>,
    },
    /// Print the digest-pinned reference (`repo@sha256:…`) of every image on a channel, for
    /// deployers; `--verified` verifies each under the policy first.
    Resolve {
        /// The channel (`prod`, `staging`, an alias).
        channel: String,
        /// Verify each digest under the policy; a refused image gets no reference (exit 1).
        #[arg(long)]
        verified: bool,
        /// A named release instead of where the channel points now: a prod stamp or a version.
        #[arg(long, value_name = "STAMP|VERSION")]
        at: Option<String>,
    },
    /// Delete old tags the `[retention]` policy marks prunable; a dry run unless `--apply`.
    Prune {
        /// Delete (without it, only print what would be deleted and why the rest is kept).
        #[arg(long)]
        apply: bool,
    },
    /// Work with the policy file.
    Policy {
        /// What to do with it.
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// What `tagcli policy` does.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyAction {
    /// Parse and validate the policy offline, and print it resolved, secrets shown as `***`.
    Check,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{Cli, Command};

    fn publish(args: &[&str]) -> (bool, bool, String) {
        let mut all = vec!["tagcli", "publish", "--digest", "sha256:x", "--commit", "c"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Publish {
                force,
                deploy,
                commit,
                ..
            } => (force, deploy.on, commit),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn publish_takes_sources_or_digests_not_both() {
        let parse = |args: &[&str]| {
            let mut all = vec!["tagcli", "publish", "--commit", "c"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };
        match parse(&[
            "--from",
            "a=oci:x",
            "--from",
            "b=oci-archive:y.tar",
            "--chunk-size",
            "1000",
        ])
        .unwrap()
        .command
        {
            Command::Publish {
                from,
                digests,
                chunk_size,
                ..
            } => {
                assert_eq!(from, ["a=oci:x", "b=oci-archive:y.tar"]);
                assert!(digests.is_empty());
                assert_eq!(chunk_size, 1000);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["--from", "oci:x", "--digest", "sha256:x"]).is_err());
        assert!(parse(&[]).is_err(), "one of them is required");
    }

    #[test]
    fn switches_a_workflow_input_feeds_take_a_value() {
        assert_eq!(publish(&[]), (false, true, "c".into()));
        assert_eq!(publish(&["--force"]), (true, true, "c".into()));
        assert_eq!(
            publish(&["--force=true", "--dispatch=false"]),
            (true, false, "c".into())
        );
        assert_eq!(
            publish(&["--force=false", "--dispatch=true"]),
            (false, true, "c".into())
        );
        assert!(
            Cli::try_parse_from([
                "tagcli",
                "publish",
                "--digest",
                "d",
                "--commit",
                "c",
                "--force=maybe"
            ])
            .is_err()
        );
        assert!(matches!(
            Cli::try_parse_from(["tagcli", "policy", "check"])
                .unwrap()
                .command,
            Command::Policy { .. }
        ));
    }
}
