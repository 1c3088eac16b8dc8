//! Cursor pagination shared by the lists (posts, media): newest first, the
//! cursor names the last item of the previous page by its creation time and
//! id, so pages stay stable while new items arrive.

use chrono::{DateTime, Utc};
use herald_core::ValidationErrors;
use uuid::Uuid;

pub(crate) const DEFAULT_PAGE: u64 = 50;
pub(crate) const MAX_PAGE: u64 = 100;

/// The last item of a page: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// What a cursor looks like: microseconds since 1970, a dot, the id. The
/// OpenAPI document states it, and every string it matches is a cursor.
pub const CURSOR_PATTERN: &str = r"^[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

impl Cursor {
    pub(crate) fn encode(self) -> String {
        format!("{}.{}", self.created_at.timestamp_micros().max(0), self.id.hyphenated())
    }

    pub(crate) fn decode(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('.')?;
        let valid_micros = (1..=16).contains(&micros.len()) && micros.bytes().all(|b| b.is_ascii_digit());
        let valid_id = id.len() == 36 && !id.bytes().any(|b| b.is_ascii_uppercase());
        if !valid_micros || !valid_id {
            return None;
        }
        Some(Self { created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?, id: Uuid::parse_str(id).ok()? })
    }
}

/// `limit` (default 50, 1–100) and `cursor` of a list query; problems are
/// added to `errors` under their field names.
pub(crate) fn parse_page(
    limit: Option<u64>,
    cursor: Option<&str>,
    errors: &mut ValidationErrors,
) -> (u64, Option<Cursor>) {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        errors.push("limit", format!("must be between 1 and {MAX_PAGE}"));
    }
    let after = cursor.and_then(|raw| {
        let parsed = Cursor::decode(raw);
        if parsed.is_none() {
            errors.push("cursor", "is not a cursor returned by this API (use nextCursor as given)");
        }
        parsed
    });
    (limit, after)
}

/// Cuts one extra row fetched to learn whether there is a next page;
/// returns the cursor of that next page.
pub(crate) fn cut_page<T>(rows: &mut Vec<T>, limit: u64, key: impl Fn(&T) -> Cursor) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(|last| key(last).encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { created_at: herald_core::clock::Clock::system().now(), id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        assert_eq!(Cursor::decode("12.nope"), None);
        assert_eq!(Cursor::decode("-1.01a24211-5ce5-74b7-969e-a6912b61b20e"), None);
        // Whatever matches the documented pattern is a cursor.
        let pattern_max = format!("{}.{}", "9".repeat(16), "f".repeat(8) + "-ffff-ffff-ffff-" + &"f".repeat(12));
        assert!(Cursor::decode(&pattern_max).is_some());
        assert!(Cursor::decode("0.00000000-0000-0000-0000-000000000000").is_some());
    }

    #[test]
    fn a_page_is_cut_to_its_limit() {
        let at = herald_core::clock::Clock::system().now();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let mut rows = ids.clone();
        let next = cut_page(&mut rows, 2, |id| Cursor { created_at: at, id: *id });
        assert_eq!(rows, ids[..2]);
        assert_eq!(next.as_deref().and_then(Cursor::decode), Some(Cursor { created_at: at, id: ids[1] }));
        assert_eq!(cut_page(&mut rows, 2, |id| Cursor { created_at: at, id: *id }), None);
    }
}
