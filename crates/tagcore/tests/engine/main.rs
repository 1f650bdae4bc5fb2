//! Scenario tests of the tagcore engine over the in-memory ports: every regression case of
//! docs/behaviour.md#regression-cases that needs no real registry, plus the safety invariants.

mod concurrency;
mod correctness;
mod dispatch;
mod downgrade;
mod execution;
mod guards;
mod history;
mod invariants;
mod model;
mod multi_image;
mod promote;
mod prune;
mod publish;
mod push;
mod resolve;
mod retag;
mod rollback;
mod support;
