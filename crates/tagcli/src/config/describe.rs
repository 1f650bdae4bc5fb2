//! The resolved unit as JSON, for `tagcli policy check`: every default filled in, every secret
//! field listed as `***` with where it comes from, never its value (secrets are not even read).

use serde_json::{Value, json};
use tagcore::policy::{Policy, SignatureMethod};

use super::{DispatchTarget, RegistryTarget, UnitConfig};

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// Returns the resolved unit, secrets redacted.
pub(crate) fn describe(cfg: &UnitConfig) -> Value {
    let p = &cfg.policy;
    let r = &cfg.registry;
    json!({
        "unit": p.unit,
        "registry": {
            "target": match &r.target {
                RegistryTarget::Layout(dir) => format!("oci:{}", dir.display()),
                RegistryTarget::Remote(host) => host.clone(),
            },
            "username": r.username,
            "insecure": r.insecure,
            "ca_file": r.ca_file.as_ref().map(|f| f.display().to_string()),
            "hub_api": r.hub_api,
            "hub_credentials": format!("{:?}", r.hub_credentials).to_lowercase(),
            "hub_page_cap": r.hub_page_cap,
        },
        "images": p.images.iter().map(|i| json!({
            "repository": i.repository.to_string(),
            "verify": i.verify,
            "operations": strings(&i.operations),
            "staging_stamp": i.staging_stamp,
        })).collect::<Vec<_>>(),
        "tags": tags(p),
        "publish": { "freeze_weekdays": p.freeze.iter().map(|d| format!("{d:?}").to_lowercase()).collect::<Vec<_>>() },
        "promote": {
            "sources": p.promote.sources,
            "confirm": p.promote.confirm,
            "already_in_prod": p.promote.already_in_prod,
        },
        "rollback": {
            "confirm": p.rollback.confirm,
            "audit_tag": p.rollback.audit_tag,
            "targets": p.rollback.targets,
            "automatic": p.rollback.automatic,
        },
        "verify": p.signature.as_ref().map(|s| match &s.method {
            SignatureMethod::Keyless(k) => json!({
                "issuer": k.issuer,
                "identity": k.identity.to_string(),
                "workflow_repository": k.workflow_repository,
                "workflow_refs": strings(&k.workflow_refs),
                "trusted_root": s.trusted_root.as_deref().unwrap_or("sigstore public-good (pinned)"),
            }),
            SignatureMethod::Key { .. } => json!({ "key": "(configured)", "trusted_root": s.trusted_root }),
        }),
        "retention": {
            "keep_releases": p.retention.keep_releases,
            "keep_days": p.retention.keep_days,
            "prunable": strings(&p.retention.prunable),
        },
        "release": cfg.release.as_ref().map(|rel| json!({
            "mode": p.release,
            "github_repository": rel.repository,
            "api_url": rel.api_url,
        })),
        "dispatch": p.dispatch.iter().zip(&cfg.dispatch).map(|(t, s)| json!({
            "target": match &s.target {
                DispatchTarget::Workflow { repository, file, git_ref } =>
                    json!({ "workflow": { "repository": repository, "file": file, "ref": git_ref } }),
                DispatchTarget::Event { repository, event_type } =>
                    json!({ "event": { "repository": repository, "event_type": event_type } }),
            },
            "after": strings(&t.after),
            "mode": t.mode,
            "payload": t.payload.as_ref().map(|p| p.iter().map(|(k, v)| (k.clone(), json!(v.as_str()))).collect::<serde_json::Map<_, _>>()),
            "api_url": s.api_url,
        })).collect::<Vec<_>>(),
        "secrets": cfg.secrets.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

fn tags(p: &Policy) -> Value {
    let t = &p.tags;
    json!({
        "staging": t.staging,
        "staging_stamp": t.staging_stamp.as_ref().map(ToString::to_string),
        "prod": t.prod,
        "prod_stamp": t.prod_stamp.as_ref().map(ToString::to_string),
        "prod_aliases": t.prod_aliases,
        "publish_aliases": t.publish_aliases,
        "rollback_audit": t.rollback_audit.to_string(),
        "version": t.version.to_string(),
        "protected": strings(&t.protected),
    })
}
