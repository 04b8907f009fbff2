//! The clock that expiries are measured on (idle sessions, access tokens, authorization codes):
//! real time, which a test moves forward with [`crate::SimHandle::advance_clock`] instead of
//! sleeping until a token expires.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    /// How far this clock runs ahead of real time, in milliseconds.
    ahead_ms: Arc<AtomicU64>,
}

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_copy() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(Duration::from_secs(3600));
        assert!(copy.now() >= before + Duration::from_secs(3600));
    }
}
