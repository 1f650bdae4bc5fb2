//! Retention: after a rollback, the stamp of the release prod runs is kept even when it is
//! outside the rollback window and every other rule would delete it.

use tagcore::history::KnownTag;
use tagcore::policy::RetentionSpec;
use tagcore::retention::{DeleteMode, PrunePlan};
use tagcore::{Digest, Timestamp};

use crate::support::{policy, spec};

fn d(n: u8) -> Digest {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
        .parse()
        .expect("digest")
}

fn k(tag: &str, n: u8, pushed: &str) -> KnownTag {
    KnownTag {
        tag: tag.parse().expect("tag"),
        digest: d(n),
        pushed: Some(pushed.parse().expect("time")),
    }
}

fn plan(known: &[KnownTag]) -> PrunePlan {
    let mut s = spec();
    s.retention = RetentionSpec {
        keep_releases: 1,
        keep_days: 7,
        prunable: vec!["prod-2026*".into()],
    };
    let p = policy(&s);
    let now: Timestamp = "2026-06-01T00:00:00Z".parse().expect("now");
    p.retention.plan(&p.tags, known, now, DeleteMode::ByTag)
}

#[test]
fn the_stamp_prod_runs_after_a_rollback_is_kept_and_only_that_one() {
    // Listed in no particular order; the first tag is not the one prod runs.
    let known = [
        k("prod-20260201-bbbbbbb", 2, "2026-02-01T00:00:00Z"),
        k("prod-20260101-aaaaaaa", 1, "2026-01-01T00:00:00Z"),
        k("prod-20260215-ccccccc", 3, "2026-02-15T00:00:00Z"),
        k(
            "prod-rollback-20260301-101010-from-20260215-ccccccc",
            1,
            "2026-03-01T10:10:10Z",
        ),
        k("prod", 1, "2026-03-01T10:10:10Z"),
    ];
    let plan = plan(&known);
    let reason_of = |tag: &str| {
        plan.keep
            .iter()
            .find(|v| v.tag.as_str() == tag)
            .map(|v| v.reason.as_str())
    };
    assert_eq!(
        reason_of("prod-20260101-aaaaaaa"),
        Some("names the release prod runs"),
        "{plan:#?}"
    );
    let deleted: Vec<&str> = plan.delete.iter().map(|v| v.tag.as_str()).collect();
    assert!(deleted.contains(&"prod-20260201-bbbbbbb"), "{plan:#?}");
}
