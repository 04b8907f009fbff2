//! The clock token expiries are measured on: the system clock, which a test moves forward
//! (together with the simulator's) instead of sleeping until a token is about to expire.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Seconds since the Unix epoch, plus however far it was advanced. Clones share one clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.ahead_secs.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward by `by`, rounded up to a second.
    pub fn advance(&self, by: Duration) {
        let secs =
            i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 4) + i64::from(by.subsec_nanos() > 0);
        self.ahead_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_advance_together() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(Duration::from_millis(3300));
        assert!(copy.now() >= before + 3);
    }
}
