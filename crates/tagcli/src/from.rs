//! `publish --from`: read each image from its source, push what the registry lacks, and hand
//! publish the digests the sources hold. A progress bar (bytes and rate) is drawn on stderr
//! only when it is a terminal.

use registry_hub::{OpenedSource, open_source};
use tagcore::engine::{KnownBlobs, PushReport, push_image};
use tagcore::policy::Policy;
use tagcore::request::PublishRequest;
use tagcore::{Digest, OpError, Progress, Registry, Request};

use crate::app::Sink;
use crate::cli::Command;

/// Returns the publish request of `publish --from` once every image is in the registry (`None`
/// after a dry run, whose push plan is printed instead). Every source is named and opened
/// before the first request.
pub(crate) async fn push<R: Registry>(
    command: &Command,
    policy: &Policy,
    registry: &R,
    sink: &mut Sink<'_>,
) -> Result<Option<Request>, OpError> {
    let Command::Publish {
        from,
        commit,
        force,
        write,
        ..
    } = command
    else {
        return Err(OpError::from(tagcore::InputError {
            input: "--from".into(),
            message: "only publish reads sources".into(),
        }));
    };
    let names = tagcore::image::unit_sources(from, policy)?;
    // The commit is checked before anything is pushed, too.
    commit.parse::<tagcore::CommitSha>().map_err(|e| {
        OpError::from(tagcore::InputError {
            input: "commit".into(),
            message: e.to_string(),
        })
    })?;
    let mut sources = Vec::new();
    for (i, name) in &names {
        let opened = open_source(name).map_err(|e| {
            OpError::from(tagcore::InputError {
                input: "--from".into(),
                message: e.message,
            })
        })?;
        sources.push((*i, opened));
    }
    if write.dry_run {
        print_plan(policy, registry, &sources, sink).await?;
        return Ok(None);
    }
    let bar = Bar::new(
        sink.progress,
        sources.iter().map(|(_, s)| s.image.blob_bytes()).sum(),
    );
    let mut known = KnownBlobs::default();
    let mut digests = Vec::new();
    for (i, source) in &sources {
        let repo = &policy.images[*i].repository;
        let report = push_image(registry, repo, &source.image, source.blobs(), &mut known, &bar).await?;
        bar.finish_image(&report, sink);
        digests.push(format!("{repo}={}", report.digest));
    }
    Ok(Some(Request::Publish(PublishRequest::parse(
        &digests, commit, *force, policy,
    )?)))
}

/// Prints, per image, the digest of its source and the blobs the registry lacks (`HEAD` only).
async fn print_plan<R: Registry>(
    policy: &Policy,
    registry: &R,
    sources: &[(usize, OpenedSource)],
    sink: &mut Sink<'_>,
) -> Result<(), OpError> {
    let mut text = String::new();
    let mut images = Vec::new();
    for (i, s) in sources {
        let repo = &policy.images[*i].repository;
        let mut missing = (0usize, 0u64);
        for b in &s.image.blobs {
            if !registry.has_blob(repo, &b.digest).await? {
                missing = (missing.0 + 1, missing.1 + b.size);
            }
        }
        text.push_str(&format!(
            "would push {} to {repo}@{}: {} of {} blobs missing ({} bytes); publish runs once it is pushed\n",
            s.name,
            s.image.digest,
            missing.0,
            s.image.blobs.len(),
            missing.1
        ));
        images.push(crate::output::json::PushPlan {
            repository: repo.to_string(),
            source: s.name.to_string(),
            digest: s.image.digest.to_string(),
            blobs: s.image.blobs.len(),
            missing_blobs: missing.0,
            missing_bytes: missing.1,
        });
    }
    sink.print(&text, crate::output::build::push_plan(&policy.unit, images));
    Ok(())
}

/// The progress of a push: an `indicatif` bar of bytes when stderr is a terminal, else nothing.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    fn new(on: bool, total: u64) -> Self {
        let bar = on.then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "pushing {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            ) {
                b.set_style(style);
            }
            b
        });
        Self { bar }
    }

    fn finish_image(&self, r: &PushReport, sink: &mut Sink<'_>) {
        if let Some(b) = &self.bar {
            b.suspend(|| {
                let _ = writeln!(
                    sink.err,
                    "pushed {}@{}: {} uploaded ({} bytes), {} mounted, {} already there",
                    r.repository,
                    r.digest,
                    r.blobs_uploaded,
                    r.bytes_uploaded,
                    r.blobs_mounted,
                    r.blobs_present
                );
            });
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn blob_started(&self, digest: &Digest, _size: u64) {
        if let Some(b) = &self.bar {
            b.set_message(digest.short().to_owned());
        }
    }

    fn bytes_sent(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }

    fn blob_skipped(&self, _digest: &Digest, size: u64) {
        if let Some(b) = &self.bar {
            b.inc(size);
        }
    }
}

/// Returns whether `command` is a publish that reads sources.
pub(crate) fn reads_sources(command: &Command) -> bool {
    matches!(command, Command::Publish { from, .. } if !from.is_empty())
}
