//! `resolve` and `prune` through the binary on the real registry.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{PASSWORD, USER, World};

const MGR: &str = "compose-manager";
const LAUNCHER: &str = "compose-manager-launcher";
const SHA: &str = "a2fad42e9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";

fn sign_as(w: &World, name: &str, d: &tagcore::Digest, repository: &str) {
    w.sign(name, d, repository, "build.yml", "refs/heads/master", SHA);
}

/// Returns whether skopeo can read `reference` from the world's registry (token auth).
fn skopeo_inspects(reference: &str) -> bool {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds"])
        .arg(format!("{USER}:{PASSWORD}"))
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo (scripts/test installs it)");
    out.status.success()
}

#[test]
fn resolve_verified_pins_only_what_verifies_and_every_pin_works_with_skopeo() {
    let w = World::new("compose-manager.toml");
    let m = w.push_image(MGR, "mgr 1");
    let bad = w.push_image(LAUNCHER, "launcher 1");
    sign_as(&w, MGR, &m, "nearai/compose-manager");
    // Signed, but by another repository's workflow: the policy's identity refuses it.
    sign_as(&w, LAUNCHER, &bad, "nearai/somebody-else");
    for (name, d) in [(MGR, &m), (LAUNCHER, &bad)] {
        w.set_tag(name, "prod", d);
    }
    let out_file = w.dir.path().join("gh_output_bad");
    let out = out_file.to_str().unwrap();
    let r = w.tagcli_env(&["resolve", "prod", "--verified"], &[("GITHUB_OUTPUT", out)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, format!("[registry]/nearai/{MGR}@{m}\n"));
    assert!(!r.stdout.contains(bad.as_str()), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "refused [registry]/nearai/{LAUNCHER}@{bad}, no reference printed"
        )),
        "{}",
        r.stderr
    );
    let outputs = std::fs::read_to_string(&out_file).unwrap();
    assert!(outputs.contains("result=refused\n"), "{outputs}");
    assert!(outputs.contains("ref_compose_manager_launcher=\n"), "{outputs}");
    let j = w
        .tagcli(&["resolve", "prod", "--verified", "--output", "json"])
        .json();
    assert_eq!(j["operation"], "resolve");
    assert_eq!(j["complete"], false);
    assert_eq!(
        j["images"].as_array().unwrap().len(),
        2,
        "the dashboard never gets prod: {j}"
    );
    assert!(j["images"][1]["reference"].is_null(), "{j}");
    assert!(
        j["images"][1]["note"].as_str().unwrap().contains("identity"),
        "{j}"
    );
    assert_eq!(
        j["images"][0]["verification"]["workflow_repository"],
        "nearai/compose-manager"
    );

    // A good unit: every printed reference is what the registry serves.
    let good = w.push_image(LAUNCHER, "launcher 2");
    sign_as(&w, LAUNCHER, &good, "nearai/compose-manager");
    w.set_tag(LAUNCHER, "prod", &good);
    let out_file = w.dir.path().join("gh_output_good");
    let out = out_file.to_str().unwrap();
    let r = w.tagcli_env(&["resolve", "prod", "--verified"], &[("GITHUB_OUTPUT", out)]);
    assert_eq!(r.code, 0, "{r:?}");
    let refs: Vec<String> = r
        .stdout
        .lines()
        .map(|l| l.replace("[registry]", w.registry.addr()))
        .collect();
    assert_eq!(refs.len(), 2, "{r:?}");
    assert!(refs[1].ends_with(&format!("{LAUNCHER}@{good}")), "{refs:?}");
    for reference in &refs {
        assert!(skopeo_inspects(reference), "skopeo cannot read {reference}");
    }
    let outputs = std::fs::read_to_string(&out_file).unwrap();
    assert!(outputs.contains("result=done\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("ref_compose_manager={}\n", refs[0])),
        "{outputs}"
    );
    assert!(
        outputs.contains(&format!("ref_compose_manager_launcher={}\n", refs[1])),
        "{outputs}"
    );
}

const IMAGE: &str = "cloud-api";

/// Returns release `i`'s date (one a day from 2026-01-01) and commit abbreviation.
fn release(i: usize) -> (String, String) {
    let day = time_day(i);
    (day, format!("{:07x}", 0xa000000 + i))
}

fn time_day(i: usize) -> String {
    let base = tagcore::Timestamp::parse_date_compact("20260101").unwrap();
    let t = tagcore::Timestamp::from_unix(base.unix() + i as i64 * 86_400);
    t.to_string()[..10].replace('-', "")
}

#[test]
fn prune_deletes_exactly_the_expected_set_and_the_window_still_rolls_back() {
    let w = World::new("cloud-api.toml");
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str(
        "\n[retention]\nkeep_releases = 10\nkeep_days = 0\nprunable = [\"staging-*\", \"pr-*\", \"sha-*\", \"prod-2*\"]\n",
    );
    std::fs::write(&w.config, text).unwrap();
    // 40 releases, one image each, a staging and a prod stamp on it.
    let digests: Vec<_> = (0..40)
        .map(|i| w.push_image(IMAGE, &format!("release {i}")))
        .collect();
    let mut owner = std::collections::BTreeMap::new();
    for (i, d) in digests.iter().enumerate() {
        let (day, sha7) = release(i);
        for stamp in [format!("staging-{day}-{sha7}"), format!("prod-{day}-{sha7}")] {
            w.set_tag(IMAGE, &stamp, d);
            owner.insert(stamp, i);
        }
    }
    for ch in ["prod", "staging", "latest"] {
        w.set_tag(IMAGE, ch, &digests[39]);
    }
    // 200 noise tags over every release's digest; a quarter of them not prunable.
    for k in 0..200usize {
        let name = match k % 4 {
            0 | 3 => format!("pr-{k}"),
            1 => format!("sha-{:07x}", 0xb000000 + k),
            _ => format!("dev-{k}"),
        };
        w.set_tag(IMAGE, &name, &digests[k % 40]);
        owner.insert(name, k % 40);
    }
    let before: BTreeSet<String> = w.tags(IMAGE).into_iter().collect();
    assert_eq!(before.len(), 283);
    // The registry deletes by digest, which takes every tag on the manifest along: a release's
    // digest goes when it is outside the window (releases 30..39 are the newest 10) and no kept
    // tag (here a dev-* tag, not prunable) is on it.
    let held: BTreeSet<usize> = owner
        .iter()
        .filter(|(name, _)| name.starts_with("dev-"))
        .map(|(_, i)| *i)
        .collect();
    let expected: BTreeSet<String> = owner
        .iter()
        .filter(|(name, i)| **i < 30 && !held.contains(*i) && !name.starts_with("dev-"))
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(held.iter().filter(|i| **i < 30).count(), 7);
    let now = ["--now", "2026-07-01T00:00:00Z"];

    let dry = w.tagcli(&[&now[..], &["prune", "--output", "json"]].concat());
    eprintln!("planned {} of {} tags", expected.len(), before.len());
    assert_eq!(dry.code, 0, "{dry:?}");
    let j = dry.json();
    assert_eq!(
        (j["dry_run"].as_bool(), j["result"].as_str()),
        (Some(true), Some("dry_run"))
    );
    let planned: BTreeSet<String> = j["images"][0]["delete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["tag"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(planned, expected);
    assert_eq!(
        w.tags(IMAGE).into_iter().collect::<BTreeSet<_>>(),
        before,
        "a dry run deletes nothing"
    );

    let applied = w.tagcli(&[&now[..], &["prune", "--apply"]].concat());
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(
        applied.stdout.contains(&format!(
            "{} of {} tag(s) deleted",
            expected.len(),
            expected.len()
        )),
        "{}",
        applied.stdout
    );
    let after: BTreeSet<String> = w.tags(IMAGE).into_iter().collect();
    let deleted: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(deleted, expected);

    // The oldest release of the window still rolls back.
    let (day, sha7) = release(30);
    let oldest = format!("prod-{day}-{sha7}");
    w.sign_cloud_at(IMAGE, &digests[30], &format!("{sha7}{}", "0".repeat(33)), 0);
    let r = w.tagcli(&[
        "--now",
        "2026-07-01T01:00:00Z",
        "rollback",
        &oldest,
        "--confirm",
        "ROLLBACK",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(w.tag(IMAGE, "prod"), Some(digests[30].clone()));
}
