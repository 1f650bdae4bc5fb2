//! Deploy dispatch targets: when each fires and the payload it carries.

use std::collections::BTreeMap;

use super::lists::Operations;
use super::{DispatchSpec, PolicyError, StepMode, err};
use crate::{Digest, DispatchRequest, OperationKind};

/// A value a payload template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Operation,
    Unit,
    Digest,
    Tag,
    Channel,
    Commit,
}

const VARS: &[(&str, Var)] = &[
    ("operation", Var::Operation),
    ("unit", Var::Unit),
    ("digest", Var::Digest),
    ("tag", Var::Tag),
    ("channel", Var::Channel),
    ("commit", Var::Commit),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A payload value: text with `{operation}`, `{unit}`, `{digest}`, `{tag}`, `{channel}` and
/// `{commit}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadTemplate {
    source: String,
    parts: Vec<Part>,
}

impl PayloadTemplate {
    /// Parses `s`, refusing unknown placeholders and unbalanced braces.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("{s:?} has a `}}` without a `{{`"));
            }
            let Some(len) = rest[open..].find('}') else {
                return Err(format!("{s:?} has a `{{` without a `}}`"));
            };
            let name = &rest[open + 1..open + len];
            let var = VARS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).ok_or_else(|| {
                format!(
                    "{{{name}}} is not a placeholder; expected one of {{operation}}, {{unit}}, {{digest}}, {{tag}}, {{channel}}, {{commit}}"
                )
            })?;
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            parts.push(Part::Var(var));
            rest = &rest[open + len + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self {
            source: s.to_owned(),
            parts,
        })
    }

    /// Returns the template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    fn render(&self, v: &DispatchValues<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(Var::Operation) => out.push_str(&v.operation.to_string()),
                Part::Var(Var::Unit) => out.push_str(v.unit),
                Part::Var(Var::Digest) => out.push_str(&v.digest.to_string()),
                Part::Var(Var::Tag) => out.push_str(v.tag.unwrap_or_default()),
                Part::Var(Var::Channel) => out.push_str(v.channel),
                Part::Var(Var::Commit) => out.push_str(v.commit.unwrap_or_default()),
            }
        }
        out
    }
}

/// One validated dispatch target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchTarget {
    /// What it triggers, for messages.
    pub target: String,
    /// Operations after which it fires.
    pub after: Vec<OperationKind>,
    /// Best-effort or required.
    pub mode: StepMode,
    /// The payload (key, template); `None` sends none.
    pub payload: Option<Vec<(String, PayloadTemplate)>>,
}

/// The values a dispatch payload is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct DispatchValues<'a> {
    /// The operation that ran.
    pub operation: OperationKind,
    /// The unit.
    pub unit: &'a str,
    /// The primary image's digest.
    pub digest: &'a Digest,
    /// The stamp, audit or version tag of the run.
    pub tag: Option<&'a str>,
    /// The channel the operation moves.
    pub channel: &'a str,
    /// The source commit, when known.
    pub commit: Option<&'a str>,
}

/// Returns the dispatch requests of every target that fires after `values.operation`.
pub fn requests(targets: &[DispatchTarget], values: &DispatchValues<'_>) -> Vec<DispatchRequest> {
    targets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.after.contains(&values.operation))
        .map(|(i, t)| DispatchRequest {
            target: i,
            name: t.target.clone(),
            operation: values.operation.to_string(),
            unit: values.unit.to_owned(),
            channel: values.channel.to_owned(),
            digest: values.digest.clone(),
            tag: values.tag.map(str::to_owned),
            payload: t.payload.as_ref().map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), v.render(values)))
                    .collect::<BTreeMap<_, _>>()
            }),
        })
        .collect()
}

/// The operations a dispatch target may fire after: the ones that move a channel.
const AFTER: Operations<'static> = Operations {
    allowed: &[
        OperationKind::Publish,
        OperationKind::Promote,
        OperationKind::Rollback,
    ],
    what: "an operation that moves a channel",
    expected: "publish, promote or rollback",
};

/// Returns the validated targets of `specs`, naming the field of the first problem.
pub(super) fn targets(specs: &[DispatchSpec]) -> Result<Vec<DispatchTarget>, PolicyError> {
    let mut out = Vec::new();
    for (i, d) in specs.iter().enumerate() {
        let after = AFTER.parse(&format!("dispatch[{i}].after"), &d.after)?;
        if after.is_empty() {
            return Err(err(
                format!("dispatch[{i}].after"),
                "needs at least one of publish, promote, rollback",
            ));
        }
        if d.mode == StepMode::Off {
            return Err(err(
                format!("dispatch[{i}].mode"),
                "must be required or best-effort; remove the target to turn it off",
            ));
        }
        let payload = match &d.payload {
            None => None,
            Some(p) => Some(payload(i, d, p)?),
        };
        out.push(DispatchTarget {
            target: d.target.clone(),
            after,
            mode: d.mode,
            payload,
        });
    }
    Ok(out)
}

fn payload(
    i: usize,
    d: &DispatchSpec,
    p: &BTreeMap<String, String>,
) -> Result<Vec<(String, PayloadTemplate)>, PolicyError> {
    let field = format!("dispatch[{i}].{}", d.payload_field);
    if p.len() > d.payload_max_keys {
        return Err(err(
            field,
            format!(
                "has {} keys; GitHub accepts at most {}",
                p.len(),
                d.payload_max_keys
            ),
        ));
    }
    p.iter()
        .map(|(k, v)| {
            PayloadTemplate::parse(v)
                .map(|t| (k.clone(), t))
                .map_err(|m| err(format!("{field}.{k}"), m))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_placeholders_and_refuses_others() {
        let t = PayloadTemplate::parse("{unit}@{digest} ({tag}, {channel}, {commit}, {operation})").unwrap();
        let digest: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let v = DispatchValues {
            operation: OperationKind::Rollback,
            unit: "u",
            digest: &digest,
            tag: None,
            channel: "prod",
            commit: Some("abc"),
        };
        assert_eq!(t.render(&v), format!("u@{digest} (, prod, abc, rollback)"));
        assert!(
            PayloadTemplate::parse("{sha7}")
                .unwrap_err()
                .contains("not a placeholder")
        );
        assert!(PayloadTemplate::parse("{unit").is_err());
        assert!(PayloadTemplate::parse("unit}").is_err());
        assert_eq!(PayloadTemplate::parse("plain").unwrap().render(&v), "plain");
    }

    fn spec(after: &[&str]) -> DispatchSpec {
        DispatchSpec {
            target: "t".into(),
            after: after.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn validates_after_payload_size_and_placeholders() {
        assert_eq!(
            targets(&[spec(&["retag"])]).unwrap_err().field,
            "dispatch[0].after[0]"
        );
        assert_eq!(targets(&[spec(&[])]).unwrap_err().field, "dispatch[0].after");
        let mut s = spec(&["publish"]);
        s.payload_field = "client_payload".into();
        s.payload = Some((0..11).map(|i| (format!("k{i}"), "v".into())).collect());
        let e = targets(&[spec(&["rollback"]), s.clone()]).unwrap_err();
        assert_eq!(e.field, "dispatch[1].client_payload");
        s.payload = Some([("image".to_owned(), "{repo}".to_owned())].into());
        assert_eq!(
            targets(&[s]).unwrap_err().field,
            "dispatch[0].client_payload.image"
        );
    }
}
