//! Tag names that must never collide: what builds write against what prod owns, and templates
//! against each other.

use super::{PolicyError, TagPolicy, err};
use crate::template::{TagTemplate, TemplateValues};

/// Returns a sample tag rendered from `t`, for collision checks.
fn sample(t: &TagTemplate) -> String {
    t.render(&TemplateValues {
        date: Some("20260101"),
        time: Some("000000"),
        sha7: Some("0000000"),
        target_suffix: Some("20260101-0000000"),
        version: Some("0.0.0"),
    })
    .map(|t| t.as_str().to_owned())
    .unwrap_or_default()
}

/// Checks that tags written by builds (publish) can never be prod-owned names, and that the
/// templates recognise disjoint sets of names.
pub(super) fn check_collisions(t: &TagPolicy) -> Result<(), PolicyError> {
    let publish_written = std::iter::once(("tags.staging".to_owned(), t.staging.as_str().to_owned()))
        .chain(
            t.publish_aliases
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("tags.publish_aliases[{i}]"), a.as_str().to_owned())),
        )
        .chain(
            t.staging_stamp
                .iter()
                .map(|s| ("tags.staging_stamp".to_owned(), sample(s))),
        );
    for (field, name) in publish_written {
        if t.is_prod_owned(&name) {
            return Err(err(
                field,
                format!(
                    "{name:?} is written by publish but is also a prod-owned name (prod, alias, stamp or audit tag)"
                ),
            ));
        }
    }
    for (i, a) in t.prod_aliases.iter().enumerate() {
        if a == &t.prod {
            return Err(err(format!("tags.prod_aliases[{i}]"), "repeats tags.prod"));
        }
    }
    let templates: Vec<(&str, &TagTemplate)> = [
        ("tags.staging_stamp", t.staging_stamp.as_ref()),
        ("tags.prod_stamp", t.prod_stamp.as_ref()),
        ("tags.rollback_audit", Some(&t.rollback_audit)),
        ("tags.version", Some(&t.version)),
    ]
    .into_iter()
    .filter_map(|(f, t)| t.map(|t| (f, t)))
    .collect();
    for (fa, a) in &templates {
        let s = sample(a);
        for (fb, b) in &templates {
            if fa != fb && b.matches(&s).is_some() {
                return Err(err(
                    *fa,
                    format!("its names (e.g. {s:?}) also match `{fb}` ({b}); templates must not overlap"),
                ));
            }
        }
        for literal in std::iter::once(&t.staging)
            .chain(&t.prod_aliases)
            .chain(&t.publish_aliases)
            .chain([&t.prod])
        {
            if a.matches(literal.as_str()).is_some() {
                return Err(err(*fa, format!("matches the channel or alias {literal:?}")));
            }
        }
    }
    Ok(())
}
