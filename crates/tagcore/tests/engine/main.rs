//! Scenario tests of the tagcore engine over the in-memory ports: every SPEC §9 case that does
//! not need a real registry, plus the safety invariants of SPEC §8.

mod dispatch;
mod history;
mod invariants;
mod multi_image;
mod promote;
mod publish;
mod retag;
mod rollback;
mod support;
