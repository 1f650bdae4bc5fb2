//! Tag deletion for `prune`: through Docker Hub's Hub API (the tag alone) where it serves the
//! repository, else the OCI distribution API's manifest delete (by digest, which removes every
//! tag on that manifest; the retention plan never picks a digest a kept tag shares).

use reqwest::Method;
use tagcore::retention::DeleteMode;
use tagcore::{Digest, RegistryError, RegistryErrorKind, Repository, Tag};

use crate::auth::Access;
use crate::remote::RemoteRegistry;

impl RemoteRegistry {
    /// Returns how this client deletes: by tag when the Hub API is configured, else by digest.
    pub(crate) fn deletes_by(&self) -> DeleteMode {
        if self.hub().is_some() {
            DeleteMode::ByTag
        } else {
            DeleteMode::ByDigest
        }
    }

    /// Deletes `tag` (pointing at `digest`) the way [`RemoteRegistry::deletes_by`] says.
    pub(crate) async fn remove_tag(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let Some(hub) = self.hub() else {
            return self.delete_manifest(repository, tag, digest).await;
        };
        if !self.hub_serves(repository) {
            // Deleting by digest here could take tags along that the by-tag plan kept.
            return Err(RegistryError::new(
                RegistryErrorKind::Unsupported,
                format!(
                    "delete {repository}:{tag}: the Hub API does not serve {}, and a delete by digest could remove kept tags; not deleted",
                    repository.registry()
                ),
            ));
        }
        let (namespace, name) = repository
            .path()
            .split_once('/')
            .filter(|(_, r)| !r.contains('/'))
            .ok_or_else(|| {
                crate::error_map::invalid_input(
                    &format!("delete {repository}:{tag}"),
                    "expected <namespace>/<name> for the Hub API",
                )
            })?;
        hub.delete_tag(namespace, name, tag).await
    }

    /// Deletes the manifest at `digest` (`DELETE /v2/<name>/manifests/<digest>`); a manifest
    /// already gone counts as deleted, a registry that disallows deletes is `Unsupported`.
    async fn delete_manifest(
        &self,
        repository: &Repository,
        tag: &Tag,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let what = format!("DELETE manifest {repository}@{digest} (tag {tag})");
        let req = self.req(
            Method::DELETE,
            repository,
            &format!("manifests/{digest}"),
            Access::Delete,
            &what,
        )?;
        let resp = self.send(&req).await?;
        let status = resp.status().as_u16();
        if resp.status().is_success() || status == 404 {
            return Ok(());
        }
        let mut err = self.refused(resp, &what, repository).await;
        if status == 405 || err.message.contains("UNSUPPORTED") || err.message.contains("unsupported") {
            err.kind = RegistryErrorKind::Unsupported;
            err.message = format!(
                "{what}: the registry disallows deletes (HTTP {status}); nothing of {repository} was deleted by this request"
            );
        }
        Err(err)
    }
}
