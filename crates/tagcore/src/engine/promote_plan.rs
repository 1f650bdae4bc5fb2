//! The plan of a promote: source, release and dispatches from the stamp and commit.

use super::promote::{PromoteState, Record};
use super::{Engine, Prepared};
use crate::plan::{Plan, WriteStep};
use crate::policy::StepMode;
use crate::release::{NotesInput, render_notes};
use crate::request::{PromoteRequest, PromoteSource};
use crate::source::SourceCommit;
use crate::{AuditSink, Manifest, OperationKind, Registry, ReleaseRequest, Tag, Verifier};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    /// Builds the plan: source, release and dispatches from the stamp and commit.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn promote_plan(
        &self,
        req: &PromoteRequest,
        st: PromoteState,
        record: &Record,
        stamp: Option<Tag>,
        steps: Vec<WriteStep>,
        commit: SourceCommit,
        manifests: Vec<Option<Manifest>>,
    ) -> Prepared {
        let policy = self.policy;
        let tags = &policy.tags;
        let primary = &st.images[0];
        let source = match &req.source {
            PromoteSource::Staging => format!("`{}` resolved to {}", tags.staging, primary.digest),
            PromoteSource::Tag(t) => format!("tag `{t}`"),
            PromoteSource::Version(t) => format!("version `{t}`"),
            PromoteSource::Digest(d) => format!("digest `{d}`"),
        };
        let release_tag = stamp.as_ref().map(Tag::to_string).or_else(|| match &req.source {
            PromoteSource::Version(v) => Some(format!("v{v}")),
            _ => None,
        });
        let release = (policy.release != StepMode::Off && !record.skip)
            .then_some(release_tag.clone())
            .flatten()
            .map(|tag| ReleaseRequest {
                title: format!("Production Release {tag}"),
                notes: render_notes(&NotesInput {
                    heading: &format!("Production Release {tag}"),
                    images: &st.images,
                    source: &source,
                    commit: Some(&commit),
                }),
                tag,
                make_latest: true,
                target_commitish: commit.full_commit().map(str::to_owned),
            });
        let dispatches = crate::policy::dispatch_requests(
            &policy.dispatch,
            &crate::policy::DispatchValues {
                operation: OperationKind::Promote,
                unit: &policy.unit,
                digest: &primary.digest,
                tag: release_tag.as_deref(),
                channel: tags.prod.as_str(),
                commit: commit.full_commit(),
            },
        );
        let mut plan = Plan::new(OperationKind::Promote, policy, st.images, steps);
        plan.stamp = stamp;
        plan.target = match &req.source {
            PromoteSource::Staging => Some(tags.staging.clone()),
            PromoteSource::Tag(t) | PromoteSource::Version(t) => Some(t.clone()),
            PromoteSource::Digest(_) => None,
        };
        plan.source_commit = Some(commit);
        plan.release = release;
        plan.dispatches = dispatches;
        plan.warnings = st.warnings;
        plan.notices = st.notices;
        let manifests = if manifests.is_empty() {
            vec![None; plan.images.len()]
        } else {
            manifests
        };
        Prepared { plan, manifests }
    }
}
