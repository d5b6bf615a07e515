//! The objects-by-status gauge, counted from the watch caches at each scrape: no bookkeeping
//! that could drift from what the cluster holds.

use std::collections::BTreeMap;

use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use vpcep_api::{VpcEndpoint, VpcEndpointService};

#[derive(Debug)]
pub struct Census {
    pub services: Store<VpcEndpointService>,
    pub endpoints: Store<VpcEndpoint>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ObjectLabels {
    kind: &'static str,
    /// The cloud status, or `none` before the first answer from the cloud.
    status: String,
}

fn count(
    objects: impl Iterator<Item = (&'static str, Option<String>)>,
) -> BTreeMap<ObjectLabels, i64> {
    let mut counts = BTreeMap::new();
    for (kind, status) in objects {
        let status = status.unwrap_or_else(|| "none".into());
        *counts.entry(ObjectLabels { kind, status }).or_default() += 1;
    }
    counts
}

impl Collector for Census {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let services = self.services.state();
        let endpoints = self.endpoints.state();
        let counts = count(
            services
                .iter()
                .map(|o| {
                    (
                        "VpcEndpointService",
                        o.status.as_ref().and_then(|s| s.status.clone()),
                    )
                })
                .chain(endpoints.iter().map(|o| {
                    (
                        "VpcEndpoint",
                        o.status.as_ref().and_then(|s| s.status.clone()),
                    )
                })),
        );
        let gauge = ConstGauge::new(0i64);
        let mut metric = encoder.encode_descriptor(
            "vpcep_objects",
            "Objects this process reconciles, by kind and cloud status",
            None,
            gauge.metric_type(),
        )?;
        for (labels, n) in &counts {
            ConstGauge::new(*n).encode(metric.encode_family(labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_counted_by_kind_and_status() {
        let counts = count(
            [
                ("VpcEndpoint", Some("accepted".to_string())),
                ("VpcEndpoint", Some("accepted".to_string())),
                ("VpcEndpoint", None),
                ("VpcEndpointService", Some("available".to_string())),
            ]
            .into_iter(),
        );
        let get = |kind, status: &str| {
            counts
                .get(&ObjectLabels {
                    kind,
                    status: status.into(),
                })
                .copied()
        };
        assert_eq!(get("VpcEndpoint", "accepted"), Some(2));
        assert_eq!(get("VpcEndpoint", "none"), Some(1));
        assert_eq!(get("VpcEndpointService", "available"), Some(1));
        assert_eq!(counts.len(), 3);
    }
}
