//! Registry adapters for tagcore.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod client;
mod credentials;
mod error_map;
mod hub;
pub mod manifest;
mod remote;
mod retry;

pub use auth::{Challenge, parse_www_authenticate};
pub use client::{OciConfig, PlainHttp};
pub use credentials::{CredentialStore, Credentials, DockerConfig, Secret, docker_server_key, normalize_server_key};
pub use hub::{HubClient, HubConfig, HubListOptions, StopWhen};
pub use remote::RemoteRegistry;
pub use retry::{RateLimit, RetryPolicy};
