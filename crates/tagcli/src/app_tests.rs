//! The CLI glue over the in-memory ports: rendering, exit codes and GitHub outputs, snapshotted.

use tagcore::policy::{ImageSpec, Policy, PolicySpec, StepMode, VerifySpec};
use tagcore::testing::{MemoryAudit, MemoryRegistry, MemoryVerifier, block_on};
use tagcore::{Digest, Repository, Timestamp};

use crate::app::{self, Sink};
use crate::cli::{Command, DispatchFlag, OutputFormat, WriteFlags};
use crate::output::schema_tests::valid_output;

const SHA: &str = "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";

struct World {
    reg: MemoryRegistry,
    ver: MemoryVerifier,
    audit: MemoryAudit,
    policy: Policy,
    repo: Repository,
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn world() -> World {
    let spec = PolicySpec {
        unit: "cloud-api".into(),
        images: vec![ImageSpec {
            repository: "docker.io/nearai/cloud-api".into(),
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
        release: tagcore::policy::ReleaseSpec {
            mode: StepMode::Required,
        },
        ..Default::default()
    };
    let policy = Policy::from_spec(&spec).unwrap();
    World {
        reg: MemoryRegistry::new(t("2026-07-01T00:00:00Z")),
        ver: MemoryVerifier::new(),
        audit: MemoryAudit::new(),
        repo: policy.primary().repository.clone(),
        policy,
    }
}

impl World {
    fn build(&self, seed: &str) -> Digest {
        let d = self.reg.add_image(&self.repo, seed);
        self.ver
            .sign(&d, "nearai/cloud-api", "refs/heads/main", Some(SHA));
        d
    }

    /// Runs `command` as in a GitHub workflow; returns (exit code, GITHUB_OUTPUT, step summary).
    fn run_in_actions(&self, command: &Command, now: &str) -> (u8, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let (gh, summary) = (dir.path().join("out"), dir.path().join("summary"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut sink = Sink {
            out: &mut out,
            err: &mut err,
            format: OutputFormat::Text,
            github_output: Some(gh.clone()),
            github_summary: Some(summary.clone()),
            annotations: true,
            progress: false,
            rate_limits: &|| None,
        };
        self.reg.set_clock(t(now));
        let code = block_on(app::run(
            command,
            &self.policy,
            (&self.reg, &self.ver, &self.audit),
            t(now),
            &mut sink,
        ));
        (
            code,
            std::fs::read_to_string(gh).unwrap_or_default(),
            std::fs::read_to_string(summary).unwrap_or_default(),
        )
    }

    /// Runs `command`; returns (exit code, stdout, stderr, GITHUB_OUTPUT contents).
    fn run(&self, command: &Command, format: OutputFormat, now: &str) -> (u8, String, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let gh = dir.path().join("out");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut sink = Sink {
            out: &mut out,
            err: &mut err,
            format,
            github_output: Some(gh.clone()),
            github_summary: None,
            annotations: true,
            progress: false,
            rate_limits: &|| None,
        };
        self.reg.set_clock(t(now));
        let code = block_on(app::run(
            command,
            &self.policy,
            (&self.reg, &self.ver, &self.audit),
            t(now),
            &mut sink,
        ));
        let gh = std::fs::read_to_string(gh).unwrap_or_default();
        let out = String::from_utf8(out).unwrap();
        if format == OutputFormat::Json {
            // Every JSON output of these tests matches docs/output.schema.json.
            valid_output(&out);
        }
        (code, out, String::from_utf8(err).unwrap(), gh)
    }
}

fn promote(dry_run: bool) -> Command {
    Command::Promote {
        source: None,
        confirm: None,
        expect_digest: None,
        allow_older: false,
        write: WriteFlags { dry_run },
        deploy: DispatchFlag { on: true },
    }
}

#[test]
fn promote_prints_what_moved_and_writes_github_outputs() {
    let w = world();
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    let (code, out, err, gh) = w.run(&promote(false), OutputFormat::Text, "2026-07-06T10:00:00Z");
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("promote_text", out);
    insta::assert_snapshot!("promote_github_output", gh);
}

#[test]
fn promote_json_is_one_versioned_object() {
    let w = world();
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    let (code, out, _, _) = w.run(&promote(true), OutputFormat::Json, "2026-07-06T10:00:00Z");
    assert_eq!(code, 0);
    let v = valid_output(&out);
    assert_eq!(v["schema"], 2);
    assert_eq!(v["dry_run"], true);
    assert_eq!(w.reg.writes(), 0);
    insta::assert_json_snapshot!("promote_dry_run_json", v);
}

#[test]
fn exit_codes_1_2_3() {
    let w = world();
    // 1: refused before any write (staging missing).
    let (code, out, err, _) = w.run(&promote(false), OutputFormat::Text, "2026-07-06T10:00:00Z");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "promote: refused (registry_not_found), nothing changed: staging tag docker.io/nearai/cloud-api:staging does not exist; nothing was written\n::error::promote: refused (registry_not_found), nothing changed: staging tag docker.io/nearai/cloud-api:staging does not exist; nothing was written\n"
    );
    // 2: a bad input.
    let bad = Command::Promote {
        source: Some("sha256:ABC".into()),
        confirm: None,
        expect_digest: None,
        allow_older: false,
        write: WriteFlags { dry_run: false },
        deploy: DispatchFlag { on: true },
    };
    let (code, _, err, _) = w.run(&bad, OutputFormat::Json, "2026-07-06T10:00:00Z");
    assert_eq!(code, 2, "{err}");
    // 3: the release fails after prod moved; the text says which tags moved and what to do.
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    w.audit.fail_releases(1);
    let (code, out, _, _) = w.run(&promote(false), OutputFormat::Text, "2026-07-06T10:00:00Z");
    assert_eq!(code, 3);
    insta::assert_snapshot!("promote_partial_text", out);
    // Re-running converges: exit 0, the release is created with the same stamp.
    let (code, out, _, _) = w.run(&promote(false), OutputFormat::Text, "2026-07-06T11:00:00Z");
    assert_eq!(code, 0, "{out}");
    assert!(w.audit.releases().contains_key("prod-20260706-a2fad42"));
}

#[test]
fn history_and_status_render() {
    let w = world();
    for (i, day) in ["2026-07-06", "2026-07-08"].iter().enumerate() {
        let d = w.build(&format!("b{i}"));
        w.reg
            .set_tag(&w.repo, "staging", &d, t(&format!("{day}T09:00:00Z")));
        assert_eq!(
            w.run(&promote(false), OutputFormat::Text, &format!("{day}T10:00:00Z"))
                .0,
            0
        );
    }
    let rollback = Command::Rollback {
        target: None,
        confirm: None,
        write: WriteFlags { dry_run: false },
        deploy: DispatchFlag { on: true },
    };
    let (code, out, err, gh) = w.run(&rollback, OutputFormat::Text, "2026-07-09T10:41:52Z");
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("rollback_text", out);
    insta::assert_snapshot!("rollback_github_output", gh);
    let (_, out, _, _) = w.run(&Command::History, OutputFormat::Text, "2026-07-09T11:00:00Z");
    insta::assert_snapshot!("history_text", out);
    let (_, out, _, _) = w.run(&Command::Status, OutputFormat::Text, "2026-07-09T11:00:00Z");
    insta::assert_snapshot!("status_text", out);
}

#[test]
fn dry_run_text_lists_every_read_and_the_writes_it_would_make() {
    let w = world();
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    let (code, out, _, gh) = w.run(&promote(true), OutputFormat::Text, "2026-07-06T10:00:00Z");
    assert_eq!(code, 0);
    assert!(
        gh.contains("result=planned\n"),
        "a dry run writes its outputs: {gh}"
    );
    assert_eq!(w.reg.writes(), 0);
    insta::assert_snapshot!("promote_dry_run_text", out);
}

fn promote_expecting(digest: &str) -> Command {
    Command::Promote {
        source: None,
        confirm: None,
        expect_digest: Some(digest.into()),
        allow_older: false,
        deploy: DispatchFlag { on: true },
        write: WriteFlags { dry_run: false },
    }
}

#[test]
fn plan_then_promote_exactly_the_planned_digest_through_the_outputs() {
    let w = world();
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    // The plan job: a dry run's outputs, with no stamp (none holds the digest yet).
    let (code, plan, summary) = w.run_in_actions(&promote(true), "2026-07-06T10:00:00Z");
    assert_eq!(code, 0);
    insta::assert_snapshot!("promote_dry_run_github_output", plan);
    insta::assert_snapshot!("promote_dry_run_github_summary", summary);
    let planned = plan
        .lines()
        .find_map(|l| l.strip_prefix("digest="))
        .unwrap()
        .to_owned();
    assert_eq!(planned, d.to_string());
    // A build moves staging before the approval: the approved promotion refuses, writes nothing.
    let other = w.build("two");
    w.reg
        .set_tag(&w.repo, "staging", &other, t("2026-07-06T10:30:00Z"));
    let (code, gh, _) = w.run_in_actions(&promote_expecting(&planned), "2026-07-06T11:00:00Z");
    assert_eq!(code, 1);
    assert_eq!(gh, "result=refused\nmoved=false\n");
    assert_eq!(w.reg.writes(), 0);
    // Staging back on the planned digest: promoted, and the outputs say what moved.
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T11:30:00Z"));
    let writes = w.reg.writes();
    let (code, gh, summary) = w.run_in_actions(&promote_expecting(&planned), "2026-07-06T12:00:00Z");
    assert_eq!(code, 0, "{gh}");
    assert!(w.reg.writes() > writes);
    insta::assert_snapshot!("promote_done_github_output", gh);
    insta::assert_snapshot!("promote_done_github_summary", summary);
    // A re-run (it finishes the release): no channel moves, the stamp still holds the digest.
    let (code, gh, _) = w.run_in_actions(&promote_expecting(&planned), "2026-07-06T13:00:00Z");
    assert_eq!(code, 0);
    assert!(gh.contains("\nmoved=false\n"), "{gh}");
    assert!(gh.contains("\nstamped_tag=prod-20260706-a2fad42\n"), "{gh}");
}

#[test]
fn a_bad_expect_digest_is_an_input_error_naming_the_flag() {
    let w = world();
    let (code, out, err, gh) = w.run(
        &promote_expecting("sha256:ABC"),
        OutputFormat::Text,
        "2026-07-06T10:00:00Z",
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("promote: refused (input), nothing changed: --expect-digest: "),
        "{err}"
    );
    assert_eq!(gh, "result=refused\nmoved=false\n");
}

/// `verify --image <unknown>` is an input error of `verify`: the image name is the bad input,
/// never the operation.
#[test]
fn verify_with_an_unknown_image_names_the_operation_and_the_flag() {
    let w = world();
    let verify = Command::Verify {
        reference: "staging".into(),
        image: Some("nosuch".into()),
    };
    let (code, out, err, _) = w.run(&verify, OutputFormat::Text, "2026-07-06T10:00:00Z");
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(
            "verify: refused (input), nothing changed: --image: \"nosuch\" is not an image of unit cloud-api"
        ),
        "{err}"
    );
    let (code, out, _, _) = w.run(&verify, OutputFormat::Json, "2026-07-06T10:00:00Z");
    assert_eq!(code, 2);
    let v = valid_output(&out);
    assert_eq!(
        (v["operation"].as_str(), v["error"]["kind"].as_str()),
        (Some("verify"), Some("input"))
    );
}

/// A failure after writes says its kind in the JSON: here the release service is down after
/// prod moved (`audit_unavailable`), which a reader tells from a compare-and-swap conflict or a
/// transient registry failure without parsing the message.
#[test]
fn a_partial_run_names_its_failure_kind_in_the_json() {
    let w = world();
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    w.audit.fail_releases(1);
    let (code, out, _, _) = w.run(&promote(false), OutputFormat::Json, "2026-07-06T10:00:00Z");
    assert_eq!(code, 3);
    let v = valid_output(&out);
    assert_eq!(
        (
            v["result"].as_str(),
            v["error"]["kind"].as_str(),
            v["operation"].as_str()
        ),
        (Some("partial"), Some("audit_unavailable"), Some("promote"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("release prod-20260706-a2fad42 failed"),
        "{v}"
    );
    assert_eq!(v["images"][0]["tags"][1]["status"], "created", "{v}");
    assert_eq!(v["release"]["status"], "failed", "{v}");
    assert_eq!(v["release"]["error"]["kind"], "audit_unavailable", "{v}");
}

/// `status`, `history` and `verify` print the envelope of every command, their fields at the
/// top (no `report`), and the source commit in its one shape.
#[test]
fn read_only_commands_print_the_same_envelope_flat() {
    let w = world();
    let d = w.build("one");
    w.reg.set_tag(&w.repo, "staging", &d, t("2026-07-06T09:00:00Z"));
    assert_eq!(
        w.run(&promote(false), OutputFormat::Text, "2026-07-06T10:00:00Z")
            .0,
        0
    );
    let verify = Command::Verify {
        reference: "prod".into(),
        image: None,
    };
    for (command, operation) in [
        (Command::Status, "status"),
        (Command::History, "history"),
        (verify, "verify"),
    ] {
        let (code, out, _, _) = w.run(&command, OutputFormat::Json, "2026-07-06T11:00:00Z");
        assert_eq!(code, 0, "{out}");
        let v = valid_output(&out);
        assert_eq!(
            (v["operation"].as_str(), v["result"].as_str()),
            (Some(operation), Some("done"))
        );
        assert!(v.get("report").is_none(), "{v}");
    }
    let (_, out, _, _) = w.run(&Command::Status, OutputFormat::Json, "2026-07-06T11:00:00Z");
    let prod = &valid_output(&out)["images"][0]["channels"][1];
    assert_eq!(
        prod["source_commit"],
        serde_json::json!({"sha": "a2fad42", "source": "prod_stamp", "stamp": "prod-20260706-a2fad42", "derived_from_digest": false}),
        "{prod}"
    );
    let (_, out, _, _) = w.run(
        &Command::Verify {
            reference: "prod".into(),
            image: None,
        },
        OutputFormat::Json,
        "2026-07-06T11:00:00Z",
    );
    let v = valid_output(&out);
    assert_eq!(v["source_commit"]["source"], "certificate", "{v}");
    assert_eq!(v["source_commit"]["stamp"], serde_json::Value::Null, "{v}");
}
