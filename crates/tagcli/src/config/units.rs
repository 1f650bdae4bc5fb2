//! The parsed document with its spans: unit selection, shared tables, and the two-way map
//! between a field path (`units.web.image[0].verify`) and its place in the file.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A dotted field path, e.g. `image[1].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub(crate) Vec<Seg>);

impl FieldPath {
    /// Parses `tags.prod_aliases[0]` into segments. Keys are the characters between `.`, `[`
    /// and `]`; an index that is not a number is kept as a key.
    pub(crate) fn parse(s: &str) -> Self {
        let mut segs = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let mut pieces = part.split('[');
            if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
                segs.push(Seg::Key(key.to_owned()));
            }
            for idx in pieces {
                let idx = idx.trim_end_matches(']');
                segs.push(match idx.parse() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => Seg::Key(idx.to_owned()),
                });
            }
        }
        Self(segs)
    }

    /// Returns the path with `key` appended.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_owned()));
        p
    }

    /// Returns the path with `index` appended.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }

    /// Returns the path with `[]` for every index, to compare with a pattern.
    pub(crate) fn pattern(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(_) => out.push_str("[]"),
            }
        }
        out
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One unit of the document, with spans into the file's text.
#[derive(Clone)]
pub(crate) struct UnitTable<'i> {
    /// The unit's name (key or file stem).
    pub(crate) name: String,
    /// The unit's table with shared tables merged in.
    pub(crate) table: Spanned<DeTable<'i>>,
    /// Where the unit's own fields live (`units.<name>`, or the top level).
    pub(crate) prefix: FieldPath,
    /// Keys merged in from the top level (their path has no prefix).
    pub(crate) shared: Vec<String>,
}

impl UnitTable<'_> {
    /// Returns the file path of a unit-relative field.
    pub(crate) fn file_path(&self, field: &FieldPath) -> FieldPath {
        match field.0.first() {
            Some(Seg::Key(k)) if self.shared.contains(k) => field.clone(),
            _ => {
                let mut p = self.prefix.clone();
                p.0.extend(field.0.iter().cloned());
                p
            }
        }
    }

    /// Returns the span of a unit-relative field: the value's when present, else the nearest
    /// enclosing table's.
    pub(crate) fn span_of(&self, field: &FieldPath) -> Range<usize> {
        let mut span = self.table.span();
        let mut node: Option<&DeValue<'_>> = None;
        let mut table = Some(self.table.get_ref());
        for seg in &field.0 {
            let next = match (seg, table, node) {
                (Seg::Key(k), Some(t), _) => t.get(k.as_str()),
                (Seg::Index(i), _, Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            span = next.span();
            node = Some(next.get_ref());
            table = match next.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        span
    }
}

/// What went wrong selecting a unit: a message, and the span it concerns when known.
pub(crate) type SelectError = (Option<Range<usize>>, String);

/// Returns the unit named `unit` (or the only one), with the top-level shared tables merged in.
pub(crate) fn select<'i>(
    mut doc: Spanned<DeTable<'i>>,
    unit: Option<&str>,
    stem: &str,
) -> Result<UnitTable<'i>, SelectError> {
    let Some(units) = doc.get_mut().remove("units") else {
        return match unit {
            Some(u) if u != stem => Err((
                None,
                format!("--unit {u}: this file holds one unit ({stem}), not several"),
            )),
            _ => Ok(UnitTable {
                name: stem.to_owned(),
                table: doc,
                prefix: FieldPath::default(),
                shared: Vec::new(),
            }),
        };
    };
    let units_span = units.span();
    let DeValue::Table(mut units) = units.into_inner() else {
        return Err((Some(units_span), "`units` must be a table of units".into()));
    };
    let names: Vec<String> = units.keys().map(|k| k.get_ref().to_string()).collect();
    let name = match (unit, names.as_slice()) {
        (Some(u), _) => u.to_owned(),
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err((
                None,
                format!(
                    "the file holds several units ({}); pass --unit NAME",
                    names.join(", ")
                ),
            ));
        }
    };
    let Some(value) = units.remove(name.as_str()) else {
        return Err((
            None,
            format!("no unit {name:?} in the file; it has {}", names.join(", ")),
        ));
    };
    let span = value.span();
    let DeValue::Table(mut table) = value.into_inner() else {
        return Err((Some(span), format!("`units.{name}` must be a table")));
    };
    // Shared tables apply unless the unit has its own.
    let mut shared = Vec::new();
    for key in ["registry", "release", "dispatch"] {
        if !table.contains_key(key)
            && let Some((k, v)) = doc.get_mut().remove_entry(key)
        {
            shared.push(key.to_owned());
            table.insert(k, v);
        }
    }
    Ok(UnitTable {
        prefix: FieldPath(vec![Seg::Key("units".into()), Seg::Key(name.clone())]),
        name,
        table: Spanned::new(span, table),
        shared,
    })
}

/// Returns the path of the deepest field whose key or value contains byte `at`. Tables and
/// arrays are searched whole, since a table's own span may cover only its header.
pub(crate) fn path_at(table: &DeTable<'_>, at: usize) -> FieldPath {
    let mut path = FieldPath::default();
    find_in_table(table, at, &mut path);
    path
}

fn find_in_table(table: &DeTable<'_>, at: usize, path: &mut FieldPath) -> bool {
    for (k, v) in table {
        path.0.push(Seg::Key(k.get_ref().to_string()));
        if find_in_value(v, at, path) || contains(&k.span(), at) {
            return true;
        }
        path.0.pop();
    }
    false
}

fn find_in_value(v: &Spanned<DeValue<'_>>, at: usize, path: &mut FieldPath) -> bool {
    let inner = match v.get_ref() {
        DeValue::Table(t) => find_in_table(t, at, path),
        DeValue::Array(a) => a.iter().enumerate().any(|(i, item)| {
            path.0.push(Seg::Index(i));
            let found = find_in_value(item, at, path);
            if !found {
                path.0.pop();
            }
            found
        }),
        _ => false,
    };
    inner || contains(&v.span(), at)
}

fn contains(span: &Range<usize>, at: usize) -> bool {
    span.start <= at && at < span.end.max(span.start + 1)
}

/// Calls `f` with the path and span of every string value under `table`.
pub(crate) fn each_string<'a>(
    table: &'a DeTable<'_>,
    path: &FieldPath,
    f: &mut dyn FnMut(&FieldPath, &'a str, Range<usize>),
) {
    for (k, v) in table {
        each_value(v, &path.key(k.get_ref()), f);
    }
}

fn each_value<'a>(
    v: &'a Spanned<DeValue<'_>>,
    path: &FieldPath,
    f: &mut dyn FnMut(&FieldPath, &'a str, Range<usize>),
) {
    match v.get_ref() {
        DeValue::String(s) => f(path, s.as_ref(), v.span()),
        DeValue::Table(t) => each_string(t, path, f),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                each_value(item, &path.index(i), f);
            }
        }
        _ => {}
    }
}

/// Returns the 1-based line and column of byte `at` of `text`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}
