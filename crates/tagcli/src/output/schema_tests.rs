//! docs/output.schema.json: generated from the output types, and every JSON output of the unit
//! tests validates against it.

use std::path::Path;

use super::build;
use super::json::json_schema;

/// Returns the checked-in schema's path.
fn schema_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/output.schema.json")
}

/// Panics unless `line` is one JSON object that validates against the output schema, naming
/// every violation; returns it.
pub(crate) fn valid_output(line: &str) -> serde_json::Value {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{line}\ndoes not match docs/output.schema.json:\n{}",
        errors.join("\n")
    );
    let failed = matches!(value["result"].as_str(), Some("refused" | "partial"));
    assert_eq!(
        value["error"].is_object(),
        failed,
        "error is an object exactly when the command failed: {line}"
    );
    value
}

#[test]
fn output_schema_file_is_current() {
    let fresh = json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/output.schema.json is out of date with the output types; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test -p tagcli schema` and commit it"
    );
}

#[test]
fn every_operation_refused_has_the_same_envelope_and_validates() {
    for op in [
        "publish", "promote", "rollback", "retag", "status", "history", "verify", "resolve", "prune",
        "policy",
    ] {
        let out = build::refusal(op, Some("u"), "registry_transient", "temporary failure");
        let v = valid_output(&serde_json::to_string(&out).unwrap());
        assert_eq!(
            (
                v["operation"].as_str(),
                v["result"].as_str(),
                v["schema"].as_u64()
            ),
            (Some(op), Some("refused"), Some(2))
        );
        assert_eq!(v["error"]["kind"], "registry_transient");
    }
}

#[test]
fn the_schema_refuses_what_breaks_the_format() {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = serde_json::to_value(build::refusal("status", None, "usage", "bad flag")).unwrap();
    assert!(validator.is_valid(&good), "{good}");
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        v
    };
    for bad in [
        broken(&|v| v["error"] = serde_json::json!("a string")),
        broken(&|v| v["result"] = serde_json::json!("failed")),
        broken(&|v| v["schema"] = serde_json::json!(1)),
        broken(&|v| v["operation"] = serde_json::json!("report")),
        broken(&|v| v["images"] = serde_json::json!("none")),
        broken(&|v| {
            v.as_object_mut().unwrap().remove("warnings");
        }),
    ] {
        assert!(!validator.is_valid(&bad), "accepted: {bad}");
    }
}
