//! Implements tagcore's [`Registry`](tagcore::Registry) port for real registries and for a
//! local OCI image layout.
//!
//! - [`RemoteRegistry`]: the OCI distribution API on `reqwest` + rustls, for any registry.
//!   Anonymous, Basic and Bearer (challenge → token endpoint with `service` and a least-privilege
//!   `scope`: `pull` for reads, `pull,push` for writes; tokens cached per scope until expiry).
//!   Credentials come from a [`CredentialStore`]: explicit ones, then Docker's `config.json`
//!   ([`DockerConfig`]: `auths`, `credsStore`, `credHelpers`). Manifests are read with the full
//!   OCI + Docker `Accept` list and written back byte for byte with their media type; the sha256
//!   of the bytes and every `Docker-Content-Digest` are checked. Transient failures are retried
//!   ([`RetryPolicy`]), honouring `Retry-After` and Docker Hub's `X-Retry-After`.
//! - [`HubClient`]: Docker Hub's Hub API, for tag listings with push times and for tag deletion.
//!   [`RemoteRegistry::with_hub`] makes `list_tags` use it for `docker.io` repositories.
//! - [`LayoutRegistry`]: a directory of OCI image layouts, one per repository path. The CLI
//!   names it with the reference form `oci:./path/to/dir` (the root directory); the repository
//!   `127.0.0.1:5000/team/app` or `docker.io/team/app` then lives in `./path/to/dir/team/app`
//!   (the registry part is ignored). See [`LayoutRegistry::from_reference`].
//! - [`AnyRegistry`]: either backend behind one type.
//!
//! Every failure maps to a [`tagcore::RegistryErrorKind`] in one module (`error_map`): 401 is
//! `Unauthorized`, 403 `Forbidden`, never `NotFound`. No secret appears in `Debug`, `Display` or
//! an error message ([`Secret`], [`Credentials`]). HTTPS is required except on loopback or with
//! [`OciConfig::allow_insecure`].
//!
//! # Decisions
//!
//! - A repository the registry does not know (`NAME_UNKNOWN`, or no layout directory) lists as
//!   empty; a missing tag resolves to `None`; a missing manifest or blob is `NotFound`. The Hub
//!   API's 404 stays `NotFound` (it is also its answer for a private repository without login).
//! - `resolve_tag` is a manifest `HEAD` (not a Docker Hub pull); a retag is then one `GET` by
//!   digest and one `PUT` (measured on distribution 2.8.2; see the `it` test binary).
//! - Multi-tag push is tried once per host and remembered (one wasted PUT by digest where it is
//!   ignored); [`OciConfig::try_multi_tag_push`] switches it off.
//! - Pagination (`Link`, Hub `next`) and upload locations are followed only on the same origin,
//!   so credentials never travel to another host; every stop before the end is reported in
//!   [`tagcore::TagListing::truncated`].
//! - [`HubListOptions::stop_when`] relies on Hub listing the newest tags first (its default
//!   order by `last_updated`).
//! - Every body is read with a cap (manifests, tag pages, token and error answers), and a whole
//!   listing stops at [`OciConfig::max_listing_bytes`] / [`OciConfig::max_listing_time`] (the
//!   same for [`HubConfig`]), reported in `truncated`.
//! - Every wait is capped by [`RetryPolicy::max_total_wait`]; a `Retry-After` beyond it (even
//!   u64::MAX seconds) ends the retries at once with the rate-limit error.
//! - "HTTPS or loopback" is tagcore's one rule ([`tagcore::Endpoint`]). A plain-HTTP token realm
//!   gets credentials only on loopback, or on the registry's own host when
//!   [`OciConfig::allow_insecure`] lets that registry be reached over plain HTTP.
//! - Requests with a secret in the body (the refresh-token POST, the Hub login) follow
//!   redirects only on the same origin: reqwest keeps the body of a 307/308.
//! - Foreign text (error bodies, tag names) goes through [`sanitize`] before it reaches a
//!   message: no control character, no line starting a CI workflow command, no credential.
//! - Docker credential helpers have a validated name, a timeout and bounded output, and run on
//!   tokio's blocking pool.
//! - The library never reads the environment by itself: [`DockerConfig::from_env`] is for the
//!   CLI to call.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tagcore::RegistryError> {
//! use registry_hub::{AnyRegistry, CredentialStore, Credentials, OciConfig, RemoteRegistry};
//! use tagcore::Registry as _;
//!
//! let config = OciConfig {
//!     credentials: CredentialStore::new().with("docker.io", Credentials::basic("me", "pat")),
//!     ..OciConfig::default()
//! };
//! let registry = AnyRegistry::from(RemoteRegistry::new(config)?);
//! let repo: tagcore::Repository = "docker.io/team/app".parse().expect("valid");
//! let digest = registry.resolve_tag(&repo, &"staging".parse().expect("valid")).await?;
//! # let _ = digest; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod any;
mod auth;
mod by_tag;
mod client;
mod credentials;
mod delete;
mod error_map;
mod http;
mod hub;
mod hub_page;
mod layout;
mod layout_files;
mod listing;
pub mod manifest;
mod remote;
mod retry;
pub mod sanitize;

pub use any::AnyRegistry;
pub use auth::{Challenge, parse_www_authenticate};
pub use client::{OciConfig, PlainHttp};
pub use credentials::{
    CredentialStore, Credentials, DockerConfig, Secret, docker_server_key, normalize_server_key,
};
pub use hub::{HubClient, HubConfig, HubListOptions, StopWhen};
pub use layout::{LayoutLock, LayoutRegistry, REF_NAME};
pub use remote::RemoteRegistry;
pub use retry::{RateLimit, RetryPolicy};
