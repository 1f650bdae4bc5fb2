//! A world of in-memory ports and helpers shared by the scenario tests.

use tagcore::outcome::Outcome;
use tagcore::policy::{ImageSpec, Policy, PolicySpec, VerifySpec};
use tagcore::request::{PromoteRequest, PromoteSource, Request, RollbackRequest, RollbackTarget};
use tagcore::testing::{MemoryAudit, MemoryRegistry, MemoryVerifier, block_on};
use tagcore::{Digest, Engine, OpError, Repository, Timestamp};

pub(crate) const CLOUD: &str = "docker.io/nearai/cloud-api";

pub(crate) fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// cloud-api-like: staging + digest sources, keyless verification on, releases required.
pub(crate) fn cloud_spec() -> PolicySpec {
    let mut s = PolicySpec {
        unit: "cloud-api".into(),
        images: vec![ImageSpec {
            repository: CLOUD.into(),
            verify: true,
            ..Default::default()
        }],
        verify: Some(VerifySpec {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            identity_regex: Some(
                r"https://github\.com/nearai/cloud-api/\.github/workflows/build\.yml@refs/heads/main".into(),
            ),
            workflow_repository: Some("nearai/cloud-api".into()),
            workflow_refs: vec!["refs/heads/main".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    s.release.mode = tagcore::policy::StepMode::Required;
    // As the fixture: `latest` follows staging until the staging deploy reads `:staging`.
    s.tags.publish_aliases = vec!["latest".into()];
    s
}

pub(crate) struct World {
    pub(crate) reg: MemoryRegistry,
    pub(crate) ver: MemoryVerifier,
    pub(crate) audit: MemoryAudit,
    pub(crate) policy: Policy,
}

impl World {
    pub(crate) fn new(spec: PolicySpec) -> Self {
        Self {
            reg: MemoryRegistry::new(t("2026-06-01T00:00:00Z")),
            ver: MemoryVerifier::new(),
            audit: MemoryAudit::new(),
            policy: Policy::from_spec(&spec).unwrap(),
        }
    }

    pub(crate) fn cloud() -> Self {
        Self::new(cloud_spec())
    }

    pub(crate) fn repo(&self, i: usize) -> Repository {
        self.policy.images[i].repository.clone()
    }

    /// Adds an image to repository `i`, signed by cloud-api's main workflow at `commit`.
    pub(crate) fn signed_image(&self, i: usize, seed: &str, commit: &str) -> Digest {
        let d = self.reg.add_image(&self.repo(i), seed);
        self.ver
            .sign(&d, "nearai/cloud-api", "refs/heads/main", Some(commit));
        d
    }

    pub(crate) fn run(&self, req: &Request, now: &str) -> Result<Outcome, OpError> {
        self.reg.set_clock(t(now));
        let engine = Engine::new(&self.policy, &self.reg, &self.ver, &self.audit);
        block_on(engine.run(req, t(now), false))
    }

    pub(crate) fn dry_run(&self, req: &Request, now: &str) -> Result<Outcome, OpError> {
        let engine = Engine::new(&self.policy, &self.reg, &self.ver, &self.audit);
        block_on(engine.run(req, t(now), true))
    }

    pub(crate) fn tag(&self, i: usize, tag: &str) -> Option<Digest> {
        self.reg.tag(&self.repo(i), tag)
    }
}

pub(crate) fn promote(source: PromoteSource) -> Request {
    Request::Promote(PromoteRequest {
        source,
        confirm: None,
        expect_digest: None,
        allow_older: false,
    })
}

pub(crate) fn promote_staging() -> Request {
    promote(PromoteSource::Staging)
}

pub(crate) fn rollback(target: RollbackTarget) -> Request {
    Request::Rollback(RollbackRequest {
        target,
        confirm: None,
    })
}

pub(crate) const SHA_A: &str = "a2fad42000000000000000000000000000000001";
pub(crate) const SHA_B: &str = "851f2cc000000000000000000000000000000002";
pub(crate) const SHA_C: &str = "970361d000000000000000000000000000000003";

/// Returns each tag of an outcome with its status, in plan order.
pub(crate) fn statuses(out: &Outcome) -> Vec<(&str, tagcore::outcome::TagStatus)> {
    out.tags.iter().map(|c| (c.tag.as_str(), c.status)).collect()
}

/// Returns the 1-based index of every call that `pick` accepts, in order, in a run of `request`
/// at `now` on `probe`: a world set up like the one under test, to aim a hook or a fault at a
/// call of the real run.
pub(crate) fn call_indexes(
    probe: &World,
    request: &Request,
    now: &str,
    pick: impl Fn(&tagcore::testing::Call) -> bool,
) -> Vec<usize> {
    probe.reg.clear_calls();
    probe.run(request, now).unwrap();
    let calls = probe.reg.calls();
    (1..=calls.len()).filter(|&i| pick(&calls[i - 1])).collect()
}
