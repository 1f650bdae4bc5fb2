//! Creates the demo world of `scripts/demo` around the builds the script made (OCI archives):
//! a local OCI-layout registry holding the signature of each build of `nearai/cloud-api`, made
//! keylessly as a GitHub Actions identity by an offline test PKI (a fake Fulcio CA and Rekor log
//! — test material, never for production), as the pipeline's cosign step would; the
//! `trusted_root.json` that trusts that PKI; and a `tagcli.toml` pointing at it all.
//!
//! Usage: `demo_setup DIR DIGEST…` — prints a `COMMIT_n=…` line per digest for the script.

use cosign_verify::testing::{CertificateProfile, TestPki, sig_artifact};
use registry_hub::LayoutRegistry;
use tagcore::{Registry as _, Repository};

const POLICY: &str = r#"# The demo unit: cloud-api's policy on a local OCI layout, verified against the demo PKI.
name = "cloud-api"

[registry]
host = "oci:./layout"
namespace = "nearai"

[[image]]
name = "cloud-api"
verify = true

[publish]
freeze = { weekdays = ["tue", "wed"] }

[rollback]
confirm = "ROLLBACK"

[verify]
issuer = "https://token.actions.githubusercontent.com"
identity_regex = 'https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/heads/main'
workflow_repository = "nearai/cloud-api"
workflow_refs = ["refs/heads/main"]
trusted_root = "trusted_root.json"

[retention]
keep_releases = 2
keep_days = 1
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: demo_setup DIR")?;
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let layout = LayoutRegistry::new(dir.join("layout"));
    let repo: Repository = Repository::new("oci.local", "nearai/cloud-api")?;
    let pki = TestPki::new();
    let commits = [
        "dac1007f3a9e4c1b8d2e6f0a1b2c3d4e5f607182",
        "851f2cc0b7d64e2a9c1f3e5d7b9a0c2e4f6a8b1d",
        "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
    ];
    let digests: Vec<String> = std::env::args().skip(2).collect();
    if digests.is_empty() || digests.len() > commits.len() {
        return Err("usage: demo_setup DIR DIGEST… (one to three digests)".into());
    }
    for (n, (digest, commit)) in digests.iter().zip(commits).enumerate() {
        let digest: tagcore::Digest = digest.parse()?;
        let profile = CertificateProfile::github("nearai/cloud-api", "build.yml", "refs/heads/main", commit);
        let layer = pki.sign_keyless(&profile, &repo.to_string(), &digest);
        let sig = sig_artifact(&digest, &[layer]);
        for blob in &sig.blobs {
            layout.put_blob(&repo, blob).await?;
        }
        let tag = sig
            .tag
            .clone()
            .ok_or("signature artifact without a tag")?
            .parse()?;
        layout.put_manifest(&repo, &tag, &sig.manifest).await?;
        println!("COMMIT_{}={commit}", n + 1);
    }
    std::fs::write(dir.join("trusted_root.json"), pki.trusted_root_json())?;
    std::fs::write(dir.join("tagcli.toml"), POLICY)?;
    Ok(())
}
