//! Measures what tagcli's operations cost on a real `docker-registry` on 127.0.0.1: registry
//! requests (from the registry's access log) and wall time, next to `skopeo` doing the same job
//! when it is installed. Run with `./scripts/bench`; prints a markdown table.

use std::time::{Duration, Instant};

use cosign_verify::testing::TestPolicy;
use cosign_verify::testing::{CertificateProfile, TestPki, image_artifact, sig_artifact};
use cosign_verify::{CosignVerifier, TrustedRootSource};
use registry_hub::{AnyRegistry, OciConfig, RemoteRegistry};
use tagcore::policy::{ImageSpec, Policy, PolicySpec, VerifySpec};
use tagcore::request::{
    PromoteRequest, PromoteSource, Request, RetagRequest, RollbackRequest, RollbackTarget,
};
use tagcore::{
    AuditError, AuditSink, Digest, DispatchRequest, Engine, Registry as _, ReleaseReceipt, ReleaseRequest,
    Repository, Timestamp,
};
use testkit::RegistryServer;

const ITERATIONS: usize = 20;

struct NoAudit;

impl AuditSink for NoAudit {
    async fn publish_release(&self, _: &ReleaseRequest) -> Result<ReleaseReceipt, AuditError> {
        Ok(ReleaseReceipt {
            url: String::new(),
            created: true,
        })
    }
    async fn dispatch(&self, _: &DispatchRequest) -> Result<(), AuditError> {
        Ok(())
    }
}

struct Row {
    what: String,
    requests: f64,
    times: Vec<Duration>,
}

impl Row {
    fn print(&self) {
        let mut t = self.times.clone();
        t.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p95 = t[(t.len() * 95 / 100).min(t.len() - 1)];
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {} |",
            self.what,
            self.requests,
            ms(t[t.len() / 2]),
            ms(p95),
            t.len()
        );
    }
}

fn requests(reg: &RegistryServer) -> usize {
    reg.settled_requests().len()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reg = RegistryServer::start();
    let remote = RemoteRegistry::new(OciConfig::default())?;
    let registry = AnyRegistry::from(remote.clone());
    let repo = Repository::new(reg.addr(), "nearai/cloud-api")?;
    let pki = TestPki::new();
    let profile = CertificateProfile::github(
        "nearai/cloud-api",
        "build.yml",
        "refs/heads/main",
        &"a".repeat(40),
    );
    let mut builds: Vec<Digest> = Vec::new();
    for n in 0..=ITERATIONS {
        let image = image_artifact("unused", &format!("bench build {n}"));
        for blob in &image.blobs {
            remote.push_blob(&repo, blob).await?;
        }
        let d = remote.put_manifest_by_digest(&repo, &image.manifest).await?;
        let sig = sig_artifact(&d, &[pki.sign_keyless(&profile, &repo.to_string(), &d)]);
        for blob in &sig.blobs {
            remote.push_blob(&repo, blob).await?;
        }
        registry
            .put_manifest(&repo, &sig.tag.clone().ok_or("sig tag")?.parse()?, &sig.manifest)
            .await?;
        builds.push(d);
    }
    let spec = PolicySpec {
        unit: "bench".into(),
        images: vec![ImageSpec {
            repository: repo.to_string(),
            verify: true,
            ..Default::default()
        }],
        verify: Some(VerifySpec {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            identity: Some(
                "https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main".into(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let policy = Policy::from_spec(&spec)?;
    let verifier = CosignVerifier::with_policy(
        registry.clone(),
        TestPolicy {
            spec: VerifySpec {
                issuer: Some("https://token.actions.githubusercontent.com".into()),
                identity: Some(
                    "https://github.com/nearai/cloud-api/.github/workflows/build.yml@refs/heads/main".into(),
                ),
                ..VerifySpec::default()
            },
            trusted_root: TrustedRootSource::Json(pki.trusted_root_json()),
        }
        .compile()?,
    );
    let engine = Engine::new(&policy, &registry, &verifier, &NoAudit);
    let mut rows = Vec::new();
    registry
        .put_manifest(
            &repo,
            &"staging".parse()?,
            &registry.fetch_manifest(&repo, &builds[0]).await?,
        )
        .await?;

    // 1. Retag one tag (engine: resolve source, resolve target, GET, CAS re-read, PUT, read-back).
    let mut row = Row {
        what: "tagcli retag (staging → new tag)".into(),
        requests: 0.0,
        times: Vec::new(),
    };
    let before = requests(&reg);
    for n in 0..ITERATIONS {
        let req = Request::Retag(RetagRequest::parse("staging", &format!("qa-{n}"), None, &policy)?);
        let t = Instant::now();
        engine.run(&req, Timestamp::from_unix(0), false).await?;
        row.times.push(t.elapsed());
    }
    row.requests = (requests(&reg) - before) as f64 / ITERATIONS as f64;
    rows.push(row);

    // 2. The same job with skopeo, when installed.
    if std::process::Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok()
    {
        let mut row = Row {
            what: "skopeo copy (staging → new tag)".into(),
            requests: 0.0,
            times: Vec::new(),
        };
        let before = requests(&reg);
        for n in 0..ITERATIONS {
            let src = format!("docker://{}/nearai/cloud-api:staging", reg.addr());
            let dst = format!("docker://{}/nearai/cloud-api:skopeo-{n}", reg.addr());
            let t = Instant::now();
            let out = std::process::Command::new("skopeo")
                .args([
                    "copy",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    "--preserve-digests",
                    &src,
                    &dst,
                ])
                .output()?;
            row.times.push(t.elapsed());
            if !out.status.success() {
                return Err(format!("skopeo failed: {}", String::from_utf8_lossy(&out.stderr)).into());
            }
        }
        row.requests = (requests(&reg) - before) as f64 / ITERATIONS as f64;
        rows.push(row);
    }

    // 3. Promote (resolve, list, verify a keyless signature, stamp, CAS, prod, read-back).
    let mut row = Row {
        what: "tagcli promote (verified, stamped)".into(),
        requests: 0.0,
        times: Vec::new(),
    };
    let before = requests(&reg);
    for (n, d) in builds.iter().enumerate().skip(1) {
        let m = registry.fetch_manifest(&repo, d).await?;
        registry.put_manifest(&repo, &"staging".parse()?, &m).await?;
        let now = Timestamp::from_unix(1_783_000_000 + n as i64 * 86_400);
        let req = Request::Promote(PromoteRequest {
            source: PromoteSource::Staging,
            confirm: None,
            expect_digest: None,
            allow_older: false,
        });
        let t = Instant::now();
        engine.run(&req, now, false).await?;
        row.times.push(t.elapsed());
    }
    row.requests = (requests(&reg) - before) as f64 / ITERATIONS as f64 - 2.0;
    rows.push(row);

    // 4. Automatic rollback over a history of ITERATIONS stamps on the plain OCI API (names only:
    //    one HEAD per release tag).
    let mut row = Row {
        what: format!("tagcli rollback (auto, {ITERATIONS} stamps, no push times)"),
        requests: 0.0,
        times: Vec::new(),
    };
    let before = requests(&reg);
    let req = Request::Rollback(RollbackRequest {
        target: RollbackTarget::Automatic,
        confirm: None,
    });
    let t = Instant::now();
    engine
        .run(&req, Timestamp::from_unix(1_783_000_000 + 40 * 86_400), false)
        .await?;
    row.times.push(t.elapsed());
    row.requests = (requests(&reg) - before) as f64;
    rows.push(row);

    println!(
        "Registry: distribution 2.8.2 on {} (plain HTTP, loopback). Requests are per operation, from the registry's access log.\n",
        reg.addr()
    );
    println!("| operation | registry requests | median ms | p95 ms | runs |\n|---|---|---|---|---|");
    for r in &rows {
        r.print();
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM")) {
        println!(
            "\nPeak RSS of the bench process (registry client, verifier, engine): {}",
            hwm.trim_start_matches("VmHWM:").trim()
        );
    }
    Ok(())
}
