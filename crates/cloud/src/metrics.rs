//! Metrics of cloud calls. Every client counts into one of these; a client built without one
//! (tests, tools) counts into an instance nobody scrapes.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    /// The HTTP status code, or `transport` when no answer came (refused, timed out, cut off).
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

type DurationFamily = Family<OperationLabel, Histogram, fn() -> Histogram>;

/// Cheap to clone: clones count into the same series.
#[derive(Clone, Debug)]
pub struct CloudMetrics {
    calls: Family<CallLabels, Counter>,
    duration: DurationFamily,
}

impl Default for CloudMetrics {
    fn default() -> Self {
        CloudMetrics {
            calls: Family::default(),
            // 5 ms .. ~20 s: a simulator answers in milliseconds, a busy cloud in seconds.
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 13))
            }),
        }
    }
}

impl CloudMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "vpcep_cloud_requests",
            "HTTP calls to the VPCEP API (each retry counts) by operation and status code",
            self.calls.clone(),
        );
        registry.register(
            "vpcep_cloud_request_duration_seconds",
            "Duration of one HTTP call to the cloud, by operation",
            self.duration.clone(),
        );
    }

    /// Records one HTTP call; `status` is `None` when no answer came.
    pub fn observe(&self, operation: &'static str, status: Option<u16>, took: Duration) {
        let status = status.map_or_else(|| "transport".to_string(), |s| s.to_string());
        self.calls
            .get_or_create(&CallLabels { operation, status })
            .inc();
        self.duration
            .get_or_create(&OperationLabel { operation })
            .observe(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_operation_and_status() {
        let metrics = CloudMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.observe("create_service", Some(200), Duration::from_millis(10));
        metrics.observe("create_service", Some(200), Duration::from_millis(10));
        metrics.observe("get_service", None, Duration::from_secs(30));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(
                r#"vpcep_cloud_requests_total{operation="create_service",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"vpcep_cloud_requests_total{operation="get_service",status="transport"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"vpcep_cloud_request_duration_seconds_count{operation="get_service"} 1"#
            ),
            "{text}"
        );
    }
}
