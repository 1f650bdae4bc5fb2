//! Concurrent promotes on the real registry through the latency proxy.
//!
//! Each round: a fresh unit (a new repository, no prod yet) holding three signed images; three
//! promotes, one per digest, start together through a proxy adding 25 ms each way. At rest:
//!
//! - prod and its alias `latest` agree, unless a run reported that the alias is not at prod;
//! - every run whose digest is not prod at rest (a loser) says "another run moved prod to
//!   <the winner's digest>".
//!
//! `TAGCLI_RACE=full` runs 30 rounds; the default runs 3.

use std::time::Duration;

use cosign_verify::CosignVerifier;
use tagcore::outcome::{Outcome, TagStatus};
use tagcore::policy::Policy;
use tagcore::request::{PromoteRequest, PromoteSource, Request};
use tagcore::testing::MemoryAudit;
use tagcore::{Digest, Engine, OpError};

use crate::check::result_name;
use crate::world::{NOW, World, engine_client, signature_policy, t};

/// What one run said: its error, or its result, warnings and every tag's status.
fn output(result: &Result<Outcome, OpError>) -> String {
    match result {
        Err(e) => format!("error ({:?}): {}", e.kind, e.message),
        Ok(o) => {
            let mut s = format!("result: {}\n", result_name(&o.result));
            for c in &o.tags {
                s.push_str(&format!("{:?} {} -> {}\n", c.status, c.tag, c.to));
            }
            for w in &o.warnings {
                s.push_str(&format!("warning: {w}\n"));
            }
            s
        }
    }
}

/// Returns whether `result` reports that `alias` was not brought to this run's digest.
fn reported_alias(result: &Result<Outcome, OpError>, alias: &str) -> bool {
    match result {
        Err(e) => e.message.contains(alias),
        Ok(o) => {
            let named =
                matches!(&o.result, tagcore::outcome::RunResult::Partial(m) if m.message.contains(alias));
            named
                || o.tags.iter().any(|c| {
                    c.tag.as_str() == alias
                        && !matches!(
                            c.status,
                            TagStatus::Created | TagStatus::Moved | TagStatus::Unchanged
                        )
                })
        }
    }
}

/// Runs one round in a fresh unit; returns the problems found.
fn round(w: &World, n: usize) -> Vec<String> {
    let name = format!("race-{n}");
    let digests: Vec<Digest> = ["a", "b", "c"]
        .iter()
        .map(|seed| w.image(&name, &format!("race {n} {seed}"), true))
        .collect();
    let policy = Policy::from_spec(&w.spec(&name)).expect("valid policy");
    let runs: Vec<_> = digests
        .iter()
        .map(|d| {
            let client = engine_client();
            let verifier = CosignVerifier::with_policy(
                client.clone(),
                signature_policy(w.key(), &w.proxy_addr())
                    .compile()
                    .expect("policy"),
            );
            let request = Request::Promote(PromoteRequest {
                source: PromoteSource::Digest(d.clone()),
                confirm: None,
                expect_digest: None,
                allow_older: false,
            });
            (client, verifier, MemoryAudit::new(), request)
        })
        .collect();
    let engines: Vec<_> = runs
        .iter()
        .map(|(client, verifier, audit, _)| Engine::new(&policy, client, verifier, audit))
        .collect();
    let results: Vec<Result<Outcome, OpError>> = w.rt.block_on(async {
        let (a, b, c) = tokio::join!(
            engines[0].run(&runs[0].3, t(NOW), false),
            engines[1].run(&runs[1].3, t(NOW), false),
            engines[2].run(&runs[2].3, t(NOW), false),
        );
        vec![a, b, c]
    });
    let state = w.state(&name);
    let (prod, latest) = (state.get("prod"), state.get("latest"));
    let mut problems = Vec::new();
    let Some(winner) = prod else {
        problems.push(format!("round {n}: no run moved prod ({state:?})"));
        return problems;
    };
    if prod != latest && !results.iter().any(|r| reported_alias(r, "latest")) {
        problems.push(format!(
            "round {n}: at rest prod = {winner} but latest = {latest:?}, and no run reported it"
        ));
    }
    let expected = format!("another run moved prod to {winner}");
    for (d, r) in digests.iter().zip(&results) {
        if d != winner && !output(r).contains(&expected) {
            problems.push(format!(
                "round {n}: the run promoting {d} lost to {winner} but does not say \"{expected}\":\n{}",
                output(r)
            ));
        }
    }
    problems
}

#[test]
fn concurrent_promotes_agree_at_rest_and_losers_name_the_winner() {
    let rounds = if std::env::var("TAGCLI_RACE").is_ok_and(|v| v == "full") {
        30
    } else {
        3
    };
    let w = World::new();
    w.proxy.set_latency(Duration::from_millis(25));
    let problems: Vec<String> = (1..=rounds).flat_map(|n| round(&w, n)).collect();
    println!(
        "{rounds} rounds × 3 concurrent promotes: {} problem(s)",
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
