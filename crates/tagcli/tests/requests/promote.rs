//! Promote, its re-run and a rollback's re-run, counted request by request on the real registry.

use tagcore::outcome::RunResult;
use tagcore::request::{Request, RollbackRequest, RollbackTarget};

use crate::world::{World, content_gets, promote, show};

const SHA_OLD: &str = "851f2cc0000000000000000000000000000000aa";
const SHA_NEW: &str = "a2fad420000000000000000000000000000000bb";
const NOW: &str = "2026-07-09T10:00:00Z";
const LATER: &str = "2026-07-09T10:30:00Z";

fn rollback() -> Request {
    Request::Rollback(RollbackRequest {
        target: RollbackTarget::Automatic,
        confirm: None,
    })
}

/// Prod and latest at an older signed build, a newer signed build on staging with its staging
/// stamp; with `history`, the older build was promoted by tagcli (its prod stamp exists).
fn world(history: bool) -> (World, tagcore::Digest, tagcore::Digest) {
    let w = World::new(None);
    let old = w.image("old", Some(SHA_OLD));
    for t in ["prod", "latest"] {
        w.set_tag(t, &old);
    }
    if history {
        w.set_tag("prod-20260601-851f2cc", &old);
    }
    let new = w.image("new", Some(SHA_NEW));
    w.set_tag("staging-20260708-a2fad42", &new);
    w.set_tag("staging", &new);
    (w, old, new)
}

#[test]
fn a_promote_makes_at_most_15_requests_and_its_rerun_reads_no_manifest_or_blob() {
    let (w, _, new) = world(false);
    let (out, log) = w.counted(&promote(), NOW, false);
    assert_eq!(out.result, RunResult::Done, "{out:#?}");
    println!("promote: {} requests", log.len());
    for l in show(&log) {
        println!("  {l}");
    }
    assert!(log.len() <= 15, "{:#?}", show(&log));
    for t in ["prod", "latest", "prod-20260709-a2fad42"] {
        assert_eq!(w.get_tag(t), Some(new.clone()), "{t}");
    }
    // Nothing fetched twice.
    let gets = content_gets(&log);
    let mut unique = gets.clone();
    unique.dedup();
    assert_eq!(gets.len(), unique.len(), "{gets:#?}");

    let (again, log) = w.counted(&promote(), LATER, false);
    println!("re-run: {} requests", log.len());
    for l in show(&log) {
        println!("  {l}");
    }
    assert!(again.moved().next().is_none(), "{again:#?}");
    assert_eq!(content_gets(&log), Vec::<String>::new(), "{:#?}", show(&log));
    assert!(
        log.iter()
            .all(|r| r.method == "HEAD" || r.path.contains("/tags/list")),
        "{:#?}",
        show(&log)
    );
    assert!(
        again
            .plan
            .notices
            .iter()
            .any(|n| n.contains("signature was not read again")),
        "{:#?}",
        again.plan.notices
    );
}

#[test]
fn with_a_release_history_one_more_head_reads_the_newest_release_and_a_rollback_rerun_reads_no_manifest() {
    let (w, old, new) = world(true);
    let (_, log) = w.counted(&promote(), NOW, false);
    println!("promote with history: {} requests", log.len());
    for l in show(&log) {
        println!("  {l}");
    }
    // The newest release tag's digest (the listing has names only) is the one extra read.
    assert!(log.len() <= 16, "{:#?}", show(&log));
    assert_eq!(w.get_tag("prod"), Some(new));

    let (out, log) = w.counted(&rollback(), LATER, false);
    assert_eq!(out.result, RunResult::Done, "{out:#?}");
    println!("rollback: {} requests", log.len());
    for l in show(&log) {
        println!("  {l}");
    }
    assert_eq!(w.get_tag("prod"), Some(old.clone()));
    let (again, log) = w.counted(&rollback(), "2026-07-09T10:40:00Z", false);
    println!("rollback re-run: {} requests", log.len());
    for l in show(&log) {
        println!("  {l}");
    }
    assert!(again.moved().next().is_none(), "{again:#?}");
    assert_eq!(w.get_tag("prod"), Some(old));
    assert_eq!(content_gets(&log), Vec::<String>::new(), "{:#?}", show(&log));
}

#[test]
fn the_dry_run_budget_counts_the_requests_and_pulls_actually_sent() {
    let (w, _, new) = world(true);
    let pulls = |log: &[testkit::LoggedRequest]| {
        log.iter()
            .filter(|r| r.method == "GET" && r.path.contains("/manifests/"))
            .count() as u64
    };
    let (dry, log) = w.counted(&promote(), NOW, true);
    let b = dry.plan.budget;
    println!("dry run: {b:?}");
    assert_eq!(b.requests, Some(log.len() as u64), "{:#?}", show(&log));
    assert_eq!(b.pulls, Some(pulls(&log)), "{:#?}", show(&log));
    assert_eq!(b.pulls, Some(2), "the image manifest and the signature manifest");
    let (out, log) = w.counted(&promote(), NOW, false);
    assert_eq!(out.result, RunResult::Done);
    assert_eq!(w.get_tag("prod"), Some(new));
    assert_eq!(
        log.len() as u64,
        b.requests.unwrap() + u64::from(b.write_requests),
        "{:#?}",
        show(&log)
    );
    assert_eq!(pulls(&log), b.pulls.unwrap(), "writing pulls nothing");
}

/// Prints the wall time of a promote and its re-run at `ONE_WAY_MS` (default 25) one-way
/// latency, and that time in round trips (each new connection costs one more). A measurement,
/// not a check: `ONE_WAY_MS=200 cargo test -p tagcli --test requests -- --ignored --nocapture`
/// (at 200 ms the machine's own time is negligible: 4.2 s, about 10 round trips: the 9 of
/// `docs/benchmarks-requests.md` plus the first connection's).
#[test]
#[ignore = "a measurement"]
fn measure_promote_round_trips() {
    let one_way: u64 = std::env::var("ONE_WAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let (w, _, _) = world(false);
    w.proxy.set_latency(std::time::Duration::from_millis(one_way));
    for (what, now) in [("promote", NOW), ("re-run", LATER)] {
        let started = std::time::Instant::now();
        let (_, log) = w.counted(&promote(), now, false);
        let took = started.elapsed();
        println!(
            "{what} at {one_way} ms one way: {} requests, {took:?}, {:.1} round trips",
            log.len(),
            took.as_secs_f64() / (2.0 * one_way as f64 / 1000.0)
        );
    }
}

#[test]
fn an_automatic_rollback_on_a_names_only_registry_reads_only_the_newest_release_days() {
    let w = World::new(None);
    let a = w.image("a", Some(SHA_OLD));
    let b = w.image("b", Some(SHA_NEW));
    // 40 promotions on 40 days, alternating between two builds; prod at the newest.
    let start = crate::world::t("2026-04-01T00:00:00Z").unix();
    let mut names = Vec::new();
    for k in 0..40i64 {
        let day = tagcore::Timestamp::from_unix(start + k * 86_400).date_compact();
        let (digest, sha) = if k % 2 == 0 {
            (&a, "851f2cc")
        } else {
            (&b, "a2fad42")
        };
        let name = format!("prod-{day}-{sha}");
        w.set_tag(&name, digest);
        names.push(name);
    }
    for t in ["prod", "latest"] {
        w.set_tag(t, &b);
    }
    let (out, log) = w.counted(&rollback(), "2026-06-01T00:00:00Z", true);
    assert_eq!(
        out.plan.target.as_ref().map(tagcore::Tag::as_str),
        Some(names[38].as_str())
    );
    let release_heads = log
        .iter()
        .filter(|r| r.method == "HEAD" && r.path.contains("/manifests/prod-2026"))
        .count();
    println!(
        "automatic rollback over 40 release tags: {release_heads} of them read, {} requests",
        log.len()
    );
    assert!(release_heads < 20, "{:#?}", show(&log));
    assert!(
        out.plan
            .reads
            .iter()
            .any(|r| r.found.contains("cannot change the answer")),
        "{:#?}",
        out.plan.reads
    );
}
