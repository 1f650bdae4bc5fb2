//! UTC timestamps against an independent day count: every day from 1600 to 2500 converts both
//! ways as the proleptic Gregorian calendar says, and RFC 3339 text is read and written exactly.

use tagcore::{Timestamp, Weekday};

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_days(y: i64, m: u32) -> u32 {
    [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m as usize - 1]
}

/// Every (year, month, day) from 1600-01-01 to 2500-12-31 with its day number since 1970-01-01,
/// counted one day at a time.
fn calendar() -> Vec<(i64, u32, u32, i64)> {
    let mut days_before_1970 = 0;
    for y in 1600..1970 {
        days_before_1970 += if leap(y) { 366 } else { 365 };
    }
    let mut out = Vec::new();
    let mut n = -days_before_1970;
    for y in 1600..=2500 {
        for m in 1..=12 {
            for d in 1..=month_days(y, m) {
                out.push((y, m, d, n));
                n += 1;
            }
        }
    }
    out
}

#[test]
fn every_day_from_1600_to_2500_converts_both_ways() {
    const WEEK: [Weekday; 7] = [
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
    ];
    for (i, (y, m, d, n)) in calendar().into_iter().enumerate() {
        // A different time of day on each day, so every hour, minute and second occurs.
        let (h, mi, s) = ((i % 24) as u32, (i * 7 % 60) as u32, (i * 13 % 60) as u32);
        let secs = n * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
        let t = Timestamp::from_civil(y, m, d, h, mi, s).unwrap_or_else(|| panic!("{y}-{m}-{d}"));
        assert_eq!(t.unix(), secs, "{y}-{m}-{d}");
        assert_eq!(t.to_civil(), (y, m, d, h, mi, s), "{secs}");
        assert_eq!(t.weekday(), WEEK[n.rem_euclid(7) as usize], "{y}-{m}-{d}");
        if i % 97 == 0 {
            let text = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            assert_eq!(t.to_string(), text);
            assert_eq!(text.parse::<Timestamp>(), Ok(t));
            assert_eq!(t.date_compact(), format!("{y:04}{m:02}{d:02}"));
            assert_eq!(t.time_compact(), format!("{h:02}{mi:02}{s:02}"));
            let day = Timestamp::from_unix(n * 86_400);
            assert_eq!(Timestamp::parse_date_compact(&t.date_compact()), Some(day));
            assert_eq!(
                Timestamp::parse_compact(&t.date_compact(), &t.time_compact()),
                Some(t)
            );
        }
    }
}

#[test]
fn impossible_dates_and_times_are_refused() {
    for (y, m, d, h, mi, s) in [
        (2026, 0, 1, 0, 0, 0),
        (2026, 13, 1, 0, 0, 0),
        (2026, 1, 0, 0, 0, 0),
        (2026, 1, 32, 0, 0, 0),
        (2026, 4, 31, 0, 0, 0),
        (2026, 2, 29, 0, 0, 0),
        (2100, 2, 29, 0, 0, 0),
        (2026, 1, 1, 24, 0, 0),
        (2026, 1, 1, 0, 60, 0),
        (2026, 1, 1, 0, 0, 61),
    ] {
        assert_eq!(
            Timestamp::from_civil(y, m, d, h, mi, s),
            None,
            "{y}-{m}-{d} {h}:{mi}:{s}"
        );
    }
    assert!(
        Timestamp::from_civil(2000, 2, 29, 23, 59, 60).is_some(),
        "a leap second"
    );
    assert!(Timestamp::from_civil(2024, 2, 29, 0, 0, 0).is_some());
    for bad in ["2026013", "202601011", "2026-101", "20261301", "20260230"] {
        assert_eq!(Timestamp::parse_date_compact(bad), None, "{bad}");
    }
    // Exactly six digits: five that would read as 12:34:05, or signs `u32` parsing accepts.
    for bad in [
        "24000", "2400000", "240000", "236000", "235960", "23595a", "12345", "+1+2+3",
    ] {
        assert_eq!(Timestamp::parse_compact("20260101", bad), None, "{bad}");
    }
    assert_eq!(
        Timestamp::parse_compact("20260101", "235959").map(Timestamp::unix),
        Some(1_767_311_999)
    );
}

#[test]
fn rfc3339_offsets_fractions_and_separators_are_read() {
    let at = |s: &str| s.parse::<Timestamp>().map(Timestamp::unix);
    let base = 1_782_295_500; // 2026-06-24T10:05:00Z
    assert_eq!(at("2026-06-24T10:05:00Z"), Ok(base));
    assert_eq!(at("2026-06-24t10:05:00z"), Ok(base));
    assert_eq!(at("2026-06-24 10:05:00Z"), Ok(base));
    assert_eq!(at("2026-06-24T10:05:00.123456789Z"), Ok(base));
    assert_eq!(at("2026-06-24T12:35:00+02:30"), Ok(base));
    assert_eq!(at("2026-06-24T07:04:00-03:01"), Ok(base));
    assert_eq!(
        at("2026-06-24T10:05:60Z"),
        Ok(base + 59),
        "a leap second reads as :59"
    );
    for (bad, reason) in [
        ("2026-06-24T10:05:00", "too short"),
        ("2026-06-24T10:05Z", "too short"),
        ("2026-06-24T10:05:00Zé", "too short"),
        ("2026/06/24T10:05:00Z", "expected YYYY-MM-DDTHH:MM:SS"),
        ("2026-06/24T10:05:00Z", "expected YYYY-MM-DDTHH:MM:SS"),
        ("2026-06-24X10:05:00Z", "expected YYYY-MM-DDTHH:MM:SS"),
        ("2026-06-24T10-05:00Z", "expected YYYY-MM-DDTHH:MM:SS"),
        ("2026-06-24T10:05-00Z", "expected YYYY-MM-DDTHH:MM:SS"),
        ("2026-0a-24T10:05:00Z", "expected digits"),
        ("2026-06-24T10:05:00.Z", "empty fraction"),
        ("2026-06-24T10:05:00+0200", "expected Z or ±hh:mm offset"),
        ("2026-06-24T10:05:00*02:00", "expected Z or ±hh:mm offset"),
        ("2026-06-24T10:05:00+02-00", "expected Z or ±hh:mm offset"),
        ("2026-06-24T10:05:00+0a:00", "expected digits"),
        ("2026-02-30T10:05:00Z", "no such date or time"),
    ] {
        let e = bad.parse::<Timestamp>().expect_err(bad);
        assert_eq!((e.input.as_str(), e.reason), (bad, reason));
    }
}

#[test]
fn a_timestamp_shows_as_rfc3339_in_debug_and_json() {
    let t: Timestamp = "2026-06-24T10:05:00Z".parse().expect("time");
    assert_eq!(format!("{t:?}"), "Timestamp(2026-06-24T10:05:00Z)");
    assert_eq!(
        serde_json::to_string(&t).expect("json"),
        "\"2026-06-24T10:05:00Z\""
    );
    assert_eq!(Timestamp::from_unix(-1).to_string(), "1969-12-31T23:59:59Z");
}

#[test]
fn weekdays_are_read_in_short_or_long_form_in_any_case() {
    for (text, day) in [
        ("mon", Weekday::Mon),
        ("Tuesday", Weekday::Tue),
        ("WED", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("Saturday", Weekday::Sat),
        ("sun", Weekday::Sun),
        ("monday", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ] {
        assert_eq!(text.parse::<Weekday>(), Ok(day), "{text}");
    }
    assert_eq!(
        "funday".parse::<Weekday>(),
        Err("weekday \"funday\" is invalid; expected mon, tue, wed, thu, fri, sat or sun".into())
    );
}
