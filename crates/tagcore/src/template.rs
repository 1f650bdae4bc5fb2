//! Tag templates such as `prod-{date}-{sha7}`: rendering and recognising tag names.

use std::fmt;

use regex::Regex;

use crate::{Tag, TagError};

/// A placeholder a template may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{date}`: the UTC date, `YYYYMMDD`.
    Date,
    /// `{time}`: the UTC time of day, `HHMMSS`.
    Time,
    /// `{sha7}`: the first 7 hex characters of the source commit.
    Sha7,
    /// `{target_suffix}`: a rollback target's name without the prod stamp's literal prefix.
    TargetSuffix,
    /// `{version}`: a version such as `0.2.13` (a git tag with one leading `v` stripped).
    Version,
}

impl Placeholder {
    fn name(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::Time => "time",
            Self::Sha7 => "sha7",
            Self::TargetSuffix => "target_suffix",
            Self::Version => "version",
        }
    }

    fn pattern(self) -> &'static str {
        match self {
            Self::Date => "([0-9]{8})",
            Self::Time => "([0-9]{6})",
            Self::Sha7 => "([0-9a-f]{7})",
            Self::TargetSuffix => "([A-Za-z0-9_][A-Za-z0-9._-]*)",
            Self::Version => "([0-9]+\\.[0-9]+\\.[0-9]+(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Placeholder(Placeholder),
}

/// A tag template: literal text with placeholders, e.g. `staging-{date}-{sha7}`.
#[derive(Clone)]
pub struct TagTemplate {
    raw: String,
    parts: Vec<Part>,
    regex: Regex,
}

/// Why a template is invalid or cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{…}` names no known placeholder.
    #[error(
        "template {template:?}: unknown placeholder {{{name}}}; expected date, time, sha7, target_suffix or version"
    )]
    UnknownPlaceholder {
        /// The template.
        template: String,
        /// The unknown name.
        name: String,
    },
    /// A `{` without `}` or the reverse.
    #[error("template {template:?}: unbalanced braces")]
    Unbalanced {
        /// The template.
        template: String,
    },
    /// Literal text that cannot appear in a tag.
    #[error("template {template:?}: {source}")]
    Literal {
        /// The template.
        template: String,
        /// Why the literal text is not tag text.
        source: TagError,
    },
    /// A value needed for rendering was not given.
    #[error("template {template:?} needs a value for {{{name}}}")]
    Missing {
        /// The template.
        template: String,
        /// The missing placeholder.
        name: &'static str,
    },
    /// The rendered text is not a valid tag.
    #[error("template {template:?} rendered an invalid tag: {source}")]
    Rendered {
        /// The template.
        template: String,
        /// Why the rendered text is invalid.
        source: TagError,
    },
}

/// The values placeholders are rendered from; `None` for what a template must not need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateValues<'a> {
    /// `{date}`, `YYYYMMDD`.
    pub date: Option<&'a str>,
    /// `{time}`, `HHMMSS`.
    pub time: Option<&'a str>,
    /// `{sha7}`.
    pub sha7: Option<&'a str>,
    /// `{target_suffix}`.
    pub target_suffix: Option<&'a str>,
    /// `{version}`.
    pub version: Option<&'a str>,
}

/// The placeholder values read back from a tag that matches a template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateMatch {
    /// `{date}`, if the template has it.
    pub date: Option<String>,
    /// `{time}`, if the template has it.
    pub time: Option<String>,
    /// `{sha7}`, if the template has it.
    pub sha7: Option<String>,
    /// `{target_suffix}`, if the template has it.
    pub target_suffix: Option<String>,
    /// `{version}`, if the template has it.
    pub version: Option<String>,
}

impl TagTemplate {
    /// Returns the template parsed from `raw`, checking placeholders and literal text.
    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = raw;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(TemplateError::Unbalanced {
                        template: raw.to_owned(),
                    });
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let close = rest[i..].find('}').ok_or_else(|| TemplateError::Unbalanced {
                        template: raw.to_owned(),
                    })?;
                    let name = &rest[i + 1..i + close];
                    let ph = match name {
                        "date" => Placeholder::Date,
                        "time" => Placeholder::Time,
                        "sha7" => Placeholder::Sha7,
                        "target_suffix" => Placeholder::TargetSuffix,
                        "version" => Placeholder::Version,
                        _ => {
                            return Err(TemplateError::UnknownPlaceholder {
                                template: raw.to_owned(),
                                name: name.to_owned(),
                            });
                        }
                    };
                    parts.push(Part::Placeholder(ph));
                    rest = &rest[i + close + 1..];
                }
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        // Literal text must be tag text: check it with a stand-in for each placeholder.
        let sample: String = parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.as_str(),
                Part::Placeholder(_) => "0",
            })
            .collect();
        sample.parse::<Tag>().map_err(|source| TemplateError::Literal {
            template: raw.to_owned(),
            source,
        })?;
        let mut pattern = String::from("^");
        for p in &parts {
            match p {
                Part::Literal(l) => pattern.push_str(&regex::escape(l)),
                Part::Placeholder(ph) => pattern.push_str(ph.pattern()),
            }
        }
        pattern.push('$');
        // The pattern is built from escaped literals and fixed groups, so it always compiles.
        let regex = Regex::new(&pattern).map_err(|_| TemplateError::Unbalanced {
            template: raw.to_owned(),
        })?;
        Ok(Self {
            raw: raw.to_owned(),
            parts,
            regex,
        })
    }

    /// Returns the template text as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Returns the anchored regular expression that names this template recognises.
    pub fn regex(&self) -> &str {
        self.regex.as_str()
    }

    /// Returns whether the template has `placeholder`.
    pub fn has(&self, placeholder: Placeholder) -> bool {
        self.parts.contains(&Part::Placeholder(placeholder))
    }

    /// Returns the literal text before the first placeholder (`prod-` for `prod-{date}-{sha7}`).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(l)) => l,
            _ => "",
        }
    }

    /// Returns the tag rendered from `values`.
    pub fn render(&self, values: &TemplateValues<'_>) -> Result<Tag, TemplateError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::Placeholder(ph) => {
                    let v = match ph {
                        Placeholder::Date => values.date,
                        Placeholder::Time => values.time,
                        Placeholder::Sha7 => values.sha7,
                        Placeholder::TargetSuffix => values.target_suffix,
                        Placeholder::Version => values.version,
                    };
                    out.push_str(v.ok_or(TemplateError::Missing {
                        template: self.raw.clone(),
                        name: ph.name(),
                    })?);
                }
            }
        }
        out.parse().map_err(|source| TemplateError::Rendered {
            template: self.raw.clone(),
            source,
        })
    }

    /// Returns the placeholder values of `tag` if it is a name this template produces.
    pub fn matches(&self, tag: &str) -> Option<TemplateMatch> {
        let caps = self.regex.captures(tag)?;
        let mut m = TemplateMatch::default();
        let mut i = 1;
        for p in &self.parts {
            if let Part::Placeholder(ph) = p {
                let v = caps.get(i).map(|c| c.as_str().to_owned());
                i += 1;
                match ph {
                    Placeholder::Date => m.date = v,
                    Placeholder::Time => m.time = v,
                    Placeholder::Sha7 => m.sha7 = v,
                    Placeholder::TargetSuffix => m.target_suffix = v,
                    Placeholder::Version => m.version = v,
                }
            }
        }
        Some(m)
    }
}

impl PartialEq for TagTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for TagTemplate {}

impl fmt::Debug for TagTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TagTemplate({})", self.raw)
    }
}

impl fmt::Display for TagTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_recognises_a_stamp() {
        let t = TagTemplate::parse("prod-{date}-{sha7}").unwrap();
        assert_eq!(t.regex(), "^prod\\-([0-9]{8})\\-([0-9a-f]{7})$");
        let tag = t
            .render(&TemplateValues {
                date: Some("20260624"),
                sha7: Some("970361d"),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(tag.as_str(), "prod-20260624-970361d");
        let m = t.matches("prod-20260624-970361d").unwrap();
        assert_eq!(
            (m.date.as_deref(), m.sha7.as_deref()),
            (Some("20260624"), Some("970361d"))
        );
        assert!(
            t.matches("prod-20260624-104152").is_none(),
            "legacy time stamps are not stamps"
        );
        assert!(
            t.matches("prod-rollback-20260709-104152-from-20260706-dac1007")
                .is_none()
        );
        assert_eq!(t.literal_prefix(), "prod-");
    }

    #[test]
    fn recognises_audit_tags_and_versions() {
        let t = TagTemplate::parse("prod-rollback-{date}-{time}-from-{target_suffix}").unwrap();
        let m = t
            .matches("prod-rollback-20260709-104152-from-20260706-dac1007")
            .unwrap();
        assert_eq!(m.time.as_deref(), Some("104152"));
        assert_eq!(m.target_suffix.as_deref(), Some("20260706-dac1007"));
        let v = TagTemplate::parse("{version}").unwrap();
        assert!(v.matches("0.2.13-p1").is_some());
        assert!(v.matches("v0.2.13").is_none());
        assert!(v.matches("staging").is_none());
    }

    #[test]
    fn refuses_bad_templates() {
        assert!(matches!(
            TagTemplate::parse("prod-{day}"),
            Err(TemplateError::UnknownPlaceholder { .. })
        ));
        assert!(matches!(
            TagTemplate::parse("prod-{date"),
            Err(TemplateError::Unbalanced { .. })
        ));
        assert!(matches!(
            TagTemplate::parse("prod {date}"),
            Err(TemplateError::Literal { .. })
        ));
        let t = TagTemplate::parse("prod-{date}-{sha7}").unwrap();
        assert_eq!(
            t.render(&TemplateValues::default()).unwrap_err().to_string(),
            "template \"prod-{date}-{sha7}\" needs a value for {date}"
        );
    }
}
