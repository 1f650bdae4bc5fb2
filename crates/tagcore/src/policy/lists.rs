//! List fields, each item parsed by its own type: weekdays, globs, git ref patterns, and lists
//! of distinct operations (an image's `operations`, a dispatch target's `after`).

use std::str::FromStr;

use super::{PolicyError, err};
use crate::OperationKind;

/// Returns every item of the list field `field` parsed as a `T`, or the first item `T` refuses,
/// named `field[i]` with `T`'s own message.
pub(crate) fn parse_each<T>(field: &str, items: &[String]) -> Result<Vec<T>, PolicyError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.parse()
                .map_err(|m: T::Err| err(format!("{field}[{i}]"), m.to_string()))
        })
        .collect()
}

/// A vocabulary of operations a list field may name, and how an error describes it.
pub(super) struct Operations<'a> {
    /// The operations the field accepts.
    pub(super) allowed: &'a [OperationKind],
    /// What an unknown name is not, e.g. "an operation that moves a channel".
    pub(super) what: &'a str,
    /// The accepted names, spelled out for the error, e.g. "publish, promote or rollback".
    pub(super) expected: &'a str,
}

impl Operations<'_> {
    /// Returns the distinct operations the list field `field` names, in order, or the first
    /// name that is unknown or listed twice. An empty list is the caller's to judge.
    pub(super) fn parse(&self, field: &str, items: &[String]) -> Result<Vec<OperationKind>, PolicyError> {
        let mut out = Vec::new();
        for (j, op) in items.iter().enumerate() {
            let item = format!("{field}[{j}]");
            let kind = self
                .allowed
                .iter()
                .copied()
                .find(|k| k.to_string() == *op)
                .ok_or_else(|| {
                    err(
                        &item,
                        format!("{op:?} is not {}; expected {}", self.what, self.expected),
                    )
                })?;
            if out.contains(&kind) {
                return Err(err(item, format!("{op:?} is listed twice")));
            }
            out.push(kind);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Weekday;
    use crate::policy::Glob;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn names_the_first_bad_item() {
        let days: Vec<Weekday> = parse_each("publish.freeze_weekdays", &strings(&["sat", "Sunday"])).unwrap();
        assert_eq!(days, [Weekday::Sat, Weekday::Sun]);
        let e = parse_each::<Weekday>("publish.freeze_weekdays", &strings(&["sat", "someday"])).unwrap_err();
        assert_eq!(e.field, "publish.freeze_weekdays[1]");
        let e = parse_each::<Glob>("tags.protected", &strings(&["prod-*", "a?"])).unwrap_err();
        assert_eq!(e.field, "tags.protected[1]");
    }

    #[test]
    fn operations_are_known_and_distinct() {
        let ops = Operations {
            allowed: &[OperationKind::Publish, OperationKind::Promote],
            what: "an operation here",
            expected: "publish or promote",
        };
        assert_eq!(
            ops.parse("after", &strings(&["promote", "publish"])).unwrap(),
            [OperationKind::Promote, OperationKind::Publish]
        );
        let e = ops.parse("after", &strings(&["promote", "retag"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "policy field `after[1]`: \"retag\" is not an operation here; expected publish or promote"
        );
        let e = ops.parse("after", &strings(&["promote", "promote"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "policy field `after[1]`: \"promote\" is listed twice"
        );
        assert!(ops.parse("after", &[]).unwrap().is_empty());
    }
}
