//! `resolve` and `prune` over the in-memory ports: output, GitHub outputs and exit codes.

use tagcore::policy::{Glob, ImageSpec, Policy, PolicySpec, VerifySpec};
use tagcore::retention::RetentionPolicy;
use tagcore::testing::{Fault, MemoryAudit, MemoryRegistry, MemoryVerifier, block_on};
use tagcore::{Digest, RegistryErrorKind, Repository, Timestamp};

use crate::app::{self, Sink};
use crate::cli::{Command, OutputFormat};

struct World {
    reg: MemoryRegistry,
    ver: MemoryVerifier,
    audit: MemoryAudit,
    policy: Policy,
    repos: Vec<Repository>,
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn world() -> World {
    let image = |name: &str| ImageSpec {
        repository: format!("docker.io/nearai/{name}"),
        ..Default::default()
    };
    let spec = PolicySpec {
        unit: "compose-manager".into(),
        images: vec![image("compose-manager"), image("compose-manager-launcher")],
        verify: Some(VerifySpec {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            identity: Some(
                "https://github.com/nearai/compose-manager/.github/workflows/build.yml@refs/heads/master"
                    .into(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut policy = Policy::from_spec(&spec).unwrap();
    policy.retention = RetentionPolicy {
        keep_releases: 2,
        keep_days: 7,
        prunable: ["staging-*", "pr-*", "prod-2*"]
            .map(|g| Glob::parse(g).unwrap())
            .to_vec(),
    };
    World {
        reg: MemoryRegistry::new(t("2026-07-01T00:00:00Z")),
        ver: MemoryVerifier::new(),
        audit: MemoryAudit::new(),
        repos: policy.images.iter().map(|i| i.repository.clone()).collect(),
        policy,
    }
}

impl World {
    fn image(&self, i: usize, seed: &str, signed: bool) -> Digest {
        let d = self.reg.add_image(&self.repos[i], seed);
        if signed {
            self.ver
                .sign(&d, "nearai/compose-manager", "refs/heads/master", None);
        }
        d
    }

    /// Runs `command`; returns (exit code, stdout, stderr, GITHUB_OUTPUT).
    fn run(&self, command: &Command, format: OutputFormat) -> (u8, String, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let gh = dir.path().join("out");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut sink = Sink {
            out: &mut out,
            err: &mut err,
            format,
            github_output: Some(gh.clone()),
            github_summary: None,
            annotations: false,
            progress: false,
            rate_limits: &|| None,
        };
        let now = t("2026-07-01T00:00:00Z");
        let code = block_on(app::run(
            command,
            &self.policy,
            (&self.reg, &self.ver, &self.audit),
            now,
            &mut sink,
        ));
        let gh = std::fs::read_to_string(gh).unwrap_or_default();
        let out = String::from_utf8(out).unwrap();
        if format == OutputFormat::Json {
            // Every JSON output of these tests matches docs/output.schema.json.
            crate::output::schema_tests::valid_output(&out);
        }
        (code, out, String::from_utf8(err).unwrap(), gh)
    }
}

fn resolve(channel: &str, at: Option<&str>) -> Command {
    Command::Resolve {
        channel: channel.into(),
        verified: true,
        at: at.map(Into::into),
    }
}

#[test]
fn resolve_prints_pins_and_refuses_an_unverified_image_with_exit_1() {
    let w = world();
    let m = w.image(0, "m", true);
    let l = w.image(1, "l", false);
    w.reg.set_tag(&w.repos[0], "prod", &m, t("2026-06-30T00:00:00Z"));
    w.reg.set_tag(&w.repos[1], "prod", &l, t("2026-06-30T00:00:00Z"));
    let (code, out, err, gh) = w.run(&resolve("prod", None), OutputFormat::Text);
    assert_eq!(code, 1);
    assert_eq!(out, format!("docker.io/nearai/compose-manager@{m}\n"));
    assert!(
        err.contains(&format!("refused docker.io/nearai/compose-manager-launcher@{l}")),
        "{err}"
    );
    insta::assert_snapshot!("resolve_refused_github_output", gh);

    let l2 = w.image(1, "l2", true);
    w.reg.set_tag(&w.repos[1], "prod", &l2, t("2026-06-30T00:00:00Z"));
    let (code, out, err, gh) = w.run(&resolve("prod", None), OutputFormat::Json);
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_json_snapshot!("resolve_json", crate::output::schema_tests::valid_output(&out));
    insta::assert_snapshot!("resolve_github_output", gh);
    // A bad channel or release is a usage error, before any read.
    w.reg.clear_calls();
    assert_eq!(
        w.run(&resolve("nightly", None), OutputFormat::Text).0,
        crate::exit::USAGE
    );
    assert_eq!(
        w.run(&resolve("prod", Some("pr-1")), OutputFormat::Text).0,
        crate::exit::USAGE
    );
    assert!(w.reg.calls().is_empty());
}

fn prune_world() -> World {
    let w = world();
    for (i, repo) in w.repos.iter().enumerate() {
        let old = w.image(i, "old", true);
        let mid = w.image(i, "mid", true);
        let new = w.image(i, "new", true);
        let at = |s: &str| t(s);
        w.reg
            .set_tag(repo, "prod-20260601-1111111", &old, at("2026-06-01T10:00:00Z"));
        w.reg
            .set_tag(repo, "prod-20260610-2222222", &mid, at("2026-06-10T10:00:00Z"));
        w.reg
            .set_tag(repo, "prod-20260620-3333333", &new, at("2026-06-20T10:00:00Z"));
        w.reg.set_tag(repo, "prod", &new, at("2026-06-20T10:00:00Z"));
        w.reg.set_tag(repo, "staging", &new, at("2026-06-20T10:00:00Z"));
        w.reg.set_tag(repo, "pr-17", &mid, at("2026-05-01T10:00:00Z"));
        w.reg.set_tag(repo, "pr-18", &mid, at("2026-06-29T10:00:00Z"));
        w.reg.set_tag(repo, "dev", &old, at("2026-01-01T10:00:00Z"));
    }
    w
}

#[test]
fn prune_dry_run_lists_every_tag_with_its_reason_and_deletes_nothing() {
    let w = prune_world();
    let (code, out, _, gh) = w.run(&Command::Prune { apply: false }, OutputFormat::Text);
    assert_eq!(code, 0);
    insta::assert_snapshot!("prune_dry_run_text", out);
    assert_eq!(gh, "result=planned\ndeleted=0\n");
    assert_eq!(w.reg.tags(&w.repos[0]).len(), 8);
    let (code, out, _, _) = w.run(&Command::Prune { apply: true }, OutputFormat::Json);
    assert_eq!(code, 0);
    insta::assert_json_snapshot!(
        "prune_applied_json",
        crate::output::schema_tests::valid_output(&out)
    );
    assert!(!w.reg.tags(&w.repos[1]).contains_key("prod-20260601-1111111"));
    assert!(w.reg.tags(&w.repos[1]).contains_key("dev"));
}

#[test]
fn prune_exit_codes_partial_after_a_deletion_refused_before_any() {
    let w = prune_world();
    // Calls: 2 listings, no digest reads (the listing has them); deletes start at call 3.
    w.reg.inject(Fault::NthCall(4, RegistryErrorKind::Transient));
    let (code, out, _, gh) = w.run(&Command::Prune { apply: true }, OutputFormat::Text);
    assert_eq!(code, crate::exit::PARTIAL, "{out}");
    assert!(out.contains("failed"), "{out}");
    assert!(gh.starts_with("result=partial\n"), "{gh}");

    let w = prune_world();
    w.reg.inject(Fault::NthCall(3, RegistryErrorKind::Unsupported));
    let (code, out, err, _) = w.run(&Command::Prune { apply: true }, OutputFormat::Text);
    assert_eq!(code, crate::exit::REFUSED, "{out}{err}");
    assert!(err.contains("nothing was deleted"), "{err}");
    assert_eq!(w.reg.tags(&w.repos[0]).len(), 8);
}
