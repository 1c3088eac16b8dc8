//! When to try a failed delivery again: exponential backoff with jitter,
//! never sooner than the platform's `Retry-After`, and a limit on attempts.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base: Duration::from_secs(30), max_delay: Duration::from_secs(3600) }
    }
}

/// The delay before the next attempt after `attempts_made` failed ones, or
/// `None` when the limit is reached. `jitter` in `[0, 1)` spreads retries
/// (±25 %) so that many failures do not retry in lockstep. A `Retry-After`
/// longer than the backoff wins; a shorter one does not shorten it.
pub fn next_retry_delay(
    policy: &RetryPolicy,
    attempts_made: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    if attempts_made >= policy.max_attempts {
        return None;
    }
    let exponent = attempts_made.saturating_sub(1).min(30);
    let backoff = policy.base.saturating_mul(1u32 << exponent).min(policy.max_delay);
    let spread = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
    let backoff = backoff.mul_f64(spread).min(policy.max_delay);
    Some(match retry_after {
        Some(after) if after > backoff => after,
        _ => backoff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 4, base: Duration::from_secs(10), max_delay: Duration::from_secs(60) }
    }

    #[test]
    fn doubles_until_the_cap_then_stops() {
        let p = policy();
        assert_eq!(next_retry_delay(&p, 1, None, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(next_retry_delay(&p, 2, None, 0.5), Some(Duration::from_secs(20)));
        assert_eq!(next_retry_delay(&p, 3, None, 0.5), Some(Duration::from_secs(40)));
        assert_eq!(next_retry_delay(&p, 4, None, 0.5), None);
        let long = RetryPolicy { max_attempts: 20, ..p };
        assert_eq!(next_retry_delay(&long, 10, None, 0.5), Some(Duration::from_secs(60)));
    }

    #[test]
    fn jitter_spreads_by_a_quarter_each_way() {
        let p = policy();
        assert_eq!(next_retry_delay(&p, 2, None, 0.0), Some(Duration::from_secs(15)));
        assert_eq!(next_retry_delay(&p, 2, None, 0.999_999).map(|d| d.as_secs()), Some(24));
        assert!(next_retry_delay(&p, 3, None, 1.0).unwrap() <= Duration::from_secs(60));
    }

    #[test]
    fn retry_after_is_honoured_but_never_shortens() {
        let p = policy();
        assert_eq!(next_retry_delay(&p, 1, Some(Duration::from_secs(120)), 0.5), Some(Duration::from_secs(120)));
        assert_eq!(next_retry_delay(&p, 2, Some(Duration::from_secs(1)), 0.5), Some(Duration::from_secs(20)));
        assert_eq!(next_retry_delay(&p, 4, Some(Duration::from_secs(1)), 0.5), None);
    }
}
