//! History, automatic rollback and promote over 100,000 tags on the Hub API emulation: at most
//! 3 pages, the same answer as a full read; a Hub outage falls back to the registry's own listing.

use registry_hub::RemoteRegistry;
use tagcore::engine::HistoryReport;
use tagcore::request::{Request, RollbackRequest, RollbackTarget};
use tagcore::testing::MemoryAudit;
use tagcore::{Digest, Engine, Manifest, OpErrorKind, Registry, RegistryError, Repository, Tag, TagListing};
use testkit::{HubOutage, HubRepo, HubTag};

use crate::world::{World, promote, t};

/// The newest synthetic build's push time; releases are pushed among the newest builds.
const T0: &str = "2026-06-25T12:00:00Z";
const NOW: &str = "2026-06-26T12:00:00Z";
const SHAS: [&str; 5] = ["a2fad42", "851f2cc", "970361d", "4cd1e0b", "77e0f2a"];

/// The counted client without its scoped listings: every listing reads every page (a full
/// read, for comparison).
struct FullRead<'a>(&'a RemoteRegistry);

impl Registry for FullRead<'_> {
    async fn resolve_tag(&self, r: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        self.0.resolve_tag(r, tag).await
    }
    async fn fetch_manifest(&self, r: &Repository, d: &Digest) -> Result<Manifest, RegistryError> {
        self.0.fetch_manifest(r, d).await
    }
    async fn put_manifest(&self, r: &Repository, tag: &Tag, m: &Manifest) -> Result<Digest, RegistryError> {
        self.0.put_manifest(r, tag, m).await
    }
    async fn list_tags(&self, r: &Repository) -> Result<TagListing, RegistryError> {
        self.0.list_tags(r).await
    }
    async fn fetch_blob(&self, r: &Repository, d: &Digest, max: u64) -> Result<Vec<u8>, RegistryError> {
        self.0.fetch_blob(r, d, max).await
    }
    async fn fetch_referrers(&self, r: &Repository, d: &Digest) -> Result<Option<Manifest>, RegistryError> {
        self.0.fetch_referrers(r, d).await
    }
    async fn image_revision(&self, r: &Repository, d: &Digest) -> Result<Option<String>, RegistryError> {
        self.0.image_revision(r, d).await
    }
}

/// Five releases on one day, 30 minutes apart among 100,000 builds pushed a minute apart
/// (newest first: release k is pushed 30 s + k × 30 min before the newest build); prod and
/// latest at the newest release. Returns the world and the releases' digests, newest first.
fn hub_world() -> (World, Vec<Digest>) {
    let (w, digests, tags) = releases();
    serve(&w, tags);
    (w, digests)
}

/// The world of [`hub_world`] before the Hub serves it, with the releases' Hub tags.
fn releases() -> (World, Vec<Digest>, Vec<HubTag>) {
    let w = World::new(Some(HubRepo::new("team", "app", Vec::new())));
    let t0 = t(T0).unix();
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    for (k, sha) in SHAS.iter().enumerate() {
        let d = w.image(&format!("release{k}"), None);
        let stamp = format!("prod-20260625-{sha}");
        w.set_tag(&stamp, &d);
        let pushed = t0 - 30 - 1800 * k as i64;
        tags.push(HubTag::new(&stamp, d.as_str(), pushed));
        if k == 0 {
            for channel in ["prod", "latest"] {
                w.set_tag(channel, &d);
                tags.push(HubTag::new(channel, d.as_str(), pushed));
            }
        }
        digests.push(d);
    }
    (w, digests, tags)
}

/// Serves `tags` and 100,000 synthetic builds (the newest pushed at `T0`, a minute apart).
fn serve(w: &World, tags: Vec<HubTag>) {
    let hub = w.hub.as_ref().expect("hub");
    hub.set_repos(vec![HubRepo::new("team", "app", tags).with_synthetic(
        100_000,
        t(T0).unix(),
        60,
    )]);
}

fn history_on<R: Registry>(w: &World, registry: &R) -> HistoryReport {
    let audit = MemoryAudit::new();
    let engine = Engine::new(&w.policy, registry, &w.verifier, &audit);
    w.rt.block_on(engine.history()).expect("history")
}

fn automatic() -> Request {
    Request::Rollback(RollbackRequest {
        target: RollbackTarget::Automatic,
        confirm: None,
    })
}

#[test]
fn history_over_100000_hub_tags_reads_one_page_and_equals_a_full_read() {
    let (w, digests) = hub_world();
    let hub = w.hub.as_ref().expect("hub");
    hub.reset();
    let scoped = history_on(&w, &w.client);
    let pages = hub.tag_pages();
    println!("history, name= honoured: {pages} Hub pages");
    assert!(pages <= 3, "{pages} pages");
    assert_eq!(hub.requests()[0].param("name"), Some("prod-"));
    assert_eq!(scoped.events.len(), 5, "{scoped:#?}");
    assert_eq!(scoped.current, Some(digests[0].clone()));
    assert_eq!(scoped.events[1].digest, digests[1]);
    hub.reset();
    let full = history_on(&w, &FullRead(&w.client));
    println!("history, full read: {} Hub pages", hub.tag_pages());
    assert!(hub.tag_pages() > 1000);
    assert_eq!(scoped.events, full.events);
    assert_eq!(scoped.current, full.current);
}

#[test]
fn automatic_rollback_over_100000_hub_tags_stops_within_3_pages_with_the_answer_of_a_full_read() {
    let (w, digests) = hub_world();
    let hub = w.hub.as_ref().expect("hub");
    // Even a service that ignores `name=` is read only until older pages cannot matter.
    hub.set_ignore_name_filter(true);
    hub.reset();
    let scoped = w.run_on(&w.client, &automatic(), NOW, true).expect("rollback");
    let pages = hub.tag_pages();
    println!("automatic rollback, name= ignored: {pages} Hub pages");
    assert!(pages <= 3, "{pages} pages");
    assert_eq!(
        scoped.plan.target.as_ref().map(Tag::as_str),
        Some("prod-20260625-851f2cc")
    );
    assert_eq!(scoped.plan.images[0].digest, digests[1]);
    hub.reset();
    let full = w
        .run_on(&FullRead(&w.client), &automatic(), NOW, true)
        .expect("rollback");
    println!("automatic rollback, full read: {} Hub pages", hub.tag_pages());
    assert!(hub.tag_pages() > 1000);
    assert_eq!(scoped.plan.target, full.plan.target);
    assert_eq!(scoped.plan.images, full.plan.images);
    assert_eq!(scoped.plan.steps, full.plan.steps);
    assert_eq!(scoped.plan.stamp, full.plan.stamp);
    // And it runs.
    let done = w.run_on(&w.client, &automatic(), NOW, false).expect("rollback");
    assert_eq!(done.result, tagcore::outcome::RunResult::Done, "{done:#?}");
    assert_eq!(w.get_tag("prod"), Some(digests[1].clone()));
}

#[test]
fn a_hub_outage_falls_back_to_the_registry_listing_and_automatic_rollback_refuses_without_push_times() {
    let (w, digests) = hub_world();
    let hub = w.hub.as_ref().expect("hub");
    hub.set_outage(Some(HubOutage::Status(503)));
    // Five same-day stamps and no push times: their order is unknowable, so it refuses.
    let err = w
        .run_on(&w.client, &automatic(), NOW, true)
        .expect_err("no push times");
    assert_eq!(err.kind, OpErrorKind::History, "{err}");
    // With the Hub back, push times order them.
    hub.set_outage(None);
    let back = w.run_on(&w.client, &automatic(), NOW, true).expect("rollback");
    assert_eq!(back.plan.images[0].digest, digests[1]);
    // Promote does not need push times: it works during the outage, and says where its
    // listing came from.
    hub.set_outage(Some(HubOutage::Close));
    let new = w.image("new", Some("0123456789abcdef0123456789abcdef01234567"));
    w.set_tag("staging", &new);
    let out = w
        .run_on(&w.client, &promote(), NOW, false)
        .expect("promote during a Hub outage");
    assert_eq!(out.result, tagcore::outcome::RunResult::Done, "{out:#?}");
    assert!(
        out.warnings
            .iter()
            .any(|x| x.contains("degraded") && x.contains("Docker Hub API is unavailable")),
        "{:#?}",
        out.warnings
    );
    assert_eq!(w.get_tag("prod"), Some(new));
}

/// A new build without a revision (its commit comes from its staging stamps, the oldest
/// first), staged twice: once before every synthetic build (the last page of a full read)
/// and again today, under another commit's stamp. Returns the world, the new digest, the
/// releases' digests and the Hub's tags.
fn staged_twice() -> (World, Digest, Vec<Digest>, Vec<HubTag>) {
    let (w, releases, mut tags) = releases();
    let new = w.image("new", None);
    let oldest = t(T0).unix() - 100_000 * 60 - 3600;
    for (name, pushed) in [
        ("staging-20260510-1111111", oldest),
        ("staging-20260626-2222222", t(NOW).unix() - 60),
        ("staging", t(NOW).unix() - 60),
    ] {
        w.set_tag(name, &new);
        tags.push(HubTag::new(name, new.as_str(), pushed));
    }
    serve(&w, tags.clone());
    (w, new, releases, tags)
}

#[test]
fn promote_over_100000_hub_tags_stops_within_3_pages_with_the_plan_of_a_full_read() {
    let (w, new, releases, mut tags) = staged_twice();
    let hub = w.hub.as_ref().expect("hub");
    hub.reset();
    let scoped = w.run_on(&w.client, &promote(), NOW, true).expect("promote");
    let pages = hub.tag_pages();
    let names: Vec<Option<String>> = hub
        .requests()
        .iter()
        .map(|r| r.param("name").map(str::to_owned))
        .collect();
    println!("promote, name= honoured: {pages} Hub pages, name= {names:?}");
    assert!(pages <= 3, "{pages} pages");
    assert_eq!(names, [Some("prod-".to_owned()), Some("staging-".to_owned())]);
    // The oldest staging stamp names the commit, though it is older than every page read.
    assert_eq!(
        scoped.plan.stamp.as_ref().map(Tag::as_str),
        Some("prod-20260626-1111111")
    );
    assert_eq!(scoped.plan.images[0].digest, new);
    hub.reset();
    let full = w
        .run_on(&FullRead(&w.client), &promote(), NOW, true)
        .expect("promote");
    println!("promote, full read: {} Hub pages", hub.tag_pages());
    assert!(hub.tag_pages() > 1000);
    assert_eq!(scoped.plan.images, full.plan.images);
    assert_eq!(scoped.plan.steps, full.plan.steps);
    assert_eq!(scoped.plan.stamp, full.plan.stamp);
    assert_eq!(scoped.plan.source_commit, full.plan.source_commit);
    assert_eq!(scoped.plan.warnings, full.plan.warnings);

    // Run it; the Hub then lists what moved, as Docker Hub does.
    let done = w.run_on(&w.client, &promote(), NOW, false).expect("promote");
    assert_eq!(done.result, tagcore::outcome::RunResult::Done, "{done:#?}");
    assert_eq!(w.get_tag("prod"), Some(new.clone()));
    tags.retain(|h| !matches!(h.name.as_str(), "prod" | "latest"));
    for name in ["prod-20260626-1111111", "prod", "latest"] {
        tags.push(HubTag::new(name, new.as_str(), t(NOW).unix()));
    }
    serve(&w, tags);
    // Its re-run reads as few pages, no manifest or blob, and reports the same "previous".
    let (rerun, log) = w.counted(&promote(), NOW, false);
    let pages = hub.tag_pages();
    println!("re-run: {pages} Hub pages, {} registry requests", log.len());
    assert!(pages <= 3, "{pages} pages");
    assert_eq!(crate::world::content_gets(&log), Vec::<String>::new());
    assert_eq!(rerun.plan.stamp, scoped.plan.stamp);
    assert_eq!(rerun.plan.images[0].previous_digest, Some(releases[0].clone()));
    assert!(
        rerun.plan.steps.iter().all(tagcore::plan::WriteStep::is_noop),
        "{:#?}",
        rerun.plan.steps
    );
}

#[test]
fn promote_on_a_hub_that_ignores_name_stops_within_3_pages_when_the_revision_names_the_commit() {
    let (w, releases, mut tags) = releases();
    let new = w.image("new", Some("0123456789abcdef0123456789abcdef01234567"));
    w.set_tag("staging", &new);
    tags.push(HubTag::new("staging", new.as_str(), t(NOW).unix() - 60));
    serve(&w, tags);
    let hub = w.hub.as_ref().expect("hub");
    hub.set_ignore_name_filter(true);
    hub.reset();
    let scoped = w.run_on(&w.client, &promote(), NOW, true).expect("promote");
    let pages = hub.tag_pages();
    println!("promote, name= ignored: {pages} Hub pages");
    assert!(pages <= 3, "{pages} pages");
    assert_eq!(
        scoped.plan.stamp.as_ref().map(Tag::as_str),
        Some("prod-20260626-0123456")
    );
    assert_eq!(scoped.plan.images[0].previous_digest, Some(releases[0].clone()));
    hub.reset();
    let full = w
        .run_on(&FullRead(&w.client), &promote(), NOW, true)
        .expect("promote");
    assert_eq!(scoped.plan.images, full.plan.images);
    assert_eq!(scoped.plan.steps, full.plan.steps);
    assert_eq!(scoped.plan.source_commit, full.plan.source_commit);
}

/// Round trips are counted, not timed: with 50 ms one way, requests sent together overlap and
/// count once (`FaultProxy::sequential_requests`).
#[test]
fn promote_on_docker_hub_reads_todays_stamp_while_the_signature_is_checked() {
    let (w, _, mut tags) = releases();
    let new = w.image("new", Some("0123456789abcdef0123456789abcdef01234567"));
    w.set_tag("staging", &new);
    tags.push(HubTag::new("staging", new.as_str(), t(NOW).unix() - 60));
    serve(&w, tags);
    w.proxy.set_latency(std::time::Duration::from_millis(50));
    let (out, log) = w.counted(&promote(), NOW, false);
    assert_eq!(out.result, tagcore::outcome::RunResult::Done, "{out:#?}");
    let shown = crate::world::show(&log);
    println!(
        "{} registry requests, {} in turn: {shown:#?}",
        log.len(),
        w.proxy.sequential_requests()
    );
    // The listing stopped early, so it proves no absence: today's stamp is read once, in the
    // round of the signature's payload, before its PUT.
    let stamp = "manifests/prod-20260626-0123456";
    assert_eq!(
        shown.iter().filter(|r| **r == format!("HEAD {stamp}")).count(),
        2,
        "{shown:#?}"
    );
    let head = shown.iter().position(|r| *r == format!("HEAD {stamp}"));
    let put = shown.iter().position(|r| *r == format!("PUT {stamp}"));
    assert!(head < put, "{shown:#?}");
    // The 15 of a names-only registry, the Hub page instead of `GET tags/list`, and the HEAD.
    assert_eq!(log.len(), 15, "{shown:#?}");
    assert!(w.proxy.sequential_requests() <= 9, "{shown:#?}");
}
