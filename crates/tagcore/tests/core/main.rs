//! Tests of tagcore's public API outside the engine: names, digests, endpoints, policy,
//! requests, templates and time. Each was written to fail on a mutant that survived the
//! suite (docs/testing.md, "Mutation testing").

mod endpoint;
mod errors;
mod glob;
mod ids;
mod plan;
mod policy;
mod port;
mod reference;
mod release;
mod request;
mod retention;
mod signature;
mod source;
mod support;
mod tag;
mod template;
mod time;
