//! One registry type the CLI can hold: remote (OCI API, optionally with the Hub API) or a local
//! OCI layout.

use tagcore::{Digest, Manifest, Registry, RegistryError, Repository, Tag, TagListing};

use crate::client::OciConfig;
use crate::hub::{HubClient, HubConfig};
use crate::layout::LayoutRegistry;
use crate::remote::RemoteRegistry;

/// Either backend, implementing [`Registry`] by delegation.
#[derive(Debug, Clone)]
pub enum AnyRegistry {
    /// A registry over the network (OCI distribution API; Hub API for docker.io listings).
    Remote(RemoteRegistry),
    /// A local OCI image-layout directory (`oci:./dir`).
    Layout(LayoutRegistry),
}

impl AnyRegistry {
    /// Returns the backend for a policy's registry setting: `oci:<dir>` opens a local layout
    /// root; anything else (`docker.io`, `ghcr.io`, `127.0.0.1:5000`) a remote registry with
    /// `oci`, listing `docker.io` tags through the Hub API when `hub` is given.
    pub fn open(location: &str, oci: OciConfig, hub: Option<HubConfig>) -> Result<Self, RegistryError> {
        if let Some(layout) = LayoutRegistry::from_reference(location) {
            return Ok(Self::Layout(layout));
        }
        match hub {
            Some(h) => Ok(Self::Remote(RemoteRegistry::with_hub(oci, HubClient::new(h)?)?)),
            None => Ok(Self::Remote(RemoteRegistry::new(oci)?)),
        }
    }

    /// Returns the rate-limit headers last seen from a remote registry (`None` for a layout).
    pub fn last_rate_limit(&self) -> Option<crate::RateLimit> {
        match self {
            Self::Remote(r) => r.last_rate_limit(),
            Self::Layout(_) => None,
        }
    }
}

impl From<RemoteRegistry> for AnyRegistry {
    fn from(r: RemoteRegistry) -> Self {
        Self::Remote(r)
    }
}

impl From<LayoutRegistry> for AnyRegistry {
    fn from(r: LayoutRegistry) -> Self {
        Self::Layout(r)
    }
}

impl Registry for AnyRegistry {
    async fn resolve_tag(&self, repository: &Repository, tag: &Tag) -> Result<Option<Digest>, RegistryError> {
        match self {
            Self::Remote(r) => r.resolve_tag(repository, tag).await,
            Self::Layout(r) => r.resolve_tag(repository, tag).await,
        }
    }

    async fn fetch_manifest(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        match self {
            Self::Remote(r) => r.fetch_manifest(repository, digest).await,
            Self::Layout(r) => r.fetch_manifest(repository, digest).await,
        }
    }

    async fn put_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        manifest: &Manifest,
    ) -> Result<Digest, RegistryError> {
        match self {
            Self::Remote(r) => r.put_manifest(repository, tag, manifest).await,
            Self::Layout(r) => r.put_manifest(repository, tag, manifest).await,
        }
    }

    async fn list_tags(&self, repository: &Repository) -> Result<TagListing, RegistryError> {
        match self {
            Self::Remote(r) => r.list_tags(repository).await,
            Self::Layout(r) => r.list_tags(repository).await,
        }
    }

    async fn fetch_manifest_by_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
    ) -> Result<Option<Manifest>, RegistryError> {
        match self {
            Self::Remote(r) => r.fetch_manifest_by_tag(repository, tag).await,
            Self::Layout(r) => r.fetch_manifest_by_tag(repository, tag).await,
        }
    }

    async fn list_tags_scoped(
        &self,
        repository: &Repository,
        scope: &tagcore::ListingScope,
    ) -> Result<TagListing, RegistryError> {
        match self {
            Self::Remote(r) => r.list_tags_scoped(repository, scope).await,
            Self::Layout(r) => r.list_tags_scoped(repository, scope).await,
        }
    }

    async fn fetch_blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        match self {
            Self::Remote(r) => r.fetch_blob(repository, digest, max_bytes).await,
            Self::Layout(r) => r.fetch_blob(repository, digest, max_bytes).await,
        }
    }

    async fn fetch_referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<Manifest>, RegistryError> {
        match self {
            Self::Remote(r) => r.fetch_referrers(repository, digest).await,
            Self::Layout(r) => r.fetch_referrers(repository, digest).await,
        }
    }

    async fn image_revision(
        &self,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Option<String>, RegistryError> {
        match self {
            Self::Remote(r) => r.image_revision(repository, digest).await,
            Self::Layout(r) => r.image_revision(repository, digest).await,
        }
    }

    fn traffic(&self) -> Option<tagcore::Traffic> {
        match self {
            Self::Remote(r) => r.traffic(),
            Self::Layout(r) => r.traffic(),
        }
    }

    fn delete_mode(&self) -> Option<tagcore::retention::DeleteMode> {
        match self {
            Self::Remote(r) => r.delete_mode(),
            Self::Layout(r) => r.delete_mode(),
        }
    }

    async fn delete_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        match self {
            Self::Remote(r) => r.delete_tag(repository, tag, digest).await,
            Self::Layout(r) => r.delete_tag(repository, tag, digest).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_the_backend_a_location_names() {
        let layout = AnyRegistry::open("oci:./local-layout", OciConfig::default(), None).unwrap();
        assert!(
            matches!(&layout, AnyRegistry::Layout(l) if l.root() == std::path::Path::new("./local-layout"))
        );
        let remote =
            AnyRegistry::open("docker.io", OciConfig::default(), Some(HubConfig::default())).unwrap();
        assert!(matches!(&remote, AnyRegistry::Remote(r) if r.hub().is_some()));
        assert!(remote.last_rate_limit().is_none());
    }
}
