//! Runs a program with arguments (no shell), timing it, and measures a child's peak RSS.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

/// The environment variable that turns the bench binary into the peak-RSS wrapper.
pub(crate) const RSS_WRAPPER: &str = "TAGCLI_BENCH_RSS_WRAPPER";

/// What a program run printed and how long it took.
#[derive(Debug)]
pub(crate) struct Output {
    /// The exit code (`-1` when killed by a signal).
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// The peak RSS in KiB, when measured.
    pub(crate) max_rss_kib: Option<u64>,
}

impl Output {
    /// Returns `Ok(self)` on exit 0, else an error naming `what`, the code and the first lines
    /// of stderr.
    pub(crate) fn ok(self, what: &str) -> Result<Self, String> {
        if self.code == 0 {
            return Ok(self);
        }
        let first: Vec<&str> = self.stderr.lines().take(3).collect();
        Err(format!("{what}: exit {}: {}", self.code, first.join(" / ")))
    }
}

/// Returns a command for `program` in `dir` with a clean environment: `PATH`, and `HOME` and
/// `DOCKER_CONFIG` inside `dir`, so no tool reads the user's credentials or configuration.
fn command(program: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("docker"))
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// Runs `program` with `args` in `dir`, stdin closed, and returns its output.
pub(crate) fn run(program: &Path, args: &[OsString], dir: &Path) -> Result<Output, String> {
    let out = command(program, dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        max_rss_kib: None,
    })
}

/// Runs `program` through this binary in wrapper mode, which waits for it alone and reports
/// its peak RSS (`getrusage(RUSAGE_CHILDREN)` of a process whose only child it is). Timing it
/// includes the wrapper's own start (about a millisecond).
pub(crate) fn run_measured(program: &Path, args: &[OsString], dir: &Path) -> Result<Output, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let out = command(&me, dir)
        .arg(program)
        .args(args)
        .env(RSS_WRAPPER, "1")
        .output()
        .map_err(|e| format!("cannot run the RSS wrapper: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // The wrapper's last stderr line is `max_rss_kib N`.
    let (rest, last) = stderr
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or(("", stderr.trim_end()));
    let max_rss_kib = last
        .strip_prefix("max_rss_kib ")
        .and_then(|n| n.trim().parse().ok());
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: if max_rss_kib.is_some() {
            rest.to_owned()
        } else {
            stderr
        },
        max_rss_kib,
    })
}

/// The wrapper mode: runs `argv[1..]`, passes its output through, prints `max_rss_kib N` last on
/// stderr and exits with its code.
pub(crate) fn rss_wrapper() -> ! {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("the RSS wrapper needs a program");
        std::process::exit(2);
    };
    let status = Command::new(program).args(args).status();
    let code = match status {
        Ok(s) => s.code().unwrap_or(-1),
        Err(e) => {
            eprintln!("cannot run the program: {e}");
            std::process::exit(2);
        }
    };
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN) {
        // Linux reports ru_maxrss in KiB.
        Ok(usage) => eprintln!("max_rss_kib {}", usage.max_rss()),
        Err(e) => eprintln!("getrusage failed: {e}"),
    }
    std::process::exit(code);
}
