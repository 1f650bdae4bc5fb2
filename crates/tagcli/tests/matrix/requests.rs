//! Request counts of promote and its re-run on the real registry, through the proxy's log.

use crate::world::{LATER, NOW, Op, World};

fn show(w: &World) -> Vec<String> {
    w.proxy
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn measure_promote() {
    let w = World::new();
    let case = w.setup(Op::Promote);
    let audit = tagcore::testing::MemoryAudit::new();
    w.proxy.reset();
    let out = w.run(&case, NOW, &audit).expect("promote");
    println!("promote {:?}", out.result);
    for l in show(&w) {
        println!("  {l}");
    }
    w.proxy.reset();
    let out = w.run(&case, LATER, &audit).expect("re-run");
    println!("re-run {:?}", out.result);
    for l in show(&w) {
        println!("  {l}");
    }
}
