//! GitHub Actions: the `GITHUB_OUTPUT` keys, the step summary and workflow-command annotations.

use std::fmt::Write as _;
use std::path::Path;

use tagcore::OperationKind;
use tagcore::outcome::{Outcome, RunResult, TagStatus};
use tagcore::plan::TagKind;

use super::short;

/// Returns the `result` output of a run: `done`, `noop`, `partial`, `refused` or `planned`.
pub(crate) fn result_output(r: &RunResult) -> &'static str {
    match r {
        RunResult::Done => "done",
        RunResult::NoOp => "noop",
        RunResult::DryRun => "planned",
        RunResult::FailedBeforeWrite(_) => "refused",
        RunResult::Partial(_) => "partial",
    }
}

/// Returns the output key of an image's digest: `digest_` and the image's name (the last
/// segment of its repository path) with every character but ASCII letters and digits as `_`.
pub(crate) fn digest_key(repository_path: &str) -> String {
    let name = repository_path.rsplit('/').next().unwrap_or(repository_path);
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("digest_{name}")
}

/// Returns the output key of an image's pinned reference (`resolve`): `ref_` and the image's
/// name, spelt as in [`digest_key`].
pub(crate) fn ref_key(repository_path: &str) -> String {
    format!("ref_{}", &digest_key(repository_path)["digest_".len()..])
}

/// Returns the stamp that holds the primary image's digest after the run: a stamp written or
/// found in place, never one that failed, was not attempted, or is only planned.
fn stamp_holding_digest(o: &Outcome) -> Option<String> {
    let p = &o.plan;
    let stamp = p.stamp.as_ref()?;
    let primary = p.images.first()?;
    o.tags
        .iter()
        .find(|t| t.repository == primary.repository && t.tag == *stamp)
        .filter(|t| {
            t.to == primary.digest
                && matches!(
                    t.status,
                    TagStatus::Created | TagStatus::Moved | TagStatus::Unchanged
                )
        })
        .map(|t| t.tag.to_string())
}

/// Returns one `key=value` line; a value holding a line break (which could start another key)
/// is written empty.
pub(super) fn line(key: &str, value: Option<&str>) -> String {
    let value = value.filter(|v| !v.contains(['\n', '\r'])).unwrap_or("");
    format!("{key}={value}\n")
}

/// Returns the `GITHUB_OUTPUT` lines of an outcome (also of a dry run: a workflow can plan,
/// get an approval, then promote exactly the planned digest with `--expect-digest`).
pub(crate) fn github_outputs(o: &Outcome) -> String {
    let p = &o.plan;
    let primary = p.images.first();
    let rollback = p.operation == OperationKind::Rollback;
    let moved = o.moved().any(|t| t.kind == TagKind::Moving);
    let mut s = String::new();
    s += &line("result", Some(result_output(&o.result)));
    s += &line("moved", Some(if moved { "true" } else { "false" }));
    s += &line("digest", primary.map(|i| i.digest.as_str()));
    s += &line(
        "previous_digest",
        primary
            .and_then(|i| i.previous_digest.as_ref())
            .map(|d| d.as_str()),
    );
    let stamped = if rollback { None } else { stamp_holding_digest(o) };
    s += &line("stamped_tag", stamped.as_deref());
    s += &line("target_tag", p.target.as_ref().map(|t| t.as_str()));
    s += &line(
        "audit_tag",
        p.stamp.as_ref().filter(|_| rollback).map(|t| t.as_str()),
    );
    s += &line("short_sha", p.source_commit.as_ref().map(|c| c.sha7()));
    s += &line("release_url", o.release.as_ref().and_then(|r| r.url.as_deref()));
    for img in &p.images {
        s += &line(&digest_key(img.repository.path()), Some(img.digest.as_str()));
    }
    s
}

/// Returns the `GITHUB_OUTPUT` lines of an operation refused before it had an outcome.
pub(crate) fn refused_outputs() -> String {
    line("result", Some("refused")) + &line("moved", Some("false"))
}

/// Returns the markdown step summary of an outcome.
pub(crate) fn github_summary(o: &Outcome) -> String {
    let p = &o.plan;
    let mut s = format!(
        "### tagcli {} `{}`: {}\n\n",
        p.operation,
        p.unit,
        result_output(&o.result)
    );
    if o.result == RunResult::DryRun {
        s += "Dry run: nothing was written.\n\n";
    }
    s += "| image | tag | from | to | status |\n|---|---|---|---|---|\n";
    for t in &o.tags {
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | `{}` | {} |",
            t.repository,
            t.tag,
            t.from
                .as_ref()
                .map_or_else(|| "(absent)".to_owned(), |d| format!("`{}`", short(d))),
            short(&t.to),
            t.status.as_str()
        );
    }
    if let Some(c) = &p.source_commit {
        let _ = writeln!(s, "\nSource commit: `{}` ({})", c.sha, c.source);
    }
    if let Some(r) = &o.release {
        match r.url.as_deref().filter(|u| !u.contains(['\n', '\r', ')'])) {
            Some(url) => {
                let _ = writeln!(s, "\nRelease: [{}]({url})", r.tag);
            }
            None => {
                let _ = writeln!(s, "\nRelease: `{}` ({})", r.tag, r.status.as_str());
            }
        }
    }
    for w in &o.warnings {
        let _ = writeln!(s, "\n> ⚠️ {w}");
    }
    s
}

/// Escapes the message of a workflow command as the runner expects.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property (`file=…`) of a workflow command as the runner expects.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Returns a GitHub Actions annotation line, with the message escaped as the runner expects.
pub(crate) fn annotation(level: &str, message: &str) -> String {
    format!("::{level}::{}\n", escape_data(message))
}

/// Returns an annotation that points at a line of a file (a policy error), so that GitHub shows
/// it on that line of the policy file.
pub(crate) fn file_annotation(level: &str, file: &Path, at: Option<(usize, usize)>, message: &str) -> String {
    let mut props = format!("file={}", escape_property(&file.to_string_lossy()));
    if let Some((line, col)) = at {
        let _ = write!(props, ",line={line},col={col}");
    }
    format!(
        "::{level} {props},title=tagcli policy::{}\n",
        escape_data(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_replace_every_non_alphanumeric() {
        assert_eq!(
            digest_key("nearai/compose-manager-launcher"),
            "digest_compose_manager_launcher"
        );
        assert_eq!(digest_key("private-chat"), "digest_private_chat");
        assert_eq!(digest_key("team/app.v2"), "digest_app_v2");
    }

    #[test]
    fn a_value_with_a_line_break_cannot_add_a_key() {
        assert_eq!(
            line("release_url", Some("https://x\nmoved=true")),
            "release_url=\n"
        );
        assert_eq!(line("digest", None), "digest=\n");
    }

    #[test]
    fn file_annotations_escape_properties_and_message() {
        assert_eq!(
            file_annotation(
                "error",
                Path::new(".github/a,b:c.toml"),
                Some((12, 10)),
                "image[0].verify: invalid type\n100%"
            ),
            "::error file=.github/a%2Cb%3Ac.toml,line=12,col=10,title=tagcli policy::image[0].verify: invalid type%0A100%25\n"
        );
        assert_eq!(
            file_annotation("error", Path::new("t.toml"), None, "cannot read"),
            "::error file=t.toml,title=tagcli policy::cannot read\n"
        );
    }
}
