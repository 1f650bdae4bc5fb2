//! Scenario tests of cosign-verify: signatures in cosign's exact formats, pushed to a real
//! docker-registry on 127.0.0.1, verified through the crate's public API.

mod accepted;
mod checks;
mod conformance;
mod gate;
mod memory;
mod public_good;
mod refused;
mod rekor_v2;
mod sct;
mod support;
