//! Scenario tests of registry-hub: a real `docker-registry` (plain HTTP, htpasswd over TLS,
//! Bearer tokens), the Hub API on wiremock, fault injection, secrets, and the OCI layout.

mod bounds;
mod delete;
mod faults;
mod helpers;
mod hostile;
mod hub;
mod interop;
mod layout;
mod layout_cas;
mod plain;
mod protocol;
mod secrets;
mod support;
mod tls_basic;
mod token;
mod upload;
