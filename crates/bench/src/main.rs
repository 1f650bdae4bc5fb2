//! Benchmarks tagcli against the seed pipelines' skopeo sequence, in one run: a real
//! `docker-registry` and a Docker Hub API emulation (100,000 synthetic tags by default), each
//! behind a latency proxy on 127.0.0.1, images of three shapes signed with a cosign key, and
//! every operation timed at each one-way latency. Prints one markdown table (and, with
//! `--write`, puts it in `docs/benchmarks.md`). Run it with `scripts/bench`; it is not a test.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

mod images;
mod ops;
mod run;
mod seed;
mod table;
mod world;

use ops::{Bench, KINDS, SEED, TAGCLI};

/// Benchmark of tagcli against the seed's skopeo sequence (loopback only).
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// Timed runs of each operation at each latency.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// One-way latencies in milliseconds, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [0, 25, 100])]
    latency: Vec<u64>,
    /// One latency (25 ms unless --latency names one) and 3 runs, for a check in a few minutes.
    #[arg(long)]
    quick: bool,
    /// Synthetic tags of every repository on the Hub emulation.
    #[arg(long, default_value_t = 100_000)]
    synthetic: usize,
    /// The tagcli binary (build it with `cargo build --release -p tagcli`).
    #[arg(long, default_value = "target/release/tagcli")]
    tagcli: PathBuf,
    /// Also write the table and the machine's description into DOC between its markers.
    #[arg(long)]
    write: bool,
    /// The document `--write` updates.
    #[arg(long, default_value = "docs/benchmarks.md")]
    doc: PathBuf,
}

impl Args {
    /// Applies `--quick`: 3 runs, one latency (the first given, 25 ms by default).
    fn resolved(mut self, latency_given: bool) -> Self {
        if self.quick {
            self.runs = 3;
            let first = if latency_given { self.latency[0] } else { 25 };
            self.latency = vec![first];
        }
        self
    }
}

fn main() {
    if std::env::var_os(run::RSS_WRAPPER).is_some() {
        run::rss_wrapper();
    }
    let argv: Vec<String> = std::env::args().collect();
    let latency_given = argv.iter().any(|a| a.starts_with("--latency"));
    let args = Args::parse_from(&argv).resolved(latency_given);
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(bench(&args)) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

async fn bench(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    if !args.tagcli.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p tagcli` or pass --tagcli",
            args.tagcli.display()
        ));
    }
    let tagcli = std::fs::canonicalize(&args.tagcli).map_err(|e| e.to_string())?;
    let repos: Vec<String> = KINDS
        .iter()
        .flat_map(|k| [k.repo(TAGCLI), k.repo(SEED)])
        .collect();
    let world = world::World::start(&repos, args.synthetic)?;
    let mut bench = Bench::new(world, tagcli.clone());
    // A first release in every repository, so every timed run has one before it.
    for kind in KINDS {
        bench.tagcli_round(kind, false).await?;
        bench.seed_round(kind, false).await?;
    }
    bench
        .prepare_names(args.runs as usize * args.latency.len())
        .await?;
    for &ms in &args.latency {
        bench.set_latency(ms);
        for run in 0..args.runs {
            eprintln!("bench: {ms} ms one-way, run {}/{}", run + 1, args.runs);
            bench.next_day();
            for kind in KINDS {
                bench.tagcli_round(kind, true).await?;
                bench.seed_round(kind, true).await?;
            }
            bench.names_round().await?;
        }
    }
    let elapsed = started.elapsed().as_secs();
    let block = format!(
        "{}\n`scripts/bench --runs {} --latency {}` took {}m{:02}s in all.\n\n{}",
        table::render(&bench.results, args.synthetic),
        args.runs,
        args.latency
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        elapsed / 60,
        elapsed % 60,
        table::machine(&tagcli),
    );
    println!("{block}");
    for op in [ops::Op::Promote(ops::KindKey::One), ops::Op::RerunPromote] {
        if let Some((ms, lines)) = bench.last_requests.get(&op) {
            println!(
                "\nRequests of the last tagcli {} at {ms} ms:\n```text\n{}\n```",
                op.label(args.synthetic),
                lines.join("\n")
            );
        }
    }
    if args.write {
        table::write_block(&args.doc, &block)?;
        eprintln!("bench: wrote {}", args.doc.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn parses_the_options() {
        Args::command().debug_assert();
        let a = Args::parse_from(["bench"]).resolved(false);
        assert_eq!((a.runs, a.latency.clone(), a.write), (5, vec![0, 25, 100], false));
        let a = Args::parse_from(["bench", "--runs", "7", "--latency", "0,50"]).resolved(true);
        assert_eq!((a.runs, a.latency), (7, vec![0, 50]));
        let a = Args::parse_from(["bench", "--quick"]).resolved(false);
        assert_eq!((a.runs, a.latency), (3, vec![25]));
        let a = Args::parse_from(["bench", "--quick", "--latency", "100"]).resolved(true);
        assert_eq!(a.latency, vec![100]);
        assert!(Args::try_parse_from(["bench", "--runs", "0"]).is_err());
        assert!(Args::try_parse_from(["bench", "--latency", "fast"]).is_err());
    }
}
