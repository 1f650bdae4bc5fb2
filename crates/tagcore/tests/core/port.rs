//! The ports: a borrowed registry is the registry it borrows.

use tagcore::Registry;
use tagcore::retention::DeleteMode;
use tagcore::testing::MemoryRegistry;

fn mode_through_a_reference<R: Registry>(r: &R) -> Option<DeleteMode> {
    // `&R` is itself a `Registry`; its answer must be the registry's own.
    Registry::delete_mode(&r)
}

#[test]
fn a_borrowed_registry_reports_the_delete_mode_of_the_registry() {
    let reg = MemoryRegistry::new("2026-06-01T00:00:00Z".parse().expect("time"));
    assert_eq!(mode_through_a_reference(&reg), Some(DeleteMode::ByTag));
    reg.delete_by_digest(true);
    assert_eq!(mode_through_a_reference(&reg), Some(DeleteMode::ByDigest));
    reg.cannot_delete();
    assert_eq!(mode_through_a_reference(&reg), None);
}
