//! End-to-end: the `tagcli` binary against a real `docker-registry` (Bearer-token auth) on
//! 127.0.0.1 and GitHub's API on wiremock, one suite per fixture policy.

mod action;
mod chat_api;
mod cloud_api;
mod compose_manager;
mod correctness;
mod deploy;
mod gaps;
mod hostile;
mod hub;
mod hub_outage;
mod support;
mod usage;
mod workflows;
