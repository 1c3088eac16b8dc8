//! Per-account throttling of failed sign-ins. It is always on, whatever
//! the request rate limits say (`HERALD_RATE_LIMIT=0` turns those off for
//! benchmarks, never this): a few mistakes are free, then each further
//! failure locks the address for twice as long, up to a quarter of an hour.
//! The count is kept for any address, known or not, so the answer never
//! tells whether an account exists.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{AppError, AppResult};

/// Failures in a row before the first lock.
pub const FREE_FAILURES: u32 = 5;
/// The longest lock.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// A record with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Records kept before old ones are swept (a spray over many addresses
/// must not grow memory without bound).
const MAX_RECORDS: usize = 100_000;

/// How long `failures` failures in a row lock an address.
pub fn lock_for(failures: u32) -> Duration {
    match failures.checked_sub(FREE_FAILURES) {
        None => Duration::ZERO,
        Some(extra) => Duration::from_secs(1u64 << extra.min(20)).min(MAX_LOCK),
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last_failure: Instant,
    locked_until: Instant,
}

#[derive(Default)]
pub struct LoginThrottle {
    records: Mutex<HashMap<String, Record>>,
}

impl LoginThrottle {
    /// Refuses, without checking the password, while the address is locked.
    pub fn check(&self, key: &str) -> AppResult<()> {
        let now = Instant::now();
        let Ok(records) = self.records.lock() else { return Ok(()) };
        match records.get(key) {
            Some(record) if record.locked_until > now => {
                let wait = record.locked_until - now;
                Err(AppError::RateLimited {
                    message: "too many failed sign-ins for this address; wait before trying again".into(),
                    retry_after: wait,
                })
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, key: &str) {
        let now = Instant::now();
        let Ok(mut records) = self.records.lock() else { return };
        if records.len() >= MAX_RECORDS {
            records.retain(|_, r| r.locked_until > now || now.duration_since(r.last_failure) < FORGET_AFTER);
        }
        let record =
            records.entry(key.to_string()).or_insert(Record { failures: 0, last_failure: now, locked_until: now });
        if now.duration_since(record.last_failure) >= FORGET_AFTER {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last_failure = now;
        record.locked_until = now + lock_for(record.failures);
        if record.failures == FREE_FAILURES {
            tracing::warn!(failures = record.failures, "repeated failed sign-ins for one address; throttling it");
        }
    }

    pub fn succeeded(&self, key: &str) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(key);
        }
    }
}

/// A budget of actions per key and hour, for what strangers may do through
/// a public link (comment on a preview, connect an account): whoever holds
/// a link cannot flood the workspace, whatever address they come from.
pub struct HourlyBudget {
    per_hour: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl HourlyBudget {
    pub fn new(per_hour: u32) -> Self {
        Self { per_hour, windows: Mutex::new(HashMap::new()) }
    }

    /// Spends one action of `key`'s budget, or says how long to wait.
    pub fn spend(&self, key: &str) -> AppResult<()> {
        const HOUR: Duration = Duration::from_secs(3600);
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else { return Ok(()) };
        if windows.len() >= MAX_RECORDS {
            windows.retain(|_, (start, _)| now.duration_since(*start) < HOUR);
        }
        let window = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(window.0) >= HOUR {
            *window = (now, 0);
        }
        if window.1 >= self.per_hour {
            return Err(AppError::RateLimited {
                message: "this link was used too often in the last hour; try again later".into(),
                retry_after: HOUR.saturating_sub(now.duration_since(window.0)),
            });
        }
        window.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_after_the_free_failures_up_to_the_cap() {
        assert_eq!(lock_for(1), Duration::ZERO);
        assert_eq!(lock_for(FREE_FAILURES - 1), Duration::ZERO);
        assert_eq!(lock_for(FREE_FAILURES), Duration::from_secs(1));
        assert_eq!(lock_for(FREE_FAILURES + 1), Duration::from_secs(2));
        assert_eq!(lock_for(FREE_FAILURES + 5), Duration::from_secs(32));
        assert_eq!(lock_for(FREE_FAILURES + 10), MAX_LOCK);
        assert_eq!(lock_for(u32::MAX), MAX_LOCK);
    }

    #[test]
    fn an_address_is_locked_after_repeated_failures_and_freed_by_success() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed("ada@example.com");
            assert!(throttle.check("ada@example.com").is_ok());
        }
        throttle.failed("ada@example.com");
        let Err(AppError::RateLimited { retry_after, .. }) = throttle.check("ada@example.com") else {
            panic!("locked after {FREE_FAILURES} failures");
        };
        assert!(retry_after <= Duration::from_secs(1) && retry_after > Duration::ZERO);
        assert!(throttle.check("bob@example.com").is_ok(), "other addresses are not affected");
        throttle.succeeded("ada@example.com");
        assert!(throttle.check("ada@example.com").is_ok());
    }
}
