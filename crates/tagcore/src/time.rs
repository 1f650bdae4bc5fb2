//! UTC timestamps without a clock: the caller passes `now`.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A point in time, in whole seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl FromStr for Weekday {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "mon" | "monday" => Self::Mon,
            "tue" | "tuesday" => Self::Tue,
            "wed" | "wednesday" => Self::Wed,
            "thu" | "thursday" => Self::Thu,
            "fri" | "friday" => Self::Fri,
            "sat" | "saturday" => Self::Sat,
            "sun" | "sunday" => Self::Sun,
            _ => {
                return Err(format!(
                    "weekday {s:?} is invalid; expected mon, tue, wed, thu, fri, sat or sun"
                ));
            }
        })
    }
}

/// Why a string is not a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time {input:?} is invalid: {reason}; expected RFC 3339, e.g. 2026-06-24T10:05:00Z")]
pub struct TimestampError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Timestamp {
    /// Returns the timestamp `secs` seconds after the Unix epoch.
    pub const fn from_unix(secs: i64) -> Self {
        Self(secs)
    }

    /// Returns the seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// Returns the timestamp of a UTC calendar date and time, or `None` if it does not exist.
    pub fn from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<Self> {
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(Self(
            days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s),
        ))
    }

    /// Returns `(year, month, day, hour, minute, second)` in UTC.
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// Returns the UTC day of the week.
    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        const DAYS: [Weekday; 7] = [
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
        ];
        DAYS[self.0.div_euclid(86_400).rem_euclid(7) as usize]
    }

    /// Returns the UTC date as `YYYYMMDD`, the form used in stamps.
    pub fn date_compact(self) -> String {
        let (y, m, d, ..) = self.to_civil();
        format!("{y:04}{m:02}{d:02}")
    }

    /// Returns the UTC time of day as `HHMMSS`, the form used in audit tags.
    pub fn time_compact(self) -> String {
        let (.., h, mi, s) = self.to_civil();
        format!("{h:02}{mi:02}{s:02}")
    }

    /// Returns the start of the UTC day named `YYYYMMDD`, or `None` if it is not a date.
    pub fn parse_date_compact(s: &str) -> Option<Self> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::from_civil(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
            0,
            0,
            0,
        )
    }

    /// Returns the time named by `YYYYMMDD` and `HHMMSS`, or `None` if they do not exist.
    pub fn parse_compact(date: &str, time: &str) -> Option<Self> {
        let day = Self::parse_date_compact(date)?;
        if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, mi, s): (u32, u32, u32) = (
            time[..2].parse().ok()?,
            time[2..4].parse().ok()?,
            time[4..].parse().ok()?,
        );
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        Some(Self(
            day.0 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s),
        ))
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses RFC 3339 (`2026-06-24T10:05:00Z`, fractional seconds and `±hh:mm` offsets allowed).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| TimestampError {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() < 20 || !input.is_ascii() {
            return Err(err("too short"));
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, TimestampError> {
            input[r]
                .bytes()
                .try_fold(0u32, |acc, c| {
                    c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
                })
                .ok_or_else(|| err("expected digits"))
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let (y, mo, d, h, mi, s) = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        );
        let mut rest = &input[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(err("empty fraction"));
            }
            rest = &frac[n..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6
                && matches!(rest.as_bytes()[0], b'+' | b'-')
                && rest.as_bytes()[3] == b':' =>
            {
                let base = input.len() - 6;
                let mins = i64::from(num(base + 1..base + 3)? * 60 + num(base + 4..base + 6)?);
                if rest.starts_with('-') { -mins } else { mins }
            }
            _ => return Err(err("expected Z or ±hh:mm offset")),
        };
        let t = Self::from_civil(i64::from(y), mo, d, h, mi, s.min(59))
            .ok_or_else(|| err("no such date or time"))?;
        Ok(Self(t.0 - offset * 60))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_rfc3339() {
        let t: Timestamp = "2026-06-24T10:05:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-06-24T10:05:00Z");
        assert_eq!(t.date_compact(), "20260624");
        assert_eq!(t.time_compact(), "100500");
        let frac: Timestamp = "2026-06-24T10:05:00.123456Z".parse().unwrap();
        assert_eq!(frac, t);
        let off: Timestamp = "2026-06-24T12:05:00+02:00".parse().unwrap();
        assert_eq!(off, t);
    }

    #[test]
    fn knows_weekdays() {
        assert_eq!(
            "2026-06-23T12:00:00Z".parse::<Timestamp>().unwrap().weekday(),
            Weekday::Tue
        );
        assert_eq!(
            "2026-06-25T00:00:00Z".parse::<Timestamp>().unwrap().weekday(),
            Weekday::Thu
        );
        assert_eq!(Timestamp::from_unix(0).weekday(), Weekday::Thu);
    }

    #[test]
    fn refuses_impossible_dates() {
        assert!("2026-02-30T00:00:00Z".parse::<Timestamp>().is_err());
        assert!("2026-06-24 10:05".parse::<Timestamp>().is_err());
        assert!(Timestamp::parse_date_compact("20261301").is_none());
        assert!(Timestamp::parse_compact("20260709", "246000").is_none());
    }

    #[test]
    fn round_trips_civil_dates() {
        for secs in [-86_401_i64, 0, 951_782_400, 1_782_295_500, 4_102_444_800] {
            let t = Timestamp::from_unix(secs);
            let (y, m, d, h, mi, s) = t.to_civil();
            assert_eq!(Timestamp::from_civil(y, m, d, h, mi, s), Some(t));
        }
    }
}
