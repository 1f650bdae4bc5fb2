//! Promote: move prod (and its aliases) to a verified digest, after stamping it.

use super::inventory::{Depth, Inventory};
use super::{Engine, OpError, OpErrorKind, Prepared};
use crate::history::EventKind;
use crate::plan::{ImagePlan, Plan, RequestBudget};
use crate::policy::{AlreadyInProd, StepMode, UnitImage};
use crate::release::{NotesInput, render_notes};
use crate::request::{PromoteRequest, PromoteSource, check_confirm};
use crate::template::TemplateValues;
use crate::{AuditSink, OperationKind, Registry, ReleaseRequest, Tag, Timestamp, Verifier};

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    pub(super) async fn prepare_promote(
        &self,
        req: &PromoteRequest,
        now: Timestamp,
    ) -> Result<Prepared, OpError> {
        let policy = self.policy;
        check_confirm(policy.promote.confirm.as_deref(), req.confirm.as_deref())?;
        if matches!(req.source, PromoteSource::Digest(_))
            && policy.images_for(OperationKind::Promote).count() > 1
        {
            return Err(OpError::new(
                OpErrorKind::Input,
                "source: a digest names one image's manifest; this unit has several images (use staging, a tag or a version)",
            ));
        }
        let tags = &policy.tags;
        let mut warnings = Vec::new();
        // 1. Resolve every image's source digest once and verify it, with its current prod,
        //    aliases and release tags: independent reads, all in flight at once.
        let unit: Vec<&UnitImage> = policy.images_for(OperationKind::Promote).collect();
        let states = futures_util::future::try_join_all(unit.iter().enumerate().map(|(k, image)| {
            // `--expect-digest` names the primary's digest: checked before it is verified.
            let expect = req.expect_digest.as_ref().filter(|_| k == 0);
            self.read_for_promote(image, &req.source, expect)
        }))
        .await?;
        let mut images = Vec::new();
        let mut aliases = Vec::new();
        let mut current = Vec::new();
        let mut inventories = Vec::new();
        for st in states {
            warnings.extend(st.inventory.warnings.iter().cloned());
            current.push(st.image.previous_digest.clone());
            images.push(st.image);
            aliases.push(st.aliases);
            inventories.push(st.inventory);
        }
        // 2. Every image is verified (above); no downgrade.
        warnings.extend(self.check_downgrade(&images, &current, req.allow_older).await?);
        // 3. The source commit, from the primary image (docs/behaviour.md#source-commit).
        let primary = images[0].clone();
        let cert_commit = primary
            .verification
            .as_ref()
            .and_then(|v| v.source_commit.clone());
        let commit = self
            .source_commit(
                &primary.repository,
                &primary.digest,
                cert_commit.as_ref(),
                &inventories[0],
            )
            .await?;
        if commit.is_derived() {
            warnings.push(format!(
                "source commit of {} is unknown: stamp suffix {} is derived from digest, commit unknown",
                primary.digest,
                commit.sha7()
            ));
        }
        for (k, img) in images.iter().enumerate().skip(1) {
            let own = self
                .staging_stamps(&img.repository, &inventories[k], &img.digest, Some(commit.sha7()))
                .await?;
            if own.is_empty() {
                warnings.push(format!(
                    "{} has no staging stamp of commit {} for {}; it gets the primary's stamp name",
                    img.repository,
                    commit.sha7(),
                    img.digest
                ));
            }
        }
        // 4. The stamp. The newest event being a promotion of this digest means this is a
        //    re-run: an interrupted one (prod not there yet) or a finished one. Reuse its stamp.
        let timeline = self.timeline(&inventories[0]);
        let in_prod = images
            .iter()
            .all(|i| i.previous_digest.as_ref() == Some(&i.digest));
        let ours = timeline
            .latest()
            .filter(|e| e.kind == EventKind::Promotion && e.digest == primary.digest)
            .map(|e| e.tag.clone());
        let restamp = in_prod && policy.promote.already_in_prod == AlreadyInProd::Restamp;
        let stamp: Option<Tag> = match (&tags.prod_stamp, &ours) {
            (None, _) => None,
            (Some(_), Some(tag)) if !restamp => {
                if !in_prod {
                    warnings.push(format!("resuming an interrupted promotion: reusing stamp {tag}"));
                }
                Some(tag.clone())
            }
            (Some(template), _) => Some(
                template
                    .render(&TemplateValues {
                        date: Some(&now.date_compact()),
                        sha7: Some(commit.sha7()),
                        ..Default::default()
                    })
                    .map_err(|e| OpError::new(OpErrorKind::Refused, e.to_string()))?,
            ),
        };
        let mut notices = Vec::new();
        let mut steps = Vec::new();
        // Already in prod and not a re-run of the promotion that put it there: nothing to do.
        // With stamps off, the version tag names the release: promoting it again is a re-run.
        let rerun = match &tags.prod_stamp {
            Some(_) => ours.is_some(),
            None => matches!(req.source, PromoteSource::Version(_)),
        };
        // The record a re-run completes: its stamp, or (stamps off) the version tag.
        let ours = match (&ours, &req.source) {
            (None, PromoteSource::Version(v)) if rerun => Some(v.clone()),
            _ => ours,
        };
        let skip = in_prod && !restamp && !rerun;
        if in_prod {
            notices.push(match (skip, restamp) {
                (true, _) => format!(
                    "{} is already in prod; policy `skip`: nothing to do",
                    primary.digest
                ),
                (false, true) => format!(
                    "{} is already in prod; policy `restamp`: writing a stamp only",
                    primary.digest
                ),
                (false, false) => format!(
                    "{} is already in prod by this promotion: completing what is left (aliases, release)",
                    primary.digest
                ),
            });
        }
        if rerun && let Some(record) = &ours {
            self.previous_of_record(&mut images, &current, record, &inventories)
                .await?;
        }
        if !skip {
            // 5. Immutable stamps first (all images), then prod and aliases.
            if let Some(stamp) = &stamp {
                for (k, img) in images.iter().enumerate() {
                    steps.push(
                        self.immutable_step(
                            k,
                            &img.repository,
                            stamp,
                            &img.digest,
                            StepMode::Required,
                            inventories.get(k),
                        )
                        .await?,
                    );
                }
            }
            steps.extend(super::step::prod_steps(
                &tags.prod,
                &tags.prod_aliases,
                &images,
                &current,
                &aliases,
            ));
        }
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
        let release = (policy.release != StepMode::Off && !skip)
            .then_some(release_tag.clone())
            .flatten()
            .map(|tag| ReleaseRequest {
                title: format!("Production Release {tag}"),
                notes: render_notes(&NotesInput {
                    heading: &format!("Production Release {tag}"),
                    images: &images,
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
        let manifests = self.manifests_for(&images, &steps).await?;
        Ok(Prepared {
            plan: Plan {
                operation: OperationKind::Promote,
                unit: policy.unit.clone(),
                images,
                stamp,
                target: match &req.source {
                    PromoteSource::Staging => Some(tags.staging.clone()),
                    PromoteSource::Tag(t) | PromoteSource::Version(t) => Some(t.clone()),
                    PromoteSource::Digest(_) => None,
                },
                source_commit: Some(commit),
                steps,
                release,
                release_mode: policy.release,
                dispatches,
                warnings,
                notices,
                budget: RequestBudget::default(),
                reads: Vec::new(),
            },
            manifests,
        })
    }

    /// Sets, on every image prod already holds, the digest prod had before the promotion that
    /// `record` names: a re-run completes that record, so it reports the record's own
    /// "previous", never the digest it is completing. Reads every release tag when the listing
    /// read for the plan left older days out.
    async fn previous_of_record(
        &self,
        images: &mut [ImagePlan],
        current: &[Option<crate::Digest>],
        record: &Tag,
        inventories: &[Inventory],
    ) -> Result<(), OpError> {
        for (k, img) in images.iter_mut().enumerate() {
            if current[k].as_ref() != Some(&img.digest) {
                continue;
            }
            let full;
            let inventory = match inventories.get(k) {
                Some(i) if !i.older_skipped => i,
                _ => {
                    full = self
                        .inventory(&img.repository, Depth::Full, &crate::ListingScope::default())
                        .await?;
                    &full
                }
            };
            img.previous_digest = self.timeline(inventory).before(record).map(|e| e.digest.clone());
        }
        Ok(())
    }

    /// Reads one image for promote: its source digest (once), then at once its verification,
    /// its prod and aliases, and its newest release tags.
    async fn read_for_promote(
        &self,
        image: &UnitImage,
        source: &PromoteSource,
        expect: Option<&crate::Digest>,
    ) -> Result<PromoteRead, OpError> {
        let tags = &self.policy.tags;
        let repo = &image.repository;
        let digest = match source {
            PromoteSource::Staging => self.require(repo, &tags.staging, "staging tag").await?,
            PromoteSource::Tag(t) => self.require(repo, t, "source tag").await?,
            PromoteSource::Version(t) => self.require(repo, t, "version tag").await?,
            PromoteSource::Digest(d) => d.clone(),
        };
        if let Some(expected) = expect.filter(|e| **e != digest) {
            return Err(OpError::new(
                OpErrorKind::Refused,
                format!(
                    "source resolved to {digest}, but --expect-digest asked for {expected}; nothing was written"
                ),
            ));
        }
        let aliases =
            futures_util::future::try_join_all(tags.prod_aliases.iter().map(|a| self.resolve(repo, a)));
        let (verification, previous, aliases, inventory) = futures_util::future::try_join4(
            self.verify(image, &digest),
            self.resolve(repo, &tags.prod),
            aliases,
            self.inventory(repo, Depth::Newest, &crate::ListingScope::default()),
        )
        .await?;
        Ok(PromoteRead {
            image: ImagePlan {
                repository: repo.clone(),
                digest,
                previous_digest: previous,
                verification,
            },
            aliases,
            inventory,
        })
    }
}

/// What promote reads of one image before planning.
struct PromoteRead {
    image: ImagePlan,
    aliases: Vec<Option<crate::Digest>>,
    inventory: Inventory,
}
