//! Record keys Herald picks itself, so that sending an item again cannot
//! make a second post: `com.atproto.repo.createRecord` takes an `rkey`, and
//! a repository holds one record per key. Posts are keyed by TIDs
//! (atproto.com/specs/tid): 64 bits — a zero bit, 53 bits of microseconds
//! since the Unix epoch, 10 bits of clock id — written as 13 characters of
//! base32-sortable. The key is derived from what stays the same across every
//! attempt of an item: its target and its index.

use chrono::{DateTime, Utc};
use herald_core::compose::MAX_THREAD_ITEMS;
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
/// The items of one target take consecutive microseconds within a slot…
const SLOT_MICROS: u64 = MAX_THREAD_ITEMS as u64 + 1;
/// …and a target takes one of this many slots of its second, picked by its
/// id's random bits, with a clock id picked the same way: two targets of one
/// account made in the same second clash once in 38,461 × 1,024 — and a
/// clash is noticed, not trusted (see `Bluesky::create_post`).
const SLOTS: u64 = 1_000_000 / SLOT_MICROS;

/// A TID from its parts; time beyond 53 bits and clock ids beyond 10 are cut.
pub fn encode(micros: u64, clock_id: u16) -> String {
    let value = ((micros & ((1 << 53) - 1)) << 10) | u64::from(clock_id & 0x3FF);
    (0..13).rev().map(|digit| ALPHABET[((value >> (digit * 5)) & 0x1F) as usize] as char).collect()
}

/// The record key of item `item_index` of a target. Its time is the second
/// the target was made (a UUIDv7 carries it), else the post's scheduled
/// time; `None` when neither is known.
pub fn record_key(target_id: Uuid, item_index: usize, scheduled_for: Option<DateTime<Utc>>) -> Option<String> {
    let seconds = match target_id.get_timestamp() {
        Some(timestamp) => timestamp.to_unix().0,
        None => u64::try_from(scheduled_for?.timestamp()).ok()?,
    };
    // A v7 id's low 62 bits are random (and so are most bits of other ids).
    let random = target_id.as_u64_pair().1;
    let slot = random % SLOTS;
    let clock_id = u16::try_from((random >> 32) & 0x3FF).unwrap_or(0);
    let micros = seconds.checked_mul(1_000_000)? + slot * SLOT_MICROS + item_index as u64;
    Some(encode(micros, clock_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `key` has the TID syntax of the spec.
    fn is_tid(key: &str) -> bool {
        key.len() == 13
            && key.bytes().all(|b| ALPHABET.contains(&b))
            && key.bytes().next().is_some_and(|first| ALPHABET[..16].contains(&first))
    }

    /// The time and clock id of a TID.
    fn decode(key: &str) -> (u64, u16) {
        let value = key.bytes().fold(0u64, |acc, b| (acc << 5) | ALPHABET.iter().position(|a| *a == b).unwrap() as u64);
        (value >> 10, (value & 0x3FF) as u16)
    }

    #[test]
    fn tids_encode_like_the_spec() {
        // The example of atproto.com/specs/tid: 2023-06-30T15:03:01.887007Z, clock id 6.
        assert_eq!(decode("3jzfcijpj2z2a"), (1_688_137_381_887_007, 6));
        assert_eq!(encode(1_688_137_381_887_007, 6), "3jzfcijpj2z2a");
        assert_eq!(encode(0, 0), "2222222222222");
        assert_eq!(encode(0, 1), "2222222222223");
        assert_eq!(encode((1 << 53) - 1, 0x3FF), "bzzzzzzzzzzzz");
        assert!(encode(1_688_137_381_887_007, 6) < encode(1_688_137_381_887_008, 0), "sorts by time as text");
        assert!(is_tid("3jzfcijpj2z2a") && is_tid("2222222222222"));
        assert!(!is_tid("3jzfcijpj2z2aa") && !is_tid("8222222222222") && !is_tid("3jzfcijpj2z2A"));
    }

    #[test]
    fn keys_are_stable_per_item_and_distinct_between_items_and_targets() {
        let target = Uuid::now_v7();
        let first = record_key(target, 0, None).unwrap();
        assert_eq!(record_key(target, 0, None).unwrap(), first, "the same item gets the same key every time");
        let keys: Vec<String> = (0..=MAX_THREAD_ITEMS).map(|i| record_key(target, i, None).unwrap()).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "a thread's keys sort in order");
        assert!(keys.iter().all(|k| is_tid(k)));
        // The time is the second the target was made.
        assert_eq!(decode(&first).0 / 1_000_000, target.get_timestamp().unwrap().to_unix().0);

        // Targets made in the same millisecond differ by their random bits.
        let made_at = 1_767_225_600_123;
        let mut seen = std::collections::HashSet::new();
        for random in 0..2_000u64 {
            let bytes = random.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes();
            let id =
                uuid::Builder::from_unix_timestamp_millis(made_at, &[bytes, bytes].concat()[..10].try_into().unwrap())
                    .into_uuid();
            for index in 0..3 {
                assert!(seen.insert(record_key(id, index, None).unwrap()), "target {random}, item {index}");
            }
        }

        // Ids without a time fall back to the scheduled time.
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let random = Uuid::new_v4();
        let key = record_key(random, 1, Some(at)).unwrap();
        assert_eq!(decode(&key).0 / 1_000_000, 1_767_225_600);
        assert_eq!(record_key(random, 1, None), None);
    }
}
