use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "DOCKER_REGISTRY_USER" => Some("nearai".into()),
        "DOCKER_REGISTRY_TOKEN" | "GITHUB_TOKEN" | "REPOSITORY_DISPATCH_TOKEN" => {
            Some(format!("secret-{name}"))
        }
        _ => None,
    }
}

fn all() -> Needs {
    Needs {
        registry: true,
        release: true,
        dispatch: Some(OperationKind::Rollback),
    }
}

fn fixture_with(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    needs: &Needs,
) -> Result<UnitConfig, ConfigError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/policies")
        .join(name);
    load(&path, None, env, needs)
}

fn fixture(name: &str) -> UnitConfig {
    fixture_with(name, &env, &all()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn loads_the_three_pipeline_policies() {
    let cloud = fixture("cloud-api.toml");
    assert_eq!(cloud.policy.unit, "cloud-api");
    assert_eq!(
        cloud.policy.primary().repository.to_string(),
        "docker.io/nearai/cloud-api"
    );
    assert_eq!(cloud.registry.hub_api.as_deref(), Some(HUB_API));
    assert_eq!(
        cloud.registry.password.as_ref().map(Secret::expose),
        Some("secret-DOCKER_REGISTRY_TOKEN")
    );
    assert!(
        !format!("{cloud:?}").contains("secret-"),
        "no secret in Debug output"
    );
    let chat = fixture("chat-api.toml");
    assert_eq!(chat.policy.tags.prod_stamp, None);
    assert_eq!(chat.policy.primary().repository.path(), "nearai/private-chat");
    let compose = fixture("compose-manager.toml");
    assert_eq!(compose.policy.tags.prod_aliases[0].as_str(), "latest");
}

fn parse_err(text: &str) -> ConfigError {
    parse(Path::new("p.toml"), text, None, &env, &all()).unwrap_err()
}

#[test]
fn errors_name_the_file_line_column_and_field() {
    let e = parse_err("[[image]]\nname = \"a\"\nverify = false\n\n[tags]\nprod_stamp = \"prod-{date}\"\n");
    assert_eq!(
        e.to_string(),
        "p.toml:6:14: tags.prod_stamp: template \"prod-{date}\" must contain {sha7}"
    );
    let e = parse_err("[[image]]\nname = \"a\"\nverify = true\n");
    assert_eq!(
        (e.at, e.field.as_deref()),
        (Some((3, 10)), Some("image[0].verify")),
        "{e}"
    );
    let e = parse_err("[[image]]\nname = \"a\"\n[[image]]\nname = \"B\"\nverify = false\n");
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(4), Some("image[1].name")),
        "{e}"
    );
    let e = parse_err("[[image]]\nname = \"a\"\nverify = false\n[tags]\nprod = \"prod\"\nprdo = 1\n");
    assert!(e.message.contains("unknown field `prdo`"), "{e}");
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(6), Some("tags.prdo")),
        "{e}"
    );
    let e = parse_err("[[image]\nname=");
    assert_eq!(e.line(), Some(1));
    let e = parse_err(
        "[publish]\nfreeze = { weekdays = [\"tue\", \"someday\"] }\n[[image]]\nname = \"a\"\nverify = false\n",
    );
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(2), Some("publish.freeze.weekdays[1]")),
        "{e}"
    );
}

#[test]
fn a_type_error_names_line_column_and_field() {
    let text = "# a policy\n\n[registry]\nhost = \"oci:./l\"\n\n[[image]]\nname = \"a\"\nverify = false\n\n[[image]]\nname = \"b\"\n\n\nverify = \"yes\"\n";
    let e = parse(Path::new("t.toml"), text, None, &env, &all()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.toml:14:10: image[1].verify: invalid type: string \"yes\", expected a boolean"
    );
}

#[test]
fn a_field_of_a_unit_in_a_multi_unit_file_names_its_line_and_field() {
    let text = "[registry]\nhost = \"oci:./layout\"\n\n[units.api]\nimage = [{ name = \"a\", verify = false }]\n\n[units.web]\nimage = [{ name = \"w\", verify = false }]\ntags = { prod_stamp = \"prod-{date}\" }\n[units.web.rollback]\nautomatic = \"no\"\n";
    let e = parse(Path::new("m.toml"), text, Some("web"), &env, &all()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "m.toml:11:13: units.web.rollback.automatic: invalid type: string \"no\", expected a boolean"
    );
    let text = text.replace("automatic = \"no\"", "automatic = false");
    let e = parse(Path::new("m.toml"), &text, Some("web"), &env, &all()).unwrap_err();
    assert_eq!(e.line(), Some(9), "{e}");
    assert_eq!(e.field.as_deref(), Some("units.web.tags.prod_stamp"));
    let text = text.replace("host = \"oci:./layout\"", "host = \"oci:\"");
    let e = parse(Path::new("m.toml"), &text, Some("api"), &env, &all()).unwrap_err();
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(2), Some("registry.host")),
        "{e}"
    );
}

#[test]
fn units_are_selected_by_name() {
    let text = "[registry]\nhost = \"oci:./layout\"\n[units.a]\nimage = [{ name = \"a\", verify = false }]\n[units.b]\nimage = [{ name = \"b\", verify = false }]\n";
    let e = parse(Path::new("p.toml"), text, None, &env, &all()).unwrap_err();
    assert_eq!(e.message, "the file holds several units (a, b); pass --unit NAME");
    let b = parse(Path::new("dir/p.toml"), text, Some("b"), &env, &all()).unwrap();
    assert_eq!(b.policy.unit, "b");
    assert_eq!(
        b.registry.target,
        RegistryTarget::Layout(PathBuf::from("dir/./layout"))
    );
    assert_eq!(b.policy.primary().repository.to_string(), "oci.local/b");
    let e = parse(Path::new("p.toml"), text, Some("c"), &env, &all()).unwrap_err();
    assert_eq!(e.message, "no unit \"c\" in the file; it has a, b");
}

fn only(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

const REGISTRY_ONLY: &[(&str, &str)] = &[
    ("DOCKER_REGISTRY_USER", "nearai"),
    ("DOCKER_REGISTRY_TOKEN", "s3cret-registry"),
];

#[test]
fn read_only_commands_need_registry_credentials_only() {
    for name in ["cloud-api.toml", "chat-api.toml", "compose-manager.toml"] {
        let cfg = fixture_with(name, &only(REGISTRY_ONLY), &Needs::registry_only())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cfg.registry.password.as_ref().map(Secret::expose),
            Some("s3cret-registry")
        );
        assert!(cfg.release.as_ref().is_none_or(|r| r.token.is_none()));
        assert!(cfg.dispatch.iter().all(|d| d.token.is_none()));
    }
    // A publish needs the tokens of the targets that fire after publish, not the release's.
    let publish = Needs {
        registry: true,
        release: false,
        dispatch: Some(OperationKind::Publish),
    };
    let e = fixture_with("cloud-api.toml", &only(REGISTRY_ONLY), &publish).unwrap_err();
    assert_eq!(
        e.message,
        "environment variables not set: REPOSITORY_DISPATCH_TOKEN (dispatch[0].token, line 51)"
    );
}

#[test]
fn every_missing_variable_is_reported_in_one_error() {
    let e = fixture_with(
        "cloud-api.toml",
        &only(&[("DOCKER_REGISTRY_USER", "nearai")]),
        &all(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string()
            .split(": environment")
            .next()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap(),
        "cloud-api.toml:56:9"
    );
    assert_eq!(
        e.message,
        "environment variables not set: GH_TOKEN or GITHUB_TOKEN (release.token is left out; it defaults to them); \
         REPOSITORY_DISPATCH_TOKEN (dispatch[1].token, line 56); DOCKER_REGISTRY_TOKEN (registry.password, line 11)"
    );
    // GH_TOKEN comes before GITHUB_TOKEN; GITHUB_API_URL is the default API.
    let cfg = fixture_with(
        "cloud-api.toml",
        &only(&[
            ("DOCKER_REGISTRY_USER", "nearai"),
            ("DOCKER_REGISTRY_TOKEN", "r"),
            ("GH_TOKEN", "gh"),
            ("GITHUB_TOKEN", "job"),
            ("REPOSITORY_DISPATCH_TOKEN", "d"),
            ("GITHUB_API_URL", "https://ghe.example/api/v3"),
        ]),
        &all(),
    )
    .unwrap();
    let release = cfg.release.unwrap();
    assert_eq!(release.token.as_ref().map(Secret::expose), Some("gh"));
    assert_eq!(release.api_url, "https://ghe.example/api/v3");
}

const BASE: &str = "[registry]\nhost = \"oci:./l\"\n[[image]]\nname = \"a\"\nverify = false\n";

fn base_err(extra: &str) -> ConfigError {
    parse(Path::new("p.toml"), &format!("{BASE}{extra}"), None, &env, &all()).unwrap_err()
}

#[test]
fn env_references_are_allowed_only_in_secret_and_name_fields() {
    let e = base_err("[tags]\nprod_stamp = \"prod-${GITHUB_TOKEN}-{date}-{sha7}\"\n");
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(7), Some("tags.prod_stamp")),
        "{e}"
    );
    assert!(
        e.message
            .contains("allowed only in fields that take secrets or names"),
        "{e}"
    );
    assert!(!e.to_string().contains("secret-"), "{e}");
    let e = base_err(
        "[[dispatch]]\nafter = [\"publish\"]\nevent = { repository = \"o/r\", event_type = \"x\" }\nclient_payload = { t = \"${GITHUB_TOKEN}\" }\n",
    );
    assert_eq!(e.field.as_deref(), Some("dispatch[0].client_payload.t"), "{e}");
    // A namespace read from a secret variable is never echoed.
    let e = parse(
        Path::new("p.toml"),
        "[registry]\nnamespace = \"${GITHUB_TOKEN}\"\n[[image]]\nname = \"a\"\nverify = false\n",
        None,
        &env,
        &all(),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("registry.namespace"));
    assert!(!e.to_string().contains("secret-GITHUB_TOKEN"), "{e}");
}

#[test]
fn tokens_go_to_a_non_default_api_only_when_the_policy_says_so() {
    let release = "[release]\ngithub_repository = \"o/r\"\napi_url = \"https://collector.example\"\n";
    let e = base_err(release);
    assert_eq!(e.field.as_deref(), Some("release.api_url"), "{e}");
    let ok = format!("{BASE}{release}send_token_to_api_url = true\n");
    let cfg = parse(Path::new("p.toml"), &ok, None, &env, &all()).unwrap();
    assert_eq!(cfg.release.unwrap().api_url, "https://collector.example");
    // The Hub API gets the registry's credentials by default only at hub.docker.com.
    let hub = |extra: &str| {
        let text = format!(
            "[registry]\nusername = \"u\"\npassword = \"${{DOCKER_REGISTRY_TOKEN}}\"\n{extra}[[image]]\nname = \"a\"\nverify = false\n"
        );
        parse(Path::new("p.toml"), &text, None, &env, &all())
            .unwrap()
            .registry
    };
    let r = hub("");
    assert_eq!(
        (r.hub_api.as_deref(), r.hub_username.as_deref()),
        (Some(HUB_API), Some("u"))
    );
    assert!(r.hub_password.is_some());
    let r = hub("hub_api = \"https://collector.example\"\n");
    assert_eq!((r.hub_username, r.hub_password.is_none()), (None, true));
    let r = hub("hub_api = \"https://collector.example\"\nhub_credentials = \"registry\"\n");
    assert_eq!(r.hub_username.as_deref(), Some("u"));
}

#[test]
fn repositories_and_workflow_files_that_would_change_the_url_are_refused() {
    let dispatch = |repo: &str, file: &str| {
        base_err(&format!(
            "[[dispatch]]\nafter = [\"rollback\"]\nworkflow = {{ repository = \"{repo}\", file = \"{file}\" }}\nmode = \"off\"\n"
        ))
    };
    for (repo, file, field) in [
        ("../../forks#", "d.yml", "dispatch[0].workflow.repository"),
        ("o/..", "d.yml", "dispatch[0].workflow.repository"),
        ("o/r/x", "d.yml", "dispatch[0].workflow.repository"),
        ("o/r", "../../forks#", "dispatch[0].workflow.file"),
        ("o/r", "a/b.yml", "dispatch[0].workflow.file"),
        ("o/r", "d.yml?x=1", "dispatch[0].workflow.file"),
        ("o/r", "deploy.json", "dispatch[0].workflow.file"),
        ("o/r", "d.yml", "dispatch[0].mode"),
    ] {
        assert_eq!(
            dispatch(repo, file).field.as_deref(),
            Some(field),
            "{repo} {file}"
        );
    }
    let e = base_err("[release]\ngithub_repository = \"..\"\n");
    assert_eq!(e.field.as_deref(), Some("release.github_repository"));
}

#[test]
fn schema_file_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tagcli.schema.json");
    let fresh = schema::json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/tagcli.schema.json is out of date with the policy types; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test -p tagcli schema` and commit it"
    );
    let v: serde_json::Value = serde_json::from_str(&fresh).unwrap();
    assert!(v["properties"]["dispatch"].is_object(), "{v}");
    assert!(v["properties"]["units"].is_object(), "{v}");
}

#[test]
fn a_policy_error_is_annotated_at_its_file_line_and_column() {
    let e = parse_err("[[image]]\nname = \"a\"\nverify = \"yes\"\n");
    assert_eq!(
        e.annotation(),
        "::error file=p.toml,line=3,col=10,title=tagcli policy::image[0].verify: invalid type: string \"yes\", expected a boolean\n"
    );
}

#[test]
fn policy_check_prints_the_resolved_unit_without_secrets() {
    let cfg = fixture_with("cloud-api.toml", &env, &Needs::default()).unwrap();
    let text = serde_json::to_string_pretty(&describe(&cfg)).unwrap();
    assert!(!text.contains("secret-"), "{text}");
    insta::assert_snapshot!("policy_check_cloud_api", text);
}

#[test]
fn retention_is_read_with_defaults_and_its_errors_name_line_and_field() {
    let text = format!("{BASE}[retention]\nkeep_releases = 4\nprunable = [\"pr-*\"]\n");
    let unit = parse(Path::new("p.toml"), &text, None, &env, &all()).unwrap();
    assert_eq!(unit.policy.retention.keep_releases, 4);
    assert_eq!(unit.policy.retention.keep_days, 30);
    assert_eq!(unit.policy.retention.prunable.len(), 1);
    let e = base_err("[retention]\nkeep_days = 7\nprunable = [\"pr-*\", \"sha-?\"]\n");
    assert_eq!(
        e.to_string(),
        "p.toml:8:21: retention.prunable[1]: pattern \"sha-?\" contains '?'; expected [A-Za-z0-9._/-] and '*'"
    );
    let e = base_err("[retention]\n\nkeep_releases = 0\n");
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(8), Some("retention.keep_releases")),
        "{e}"
    );
    let e = base_err("[retention]\nkeep_days = -1\n");
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(7), Some("retention.keep_days")),
        "{e}"
    );
    let e = base_err("[retention]\nprunable = [\"${PATTERN}\"]\n");
    assert_eq!(
        (e.line(), e.field.as_deref()),
        (Some(7), Some("retention.prunable[0]")),
        "{e}"
    );
    assert!(e.message.contains("write this value literally"), "{e}");
}
