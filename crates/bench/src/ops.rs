//! The operations measured, run in the same world by tagcli and by the seed's sequence, and
//! what each timed run recorded.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::images::{Build, Kind, push_build};
use crate::run::{Output, run_measured};
use crate::seed::Seed;
use crate::world::{Counts, START, World};

/// An operation of the table, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Op {
    Publish,
    Promote(KindKey),
    RerunPromote,
    RollbackExplicit,
    RerunRollback,
    RollbackAuto,
    History,
    NamesHistory,
    NamesRollback,
}

/// [`Kind`] in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KindKey {
    One,
    Five,
    Index,
}

impl Op {
    /// Returns the row label.
    pub(crate) fn label(self, synthetic: usize) -> String {
        match self {
            Self::Publish => "publish (staging + stamp), 1-layer".into(),
            Self::Promote(k) => format!("promote (prod + stamp + latest), {}", kind_of(k).label()),
            Self::RerunPromote => "re-run of a completed promote".into(),
            Self::RollbackExplicit => "rollback, explicit stamp".into(),
            Self::RerunRollback => "re-run of a completed rollback".into(),
            Self::RollbackAuto => "rollback, automatic".into(),
            Self::History => format!("history, {synthetic} Hub tags"),
            Self::NamesHistory => format!("history, names-only registry, ≤ {NAMES_RELEASES} releases"),
            Self::NamesRollback => {
                format!("rollback, automatic, names-only registry, ≤ {NAMES_RELEASES} releases")
            }
        }
    }
}

fn key_of(kind: Kind) -> KindKey {
    match kind {
        Kind::OneLayer => KindKey::One,
        Kind::FiveLayers => KindKey::Five,
        Kind::Index => KindKey::Index,
    }
}

fn kind_of(key: KindKey) -> Kind {
    match key {
        KindKey::One => Kind::OneLayer,
        KindKey::Five => Kind::FiveLayers,
        KindKey::Index => Kind::Index,
    }
}

/// The kinds of image promoted.
pub(crate) const KINDS: [Kind; 3] = [Kind::OneLayer, Kind::FiveLayers, Kind::Index];

/// One timed run.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) counts: Counts,
    pub(crate) max_rss_kib: Option<u64>,
    pub(crate) error: Option<String>,
    /// tagcli's `result` (`done`, `noop`, …).
    pub(crate) result: Option<String>,
}

/// Every sample: (one-way ms, operation) → (tagcli's, the seed's).
pub(crate) type Results = BTreeMap<(u64, Op), (Vec<Sample>, Vec<Sample>)>;

/// The names-only repository (no Hub API: the registry's listing has names only).
pub(crate) const NAMES: &str = "names";
/// The release stamps the names-only repository starts with.
pub(crate) const NAMES_RELEASES: usize = 500;

/// The repository suffixes of the two tools (each has its own repositories).
pub(crate) const TAGCLI: &str = "";
pub(crate) const SEED: &str = "-seed";

/// Runs the operations and keeps the samples.
pub(crate) struct Bench {
    pub(crate) world: World,
    tagcli: PathBuf,
    builds: BTreeMap<String, usize>,
    pub(crate) results: Results,
    /// The requests of the last timed tagcli run of each operation, with its latency.
    pub(crate) last_requests: BTreeMap<Op, (u64, Vec<String>)>,
    latency_ms: u64,
}

impl Bench {
    pub(crate) fn new(world: World, tagcli: PathBuf) -> Self {
        Self {
            world,
            tagcli,
            builds: BTreeMap::new(),
            results: Results::new(),
            last_requests: BTreeMap::new(),
            latency_ms: 0,
        }
    }

    /// Starts the next day on the clock (see [`World::next_day`]).
    pub(crate) fn next_day(&mut self) {
        self.world.next_day();
    }

    /// Sets both proxies' one-way delay for the following runs.
    pub(crate) fn set_latency(&mut self, ms: u64) {
        self.latency_ms = ms;
        self.world.set_latency(Duration::from_millis(ms));
    }

    /// Pushes and signs the next build of `kind` into `repo` (direct, untimed).
    async fn next_build(&mut self, repo: &str, kind: Kind) -> Result<Build, String> {
        let n = self.builds.entry(repo.to_owned()).or_insert(0);
        *n += 1;
        let n = *n;
        let reference = self.world.reference(repo);
        push_build(
            &self.world,
            &format!("nearai/{repo}"),
            &reference,
            kind,
            n,
            &self.world.key,
        )
        .await
    }

    fn tagcli_args(&self, repo: &str, args: &[&str]) -> Vec<OsString> {
        let mut all: Vec<OsString> = vec![
            "--config".into(),
            self.world.policy(repo).into_os_string(),
            "--output".into(),
            "json".into(),
            "--now".into(),
            self.world.now().into(),
        ];
        all.extend(args.iter().map(OsString::from));
        all
    }

    /// Runs tagcli untimed; fails on a non-zero exit.
    async fn tagcli_setup(&mut self, repo: &str, args: &[&str]) -> Result<Output, String> {
        self.world.sync_hub().await?;
        self.world.tick();
        let out = run_measured(&self.tagcli, &self.tagcli_args(repo, args), self.world.path())?;
        out.ok(&format!("tagcli {}", args.join(" ")))
    }

    /// Runs tagcli timed and records the sample under `op` (when given); returns its output.
    async fn tagcli_timed(&mut self, op: Option<Op>, repo: &str, args: &[&str]) -> Result<Output, String> {
        let Some(op) = op else {
            return self.tagcli_setup(repo, args).await;
        };
        self.world.sync_hub().await?;
        self.world.tick();
        self.world.reset_counters();
        let start = Instant::now();
        let out = run_measured(&self.tagcli, &self.tagcli_args(repo, args), self.world.path())?;
        let wall = start.elapsed();
        let sample = Sample {
            wall,
            counts: self.world.counts(),
            max_rss_kib: out.max_rss_kib,
            error: (out.code != 0).then(|| first_error(&out)),
            result: json_field(&out, "result"),
        };
        if std::env::var_os("TAGCLI_BENCH_DEBUG").is_some() {
            eprintln!(
                "tagcli {args:?}: exit {}\n{}\n{}",
                out.code, out.stdout, out.stderr
            );
        }
        self.record(op, sample, true);
        self.last_requests
            .insert(op, (self.latency_ms, self.world.request_lines()));
        Ok(out)
    }

    /// Runs a seed sequence timed (untimed when `op` is `None`); returns its result.
    async fn seed_timed<T>(
        &mut self,
        op: Option<Op>,
        f: impl FnOnce(&World) -> Result<T, String>,
    ) -> Result<Result<T, String>, String> {
        self.world.sync_hub().await?;
        self.world.tick();
        self.world.reset_counters();
        let start = Instant::now();
        let result = f(&self.world);
        let wall = start.elapsed();
        if let Some(op) = op {
            let sample = Sample {
                wall,
                counts: self.world.counts(),
                max_rss_kib: None,
                error: result.as_ref().err().cloned(),
                result: None,
            };
            self.record(op, sample, false);
        }
        Ok(result)
    }

    fn record(&mut self, op: Op, sample: Sample, tagcli: bool) {
        let entry = self.results.entry((self.latency_ms, op)).or_default();
        if tagcli {
            entry.0.push(sample);
        } else {
            entry.1.push(sample);
        }
    }

    /// One round of tagcli's operations on `kind` (timed when `timed`).
    pub(crate) async fn tagcli_round(&mut self, kind: Kind, timed: bool) -> Result<(), String> {
        let repo = kind.repo(TAGCLI);
        let one = kind == Kind::OneLayer && timed;
        let when = |op: Op, cond: bool| cond.then_some(op);
        let build = self.next_build(&repo, kind).await?;
        let publish = build.publish_args();
        self.tagcli_timed(when(Op::Publish, one), &repo, &publish)
            .await?
            .ok("tagcli publish")?;
        let out = self
            .tagcli_timed(when(Op::Promote(key_of(kind)), timed), &repo, &["promote"])
            .await?;
        let stamp = json_field(&out, "stamp");
        if one {
            self.tagcli_timed(Some(Op::RerunPromote), &repo, &["promote"])
                .await?;
            // Back to the release before, then forward again to this one by its stamp.
            self.tagcli_timed(Some(Op::RollbackAuto), &repo, &["rollback"])
                .await?;
            if let Some(stamp) = &stamp {
                let args = ["rollback", stamp.as_str()];
                self.tagcli_timed(Some(Op::RollbackExplicit), &repo, &args)
                    .await?;
                self.tagcli_timed(Some(Op::RerunRollback), &repo, &args).await?;
            }
            self.tagcli_timed(Some(Op::History), &repo, &["history"]).await?;
        }
        Ok(())
    }

    /// One round of the seed's sequences on `kind` (timed when `timed`).
    pub(crate) async fn seed_round(&mut self, kind: Kind, timed: bool) -> Result<(), String> {
        let repo = kind.repo(SEED);
        let one = kind == Kind::OneLayer && timed;
        let build = self.next_build(&repo, kind).await?;
        self.seed_timed(one.then_some(Op::Publish), |w: &World| {
            Seed::new(w, &repo, kind).publish(build.digest.as_str(), &build.commit)
        })
        .await??;
        let op = timed.then_some(Op::Promote(key_of(kind)));
        let stamp = self
            .seed_timed(op, |w: &World| Seed::new(w, &repo, kind).promote())
            .await?;
        if let (true, Ok(stamp)) = (one, &stamp) {
            let auto = |w: &World| Seed::new(w, &repo, kind).rollback(None);
            self.seed_timed(Some(Op::RollbackAuto), auto).await?.ok();
            let explicit = |w: &World| Seed::new(w, &repo, kind).rollback(Some(stamp));
            self.seed_timed(Some(Op::RollbackExplicit), explicit).await?.ok();
        }
        Ok(())
    }
}

/// Returns a top-level string field of tagcli's JSON output, if any.
fn json_field(out: &Output, field: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    v[field].as_str().map(str::to_owned)
}

/// Returns the exit code and what a failed tagcli run said: the JSON output's `error`, else
/// the first line of stderr.
fn first_error(out: &Output) -> String {
    let json: Option<serde_json::Value> = serde_json::from_str(&out.stdout).ok();
    let from_json = json.and_then(|v| match &v["error"] {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(
            other["message"]
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned),
        ),
    });
    let line = from_json.unwrap_or_else(|| {
        out.stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    });
    let line: String = line.chars().take(160).collect();
    format!("exit {}: {line}", out.code)
}

impl Bench {
    /// Fills the names-only repository with prod stamps, one a day before the clock's start,
    /// each on its own signed build, with prod and latest on the newest (straight on the
    /// registry, not counted): [`NAMES_RELEASES`] less the `rounds` promotions still to come, so
    /// the last round lists exactly that many.
    pub(crate) async fn prepare_names(&mut self, rounds: usize) -> Result<(), String> {
        self.world.write_names_only_policy(NAMES)?;
        let releases = NAMES_RELEASES.saturating_sub(rounds).max(1);
        let reference = self.world.reference(NAMES);
        let repo = format!("nearai/{NAMES}");
        let mut newest = None;
        // Pushed 25 at a time: the setup is not measured, only waited for.
        for chunk in (0..releases).collect::<Vec<_>>().chunks(25) {
            let world = &self.world;
            let pushes = chunk
                .iter()
                .map(|&i| push_build(world, &repo, &reference, Kind::OneLayer, i + 1, &world.key));
            let builds = futures_util::future::join_all(pushes).await;
            for (&i, build) in chunk.iter().zip(builds) {
                let build = build?;
                let day = START - 86_400 * (releases - i) as i64;
                let date = testkit::hub::rfc3339(day)[..10].replace('-', "");
                let stamp = format!("prod-{date}-{}", &build.commit[..7]);
                self.world.put_tag(NAMES, &stamp, &build.manifest).await?;
                newest = Some(build);
            }
        }
        self.builds.insert(NAMES.to_owned(), releases);
        let newest = newest.ok_or("no release")?;
        for tag in ["prod", "latest"] {
            self.world.put_tag(NAMES, tag, &newest.manifest).await?;
        }
        Ok(())
    }

    /// One names-only round: publish and promote a new build (untimed), then `history` and an
    /// automatic rollback, timed.
    pub(crate) async fn names_round(&mut self) -> Result<(), String> {
        let build = self.next_build(NAMES, Kind::OneLayer).await?;
        let publish = build.publish_args();
        self.tagcli_setup(NAMES, &publish).await?;
        self.tagcli_setup(NAMES, &["promote"]).await?;
        self.tagcli_timed(Some(Op::NamesHistory), NAMES, &["history"])
            .await?;
        self.tagcli_timed(Some(Op::NamesRollback), NAMES, &["rollback"])
            .await?;
        Ok(())
    }
}
