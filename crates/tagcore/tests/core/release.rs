//! Release notes: a commit derived from the digest is shown as unknown, never as a commit.

use tagcore::Engine;
use tagcore::policy::{SourceMode, StepMode};
use tagcore::request::{PromoteRequest, PromoteSource, Request};
use tagcore::testing::{MemoryAudit, MemoryRegistry, MemoryVerifier, block_on};

use crate::support::{policy, spec};

#[test]
fn the_notes_of_a_promotion_whose_commit_is_unknown_say_so() {
    let mut s = spec();
    s.release.mode = StepMode::Required;
    s.promote.sources = vec![SourceMode::Digest];
    let p = policy(&s);
    let now = "2026-06-01T00:00:00Z".parse().expect("time");
    let reg = MemoryRegistry::new(now);
    let digest = reg.add_image(&p.images[0].repository, "no-commit");
    let (ver, audit) = (MemoryVerifier::new(), MemoryAudit::new());
    let request = Request::Promote(PromoteRequest {
        source: PromoteSource::Digest(digest.clone()),
        confirm: None,
        expect_digest: None,
        allow_older: false,
    });
    block_on(Engine::new(&p, &reg, &ver, &audit).run(&request, now, false)).expect("promoted");
    let releases = audit.releases();
    let notes = &releases.values().next().expect("a release").request.notes;
    assert!(
        notes.contains(&format!(
            "- Source commit: **unknown** (`{}` derived from digest, commit unknown)",
            digest.short()
        )),
        "{notes}"
    );
    assert!(!notes.contains("(from derived"), "{notes}");
}
