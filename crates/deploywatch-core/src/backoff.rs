//! The per-environment check schedule: fast after a change, doubling while nothing changes.

use std::time::Duration;

/// Fast→idle backoff with ±10 % jitter (SPEC §4).
///
/// After a check that saw a change, the next one comes after `fast`; after each unchanged
/// check the interval doubles, up to `idle`. Jitter spreads environments that were configured
/// together so they do not all probe in the same instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    fast: Duration,
    idle: Duration,
    current: Duration,
}

impl Backoff {
    pub fn new(fast: Duration, idle: Duration) -> Backoff {
        let idle = idle.max(fast);
        Backoff {
            fast,
            idle,
            current: fast,
        }
    }

    /// The interval before the next check, without jitter.
    pub fn current(&self) -> Duration {
        self.current
    }

    /// Records the outcome of a check and returns the delay before the next one.
    pub fn next(&mut self, changed: bool) -> Duration {
        self.next_with(changed, rand::random::<f64>())
    }

    /// As [`Backoff::next`], with the jitter drawn from `unit` in `[0, 1)` (for tests).
    pub fn next_with(&mut self, changed: bool, unit: f64) -> Duration {
        self.current = if changed {
            self.fast
        } else {
            (self.current * 2).min(self.idle)
        };
        let factor = 0.9 + 0.2 * unit.clamp(0.0, 1.0);
        self.current.mul_f64(factor)
    }

    /// Forgets the backoff: the next interval is `fast` again (something changed elsewhere,
    /// e.g. a new push seen by the repository poll).
    pub fn reset(&mut self) {
        self.current = self.fast;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_idle_and_resets_on_change() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let seq: Vec<u64> = (0..7).map(|_| b.next_with(false, 0.5).as_secs()).collect();
        assert_eq!(seq, [20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.next_with(true, 0.5), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        assert_eq!(b.next_with(true, 0.0), Duration::from_secs(9));
        assert_eq!(b.next_with(true, 1.0), Duration::from_secs(11));
        for _ in 0..1000 {
            let d = b.next(false).as_secs_f64();
            assert!((9.0..=11.0).contains(&d), "{d}");
        }
    }
}
