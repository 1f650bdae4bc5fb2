//! Builds the adapters from the configuration: the registry, the verifier, the audit sink.

use cosign_verify::CosignVerifier;
use registry_hub::{
    AnyRegistry, CredentialStore, Credentials, DockerConfig, HubClient, HubConfig, LayoutRegistry, OciConfig,
    PlainHttp, RemoteRegistry,
};
use tagcore::{Digest, Repository, VerifiedSignature, Verifier, VerifyError};

use crate::config::{RegistryTarget, UnitConfig};

/// Returns the registry adapter for the unit.
pub(crate) fn registry(cfg: &UnitConfig) -> Result<AnyRegistry, String> {
    let r = &cfg.registry;
    match &r.target {
        RegistryTarget::Layout(dir) => Ok(AnyRegistry::from(LayoutRegistry::new(dir.clone()))),
        RegistryTarget::Remote(host) => {
            let mut credentials = CredentialStore::new();
            if let (Some(u), Some(p)) = (&r.username, &r.password) {
                credentials = credentials.with(host, Credentials::basic(u.clone(), p.expose()));
            }
            let docker =
                DockerConfig::from_env().map_err(|e| format!("reading Docker's config.json: {e}"))?;
            credentials = credentials.with_docker_config(docker);
            let config = OciConfig {
                credentials,
                // `insecure = true` allows plain HTTP to this registry host (docs/policy.md).
                plain_http: if r.insecure {
                    PlainHttp::Hosts(vec![host.clone()])
                } else {
                    PlainHttp::Loopback
                },
                allow_insecure: r.insecure,
                ca_bundle: r.ca_file.clone(),
                ..OciConfig::default()
            };
            let remote = match &r.hub_api {
                Some(base) => {
                    let hub_credentials = match (&r.hub_username, &r.hub_password) {
                        (Some(u), Some(p)) => Credentials::basic(u.clone(), p.expose()),
                        _ => Credentials::Anonymous,
                    };
                    let mut hub = HubConfig {
                        base_url: base.clone(),
                        credentials: hub_credentials,
                        allow_insecure: r.insecure,
                        ca_bundle: r.ca_file.clone(),
                        ..HubConfig::default()
                    };
                    if let Some(cap) = r.hub_page_cap {
                        hub.max_pages = u32::try_from(cap).unwrap_or(u32::MAX);
                    }
                    RemoteRegistry::with_hub_for(
                        config,
                        HubClient::new(hub).map_err(|e| e.to_string())?,
                        host,
                    )
                }
                None => RemoteRegistry::new(config),
            }
            .map_err(|e| e.to_string())?;
            Ok(AnyRegistry::from(remote))
        }
    }
}

/// The verifier: cosign when the policy has a `[verify]` section, else one that refuses.
pub(crate) enum AnyVerifier {
    /// Signatures are checked.
    Cosign(Box<CosignVerifier<AnyRegistry>>),
    /// The policy verifies nothing; asking is an error (fail closed).
    Off,
}

impl Verifier for AnyVerifier {
    async fn verify(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<VerifiedSignature, VerifyError> {
        match self {
            Self::Cosign(v) => v.verify(repository, digest).await,
            Self::Off => Err(VerifyError::Refused {
                reasons: vec!["the policy has no [verify] section".into()],
            }),
        }
    }
}

/// Returns the verifier for the unit (its policy's key and trust root were read with the
/// policy file).
pub(crate) fn verifier(cfg: &UnitConfig, registry: AnyRegistry) -> AnyVerifier {
    match &cfg.verification {
        Some(policy) => AnyVerifier::Cosign(Box::new(CosignVerifier::with_policy(registry, policy.clone()))),
        None => AnyVerifier::Off,
    }
}
