//! Scheduling math: parsing times, the "not in the past" rule, and finding
//! the next free posting slot of an integration.

use chrono::{DateTime, Days, Duration, NaiveTime, TimeZone as _, Utc};

use crate::ValidationError;

/// A post may be scheduled up to this far in the past and still be accepted
/// (it then goes out at once): clocks drift and forms take time to submit.
pub const PAST_GRACE: Duration = Duration::minutes(1);

/// Scheduling further ahead than this is almost always a typo in the year.
pub const MAX_AHEAD: Duration = Duration::days(5 * 366);

/// Parses an RFC 3339 / ISO 8601 timestamp that carries an offset (`Z` or
/// `+02:00`). A time without an offset is ambiguous, so it is refused.
pub fn parse_timestamp(field: &str, raw: &str) -> Result<DateTime<Utc>, ValidationError> {
    DateTime::parse_from_rfc3339(raw.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ValidationError::new(
            field,
            format!("`{raw}` is not an ISO 8601 date-time with an offset, e.g. 2026-12-01T09:00:00+01:00 or 2026-12-01T08:00:00Z"),
        )
    })
}

/// Checks that a publication time is neither in the past (beyond the grace)
/// nor absurdly far ahead.
pub fn check_publish_time(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ValidationError> {
    if at < now - PAST_GRACE {
        return Err(ValidationError::new(
            field,
            format!("{} is in the past (now is {}); pick a future time", at.to_rfc3339(), now.to_rfc3339()),
        ));
    }
    if at > now + MAX_AHEAD {
        return Err(ValidationError::new(field, "must be less than five years ahead"));
    }
    Ok(())
}

/// Daily posting slots used when an integration has none of its own:
/// 09:00, 12:00 and 17:00 local time.
pub const DEFAULT_POSTING_TIMES: &[u16] = &[9 * 60, 12 * 60, 17 * 60];

/// Validates posting times: minutes after local midnight, each < 1440.
pub fn parse_posting_times(field: &str, raw: &[i64]) -> Result<Vec<u16>, ValidationError> {
    let mut times = Vec::with_capacity(raw.len());
    for &minutes in raw {
        let minutes = u16::try_from(minutes)
            .ok()
            .filter(|m| *m < 24 * 60)
            .ok_or_else(|| ValidationError::new(field, format!("{minutes} is not a minute of the day (0–1439)")))?;
        if !times.contains(&minutes) {
            times.push(minutes);
        }
    }
    if times.len() > 48 {
        return Err(ValidationError::new(field, "at most 48 posting times a day"));
    }
    times.sort_unstable();
    Ok(times)
}

/// The first posting slot after `now` that no post already occupies.
/// Slots are local times in `tz`; a slot that does not exist on a day
/// (skipped by a DST change) is passed over. Looks a year ahead at most.
pub fn next_free_slot(
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    posting_times: &[u16],
    taken: &[DateTime<Utc>],
) -> Option<DateTime<Utc>> {
    let times = if posting_times.is_empty() { DEFAULT_POSTING_TIMES } else { posting_times };
    let today = now.with_timezone(&tz).date_naive();
    for offset in 0..=366 {
        let day = today.checked_add_days(Days::new(offset))?;
        for &minutes in times {
            let time = NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
            let Some(local) = tz.from_local_datetime(&day.and_time(time)).earliest() else {
                continue;
            };
            let slot = local.with_timezone(&Utc);
            let occupied = taken.iter().any(|t| (*t - slot).num_seconds().abs() < 60);
            if slot > now && !occupied {
                return Some(slot);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        parse_timestamp("t", raw).unwrap()
    }

    #[test]
    fn timestamps_need_an_offset() {
        assert_eq!(utc("2026-12-01T09:00:00+01:00"), utc("2026-12-01T08:00:00Z"));
        let err = parse_timestamp("scheduledFor", "2026-12-01T09:00:00").unwrap_err();
        assert_eq!(err.field, "scheduledFor");
        assert!(parse_timestamp("t", "tomorrow").is_err());
    }

    #[test]
    fn publish_time_allows_a_minute_of_grace() {
        let now = utc("2026-06-01T12:00:00Z");
        assert!(check_publish_time("t", now - Duration::seconds(59), now).is_ok());
        assert!(check_publish_time("t", now - Duration::seconds(61), now).is_err());
        assert!(check_publish_time("t", now + Duration::days(365), now).is_ok());
        assert!(check_publish_time("t", now + Duration::days(6 * 365), now).is_err());
    }

    #[test]
    fn posting_times_are_minutes_of_the_day() {
        assert_eq!(parse_posting_times("p", &[720, 540, 720]).unwrap(), vec![540, 720]);
        assert!(parse_posting_times("p", &[1440]).is_err());
        assert!(parse_posting_times("p", &[-1]).is_err());
    }

    #[test]
    fn next_slot_skips_past_and_taken_slots() {
        let paris = chrono_tz::Europe::Paris;
        let now = utc("2026-06-01T08:30:00Z"); // 10:30 in Paris (UTC+2)
        let slot = next_free_slot(now, paris, &[9 * 60, 12 * 60], &[]).unwrap();
        assert_eq!(slot, utc("2026-06-01T10:00:00Z"));
        let slot = next_free_slot(now, paris, &[9 * 60, 12 * 60], &[slot]).unwrap();
        assert_eq!(slot, utc("2026-06-02T07:00:00Z"));
        // Empty posting times fall back to the defaults.
        assert_eq!(next_free_slot(now, paris, &[], &[]).unwrap(), utc("2026-06-01T10:00:00Z"));
    }

    #[test]
    fn next_slot_passes_over_a_dst_gap() {
        // 2026-03-29 02:30 does not exist in Paris.
        let paris = chrono_tz::Europe::Paris;
        let now = utc("2026-03-28T23:00:00Z");
        assert_eq!(next_free_slot(now, paris, &[150], &[]).unwrap(), utc("2026-03-30T00:30:00Z"));
    }
}
