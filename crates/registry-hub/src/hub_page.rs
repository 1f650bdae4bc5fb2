//! Parsing Docker Hub's answers: tag entries (every field optional) and the JWT's expiry.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tagcore::{Digest, ListedTag, Tag, TagListing, Timestamp};

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
}
