//! Tag templates: every placeholder rendered and recognised, and what a template says about itself.

use tagcore::template::{Placeholder, TagTemplate, TemplateError, TemplateValues};

fn t(raw: &str) -> TagTemplate {
    TagTemplate::parse(raw).expect("a template")
}

#[test]
fn every_placeholder_renders_its_value_and_is_read_back() {
    let tpl = t("x{date}.{time}.{sha7}.{target_suffix}.{version}");
    let values = TemplateValues {
        date: Some("20260624"),
        time: Some("104152"),
        sha7: Some("970361d"),
        target_suffix: Some("from-a_b"),
        version: Some("1.2.3-rc.1"),
    };
    let tag = tpl.render(&values).expect("rendered");
    assert_eq!(tag.as_str(), "x20260624.104152.970361d.from-a_b.1.2.3-rc.1");
    let m = tpl.matches(tag.as_str()).expect("its own tag");
    assert_eq!(m.date.as_deref(), Some("20260624"));
    assert_eq!(m.time.as_deref(), Some("104152"));
    assert_eq!(m.sha7.as_deref(), Some("970361d"));
    assert_eq!(m.target_suffix.as_deref(), Some("from-a_b"));
    assert_eq!(m.version.as_deref(), Some("1.2.3-rc.1"));
    for (name, missing) in [
        (
            "date",
            TemplateValues {
                date: None,
                ..values.clone()
            },
        ),
        (
            "time",
            TemplateValues {
                time: None,
                ..values.clone()
            },
        ),
        (
            "sha7",
            TemplateValues {
                sha7: None,
                ..values.clone()
            },
        ),
        (
            "target_suffix",
            TemplateValues {
                target_suffix: None,
                ..values.clone()
            },
        ),
        (
            "version",
            TemplateValues {
                version: None,
                ..values.clone()
            },
        ),
    ] {
        assert_eq!(
            tpl.render(&missing),
            Err(TemplateError::Missing {
                template: tpl.as_str().to_owned(),
                name,
            }),
            "{name}"
        );
    }
}

#[test]
fn a_rendered_value_that_breaks_the_tag_grammar_is_refused() {
    let tpl = t("v{version}");
    let err = tpl
        .render(&TemplateValues {
            version: Some("1.2 3"),
            ..Default::default()
        })
        .expect_err("a space");
    assert!(matches!(err, TemplateError::Rendered { .. }), "{err:?}");
}

#[test]
fn a_template_knows_its_placeholders_and_its_literal_prefix() {
    let stamp = t("prod-{date}-{sha7}");
    assert!(stamp.has(Placeholder::Date) && stamp.has(Placeholder::Sha7));
    assert!(!stamp.has(Placeholder::Time) && !stamp.has(Placeholder::Version));
    assert_eq!(stamp.literal_prefix(), "prod-");
    let literal = t("prod");
    assert_eq!(literal.literal_prefix(), "prod");
    assert_eq!(literal.regex(), "^prod$");
    let version = t("{version}-x");
    assert_eq!(version.literal_prefix(), "");
    assert_eq!(version.as_str(), "{version}-x");
    assert_eq!(version.to_string(), "{version}-x");
    assert_eq!(format!("{version:?}"), "TagTemplate({version}-x)");
    assert_eq!(t("a{date}"), t("a{date}"));
    assert_ne!(t("a{date}"), t("a{time}"));
}

#[test]
fn placeholders_match_only_their_own_shapes() {
    assert!(t("{date}").matches("2026062").is_none());
    assert!(t("{date}").matches("202606244").is_none());
    assert!(t("{time}").matches("10415").is_none());
    assert!(t("{sha7}").matches("970361D").is_none());
    assert!(t("{version}").matches("1.2").is_none());
    assert!(t("{target_suffix}").matches("-x").is_none());
    assert!(t("a.b").matches("axb").is_none(), "literals are escaped");
}

#[test]
fn braces_must_pair_and_name_a_known_placeholder() {
    let unbalanced = |raw: &str| TemplateError::Unbalanced {
        template: raw.to_owned(),
    };
    assert_eq!(TagTemplate::parse("prod-}x"), Err(unbalanced("prod-}x")));
    assert_eq!(TagTemplate::parse("}"), Err(unbalanced("}")));
    assert_eq!(TagTemplate::parse("{date"), Err(unbalanced("{date")));
    assert_eq!(
        TagTemplate::parse("p{}"),
        Err(TemplateError::UnknownPlaceholder {
            template: "p{}".into(),
            name: String::new()
        })
    );
    assert!(matches!(
        TagTemplate::parse("-{date}"),
        Err(TemplateError::Literal { .. })
    ));
    assert!(matches!(
        TagTemplate::parse(""),
        Err(TemplateError::Literal { .. })
    ));
    assert!(TagTemplate::parse("{date}{time}").is_ok());
}
