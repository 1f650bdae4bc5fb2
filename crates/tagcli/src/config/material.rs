//! The files a `[verify]` section names (a PEM key, a `trusted_root.json`), read relative to
//! the policy file and handed to cosign-verify, so that a bad key or trust root is a policy
//! error with its `file:line`, found before any request.

use std::path::Path;

use cosign_verify::{Material, TrustedRootSource, VerificationPolicy};
use tagcore::policy::{SignatureMethod, SignaturePolicy};

/// Returns `policy` ready to verify, or the field (`verify.key`, `verify.trusted_root`) and
/// what is wrong with the file it names.
pub(super) fn verification(
    policy: &SignaturePolicy,
    base_dir: &Path,
) -> Result<VerificationPolicy, (&'static str, String)> {
    let read = |field: &'static str, path: &str| {
        let p = base_dir.join(path);
        std::fs::read(&p).map_err(|e| (field, format!("cannot read {}: {e}", p.display())))
    };
    let key_pem = match &policy.method {
        SignatureMethod::Key { key } if !key.trim_start().starts_with("-----BEGIN") => Some(
            String::from_utf8(read("verify.key", key)?)
                .map_err(|_| ("verify.key", format!("{key} is not PEM text")))?,
        ),
        _ => None,
    };
    let trusted_root = match &policy.trusted_root {
        Some(path) => TrustedRootSource::Json(read("verify.trusted_root", path)?),
        None => TrustedRootSource::PublicGood,
    };
    VerificationPolicy::new(
        policy,
        Material {
            key_pem,
            trusted_root,
        },
    )
    .map_err(|e| (e.field(), e.to_string()))
}
