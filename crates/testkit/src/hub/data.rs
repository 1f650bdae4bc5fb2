//! The emulated repositories' tags: explicit tags merged lazily with synthetic ones, filtered by
//! name and paged newest first, and their JSON shape (Docker Hub's tag object).

use serde_json::{Value, json};

/// One tag of an emulated Hub repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubTag {
    /// The tag name.
    pub name: String,
    /// The digest the tag points at (`sha256:…`), or `None` (Hub then sends `null`).
    pub digest: Option<String>,
    /// When the tag was last pushed, in seconds since the Unix epoch (`tag_last_pushed`).
    pub pushed: i64,
}

impl HubTag {
    /// Returns a tag `name` on `digest`, pushed at `pushed` (Unix seconds).
    pub fn new(name: &str, digest: &str, pushed: i64) -> Self {
        Self {
            name: name.to_owned(),
            digest: Some(digest.to_owned()),
            pushed,
        }
    }
}

/// One emulated repository `<namespace>/<name>`.
#[derive(Debug, Clone)]
pub struct HubRepo {
    /// The namespace (user or organisation).
    pub namespace: String,
    /// The repository name.
    pub name: String,
    /// Tags given explicitly (e.g. releases and channels), in any order.
    pub tags: Vec<HubTag>,
    /// How many synthetic build tags follow: `build-<i>` (i = 0 is the newest), on digest
    /// `sha256:<i as 64 hex digits>`, pushed [`HubRepo::synthetic_step`] seconds apart going back
    /// from [`HubRepo::synthetic_newest`]. They are generated when a page needs them.
    pub synthetic: usize,
    /// The push time of `build-0` (Unix seconds).
    pub synthetic_newest: i64,
    /// The seconds between two synthetic pushes.
    pub synthetic_step: i64,
}

impl HubRepo {
    /// Returns `<namespace>/<name>` with `tags` and no synthetic tags.
    pub fn new(namespace: &str, name: &str, tags: Vec<HubTag>) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            tags,
            synthetic: 0,
            synthetic_newest: 1_767_225_600, // 2026-01-01T00:00:00Z
            synthetic_step: 60,
        }
    }

    /// Adds `n` synthetic build tags, the newest pushed at `newest`, one every `step` seconds.
    pub fn with_synthetic(mut self, n: usize, newest: i64, step: i64) -> Self {
        self.synthetic = n;
        self.synthetic_newest = newest;
        self.synthetic_step = step.max(1);
        self
    }

    /// Returns synthetic tag number `i`.
    pub fn synthetic_tag(&self, i: usize) -> HubTag {
        HubTag {
            name: format!("build-{i}"),
            digest: Some(format!("sha256:{i:064x}")),
            pushed: self.synthetic_newest - self.synthetic_step * i as i64,
        }
    }

    /// Returns every tag newest first (ties by name), generated lazily.
    pub(super) fn newest_first(&self) -> impl Iterator<Item = HubTag> + '_ {
        let mut explicit = self.tags.clone();
        explicit.sort_by(|a, b| b.pushed.cmp(&a.pushed).then_with(|| a.name.cmp(&b.name)));
        let mut explicit = explicit.into_iter().peekable();
        let mut synthetic = (0..self.synthetic).map(|i| self.synthetic_tag(i)).peekable();
        std::iter::from_fn(move || match (explicit.peek(), synthetic.peek()) {
            (Some(e), Some(s)) if s.pushed > e.pushed => synthetic.next(),
            (Some(_), _) => explicit.next(),
            (None, _) => synthetic.next(),
        })
    }

    /// Returns the tags a listing shows, in its order: `name` filters by substring; `by_name`
    /// orders by name instead of newest first.
    pub(super) fn listed<'a>(
        &'a self,
        name: Option<&'a str>,
        by_name: bool,
    ) -> Box<dyn Iterator<Item = HubTag> + 'a> {
        let filtered = self
            .newest_first()
            .filter(move |t| name.is_none_or(|n| t.name.contains(n)));
        if by_name {
            let mut all: Vec<_> = filtered.collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            Box::new(all.into_iter())
        } else {
            Box::new(filtered)
        }
    }
}

impl HubRepo {
    /// Returns how many tags a listing shows and those at positions `start..start + size`. Fast
    /// (no synthetic tag generated but those returned) unless synthetic names may match `name`
    /// or the order is by name.
    pub(super) fn page(
        &self,
        name: Option<&str>,
        by_name: bool,
        start: usize,
        size: usize,
    ) -> (usize, Vec<HubTag>) {
        let synthetic_may_match = name.is_none_or(|n| n.chars().all(|c| "build-0123456789".contains(c)));
        if by_name || (name.is_some() && synthetic_may_match) {
            let count = self.listed(name, by_name).count();
            return (count, self.listed(name, by_name).skip(start).take(size).collect());
        }
        let mut explicit: Vec<&HubTag> = self
            .tags
            .iter()
            .filter(|t| name.is_none_or(|n| t.name.contains(n)))
            .collect();
        explicit.sort_by(|a, b| b.pushed.cmp(&a.pushed).then_with(|| a.name.cmp(&b.name)));
        let synthetic = if name.is_some() { 0 } else { self.synthetic };
        // The merged position of each explicit tag: its rank plus the synthetic tags pushed after it.
        let positions: Vec<usize> = explicit
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let newer = if self.synthetic_newest <= e.pushed {
                    0
                } else {
                    usize::try_from(
                        (self.synthetic_newest - e.pushed + self.synthetic_step - 1) / self.synthetic_step,
                    )
                    .unwrap_or(usize::MAX)
                };
                j + newer.min(synthetic)
            })
            .collect();
        let count = explicit.len() + synthetic;
        let items = (start..count.min(start.saturating_add(size)))
            .map(|k| {
                let before = positions.partition_point(|&p| p < k);
                match positions.get(before) {
                    Some(&p) if p == k => explicit[before].clone(),
                    _ => self.synthetic_tag(k - before),
                }
            })
            .collect();
        (count, items)
    }
}

/// Returns `tag` as Docker Hub's tag object (the fields its documentation and practice show).
pub(super) fn tag_json(tag: &HubTag, id: usize) -> Value {
    let pushed = rfc3339(tag.pushed);
    json!({
        "creator": 7,
        "id": id,
        "images": [{
            "architecture": "amd64",
            "os": "linux",
            "digest": tag.digest,
            "size": 3_000_000,
            "status": "active",
            "last_pushed": pushed,
        }],
        "last_updated": pushed,
        "last_updater": 7,
        "last_updater_username": "ci",
        "name": tag.name,
        "repository": 1,
        "full_size": 3_000_000,
        "v2": true,
        "tag_status": "active",
        "tag_last_pulled": null,
        "tag_last_pushed": pushed,
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "content_type": "image",
        "digest": tag.digest,
    })
}

/// Returns `secs` (Unix seconds, UTC) as `YYYY-MM-DDTHH:MM:SS.000000Z`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_782_378_300), "2026-06-25T09:05:00.000000Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn merges_explicit_and_synthetic_tags_newest_first() {
        let repo = HubRepo::new(
            "t",
            "app",
            vec![
                HubTag::new("old", "sha256:1", 100),
                HubTag::new("mid", "sha256:2", 1_000 - 150),
            ],
        )
        .with_synthetic(3, 1_000, 100);
        let names: Vec<_> = repo.newest_first().map(|t| t.name).collect();
        assert_eq!(names, ["build-0", "build-1", "mid", "build-2", "old"]);
        let filtered: Vec<_> = repo.listed(Some("d-"), false).map(|t| t.name).collect();
        assert_eq!(filtered, ["build-0", "build-1", "build-2"]);
        let by_name: Vec<_> = repo.listed(None, true).map(|t| t.name).collect();
        assert_eq!(by_name, ["build-0", "build-1", "build-2", "mid", "old"]);
        for start in 0..6 {
            for size in 1..4 {
                let fast = repo.page(None, false, start, size);
                let slow: Vec<_> = repo.newest_first().skip(start).take(size).collect();
                assert_eq!(fast, (5, slow), "start {start} size {size}");
            }
        }
        assert_eq!(repo.page(Some("o"), false, 0, 10).1.len(), 1);
        assert_eq!(repo.page(Some("d-"), false, 1, 10).1.len(), 2);
    }
}
