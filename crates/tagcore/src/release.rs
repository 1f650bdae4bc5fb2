//! Release notes of the audit trail (docs/behaviour.md#audit-trail), rendered as markdown.

use std::fmt::Write as _;

use crate::plan::ImagePlan;
use crate::source::SourceCommit;

/// What the notes describe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotesInput<'a> {
    pub(crate) heading: &'a str,
    pub(crate) images: &'a [ImagePlan],
    pub(crate) source: &'a str,
    pub(crate) commit: Option<&'a SourceCommit>,
}

/// Returns the markdown notes: images, digests, previous digests, source, commit (with how it
/// was found), verified identity, and the transparency-log search link.
pub(crate) fn render_notes(n: &NotesInput<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## {}\n", n.heading);
    let _ = writeln!(s, "| image | digest | previous digest |\n|---|---|---|");
    for i in n.images {
        let prev = i
            .previous_digest
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), |d| format!("`{d}`"));
        let _ = writeln!(s, "| `{}` | `{}` | {prev} |", i.repository, i.digest);
    }
    let _ = writeln!(s, "\n- Source: {}", n.source);
    match n.commit {
        Some(c) if c.is_derived() => {
            let _ = writeln!(
                s,
                "- Source commit: **unknown** (`{}` derived from digest, commit unknown)",
                c.sha
            );
        }
        Some(c) => {
            let _ = writeln!(s, "- Source commit: `{}` (from {})", c.sha, c.source);
        }
        None => {}
    }
    for i in n.images {
        match &i.verification {
            Some(v) => {
                let who = match (&v.identity, &v.issuer, &v.key) {
                    (Some(id), Some(iss), _) => format!("{id} (issuer {iss})"),
                    (Some(id), None, _) => id.clone(),
                    (None, _, Some(k)) => format!("public key {k}"),
                    _ => "signature accepted".to_owned(),
                };
                let _ = writeln!(s, "- Verified `{}`: {who}", i.repository);
            }
            None => {
                let _ = writeln!(
                    s,
                    "- `{}`: signature not verified (verification off for this image)",
                    i.repository
                );
            }
        }
        let _ = writeln!(
            s,
            "- Transparency log: https://search.sigstore.dev/?hash={}",
            i.digest
        );
    }
    s
}
