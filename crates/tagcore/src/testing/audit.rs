//! An audit sink holding releases in memory, like GitHub's edit-or-create.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{AuditError, AuditErrorKind, AuditSink, DispatchRequest, ReleaseReceipt, ReleaseRequest};

/// A release as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRelease {
    /// The last request that created or edited it.
    pub request: ReleaseRequest,
    /// How many times it was edited after creation.
    pub edits: usize,
}

#[derive(Debug, Default)]
struct State {
    releases: BTreeMap<String, StoredRelease>,
    latest: Option<String>,
    dispatches: Vec<DispatchRequest>,
    fail_releases: usize,
    fail_dispatches: usize,
}

/// Releases by tag with a "Latest" marker, and a dispatch log; fails on demand.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    state: Mutex<State>,
}

impl MemoryAudit {
    /// Returns an empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes the next `n` release calls fail as if the service were down.
    pub fn fail_releases(&self, n: usize) {
        self.lock().fail_releases = n;
    }

    /// Makes the next `n` dispatch calls fail.
    pub fn fail_dispatches(&self, n: usize) {
        self.lock().fail_dispatches = n;
    }

    /// Returns the releases by tag.
    pub fn releases(&self) -> BTreeMap<String, StoredRelease> {
        self.lock().releases.clone()
    }

    /// Returns the tag of the release marked Latest.
    pub fn latest(&self) -> Option<String> {
        self.lock().latest.clone()
    }

    /// Returns the dispatches sent.
    pub fn dispatches(&self) -> Vec<DispatchRequest> {
        self.lock().dispatches.clone()
    }
}

impl AuditSink for MemoryAudit {
    async fn publish_release(&self, release: &ReleaseRequest) -> Result<ReleaseReceipt, AuditError> {
        let mut s = self.lock();
        if s.fail_releases > 0 {
            s.fail_releases -= 1;
            return Err(AuditError::new(
                AuditErrorKind::Unavailable,
                "release service unavailable (injected)",
            ));
        }
        let created = !s.releases.contains_key(&release.tag);
        let edits = s.releases.get(&release.tag).map_or(0, |r| r.edits + 1);
        s.releases.insert(
            release.tag.clone(),
            StoredRelease {
                request: release.clone(),
                edits,
            },
        );
        if release.make_latest {
            s.latest = Some(release.tag.clone());
        }
        Ok(ReleaseReceipt {
            url: format!("memory://releases/{}", release.tag),
            created,
        })
    }

    async fn dispatch(&self, request: &DispatchRequest) -> Result<(), AuditError> {
        let mut s = self.lock();
        if s.fail_dispatches > 0 {
            s.fail_dispatches -= 1;
            return Err(AuditError::new(
                AuditErrorKind::Unavailable,
                "dispatch failed (injected)",
            ));
        }
        s.dispatches.push(request.clone());
        Ok(())
    }
}
