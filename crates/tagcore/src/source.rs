//! Source-commit recovery (docs/behaviour.md#source-commit), as a pure function over what the adapters reported.

use std::fmt;

use serde::Serialize;

use crate::{CommitSha, Digest, Tag, Timestamp};

/// Where the source commit was found, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "detail")]
pub enum CommitSource {
    /// The verified signature's certificate (GitHub Actions workflow sha).
    Certificate,
    /// The image's `org.opencontainers.image.revision` annotation or label.
    Revision,
    /// A staging stamp pointing at the same digest (the oldest, if several).
    StagingStamp(Tag),
    /// Nothing named it: the first 7 hex of the digest stand in. Flagged everywhere.
    Digest,
    /// The caller gave it (publish's `--commit`).
    Input,
    /// The prod stamp written when the digest was promoted (status only; it reads no signature).
    ProdStamp(Tag),
}

impl CommitSource {
    /// Returns the source's machine name: `certificate`, `revision`, `staging_stamp`, `digest`,
    /// `input` or `prod_stamp`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::Revision => "revision",
            Self::StagingStamp(_) => "staging_stamp",
            Self::Digest => "digest",
            Self::Input => "input",
            Self::ProdStamp(_) => "prod_stamp",
        }
    }

    /// Returns the stamp that named the commit, for the stamp sources.
    pub fn stamp(&self) -> Option<&Tag> {
        match self {
            Self::StagingStamp(t) | Self::ProdStamp(t) => Some(t),
            Self::Certificate | Self::Revision | Self::Digest | Self::Input => None,
        }
    }
}

impl fmt::Display for CommitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate => f.write_str("signature certificate"),
            Self::Revision => f.write_str("image revision annotation"),
            Self::StagingStamp(t) => write!(f, "staging stamp {t}"),
            Self::Digest => f.write_str("derived from digest, commit unknown"),
            Self::Input => f.write_str("given"),
            Self::ProdStamp(t) => write!(f, "prod stamp {t}"),
        }
    }
}

/// The source commit of a digest and how it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCommit {
    /// The commit, or its 7-character prefix; with [`CommitSource::Digest`], digest hex.
    pub sha: String,
    /// Where it came from.
    #[serde(rename = "source")]
    pub source: CommitSource,
}

impl SourceCommit {
    /// Returns the `<sha7>` of stamps.
    pub fn sha7(&self) -> &str {
        &self.sha[..7]
    }

    /// Returns the full commit id when one is known (for `target_commitish`).
    pub fn full_commit(&self) -> Option<&str> {
        (self.source != CommitSource::Digest && matches!(self.sha.len(), 40 | 64))
            .then_some(self.sha.as_str())
    }

    /// Returns whether the commit is unknown and the digest stood in.
    pub fn is_derived(&self) -> bool {
        self.source == CommitSource::Digest
    }
}

/// What is known about a digest's origin.
#[derive(Debug, Clone, Default)]
pub struct CommitEvidence<'a> {
    /// The commit the verified certificate names.
    pub certificate: Option<&'a CommitSha>,
    /// The raw revision annotation or label, as the image carries it (validated here).
    pub revision: Option<&'a str>,
    /// Staging stamps pointing at the digest, with their push times when known.
    pub staging_stamps: Vec<(&'a Tag, &'a str, Option<Timestamp>)>,
}

/// Returns the source commit of `digest` from `evidence`, trying the sources of docs/behaviour.md#source-commit in order.
pub fn resolve_source_commit(digest: &Digest, evidence: &CommitEvidence<'_>) -> SourceCommit {
    if let Some(c) = evidence.certificate {
        return SourceCommit {
            sha: c.as_str().to_owned(),
            source: CommitSource::Certificate,
        };
    }
    if let Some(c) = evidence.revision.and_then(|r| r.trim().parse::<CommitSha>().ok()) {
        return SourceCommit {
            sha: c.as_str().to_owned(),
            source: CommitSource::Revision,
        };
    }
    // Oldest staging stamp: by push time (missing sorts oldest), then by name (dates sort).
    if let Some((tag, sha7, _)) = evidence
        .staging_stamps
        .iter()
        .min_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(b.0)))
    {
        return SourceCommit {
            sha: (*sha7).to_owned(),
            source: CommitSource::StagingStamp((*tag).clone()),
        };
    }
    SourceCommit {
        sha: digest.short().to_owned(),
        source: CommitSource::Digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Digest {
        format!("sha256:{}", "ab".repeat(32)).parse().unwrap()
    }

    #[test]
    fn prefers_the_certificate_then_revision_then_stamp_then_digest() {
        let cert: CommitSha = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap();
        let s1: Tag = "staging-20260101-3333333".parse().unwrap();
        let s0: Tag = "staging-20251231-4444444".parse().unwrap();
        let mut ev = CommitEvidence {
            certificate: Some(&cert),
            revision: Some("2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
            staging_stamps: vec![(&s1, "3333333", None), (&s0, "4444444", None)],
        };
        assert_eq!(resolve_source_commit(&d(), &ev).source, CommitSource::Certificate);
        ev.certificate = None;
        let r = resolve_source_commit(&d(), &ev);
        assert_eq!((r.sha7(), &r.source), ("2222222", &CommitSource::Revision));
        assert_eq!(r.full_commit(), Some("2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
        ev.revision = Some("not a sha");
        let r = resolve_source_commit(&d(), &ev);
        assert_eq!(
            r.source,
            CommitSource::StagingStamp(s0.clone()),
            "the oldest stamp wins"
        );
        assert_eq!(r.full_commit(), None);
        ev.staging_stamps.clear();
        let r = resolve_source_commit(&d(), &ev);
        assert_eq!((r.sha.as_str(), r.is_derived()), ("abababa", true));
        assert_eq!(r.source.to_string(), "derived from digest, commit unknown");
    }
}
