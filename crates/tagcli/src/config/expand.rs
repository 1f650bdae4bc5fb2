//! `${VAR}` references: allowed only in fields that take secrets or names, checked when the
//! file is read, and expanded only for the sections a command uses, every missing variable
//! reported at once.

use std::ops::Range;

use toml::de::DeTable;

use super::schema::ENV_FIELDS;
use super::units::{FieldPath, each_string};

/// Returns the names of the variables `s` refers to, or why its `${…}` syntax is wrong.
pub(super) fn references(s: &str) -> Result<Vec<&str>, String> {
    let mut vars = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let Some(end) = rest[i..].find('}') else {
            return Err("has a `${` without a closing `}`".into());
        };
        let var = &rest[i + 2..i + end];
        if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("`${{{var}}}` is not an environment variable name"));
        }
        vars.push(var);
        rest = &rest[i + end + 1..];
    }
    Ok(vars)
}

/// Checks every string of the unit: `${VAR}` only where [`ENV_FIELDS`] allows it, and well
/// formed there. Returns the span and message of the first problem.
pub(super) fn check(table: &DeTable<'_>) -> Result<(), (Range<usize>, String)> {
    let mut first = None;
    each_string(table, &FieldPath::default(), &mut |path, s, span| {
        if first.is_some() || !s.contains("${") {
            return;
        }
        let pattern = path.pattern();
        if !ENV_FIELDS.contains(&pattern.as_str()) {
            first = Some((
                span,
                format!(
                    "`${{…}}` is allowed only in fields that take secrets or names ({}); write this value literally",
                    ENV_FIELDS.join(", ")
                ),
            ));
        } else if let Err(m) = references(s) {
            first = Some((span, m));
        }
    });
    first.map_or(Ok(()), Err)
}

/// A variable a command needs that is not set, and the field that needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Missing {
    /// The variable, or `A or B` for a default with a fallback.
    pub(super) var: String,
    /// The unit-relative field.
    pub(super) field: FieldPath,
    /// Whether the field is left out and the variable is its default.
    pub(super) by_default: bool,
}

/// Expands `${VAR}` references from an environment, collecting every missing variable.
pub(super) struct Expander<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    /// The variables not set so far.
    pub(super) missing: Vec<Missing>,
}

impl<'a> Expander<'a> {
    /// Returns an expander over `env`.
    pub(super) fn new(env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            env,
            missing: Vec::new(),
        }
    }

    /// Returns `raw` with every `${VAR}` replaced, or `None` (noting each missing variable).
    /// The syntax was checked by [`check`].
    pub(super) fn expand(&mut self, field: &FieldPath, raw: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = raw;
        let mut complete = true;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').map_or(rest.len() - i, |e| e);
            let var = &rest[i + 2..i + end];
            match (self.env)(var) {
                Some(v) => out.push_str(&v),
                None => {
                    complete = false;
                    self.missing.push(Missing {
                        var: var.to_owned(),
                        field: field.clone(),
                        by_default: false,
                    });
                }
            }
            rest = rest.get(i + end + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        complete.then_some(out)
    }

    /// Returns the first of `vars` that is set and not empty, or `None` (noting them).
    pub(super) fn first_of(&mut self, field: &FieldPath, vars: &[&str]) -> Option<String> {
        let found = vars.iter().find_map(|v| (self.env)(v).filter(|s| !s.is_empty()));
        if found.is_none() {
            self.missing.push(Missing {
                var: vars.join(" or "),
                field: field.clone(),
                by_default: true,
            });
        }
        found
    }

    /// Returns a variable's value, when set (for defaults that are not secrets).
    pub(super) fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_parsed_and_missing_ones_all_collected() {
        assert_eq!(references("a${X}b${Y_2}").unwrap(), ["X", "Y_2"]);
        assert!(references("${X").is_err());
        assert!(references("${X-Y}").is_err());
        let env = |n: &str| (n == "SET").then(|| "v".to_owned());
        let mut e = Expander::new(&env);
        let f = FieldPath::parse("registry.password");
        assert_eq!(e.expand(&f, "${SET}-${SET}").as_deref(), Some("v-v"));
        assert_eq!(e.expand(&f, "${A}${B}"), None);
        assert_eq!(e.first_of(&f, &["GH_TOKEN", "GITHUB_TOKEN"]), None);
        let vars: Vec<&str> = e.missing.iter().map(|m| m.var.as_str()).collect();
        assert_eq!(vars, ["A", "B", "GH_TOKEN or GITHUB_TOKEN"]);
    }
}
