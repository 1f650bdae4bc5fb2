//! Request counts on the real registry (`docker-registry` 2.8.2 behind testkit's proxy, whose
//! log counts every request) and Hub pages on testkit's Hub API emulation:
//!
//! - `promote`: a promote of one image with three tags (prod, the stamp, latest) and a
//!   key-based signature makes at most 15 registry requests; its re-run, and the re-run of a
//!   rollback, make no manifest or blob GET; the dry run's budget equals what was sent.
//! - `hub`: history and automatic rollback over 100,000 Hub tags read at most 3 Hub pages and
//!   answer as a full read does; a Hub API outage falls back to the registry's listing.

mod hub;
mod promote;
mod world;
