//! Parsing Docker Hub's answers: tag entries (every field optional), the order of pages (what
//! proves that unread pages hold only older tags), and the JWT's expiry.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tagcore::{Digest, ListedTag, Tag, TagListing, Timestamp};

use crate::hub::HubListOptions;

/// Adds the tags of Hub page number `page` to `listing` and returns the page, or says what is
/// wrong with it.
pub(crate) fn parse_page(
    bytes: &[u8],
    page: u32,
    listing: &mut TagListing,
    seen: &mut HashSet<String>,
) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| "page is not JSON".to_owned())?;
    let Some(results) = v.get("results").and_then(Value::as_array) else {
        return Err(format!("page {page} has no `results` array"));
    };
    for item in results {
        parse_tag(item, listing, seen);
    }
    Ok(v)
}

/// Adds the tag `item` describes to `listing` (once per name; invalid names are recorded as
/// skipped, neutralised).
pub(crate) fn parse_tag(item: &Value, listing: &mut TagListing, seen: &mut HashSet<String>) {
    let Some(name) = item.get("name").and_then(Value::as_str) else {
        listing.skipped_invalid.push(format!(
            "<entry without a name: {}>",
            truncate(&crate::sanitize::foreign(&item.to_string()), 80)
        ));
        return;
    };
    if !seen.insert(name.to_owned()) {
        return;
    }
    let Ok(tag) = name.parse::<Tag>() else {
        listing.skipped_invalid.push(crate::sanitize::foreign(name));
        return;
    };
    let time = |field: &str| {
        item.get(field)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Timestamp>().ok())
    };
    let digest = item
        .get("digest")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<Digest>().ok());
    listing.tags.push(ListedTag {
        tag,
        digest,
        pushed: time("tag_last_pushed").or_else(|| time("last_updated")),
    });
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Returns how long a JWT remains valid, from its `exp` claim (not verified: only a hint).
pub(crate) fn jwt_lifetime(jwt: &str) -> Option<Duration> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = v.get("exp")?.as_u64()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(exp.saturating_sub(now)))
}

/// Returns the URL of the first page: the page size, newest first, and the name filter.
pub(crate) fn first_page_url(
    base: &str,
    namespace: &str,
    repository: &str,
    page_size: u32,
    options: &HubListOptions,
) -> String {
    let mut url = format!(
        "{base}/v2/namespaces/{namespace}/repositories/{repository}/tags?page_size={}&ordering=last_updated",
        page_size.clamp(1, 100)
    );
    if let Some(name) = &options.name {
        // Percent-encodes everything but unreserved characters (tag names use only those).
        let encoded: String = name
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        url.push_str(&format!("&name={encoded}"));
    }
    url
}

/// Returns why the listing stops after `page` although more pages exist, and whether that
/// leaves it `partial` (true: the caller has what it needs) or `truncated` (false).
pub(crate) fn stop_reason(
    options: &HubListOptions,
    listing: &TagListing,
    order: &PageOrder,
    page: u32,
) -> Option<(String, bool)> {
    if options.stop_when.as_ref().is_some_and(|stop| stop(listing)) {
        return Some((
            format!("stopped after {page} pages at the caller's request (it needed only the newest tags)"),
            false,
        ));
    }
    let floor = order.proven_floor()?;
    let enough = options.enough.as_ref()?;
    enough(&listing.tags, floor).then(|| {
        (
            format!(
                "newest tags only: stopped after {page} pages, newest first; every tag not read was pushed at or \
                 before {floor} and cannot change the answer"
            ),
            true,
        )
    })
}

/// Returns the URL of the page `next` names after page `page`: `Ok(Ok(url))` to follow,
/// `Ok(Err(why))` when the listing stops there (another host, a page already read), `Err` when
/// it is not a URL.
pub(crate) fn next_page(
    base: &reqwest::Url,
    next: &str,
    seen: &HashSet<String>,
    page: u32,
) -> Result<Result<String, String>, &'static str> {
    match reqwest::Url::parse(next).or_else(|_| base.join(next)) {
        Ok(u) if u.origin() != base.origin() => Ok(Err(format!(
            "stopped after {page} pages: `next` points to another host"
        ))),
        Ok(u) if seen.contains(u.as_str()) => Ok(Err(format!(
            "stopped after {page} pages: `next` repeats an earlier page"
        ))),
        Ok(u) => Ok(Ok(u.to_string())),
        Err(_) => Err("`next` is not a URL"),
    }
}

/// The order of the push times read so far: whether they prove that every unread tag is older.
#[derive(Debug, Default)]
pub(crate) struct PageOrder {
    /// The oldest `last_updated` read so far.
    floor: Option<Timestamp>,
    /// False once a tag came newer than one before it, or without a time, or pushed after its
    /// own `last_updated`.
    broken: bool,
}

impl PageOrder {
    /// Checks the results of one page (Docker Hub orders by `last_updated`, newest first).
    pub(crate) fn add_page(&mut self, page: &Value) {
        let time = |item: &Value, field: &str| {
            item.get(field)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Timestamp>().ok())
        };
        for item in page
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(updated) = time(item, "last_updated") else {
                self.broken = true;
                continue;
            };
            let pushed = time(item, "tag_last_pushed").unwrap_or(updated);
            if pushed > updated || self.floor.is_some_and(|f| updated > f) {
                self.broken = true;
            }
            self.floor = Some(self.floor.map_or(updated, |f| f.min(updated)));
        }
    }

    /// Returns the time every unread tag was pushed at or before, when the order proves it.
    pub(crate) fn proven_floor(&self) -> Option<Timestamp> {
        if self.broken { None } else { self.floor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_leniently() {
        let mut listing = TagListing::default();
        let mut seen = HashSet::new();
        let d = format!("sha256:{}", "a".repeat(64));
        for item in [
            serde_json::json!({"name": "prod", "digest": d, "tag_last_pushed": "2026-06-24T10:05:00.123456Z", "last_updated": "2026-06-25T00:00:00Z", "images": {"digest": "x"}}),
            serde_json::json!({"name": "old", "last_updated": "2026-06-20T00:00:00Z", "images": [1, 2]}),
            serde_json::json!({"name": "bare", "digest": 7, "tag_last_pushed": null}),
            serde_json::json!({"name": "bad tag!"}),
            serde_json::json!({"digest": d}),
            serde_json::json!("not an object"),
            serde_json::json!({"name": "prod"}),
        ] {
            parse_tag(&item, &mut listing, &mut seen);
        }
        let names: Vec<_> = listing.tags.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(names, ["prod", "old", "bare"]);
        assert_eq!(
            listing.tags[0].pushed,
            Some("2026-06-24T10:05:00Z".parse().unwrap())
        );
        assert_eq!(listing.tags[0].digest, Some(d.parse().unwrap()));
        assert_eq!(
            listing.tags[1].pushed,
            Some("2026-06-20T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            (listing.tags[2].digest.clone(), listing.tags[2].pushed),
            (None, None)
        );
        assert_eq!(listing.skipped_invalid.len(), 3, "{:?}", listing.skipped_invalid);
        assert_eq!(listing.skipped_invalid[0], "bad tag!");
    }

    #[test]
    fn reads_jwt_expiry() {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
        let payload = URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp}}}"));
        let lifetime = jwt_lifetime(&format!("h.{payload}.s")).unwrap();
        assert!(lifetime > Duration::from_secs(590) && lifetime <= Duration::from_secs(600));
        assert_eq!(jwt_lifetime("garbage"), None);
    }

    #[test]
    fn only_a_newest_first_order_proves_a_floor() {
        let page = |items: &[(&str, Option<&str>)]| {
            serde_json::json!({"results": items.iter().map(|(updated, pushed)| {
                serde_json::json!({"name": "t", "last_updated": updated, "tag_last_pushed": pushed})
            }).collect::<Vec<_>>()})
        };
        let mut order = PageOrder::default();
        order.add_page(&page(&[
            ("2026-06-25T12:00:00Z", Some("2026-06-25T12:00:00Z")),
            ("2026-06-25T11:00:00Z", None),
        ]));
        order.add_page(&page(&[("2026-06-25T11:00:00Z", Some("2026-06-25T10:00:00Z"))]));
        assert_eq!(
            order.proven_floor(),
            Some("2026-06-25T11:00:00Z".parse().unwrap())
        );
        // A newer tag after an older one: the order proves nothing any more.
        order.add_page(&page(&[("2026-06-25T11:30:00Z", None)]));
        assert_eq!(order.proven_floor(), None);
        // Pushed after its own last update, or without a time: nothing proven either.
        let mut odd = PageOrder::default();
        odd.add_page(&page(&[("2026-06-25T11:00:00Z", Some("2026-06-25T11:00:01Z"))]));
        assert_eq!(odd.proven_floor(), None);
        let mut untimed = PageOrder::default();
        untimed.add_page(&serde_json::json!({"results": [{"name": "t"}]}));
        assert_eq!(untimed.proven_floor(), None);
    }
}
