//! The one source of "now" for everything that decides by time: schedules,
//! leases, retries, sessions, expiries. Production reads the system clock;
//! tests hold a manual clock and move it, instead of sleeping until a
//! deadline passes.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, SubsecRound, Utc};

/// Cheap to clone; clones of a manual clock share its time.
#[derive(Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands at `start` until it is moved with [`Clock::advance`]
    /// or [`Clock::set`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self { manual: Some(Arc::new(Mutex::new(start.trunc_subsecs(6)))) }
    }

    /// The current time at the precision both databases store
    /// (microseconds), so a value read back compares equal to the one written.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now().trunc_subsecs(6),
            Some(time) => *time.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// Moves a manual clock forward; the system clock cannot be moved, so
    /// this does nothing to it.
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(time) = &self.manual {
            let mut time = time.lock().unwrap_or_else(PoisonError::into_inner);
            *time += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
            *time = time.trunc_subsecs(6);
        }
    }

    /// Puts a manual clock at `to`; does nothing to the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Some(time) = &self.manual {
            *time.lock().unwrap_or_else(PoisonError::into_inner) = to.trunc_subsecs(6);
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.manual {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::manual({})", self.now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_follow() {
        let start = DateTime::parse_from_rfc3339("2026-03-29T00:30:00.1234567Z").unwrap().with_timezone(&Utc);
        let clock = Clock::manual(start);
        let clone = clock.clone();
        assert_eq!(clock.now(), start.trunc_subsecs(6));
        clock.advance(Duration::from_secs(90));
        assert_eq!(clone.now(), start.trunc_subsecs(6) + chrono::Duration::seconds(90));
        clone.set(start);
        assert_eq!(clock.now(), start.trunc_subsecs(6));
    }

    #[test]
    fn the_system_clock_reads_microseconds_and_cannot_be_moved() {
        let clock = Clock::system();
        let before = Utc::now() - chrono::Duration::seconds(1);
        clock.advance(Duration::from_secs(3600));
        let now = clock.now();
        assert!(now > before && now < Utc::now() + chrono::Duration::seconds(1));
        assert_eq!(now.timestamp_subsec_nanos() % 1000, 0);
    }
}
