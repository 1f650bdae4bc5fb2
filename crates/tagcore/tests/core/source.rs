//! Source-commit recovery: which evidence wins, and how the commit is shown.

use tagcore::source::{CommitEvidence, CommitSource, SourceCommit, resolve_source_commit};
use tagcore::{CommitSha, Digest, Tag, Timestamp};

fn d() -> Digest {
    format!("sha256:{}", "cd".repeat(32)).parse().expect("digest")
}

fn tag(s: &str) -> Tag {
    s.parse().expect("tag")
}

fn at(s: &str) -> Option<Timestamp> {
    Some(s.parse().expect("timestamp"))
}

#[test]
fn the_oldest_staging_stamp_by_push_time_wins_then_by_name() {
    let (new, old, unknown) = (
        tag("staging-20260101-1111111"),
        tag("staging-20260301-2222222"),
        tag("staging-20260201-3333333"),
    );
    // Pushed times decide over names; a stamp without a time sorts oldest.
    let mut ev = CommitEvidence {
        staging_stamps: vec![
            (&new, "1111111", at("2026-03-02T00:00:00Z")),
            (&old, "2222222", at("2026-03-01T00:00:00Z")),
        ],
        ..Default::default()
    };
    let r = resolve_source_commit(&d(), &ev);
    assert_eq!(
        (r.sha.as_str(), r.source),
        ("2222222", CommitSource::StagingStamp(old.clone()))
    );
    ev.staging_stamps.push((&unknown, "3333333", None));
    let r = resolve_source_commit(&d(), &ev);
    assert_eq!(r.source, CommitSource::StagingStamp(unknown.clone()));
    // Same time: the name decides.
    ev.staging_stamps = vec![(&old, "2222222", None), (&new, "1111111", None)];
    assert_eq!(
        resolve_source_commit(&d(), &ev).source,
        CommitSource::StagingStamp(new.clone())
    );
}

#[test]
fn a_revision_is_trimmed_and_a_certificate_commit_is_full() {
    let ev = CommitEvidence {
        revision: Some("  DAC1007F00DBA11C0FFEE00000000000000000AB\n"),
        ..Default::default()
    };
    let r = resolve_source_commit(&d(), &ev);
    assert_eq!(r.source, CommitSource::Revision);
    assert_eq!(r.sha, "dac1007f00dba11c0ffee00000000000000000ab");
    let sha256: CommitSha = "ab".repeat(32).parse().expect("a sha256 commit");
    let ev = CommitEvidence {
        certificate: Some(&sha256),
        ..Default::default()
    };
    let r = resolve_source_commit(&d(), &ev);
    assert_eq!(r.full_commit(), Some("ab".repeat(32).as_str()));
    assert!(!r.is_derived());
}

#[test]
fn only_a_full_commit_that_was_not_derived_is_a_full_commit() {
    let c = |sha: &str, source| SourceCommit {
        sha: sha.into(),
        source,
    };
    let full = "dac1007f00dba11c0ffee00000000000000000ab";
    assert_eq!(c(full, CommitSource::Input).full_commit(), Some(full));
    assert_eq!(c(full, CommitSource::Digest).full_commit(), None);
    assert_eq!(c("dac1007", CommitSource::Input).full_commit(), None);
    assert_eq!(c(&full[..39], CommitSource::Revision).full_commit(), None);
    assert_eq!(c(full, CommitSource::Input).sha7(), "dac1007");
    assert!(c("dac1007", CommitSource::Digest).is_derived());
    assert!(!c("dac1007", CommitSource::Input).is_derived());
}

#[test]
fn every_commit_source_says_where_the_commit_came_from() {
    let t = tag("staging-20260101-dac1007");
    let p = tag("prod-20260101-dac1007");
    let shown: Vec<String> = [
        CommitSource::Certificate,
        CommitSource::Revision,
        CommitSource::StagingStamp(t),
        CommitSource::Digest,
        CommitSource::Input,
        CommitSource::ProdStamp(p),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        shown,
        [
            "signature certificate",
            "image revision annotation",
            "staging stamp staging-20260101-dac1007",
            "derived from digest, commit unknown",
            "given",
            "prod stamp prod-20260101-dac1007",
        ]
    );
}
