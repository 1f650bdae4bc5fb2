//! Plans: whether executing one would write anything.

use tagcore::Engine;
use tagcore::request::{Request, RetagRequest};
use tagcore::testing::{MemoryAudit, MemoryRegistry, MemoryVerifier, block_on};

use crate::support::{policy, spec};

#[test]
fn a_plan_writes_nothing_exactly_when_every_tag_already_holds_its_digest() {
    let p = policy(&spec());
    let now = "2026-06-01T00:00:00Z".parse().expect("time");
    let reg = MemoryRegistry::new(now);
    let repo = p.images[0].repository.clone();
    let digest = reg.add_image(&repo, "rc");
    reg.set_tag(&repo, "rc-1", &digest, now);
    let (ver, audit) = (MemoryVerifier::new(), MemoryAudit::new());
    let engine = Engine::new(&p, &reg, &ver, &audit);
    let retag = Request::Retag(RetagRequest::parse("rc-1", "qa", None, &p).expect("retag"));
    let plan = block_on(engine.prepare(&retag, now)).expect("plan").plan;
    assert!(!plan.steps.is_empty());
    assert!(!plan.writes_nothing(), "{plan:?}");
    block_on(engine.run(&retag, now, false)).expect("retagged");
    let plan = block_on(engine.prepare(&retag, now)).expect("plan").plan;
    assert!(plan.writes_nothing(), "{plan:?}");
}
