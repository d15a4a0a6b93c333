//! The fake's billing clock: wall time plus an offset that only moves forward through the control
//! API. Object timestamps (`created`, event times) use it; webhook signatures use the wall clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Fake unix time in seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Fake unix time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        wall_now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn offset_seconds(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed) / 1000
    }

    pub fn advance(&self, seconds: i64) {
        self.offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

pub fn wall_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Real unix time in seconds (the `t=` of webhook signatures).
pub fn wall_now() -> i64 {
    wall_now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_fake_time_only() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(86_400);
        assert!(clock.now() - before >= 86_400);
        assert!(wall_now() - before < 60);
        clock.reset();
        assert_eq!(clock.offset_seconds(), 0);
    }
}
