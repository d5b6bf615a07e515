//! When a failed call is repeated, and after how long.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::error::CloudError;

/// Retry behaviour of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Repeats after the first attempt.
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not slept through inside the client: the error goes
    /// back to the caller, which can requeue instead of holding a worker.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_server_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Jittered exponential delays, one per allowed retry.
    pub fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
            .build()
    }

    /// The delay before repeating a failed call, or `None` to give up now. `next_backoff` is the
    /// next value of [`Self::backoff`] (`None` once the retries are used up).
    pub fn next_delay(
        &self,
        creates: bool,
        error: &CloudError,
        next_backoff: Option<Duration>,
    ) -> Option<Duration> {
        if !error.kind().is_transient() {
            return None;
        }
        // Without an idempotency token a repeated create may make a second object.
        if creates && !error.request_was_not_processed() {
            return None;
        }
        let backoff = next_backoff?;
        match error.retry_after() {
            Some(wait) if wait > self.max_server_wait => None,
            Some(wait) => Some(wait.max(backoff)),
            None => Some(backoff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16, code: &str, retry_after: Option<u64>) -> CloudError {
        let body = format!(r#"{{"error_code":"{code}","error_msg":"m"}}"#);
        CloudError::Api {
            operation: "op",
            error: ApiError::parse(
                status,
                body.as_bytes(),
                None,
                retry_after.map(Duration::from_secs),
            ),
        }
    }

    const B: Option<Duration> = Some(Duration::from_millis(300));

    #[test]
    fn backoff_is_bounded_in_count_and_size() {
        let p = RetryPolicy::default();
        let delays: Vec<_> = p.backoff().collect();
        assert_eq!(delays.len(), 3);
        assert!(
            delays
                .iter()
                .all(|d| *d >= p.min_delay && *d <= p.max_delay * 2),
            "{delays:?}"
        );
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.next_delay(false, &api(400, "EndPoint.0002", None), B),
            None
        );
        assert_eq!(
            p.next_delay(false, &api(404, "EndPoint.0005", None), B),
            None
        );
        assert_eq!(
            p.next_delay(false, &api(400, "EndPoint.3006", None), B),
            None
        );
    }

    #[test]
    fn transient_errors_are_retried_until_the_budget_ends() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(false, &api(500, "EndPoint.0001", None), B), B);
        assert_eq!(p.next_delay(false, &api(503, "X", None), B), B);
        assert_eq!(
            p.next_delay(false, &api(500, "EndPoint.0001", None), None),
            None
        );
    }

    #[test]
    fn retry_after_is_honoured_or_handed_back() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.next_delay(false, &api(429, "APIG.0308", Some(2)), B),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.next_delay(false, &api(429, "APIG.0308", Some(120)), B),
            None
        );
    }

    #[test]
    fn creates_are_repeated_only_when_certainly_not_processed() {
        let p = RetryPolicy::default();
        // A 5xx may come after the object was made.
        assert_eq!(
            p.next_delay(true, &api(500, "EndPoint.0001", None), B),
            None
        );
        // Throttling is refused before anything happens.
        assert_eq!(
            p.next_delay(true, &api(429, "APIG.0308", Some(1)), B),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p.next_delay(true, &api(400, "EndPoint.0022", None), B), B);
    }
}
