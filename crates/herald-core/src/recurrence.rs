//! Recurring posts: an RFC 5545 RRULE series, or an "evergreen" post that
//! goes out again every N days. The series starts with the post itself;
//! each later occurrence becomes a post of its own (one per occurrence time,
//! so exactly-once publishing holds per occurrence). This module is the
//! pure part: parsing, validation and the occurrence times, computed in the
//! series' time zone so a 09:00 post stays at 09:00 across DST changes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};
use serde::{Deserialize, Serialize};

use crate::{ValidationError, ValidationErrors};

/// How many occurrences a listing or a lookup walks at most: a series of
/// hourly posts over a decade must not keep a request busy.
const MAX_WALK: usize = 20_000;

/// `recurrence` of a create/update request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct RecurrenceInput {
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO;BYHOUR=9` (an `RRULE:`
    /// prefix is accepted). `COUNT`/`UNTIL` may be given here or as fields.
    pub rule: String,
    /// IANA time zone the rule is read in (default: your profile's).
    pub timezone: Option<String>,
    /// No occurrence after this time (ISO 8601 with an offset).
    pub until: Option<String>,
    /// How many posts the series makes in all, the first one included (1–10,000).
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "count_in_range")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = 10000)))]
    pub count: Option<u32>,
}

/// `evergreen` of a create/update request.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct EvergreenInput {
    /// Published again this many days after the previous time went out (1–365).
    #[schema(minimum = 1, maximum = 365)]
    #[serde(deserialize_with = "days_in_range")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = 365)))]
    pub every_days: u32,
    /// Not again after this time (ISO 8601 with an offset).
    pub until: Option<String>,
}

/// Out-of-range numbers are refused while the body is read, as the
/// schema's bounds say, rather than reported later as a rule problem.
fn count_in_range<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let count = Option::<u32>::deserialize(deserializer)?;
    match count {
        Some(n) if !(1..=MAX_COUNT).contains(&n) => {
            Err(serde::de::Error::custom(format!("count must be between 1 and {MAX_COUNT}")))
        }
        _ => Ok(count),
    }
}

fn days_in_range<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let days = u32::deserialize(deserializer)?;
    if !(1..=365).contains(&days) {
        return Err(serde::de::Error::custom("everyDays must be between 1 and 365"));
    }
    Ok(days)
}

/// Most posts one series may make.
const MAX_COUNT: u32 = 10_000;

/// A validated series as stored on its first post and shown in answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Series {
    Rule(RuleSeries),
    Evergreen(Evergreen),
}

/// An RRULE series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleSeries {
    /// The rule without `COUNT` (kept in `count`).
    pub rule: String,
    pub timezone: String,
    pub until: Option<DateTime<Utc>>,
    /// Posts in all, the first one included.
    pub count: Option<u32>,
}

/// A post re-queued every `everyDays` after it last went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evergreen {
    pub every_days: u32,
    pub until: Option<DateTime<Utc>>,
}

impl Series {
    /// Reads a stored series; `None` for anything unreadable, which stops it.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        Self::deserialize(value).ok()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// When the occurrence after `previous` is due: the rule's next time,
    /// or for an evergreen post `everyDays` after `previous` went out.
    /// `start` is the series' first occurrence (the post's own time).
    pub fn next_after(&self, start: DateTime<Utc>, previous: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Rule(rule) => rule.occurrences(start).find(|at| *at > previous),
            Self::Evergreen(evergreen) => {
                let at = previous + Duration::days(i64::from(evergreen.every_days));
                evergreen.until.is_none_or(|until| at <= until).then_some(at)
            }
        }
    }
}

impl RuleSeries {
    /// Checks a request's recurrence against the series' first time.
    pub fn parse(input: &RecurrenceInput, default_zone: &str, start: DateTime<Utc>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let zone_name = input.timezone.clone().unwrap_or_else(|| default_zone.to_string());
        let zone = errors.collect(zone_name.parse::<chrono_tz::Tz>().map_err(|_| {
            ValidationError::new("recurrence.timezone", format!("`{zone_name}` is not an IANA time zone"))
        }));
        let until = input
            .until
            .as_deref()
            .and_then(|raw| errors.collect(crate::schedule::parse_timestamp("recurrence.until", raw)));
        let (rule, rule_count) = match split_count(&input.rule) {
            Ok(split) => split,
            Err(message) => {
                errors.push("recurrence.rule", message);
                (String::new(), None)
            }
        };
        if input.count.is_some() && rule_count.is_some() {
            errors.push("recurrence.count", "give COUNT in the rule or as `count`, not both");
        }
        if until.is_some() && rule.to_ascii_uppercase().contains("UNTIL=") {
            errors.push("recurrence.until", "give UNTIL in the rule or as `until`, not both");
        }
        let count = input.count.or(rule_count);
        if count.is_some_and(|n| !(1..=MAX_COUNT).contains(&n)) {
            errors.push("recurrence.count", format!("a series makes between 1 and {MAX_COUNT} posts"));
        }
        errors.into_result()?;
        let series = Self { rule, timezone: zone_name, until, count };
        if let Some(zone) = zone {
            series.build(zone, start).map_err(|message| ValidationError::new("recurrence.rule", message))?;
        }
        Ok(series)
    }

    /// Every occurrence time, in order: the first post's own time, then the
    /// rule's times after it, within `count` and `until`.
    pub fn occurrences(&self, start: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + use<> {
        let zone = self.timezone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
        let set = self.build(zone, start).ok();
        // The set's iterator owns what it needs, so nothing is collected.
        let later = set.into_iter().flat_map(|set| (&set).into_iter());
        let until = self.until;
        std::iter::once(start)
            .chain(later.map(|at| at.with_timezone(&Utc)).filter(move |at| *at > start))
            .take_while(move |at| until.is_none_or(|until| *at <= until))
            .take(self.count.map_or(MAX_WALK, |count| (count as usize).min(MAX_WALK)))
    }

    fn build(&self, zone: chrono_tz::Tz, start: DateTime<Utc>) -> Result<RRuleSet, String> {
        let rule: RRule<Unvalidated> = self.rule.parse().map_err(|e| format!("not an RRULE: {e}"))?;
        if matches!(rule.get_freq(), Frequency::Secondly | Frequency::Minutely) {
            return Err("posts repeat at most hourly: FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY".into());
        }
        let zone = rrule::Tz::Tz(zone);
        let dt_start = zone.from_utc_datetime(&start.naive_utc());
        // The iterator stops by itself at the crate's safety limits.
        Ok(rule.build(dt_start).map_err(|e| format!("not a usable RRULE: {e}"))?.limit())
    }
}

/// Takes `COUNT` out of the rule (the series counts its first post, which
/// need not match the rule) and refuses what a post series cannot have.
fn split_count(raw: &str) -> Result<(String, Option<u32>), String> {
    let trimmed = raw.trim();
    let body = trimmed.strip_prefix("RRULE:").or_else(|| trimmed.strip_prefix("rrule:")).unwrap_or(trimmed);
    if body.is_empty() {
        return Err("give a rule such as FREQ=WEEKLY;BYDAY=MO".into());
    }
    if body.contains('\n') || body.to_ascii_uppercase().contains("DTSTART") {
        return Err("give the RRULE alone: the series starts at the post's scheduledFor".into());
    }
    let mut count = None;
    let mut kept = Vec::new();
    for part in body.split(';').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("COUNT") => {
                count = Some(value.parse::<u32>().map_err(|_| format!("COUNT `{value}` is not a whole number"))?);
            }
            _ => kept.push(part),
        }
    }
    Ok((kept.join(";"), count))
}

impl Evergreen {
    pub fn parse(input: &EvergreenInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if !(1..=365).contains(&input.every_days) {
            errors.push("evergreen.everyDays", "between 1 and 365 days");
        }
        let until = input
            .until
            .as_deref()
            .and_then(|raw| errors.collect(crate::schedule::parse_timestamp("evergreen.until", raw)));
        errors.into_result()?;
        Ok(Self { every_days: input.every_days, until })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc)
    }

    fn weekly_berlin(start: &str) -> (RuleSeries, DateTime<Utc>) {
        let input = RecurrenceInput {
            rule: "FREQ=WEEKLY;BYDAY=MO".into(),
            timezone: Some("Europe/Berlin".into()),
            ..Default::default()
        };
        let start = at(start);
        (RuleSeries::parse(&input, "UTC", start).unwrap(), start)
    }

    #[test]
    fn a_weekly_nine_oclock_post_stays_at_nine_across_both_dst_changes() {
        // 2027: summer time starts Sunday 28 March, ends Sunday 31 October.
        let (series, start) = weekly_berlin("2027-03-15T09:00:00+01:00");
        let spring: Vec<_> = series.occurrences(start).take(4).collect();
        assert_eq!(
            spring,
            vec![
                at("2027-03-15T08:00:00Z"),
                at("2027-03-22T08:00:00Z"),
                at("2027-03-29T07:00:00Z"),
                at("2027-04-05T07:00:00Z")
            ]
        );
        let autumn: Vec<_> =
            series.occurrences(start).skip_while(|t| *t < at("2027-10-20T00:00:00Z")).take(3).collect();
        assert_eq!(autumn, vec![at("2027-10-25T07:00:00Z"), at("2027-11-01T08:00:00Z"), at("2027-11-08T08:00:00Z")]);
    }

    #[test]
    fn count_includes_the_first_post_and_until_ends_the_series() {
        let input = RecurrenceInput { rule: "RRULE:FREQ=DAILY;COUNT=3".into(), ..Default::default() };
        let start = at("2027-01-01T10:00:00Z");
        let series = RuleSeries::parse(&input, "UTC", start).unwrap();
        assert_eq!(series.count, Some(3));
        assert_eq!(series.occurrences(start).count(), 3);
        let until = RecurrenceInput {
            rule: "FREQ=DAILY".into(),
            until: Some("2027-01-04T10:00:00Z".into()),
            ..Default::default()
        };
        let series = RuleSeries::parse(&until, "UTC", start).unwrap();
        assert_eq!(series.occurrences(start).count(), 4);
        let series = Series::Rule(series);
        assert_eq!(series.next_after(start, at("2027-01-02T10:00:00Z")), Some(at("2027-01-03T10:00:00Z")));
        assert_eq!(series.next_after(start, at("2027-01-04T10:00:00Z")), None);
    }

    #[test]
    fn a_start_off_the_rule_is_still_the_first_post() {
        // A Wednesday start with a Monday rule: Wednesday, then Mondays.
        let (series, start) = weekly_berlin("2027-03-17T09:00:00+01:00");
        let first: Vec<_> = series.occurrences(start).take(2).collect();
        assert_eq!(first, vec![start, at("2027-03-22T08:00:00Z")]);
    }

    #[test]
    fn bad_rules_name_their_field() {
        let start = Utc::now();
        for (rule, zone) in [
            ("FREQ=SOMETIMES", None),
            ("FREQ=MINUTELY", None),
            ("", None),
            ("DTSTART:20270101T000000Z\nRRULE:FREQ=DAILY", None),
            ("FREQ=DAILY", Some("Mars/Olympus")),
        ] {
            let input = RecurrenceInput { rule: rule.into(), timezone: zone.map(Into::into), ..Default::default() };
            let errors = RuleSeries::parse(&input, "UTC", start).unwrap_err();
            assert!(errors.0[0].field.starts_with("recurrence."), "{rule}: {errors}");
        }
        let both = RecurrenceInput { rule: "FREQ=DAILY;COUNT=2".into(), count: Some(3), ..Default::default() };
        assert_eq!(RuleSeries::parse(&both, "UTC", start).unwrap_err().0[0].field, "recurrence.count");
    }

    #[test]
    fn evergreen_goes_again_every_n_days_until_its_end() {
        let evergreen =
            Evergreen::parse(&EvergreenInput { every_days: 30, until: Some("2027-03-01T00:00:00Z".into()) }).unwrap();
        let series = Series::Evergreen(evergreen);
        let start = at("2027-01-01T09:00:00Z");
        assert_eq!(series.next_after(start, start), Some(at("2027-01-31T09:00:00Z")));
        assert_eq!(series.next_after(start, at("2027-01-31T09:00:00Z")), None);
        assert!(Evergreen::parse(&EvergreenInput { every_days: 0, until: None }).is_err());
        let json = series.to_json();
        assert_eq!(Series::from_json(&json), Some(series));
    }
}
