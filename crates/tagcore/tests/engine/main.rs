//! Scenario tests of the tagcore engine over the in-memory ports: every SPEC §9 case that does
//! not need a real registry, plus the safety invariants of SPEC §8.

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
mod resolve;
mod retag;
mod rollback;
mod support;
