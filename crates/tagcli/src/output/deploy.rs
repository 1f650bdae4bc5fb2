//! The reports of `resolve` and `prune`: text, one JSON object, and `GITHUB_OUTPUT` lines.

use std::fmt::Write as _;

use registry_hub::sanitize::printable;
use tagcore::engine::{ImagePrune, PruneReport, ResolveReport};
use tagcore::outcome::Failure;
use tagcore::retention::DeleteMode;

use super::actions::{line, ref_key};
use super::short;

/// Returns `resolve`'s text: one pinned reference per line, none for a refused image.
pub(crate) fn resolve_text(r: &ResolveReport) -> String {
    r.images
        .iter()
        .filter_map(|i| i.reference.as_ref())
        .map(|reference| format!("{reference}\n"))
        .collect()
}

/// Returns `resolve`'s `GITHUB_OUTPUT` lines: `result`, and `ref_<image>` per image (empty for
/// a refused one).
pub(crate) fn resolve_outputs(r: &ResolveReport) -> String {
    let mut s = line("result", Some(if r.complete() { "done" } else { "refused" }));
    for i in &r.images {
        s += &line(&ref_key(i.repository.path()), i.reference.as_deref());
    }
    s
}

fn mode_name(m: Option<DeleteMode>) -> &'static str {
    match m {
        Some(DeleteMode::ByTag) => "deletes by tag",
        Some(DeleteMode::ByDigest) => "deletes by digest",
        None => "cannot delete",
    }
}

/// Returns `prune`'s result: `planned` (dry run), `done`, `partial` or `refused`.
pub(crate) fn prune_result(r: &PruneReport) -> &'static str {
    match crate::exit::of_prune(r) {
        _ if !r.applied => "planned",
        crate::exit::OK => "done",
        crate::exit::PARTIAL => "partial",
        _ => "refused",
    }
}

/// Returns the status of a planned deletion: `planned`, `deleted`, `failed` or `not_attempted`.
pub(super) fn delete_status<'a>(
    img: &'a ImagePrune,
    applied: bool,
    tag: &str,
) -> (&'static str, Option<&'a Failure>) {
    if !applied {
        return ("planned", None);
    }
    if img.deleted.iter().any(|t| t.as_str() == tag) {
        return ("deleted", None);
    }
    match img.failed.iter().find(|(t, _)| t.as_str() == tag) {
        Some((_, e)) => ("failed", Some(e)),
        None => ("not_attempted", None),
    }
}

/// Returns `prune`'s text: per image, what is (or would be) deleted and why the rest is kept.
pub(crate) fn prune_text(r: &PruneReport) -> String {
    let planned: usize = r.images.iter().map(|i| i.plan.delete.len()).sum();
    let kept: usize = r.images.iter().map(|i| i.plan.keep.len()).sum();
    let deleted: usize = r.images.iter().map(|i| i.deleted.len()).sum();
    let mut s = if r.applied {
        format!(
            "prune {}: {deleted} of {planned} tag(s) deleted, {kept} kept ({})\n",
            r.unit,
            prune_result(r)
        )
    } else {
        format!(
            "prune {} (dry run; --apply deletes): {planned} tag(s) would be deleted, {kept} kept\n",
            r.unit
        )
    };
    for img in &r.images {
        let _ = writeln!(s, "  {} ({})", img.repository, mode_name(img.mode));
        for v in &img.plan.delete {
            let (status, error) = delete_status(img, r.applied, v.tag.as_str());
            let word = if r.applied { status } else { "would delete" };
            let _ = write!(s, "    {word:<13} {} {}: {}", v.tag, short(&v.digest), v.reason);
            if let Some(e) = error {
                let _ = write!(s, " — {}", printable(&e.message));
            }
            s.push('\n');
        }
        for v in &img.plan.keep {
            let _ = writeln!(
                s,
                "    {:<13} {} {}: {}",
                "keep",
                v.tag,
                short(&v.digest),
                v.reason
            );
        }
    }
    s
}

/// Returns `prune`'s `GITHUB_OUTPUT` lines: `result` and the number of tags `deleted`.
pub(crate) fn prune_outputs(r: &PruneReport) -> String {
    let deleted: usize = r.images.iter().map(|i| i.deleted.len()).sum();
    line("result", Some(prune_result(r))) + &line("deleted", Some(&deleted.to_string()))
}
