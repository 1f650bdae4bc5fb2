//! The seed pipelines' sequence for each operation, with the tools they shell out to, spawned
//! from Rust with arguments (no shell): `skopeo inspect` to resolve, `skopeo copy` of the digest
//! to each tag, `skopeo inspect` again for the read-back check, `curl` over the Hub API's pages
//! (page_size=100, `next` followed, at most 50 pages) for the short sha and the automatic
//! rollback target. The pipelines verify with `cosign verify`, which is not installable here: its
//! stand-in reads what cosign reads for a key-based `.sig` signature (the `.sig` manifest and the
//! payload blob, with curl) and checks the signature with `openssl dgst -verify`.

use std::ffi::OsString;
use std::path::PathBuf;

use base64::Engine as _;

use crate::images::Kind;
use crate::run::{Output, run};
use crate::world::{NAMESPACE, World};

const MAX_PAGES: usize = 50;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn tool(name: &str) -> PathBuf {
    PathBuf::from("/usr/bin").join(name)
}

/// One seed operation against one repository.
pub(crate) struct Seed<'a> {
    pub(crate) world: &'a World,
    pub(crate) repo: &'a str,
    pub(crate) kind: Kind,
}

impl<'a> Seed<'a> {
    pub(crate) fn new(world: &'a World, repo: &'a str, kind: Kind) -> Self {
        Self { world, repo, kind }
    }

    fn run(&self, name: &str, args: &[&str]) -> Result<Output, String> {
        run(&tool(name), &os(args), self.world.path())?.ok(name)
    }

    fn image(&self) -> String {
        format!("docker://{}", self.world.reference(self.repo))
    }

    /// `skopeo inspect docker://…:<tag>` and its `.Digest`.
    fn inspect(&self, tag: &str) -> Result<String, String> {
        let out = self.run(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                &format!("{}:{tag}", self.image()),
            ],
        )?;
        let v: serde_json::Value =
            serde_json::from_str(&out.stdout).map_err(|e| format!("skopeo inspect output: {e}"))?;
        v["Digest"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "Failed to resolve source image digest".to_owned())
    }

    /// `skopeo copy docker://…@<digest> docker://…:<tag>` (`--all` for an index: without it
    /// skopeo writes one platform's image and the index digest is lost).
    fn copy(&self, digest: &str, tag: &str) -> Result<(), String> {
        let src = format!("{}@{digest}", self.image());
        let dst = format!("{}:{tag}", self.image());
        let mut args = vec!["copy", "--src-tls-verify=false", "--dest-tls-verify=false"];
        if self.kind == Kind::Index {
            args.push("--all");
        }
        args.extend([src.as_str(), dst.as_str()]);
        self.run("skopeo", &args).map(drop)
    }

    /// The read-back check: every tag resolves to `digest`.
    fn read_back(&self, digest: &str, tags: &[&str]) -> Result<(), String> {
        for tag in tags {
            let got = self.inspect(tag)?;
            if got != digest {
                return Err(format!("{tag} resolved to {got}, expected {digest}"));
            }
        }
        Ok(())
    }

    fn curl(&self, url: &str, accept: Option<&str>) -> Result<String, String> {
        let mut args = vec![
            "-sS",
            "-f",
            "--max-time",
            "30",
            "--retry",
            "2",
            "--retry-delay",
            "2",
        ];
        let header = accept.map(|a| format!("Accept: {a}"));
        if let Some(h) = &header {
            args.extend(["-H", h.as_str()]);
        }
        args.push(url);
        Ok(self.run("curl", &args)?.stdout)
    }

    /// Reads the Hub API's pages newest first until `stop` returns true or the 50-page cap;
    /// returns every tag object read.
    fn hub_pages(&self, stop: impl Fn(&serde_json::Value) -> bool) -> Result<Vec<serde_json::Value>, String> {
        let mut url = format!(
            "http://{}/v2/namespaces/{NAMESPACE}/repositories/{}/tags?page_size=100",
            self.world.hub_proxy.addr(),
            self.repo
        );
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: serde_json::Value =
                serde_json::from_str(&self.curl(&url, None)?).map_err(|e| format!("Hub page: {e}"))?;
            let results = page["results"].as_array().cloned().unwrap_or_default();
            let found = results.iter().any(&stop);
            all.extend(results);
            match page["next"].as_str() {
                Some(next) if !found && !next.is_empty() => url = next.to_owned(),
                _ => break,
            }
        }
        Ok(all)
    }

    /// The short sha from the first `staging-YYYYMMDD-<sha7>` tag on `digest`, else the digest's.
    fn short_sha(&self, digest: &str) -> Result<String, String> {
        let matches = |t: &serde_json::Value| {
            t["digest"].as_str() == Some(digest) && t["name"].as_str().is_some_and(is_staging_stamp)
        };
        let tags = self.hub_pages(matches)?;
        Ok(tags
            .iter()
            .find(|t| matches(t))
            .and_then(|t| t["name"].as_str())
            .map_or_else(|| digest_short(digest), |n| n[n.len() - 7..].to_owned()))
    }

    /// The `cosign verify --key` stand-in: the `.sig` manifest, the payload blob, the signature.
    fn verify(&self, digest: &str) -> Result<(), String> {
        let base = format!("http://{}/v2/{NAMESPACE}/{}", self.world.proxy.addr(), self.repo);
        let sig_tag = format!("{}.sig", digest.replace(':', "-"));
        let manifest: serde_json::Value =
            serde_json::from_str(&self.curl(&format!("{base}/manifests/{sig_tag}"), Some(OCI_MANIFEST))?)
                .map_err(|e| format!(".sig manifest: {e}"))?;
        let layer = &manifest["layers"][0];
        let blob = layer["digest"].as_str().ok_or("no signature layer")?;
        let signature = layer["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .ok_or("no signature annotation")?;
        let payload = self.curl(&format!("{base}/blobs/{blob}"), None)?;
        if !payload.contains(digest) {
            return Err("the signed payload names another digest".into());
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|e| format!("signature: {e}"))?;
        let dir = self.world.path();
        std::fs::write(dir.join("payload.json"), &payload).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("payload.sig"), der).map_err(|e| e.to_string())?;
        let args = [
            "dgst",
            "-sha256",
            "-verify",
            "cosign.pub",
            "-signature",
            "payload.sig",
            "payload.json",
        ];
        self.run("openssl", &args).map(drop)
    }

    /// build.yml's staging step: the pushed digest copied to `staging` and its stamp.
    pub(crate) fn publish(&self, digest: &str, commit: &str) -> Result<(), String> {
        let stamp = format!("staging-{}-{}", self.date(), &commit[..7]);
        self.copy(digest, "staging")?;
        self.copy(digest, &stamp)
    }

    /// promote.yml (chat-api, the version with all three tags): resolve staging, recover the
    /// short sha from the Hub, verify, copy to prod, the stamp and latest, read them back.
    /// Returns the stamp written.
    pub(crate) fn promote(&self) -> Result<String, String> {
        let digest = self.inspect("staging")?;
        let stamp = format!("prod-{}-{}", self.date(), self.short_sha(&digest)?);
        self.verify(&digest)?;
        for tag in ["prod", stamp.as_str(), "latest"] {
            self.copy(&digest, tag)?;
        }
        self.read_back(&digest, &["prod", &stamp, "latest"])?;
        Ok(stamp)
    }

    /// rollback.yml: the current prod, the target (given, or the newest `prod-*` stamp on
    /// another digest from the Hub listing), verify, copy to prod, latest and the audit tag,
    /// read them back.
    pub(crate) fn rollback(&self, target: Option<&str>) -> Result<(), String> {
        let current = self.inspect("prod")?;
        let target = match target {
            Some(t) => t.to_owned(),
            None => self.newest_other_release(&current)?,
        };
        let digest = self.inspect(&target)?;
        if digest == current {
            return Err(format!(
                "Target tag {target} already matches current :prod digest"
            ));
        }
        self.verify(&digest)?;
        let audit = format!(
            "prod-rollback-{}-{}-from-{}",
            self.date(),
            self.time(),
            target.trim_start_matches("prod-")
        );
        for tag in ["prod", "latest", audit.as_str()] {
            self.copy(&digest, tag)?;
        }
        self.read_back(&digest, &["prod", "latest", &audit])
    }

    fn newest_other_release(&self, current: &str) -> Result<String, String> {
        let mut releases: Vec<(String, String)> = self
            .hub_pages(|_| false)?
            .iter()
            .filter(|t| t["name"].as_str().is_some_and(is_prod_stamp))
            .filter(|t| t["digest"].as_str() != Some(current))
            .filter_map(|t| {
                Some((
                    t["last_updated"].as_str()?.to_owned(),
                    t["name"].as_str()?.to_owned(),
                ))
            })
            .collect();
        releases.sort();
        releases
            .pop()
            .map(|(_, name)| name)
            .ok_or_else(|| "No previous prod-* tag found whose digest differs from current :prod".into())
    }

    fn date(&self) -> String {
        self.world.now()[..10].replace('-', "")
    }

    fn time(&self) -> String {
        self.world.now()[11..19].replace(':', "")
    }
}

fn is_stamp(name: &str, prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix) else {
        return false;
    };
    let bytes = rest.as_bytes();
    bytes.len() == 16
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'-'
        && bytes[9..]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

fn is_staging_stamp(name: &str) -> bool {
    is_stamp(name, "staging-")
}

fn is_prod_stamp(name: &str) -> bool {
    is_stamp(name, "prod-")
}

fn digest_short(digest: &str) -> String {
    digest.trim_start_matches("sha256:").chars().take(7).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_match_the_pipelines_regexes() {
        assert!(is_prod_stamp("prod-20261201-dac1007"));
        assert!(is_staging_stamp("staging-20261201-dac1007"));
        assert!(!is_prod_stamp(
            "prod-rollback-20261201-104152-from-20261130-dac1007"
        ));
        assert!(!is_prod_stamp("prod-20261201-DAC1007"));
        assert!(!is_prod_stamp("prod-2026121-dac1007"));
        assert!(!is_staging_stamp("prod-20261201-dac1007"));
        assert_eq!(digest_short(&format!("sha256:{}", "ab".repeat(32))), "abababa");
    }
}
