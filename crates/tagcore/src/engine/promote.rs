//! Promote: move prod (and its aliases) to a verified digest, after stamping it.
//!
//! The reads come in rounds (ARCHITECTURE.md, "Decisions"): first everything that needs no
//! digest, per image and all at once (the source tag, prod, the aliases, the listing); then,
//! only when something is to be written, the signature and the manifest the writes will put,
//! at once. A re-run whose every tag already holds its digest writes nothing, so it reads no
//! signature and no manifest: verification gates writes.

use super::inventory::{Depth, Inventory};
use super::{Engine, OpError, OpErrorKind, Prepared};
use crate::history::EventKind;
use crate::plan::{ImagePlan, WriteStep};
use crate::policy::{AlreadyInProd, StepMode, UnitImage};
use crate::request::{PromoteRequest, PromoteSource, check_confirm};
use crate::source::{CommitEvidence, SourceCommit, resolve_source_commit};
use crate::template::TemplateValues;
use crate::{AuditSink, Digest, Manifest, OperationKind, Registry, Tag, Timestamp, Verifier};

/// What promote read of the unit before deciding anything.
pub(super) struct PromoteState {
    pub(super) images: Vec<ImagePlan>,
    pub(super) current: Vec<Option<Digest>>,
    pub(super) aliases: Vec<Vec<Option<Digest>>>,
    pub(super) inventories: Vec<Inventory>,
    pub(super) warnings: Vec<String>,
    pub(super) notices: Vec<String>,
}

/// What the records say about this promotion.
pub(super) struct Record {
    /// The stamp of the newest event when it promoted this digest.
    pub(super) ours: Option<Tag>,
    /// Prod already holds the digest on every image.
    pub(super) in_prod: bool,
    /// The policy asks for a new stamp although prod holds the digest.
    pub(super) restamp: bool,
    /// A re-run of the promotion that `ours` records (or, stamps off, of the version).
    pub(super) rerun: bool,
    /// Nothing to do: already in prod by another promotion, policy `skip`.
    pub(super) skip: bool,
}

impl<R: Registry, V: Verifier, A: AuditSink> Engine<'_, R, V, A> {
    pub(super) async fn prepare_promote(
        &self,
        req: &PromoteRequest,
        now: Timestamp,
    ) -> Result<Prepared, OpError> {
        self.check_promote_input(req)?;
        let mut st = self.read_unit_for_promote(req).await?;
        let record = self.promote_record(&st, req);
        st.notices.extend(in_prod_notice(&record, &st.images[0].digest));
        if record.rerun
            && let Some(r) = record_tag(&record, req)
        {
            self.previous_of_record(&mut st.images, &st.current, &r, &st.inventories)
                .await?;
        }
        // A re-run whose tags are all in place (or a skip) writes nothing: no signature, no
        // manifest, and the commit from the records.
        let reused = match (&self.policy.tags.prod_stamp, &record.ours) {
            (None, _) => Some(None),
            (Some(_), Some(t)) if !record.restamp => Some(Some(t.clone())),
            _ => None,
        };
        let early = match () {
            () if record.skip => Some(reused.clone().flatten()),
            () if record.rerun => reused.clone(),
            () => None,
        };
        if let Some(stamp) = early {
            let steps = self.promote_steps(&st, &record, stamp.as_ref()).await?;
            if steps.iter().all(WriteStep::is_noop) {
                let commit = self
                    .recorded_commit(&st.images[0], &st.inventories[0], stamp.as_ref())
                    .await?;
                if !record.skip {
                    st.notices.push(format!(
                        "every tag already holds {}: nothing to write, so its signature was not read again \
                         (verification gates writes)",
                        st.images[0].digest
                    ));
                }
                return Ok(self.promote_plan(req, st, &record, stamp, steps, commit, Vec::new()));
            }
        }
        let manifests = self.verify_for_promote(&mut st, req, now).await?;
        let commit = self
            .promote_commit(&mut st, manifests.first().and_then(Option::as_ref))
            .await?;
        let stamp = self.promote_stamp(&record, reused, &commit, now, &mut st.warnings)?;
        let steps = self.promote_steps(&st, &record, stamp.as_ref()).await?;
        let manifests = keep_written(manifests, &steps);
        Ok(self.promote_plan(req, st, &record, stamp, steps, commit, manifests))
    }

    /// Refuses what promote cannot do before any read.
    fn check_promote_input(&self, req: &PromoteRequest) -> Result<(), OpError> {
        check_confirm(self.policy.promote.confirm.as_deref(), req.confirm.as_deref())?;
        if matches!(req.source, PromoteSource::Digest(_))
            && self.policy.images_for(OperationKind::Promote).count() > 1
        {
            return Err(OpError::new(
                OpErrorKind::Input,
                "source: a digest names one image's manifest; this unit has several images (use staging, a tag or a version)",
            ));
        }
        Ok(())
    }

    /// Reads every image of the unit at once (see [`Self::read_for_promote`]).
    async fn read_unit_for_promote(&self, req: &PromoteRequest) -> Result<PromoteState, OpError> {
        let unit: Vec<&UnitImage> = self.policy.images_for(OperationKind::Promote).collect();
        let reads = futures_util::future::try_join_all(unit.iter().enumerate().map(|(k, image)| {
            // `--expect-digest` names the primary's digest: checked before anything else.
            let expect = req.expect_digest.as_ref().filter(|_| k == 0);
            self.read_for_promote(image, &req.source, expect)
        }))
        .await?;
        let mut st = PromoteState {
            images: Vec::new(),
            current: Vec::new(),
            aliases: Vec::new(),
            inventories: Vec::new(),
            warnings: Vec::new(),
            notices: Vec::new(),
        };
        for r in reads {
            st.warnings.extend(r.inventory.warnings.iter().cloned());
            st.current.push(r.image.previous_digest.clone());
            st.images.push(r.image);
            st.aliases.push(r.aliases);
            st.inventories.push(r.inventory);
        }
        Ok(st)
    }

    /// Returns what the records say: is the newest event a promotion of this digest (an
    /// interrupted or finished run, whose stamp is reused), is it in prod, is there nothing to do.
    fn promote_record(&self, st: &PromoteState, req: &PromoteRequest) -> Record {
        let policy = self.policy;
        let primary = &st.images[0];
        let ours = self
            .timeline(&st.inventories[0])
            .latest()
            .filter(|e| e.kind == EventKind::Promotion && e.digest == primary.digest)
            .map(|e| e.tag.clone());
        let in_prod = st
            .images
            .iter()
            .all(|i| i.previous_digest.as_ref() == Some(&i.digest));
        let restamp = in_prod && policy.promote.already_in_prod == AlreadyInProd::Restamp;
        // With stamps off, the version tag names the release: promoting it again is a re-run.
        let rerun = match &policy.tags.prod_stamp {
            Some(_) => ours.is_some(),
            None => matches!(req.source, PromoteSource::Version(_)),
        };
        Record {
            skip: in_prod && !restamp && !rerun,
            ours,
            in_prod,
            restamp,
            rerun,
        }
    }

    /// Verifies every image's digest and fetches the manifest its writes will put, all at once
    /// (and, on the primary, the stamp its revision names: see [`Self::likely_stamp`]); then
    /// the downgrade guard. Returns the manifests, per image.
    async fn verify_for_promote(
        &self,
        st: &mut PromoteState,
        req: &PromoteRequest,
        now: Timestamp,
    ) -> Result<Vec<Option<Manifest>>, OpError> {
        let unit: Vec<&UnitImage> = self.policy.images_for(OperationKind::Promote).collect();
        let inventory = &st.inventories[0];
        let reads = unit
            .iter()
            .zip(&st.images)
            .enumerate()
            .map(|(k, (image, img))| async move {
                let manifest = async {
                    let m = self.manifest(&img.repository, &img.digest).await?;
                    let stamp = match k {
                        0 => self.likely_stamp(inventory, img, &m, now).await?,
                        _ => None,
                    };
                    Ok::<_, OpError>((m, stamp))
                };
                futures_util::future::try_join(self.verify(image, &img.digest), manifest).await
            });
        let both = futures_util::future::try_join_all(reads).await?;
        let mut manifests = Vec::new();
        for (img, (verification, (manifest, stamp))) in st.images.iter_mut().zip(both) {
            img.verification = verification;
            manifests.push(Some(manifest));
            st.inventories[0].read.extend(stamp);
        }
        let warnings = self
            .check_downgrade(&st.images, &st.current, req.allow_older)
            .await?;
        st.warnings.extend(warnings);
        Ok(manifests)
    }

    /// Returns the source commit of the primary image (docs/behaviour.md#source-commit), from
    /// its certificate, else the manifest already read, and warns about secondary images
    /// without a staging stamp of that commit.
    async fn promote_commit(
        &self,
        st: &mut PromoteState,
        manifest: Option<&Manifest>,
    ) -> Result<SourceCommit, OpError> {
        let primary = &st.images[0];
        let cert_commit = primary
            .verification
            .as_ref()
            .and_then(|v| v.source_commit.clone());
        let commit = self
            .source_commit_of(
                &primary.repository,
                &primary.digest,
                cert_commit.as_ref(),
                manifest,
                &st.inventories[0],
            )
            .await?;
        if commit.is_derived() {
            st.warnings.push(format!(
                "source commit of {} is unknown: stamp suffix {} is derived from digest, commit unknown",
                primary.digest,
                commit.sha7()
            ));
        }
        for (k, img) in st.images.iter().enumerate().skip(1) {
            let own = self
                .staging_stamps(
                    &img.repository,
                    &st.inventories[k],
                    &img.digest,
                    Some(commit.sha7()),
                )
                .await?;
            if own.is_empty() {
                st.warnings.push(format!(
                    "{} has no staging stamp of commit {} for {}; it gets the primary's stamp name",
                    img.repository,
                    commit.sha7(),
                    img.digest
                ));
            }
        }
        Ok(commit)
    }

    /// Returns the stamp: the reused one of a re-run (resuming warns), else a new one rendered
    /// from `now` and the commit.
    fn promote_stamp(
        &self,
        record: &Record,
        reused: Option<Option<Tag>>,
        commit: &SourceCommit,
        now: Timestamp,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Tag>, OpError> {
        if let Some(stamp) = reused {
            if let Some(tag) = stamp.as_ref().filter(|_| !record.in_prod) {
                warnings.push(format!("resuming an interrupted promotion: reusing stamp {tag}"));
            }
            return Ok(stamp);
        }
        let Some(template) = &self.policy.tags.prod_stamp else {
            return Ok(None);
        };
        stamp_name(template, now, commit)
            .map(Some)
            .map_err(|e| OpError::new(OpErrorKind::Refused, e.to_string()))
    }

    /// Reads, while the signature is being checked, the stamp the primary's revision annotation
    /// names (the certificate's commit, when there is one, is almost always the same), when the
    /// listing cannot say whether it exists (it stopped early). The plan then finds it read
    /// instead of reading it after verification: one round trip fewer. A stamp under another
    /// name is read as before.
    async fn likely_stamp(
        &self,
        inventory: &Inventory,
        primary: &ImagePlan,
        manifest: &Manifest,
        now: Timestamp,
    ) -> Result<Option<(Tag, Option<Digest>)>, OpError> {
        let Some(template) = &self.policy.tags.prod_stamp else {
            return Ok(None);
        };
        let Some(revision) = super::read::annotated_revision(manifest) else {
            return Ok(None);
        };
        let evidence = CommitEvidence {
            certificate: None,
            revision: Some(&revision),
            staging_stamps: Vec::new(),
        };
        let commit = resolve_source_commit(&primary.digest, &evidence);
        let Ok(tag) = stamp_name(template, now, &commit) else {
            return Ok(None);
        };
        if commit.is_derived() || inventory.lookup(&tag).is_some() {
            return Ok(None);
        }
        let at = self.resolve(&primary.repository, &tag).await?;
        Ok(Some((tag, at)))
    }

    /// Returns the writes: immutable stamps first (all images), then prod and its aliases;
    /// none when there is nothing to do.
    async fn promote_steps(
        &self,
        st: &PromoteState,
        record: &Record,
        stamp: Option<&Tag>,
    ) -> Result<Vec<WriteStep>, OpError> {
        let mut steps = Vec::new();
        if record.skip {
            return Ok(steps);
        }
        if let Some(stamp) = stamp {
            // Every image's stamp at once (a read each, where the listing cannot tell).
            let reads = st.images.iter().enumerate().map(|(k, img)| {
                let listed = st.inventories.get(k);
                self.immutable_step(k, &img.repository, stamp, &img.digest, StepMode::Required, listed)
            });
            steps.extend(futures_util::future::try_join_all(reads).await?);
        }
        let tags = &self.policy.tags;
        steps.extend(super::step::prod_steps(
            &tags.prod,
            &tags.prod_aliases,
            &st.images,
            &st.current,
            &st.aliases,
        ));
        Ok(steps)
    }

    /// Sets, on every image prod already holds, the digest prod had before the promotion that
    /// `record` names: a re-run completes that record, so it reports the record's own
    /// "previous", never the digest it is completing. Reads the digests of the older release
    /// tags the plan's listing left unread (never the listing again).
    async fn previous_of_record(
        &self,
        images: &mut [ImagePlan],
        current: &[Option<Digest>],
        record: &Tag,
        inventories: &[Inventory],
    ) -> Result<(), OpError> {
        for (k, img) in images.iter_mut().enumerate() {
            if current[k].as_ref() != Some(&img.digest) {
                continue;
            }
            let Some(inventory) = inventories.get(k) else {
                continue;
            };
            let timeline = if inventory.older_skipped {
                let mut known = self
                    .digests_of(
                        &img.repository,
                        inventory
                            .older
                            .iter()
                            .take(super::inventory::MAX_RESOLVES)
                            .cloned()
                            .collect(),
                    )
                    .await?;
                known.extend(inventory.known.iter().cloned());
                crate::history::Timeline::build(&self.policy.tags, &known)
            } else {
                self.timeline(inventory)
            };
            img.previous_digest = timeline.before(record).map(|e| e.digest.clone());
        }
        Ok(())
    }

    /// Reads what one image's promotion needs before any digest is known, all at once: its
    /// source digest (checked against `expect`), its prod and aliases, and its newest release
    /// tags.
    async fn read_for_promote(
        &self,
        image: &UnitImage,
        source: &PromoteSource,
        expect: Option<&Digest>,
    ) -> Result<PromoteRead, OpError> {
        let tags = &self.policy.tags;
        let repo = &image.repository;
        let digest = async {
            let digest = match source {
                PromoteSource::Staging => self.require(repo, &tags.staging, "staging tag").await?,
                PromoteSource::Tag(t) => self.require(repo, t, "source tag").await?,
                PromoteSource::Version(t) => self.require(repo, t, "version tag").await?,
                PromoteSource::Digest(d) => d.clone(),
            };
            match expect.filter(|e| **e != digest) {
                Some(expected) => Err(OpError::new(
                    OpErrorKind::Refused,
                    format!(
                        "source resolved to {digest}, but --expect-digest asked for {expected}; nothing was written"
                    ),
                )),
                None => Ok(digest),
            }
        };
        let aliases =
            futures_util::future::try_join_all(tags.prod_aliases.iter().map(|a| self.resolve(repo, a)));
        let (digest, previous, aliases, inventory) = futures_util::future::try_join4(
            digest,
            self.resolve(repo, &tags.prod),
            aliases,
            self.inventory(repo, Depth::Newest, &super::scope::promote_scope(tags)),
        )
        .await?;
        Ok(PromoteRead {
            image: ImagePlan {
                repository: repo.clone(),
                digest,
                previous_digest: previous,
                verification: None,
            },
            aliases,
            inventory,
        })
    }
}

/// What promote reads of one image before planning.
struct PromoteRead {
    image: ImagePlan,
    aliases: Vec<Option<Digest>>,
    inventory: Inventory,
}

/// Returns the name of the stamp of `commit` promoted at `now`.
fn stamp_name(
    template: &crate::template::TagTemplate,
    now: Timestamp,
    commit: &SourceCommit,
) -> Result<Tag, crate::template::TemplateError> {
    template.render(&TemplateValues {
        date: Some(&now.date_compact()),
        sha7: Some(commit.sha7()),
        ..Default::default()
    })
}

/// Returns the notice of a digest prod already holds.
fn in_prod_notice(record: &Record, digest: &Digest) -> Option<String> {
    record.in_prod.then(|| match (record.skip, record.restamp) {
        (true, _) => format!("{digest} is already in prod; policy `skip`: nothing to do"),
        (false, true) => format!("{digest} is already in prod; policy `restamp`: writing a stamp only"),
        (false, false) => format!(
            "{digest} is already in prod by this promotion: completing what is left (aliases, release)"
        ),
    })
}

/// Returns the record a re-run completes: its stamp, or (stamps off) the version tag.
fn record_tag(record: &Record, req: &PromoteRequest) -> Option<Tag> {
    match (&record.ours, &req.source) {
        (None, PromoteSource::Version(v)) if record.rerun => Some(v.clone()),
        (ours, _) => ours.clone(),
    }
}

/// Keeps the manifests of the images that have something to write (the others are not needed).
fn keep_written(manifests: Vec<Option<Manifest>>, steps: &[WriteStep]) -> Vec<Option<Manifest>> {
    manifests
        .into_iter()
        .enumerate()
        .map(|(k, m)| m.filter(|_| steps.iter().any(|s| s.image == k && !s.is_noop())))
        .collect()
}
