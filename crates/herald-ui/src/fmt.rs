//! Times as people read them, in their own time zone.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// `Thu 26 Nov, 14:05` (the year only when it is not this year's).
pub fn local(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    if local.format("%Y").to_string() == Utc::now().with_timezone(&tz).format("%Y").to_string() {
        local.format("%a %-d %b, %H:%M").to_string()
    } else {
        local.format("%a %-d %b %Y, %H:%M").to_string()
    }
}

pub fn local_opt(at: Option<DateTime<Utc>>, tz: Tz) -> String {
    at.map_or_else(String::new, |at| local(at, tz))
}

/// The value of an `<input type="datetime-local">`.
pub fn input_value(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// A `datetime-local` value read in `tz`. In a DST gap there is no such
/// time; the earlier of two ambiguous times is chosen.
pub fn parse_local(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    tz.from_local_datetime(&naive).earliest().map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_inputs_round_trip_through_the_zone() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let at = parse_local("2026-12-01T09:30", tz).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-01T08:30:00+00:00");
        assert_eq!(input_value(at, tz), "2026-12-01T09:30");
        assert!(parse_local("2026-03-29T02:30", tz).is_none(), "no such time: clocks jump to 03:00");
        assert!(parse_local("tomorrow", tz).is_none());
    }
}
