//! The operator's Prometheus metrics. Reconciles are timed by a drop guard, so an
//! early return or a `?` still records; failures are counted where the error policy runs.

use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use vpcep_cloud::CloudMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    kind: String,
    reason: &'static str,
}

type Histograms = Family<KindLabel, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindLabel, Counter>,
    failures: Family<FailureLabels, Counter>,
    reconcile_duration: Histograms,
    time_to_ready: Histograms,
    leader: Gauge,
    /// Handed to every cloud client.
    pub cloud: CloudMetrics,
}

impl Metrics {
    /// `objects` reports the objects by kind and cloud status at each scrape.
    pub fn new(objects: Box<dyn Collector>) -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<KindLabel, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        // 1 ms .. ~65 s: a reconcile without cloud calls takes milliseconds, one that waits on
        // a throttled cloud tens of seconds.
        let reconcile_duration: Histograms =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 17)));
        // 0.5 s .. ~4.5 h: the cloud provisions in seconds to minutes; approvals wait on people.
        let time_to_ready: Histograms =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.5, 2.0, 15)));
        let leader = Gauge::default();
        let cloud = CloudMetrics::default();
        registry.register(
            "vpcep_reconciles",
            "Reconciles started, by kind",
            reconciles.clone(),
        );
        registry.register(
            "vpcep_reconcile_failures",
            "Reconciles that ended with an error, by kind and reason (the Synced condition's reason)",
            failures.clone(),
        );
        registry.register(
            "vpcep_reconcile_duration_seconds",
            "Duration of a reconcile, by kind",
            reconcile_duration.clone(),
        );
        registry.register(
            "vpcep_time_to_ready_seconds",
            "Seconds from an object's creation until it first became Ready, by kind",
            time_to_ready.clone(),
        );
        registry.register(
            "vpcep_leader",
            "1 while this process reconciles (holds the lease, or runs without leader election)",
            leader.clone(),
        );
        cloud.register(&mut registry);
        registry.register_collector(objects);
        Metrics {
            registry,
            reconciles,
            failures,
            reconcile_duration,
            time_to_ready,
            leader,
            cloud,
        }
    }

    /// Counts a reconcile; its duration is recorded when the returned guard drops.
    pub fn reconcile(&self, kind: &str) -> ReconcileTimer {
        let label = KindLabel { kind: kind.into() };
        self.reconciles.get_or_create(&label).inc();
        ReconcileTimer {
            histogram: self.reconcile_duration.get_or_create(&label).clone(),
            started: Instant::now(),
        }
    }

    pub fn failure(&self, kind: &str, reason: &'static str) {
        self.failures
            .get_or_create(&FailureLabels {
                kind: kind.into(),
                reason,
            })
            .inc();
    }

    pub fn became_ready(&self, kind: &str, age: Duration) {
        self.time_to_ready
            .get_or_create(&KindLabel { kind: kind.into() })
            .observe(age.as_secs_f64());
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

pub struct ReconcileTimer {
    histogram: Histogram,
    started: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::DescriptorEncoder;

    #[derive(Debug)]
    struct NoObjects;

    impl Collector for NoObjects {
        fn encode(&self, _: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            Ok(())
        }
    }

    #[test]
    fn reconciles_failures_and_readiness_are_exposed() {
        let metrics = Metrics::new(Box::new(NoObjects));
        drop(metrics.reconcile("VpcEndpoint"));
        drop(metrics.reconcile("VpcEndpoint"));
        metrics.failure("VpcEndpoint", "Throttled");
        metrics.became_ready("VpcEndpointService", Duration::from_secs(3));
        metrics.set_leader(true);
        metrics
            .cloud
            .observe("get_service", Some(404), Duration::ZERO);
        let text = metrics.encode().unwrap();
        for line in [
            r#"vpcep_reconciles_total{kind="VpcEndpoint"} 2"#,
            r#"vpcep_reconcile_duration_seconds_count{kind="VpcEndpoint"} 2"#,
            r#"vpcep_reconcile_failures_total{kind="VpcEndpoint",reason="Throttled"} 1"#,
            r#"vpcep_time_to_ready_seconds_count{kind="VpcEndpointService"} 1"#,
            "vpcep_leader 1",
            r#"vpcep_cloud_requests_total{operation="get_service",status="404"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
