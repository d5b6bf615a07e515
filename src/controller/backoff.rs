//! Per-object retry delays: kube-runtime has no per-object backoff, so failures are counted here
//! and reset when a reconcile succeeds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Delay after the `failures`-th consecutive failure: exponential from `base`, capped, with
/// ±20 % jitter so that objects failing together do not retry together.
pub fn delay(failures: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(20)));
    exp.min(cap)
        .mul_f64(1.0 + 0.4 * (jitter.clamp(0.0, 1.0) - 0.5))
}

/// Consecutive failures per object key.
#[derive(Debug, Default)]
pub struct Failures {
    counts: Mutex<HashMap<String, u32>>,
}

impl Failures {
    /// Records one more failure and returns the count.
    pub fn record(&self, key: &str) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        *n
    }

    pub fn reset(&self, key: &str) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let d: Vec<_> = (1..=5)
            .map(|n| delay(n, S, Duration::from_secs(10), 0.5))
            .collect();
        assert_eq!(d, [1, 2, 4, 8, 10].map(Duration::from_secs));
        assert_eq!(
            delay(1000, S, Duration::from_secs(300), 0.5),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        assert_eq!(
            delay(1, Duration::from_secs(10), Duration::from_secs(60), 0.0),
            Duration::from_secs(8)
        );
        assert_eq!(
            delay(1, Duration::from_secs(10), Duration::from_secs(60), 1.0),
            Duration::from_secs(12)
        );
    }

    #[test]
    fn counts_reset_on_success() {
        let f = Failures::default();
        assert_eq!((f.record("a"), f.record("a"), f.record("b")), (1, 2, 1));
        f.reset("a");
        assert_eq!(f.record("a"), 1);
    }
}
