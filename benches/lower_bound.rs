//! The benchmark's lower bound (see `scripts/bench.sh`): the cloud work the operator does for a
//! set of manifests — every create and the status polls until the objects are usable — done by a
//! minimal direct client with no Kubernetes in between: no watches, no status writes, no
//! finalizers, no lookups before a create. Same client code, rate limit, concurrency and poll
//! interval as the operator, so the ratio of the two times is the cost of being an operator.
//!
//!   cargo bench --bench lower_bound -- MANIFESTS.yaml [--concurrency N] [--rate-limit R] ...
//!
//! Prints one JSON line: `{"seconds": ..., "services": S, "endpoints": E, "list_pages": [...]}`;
//! `list_pages` are the seconds of each page of `list endpoints` (the client's page size, 1,000, the
//! API's maximum) read once everything exists, so that the bench can show whether the simulator
//! serves lists at the size of the run quickly.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use futures::future::try_join_all;
use kube::ResourceExt;
use serde::Deserialize;
use tokio::sync::Semaphore;

use vpcep_api::{VpcEndpoint, VpcEndpointService};
use vpcep_cloud::api::PageParams;
use vpcep_cloud::config::{CloudKind, CloudSettings};
use vpcep_cloud::model::{EndpointQuery, EndpointStatus, ServiceStatus};
use vpcep_cloud::{ClientSettings, VpcepClient, api};
use vpcep_operator::controller::plan::requeue::SHORT_REQUEUE;
use vpcep_operator::controller::plan::{Owner, create_endpoint_request, create_service_request};

#[derive(Parser)]
struct Args {
    /// Multi-document YAML with the VpcEndpointServices and the VpcEndpoints (by serviceRef).
    /// Without it (as `cargo test --all-targets` runs every bench target), the manifest reader
    /// is checked on a sample instead.
    manifests: Option<PathBuf>,
    /// Calls in flight per kind (the operator's --concurrency).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The operator's --rate-limit.
    #[arg(long, default_value = "10")]
    rate_limit: NonZeroU32,
    /// The operator's --rate-burst.
    #[arg(long, default_value = "20")]
    rate_burst: NonZeroU32,
    /// Set by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The objects of the manifests: services by namespace and name, and each one's endpoints.
struct Workload {
    services: Vec<VpcEndpointService>,
    endpoints: HashMap<(String, String), Vec<VpcEndpoint>>,
}

fn parse(text: &str) -> Result<Workload, Box<dyn std::error::Error>> {
    let mut services = Vec::new();
    let mut endpoints: HashMap<(String, String), Vec<VpcEndpoint>> = HashMap::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)?;
        match value.get("kind").and_then(|k| k.as_str()) {
            Some("VpcEndpointService") => services.push(serde_yaml::from_value(value)?),
            Some("VpcEndpoint") => {
                let ep: VpcEndpoint = serde_yaml::from_value(value)?;
                let target = ep.spec.service_ref.as_ref().ok_or_else(|| {
                    format!(
                        "{}: the lower bound handles serviceRef endpoints only",
                        ep.name_any()
                    )
                })?;
                let key = (ep.namespace().unwrap_or_default(), target.name.clone());
                endpoints.entry(key).or_default().push(ep);
            }
            _ => {}
        }
    }
    Ok(Workload {
        services,
        endpoints,
    })
}

/// The manifest reader on a sample in the form scripts/bench.py writes (a comment, then JSON
/// documents).
fn self_check() -> Result<(), Failure> {
    let doc = |kind: &str, name: &str, spec: &str| {
        format!(
            r#"{{"apiVersion": "vpcep.io/v1alpha1", "kind": "{kind}", "metadata": {{"name": "{name}", "namespace": "ns"}}, "spec": {spec}}}"#
        )
    };
    let service = r#"{"vpcId": "0d2b3b3e-5b8e-4c1e-9a6a-6f2f1b6c0a01", "portId": "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a02", "serverType": "VM", "ports": [{"clientPort": 80, "serverPort": 8080}]}"#;
    let endpoint = r#"{"serviceRef": {"name": "svc"}, "vpcId": "3a9e6c55-1f0d-4d2b-b7c4-8e5f2a6d1b03", "subnetId": "5c1d8e22-7a3b-4f6c-9e0d-1b2a3c4d5e04"}"#;
    let sample = [
        "# sample".to_string(),
        doc("VpcEndpointService", "svc", service),
        doc("VpcEndpoint", "ep-0", endpoint),
        doc("VpcEndpoint", "ep-1", endpoint),
    ]
    .join("\n---\n");
    let work = parse(&sample).map_err(|e| e.to_string())?;
    let grouped = work.endpoints.get(&("ns".into(), "svc".into()));
    if work.services.len() != 1 || grouped.map(Vec::len) != Some(2) {
        return Err("the sample's service and its two endpoints were not read as such".into());
    }
    let by_id = doc(
        "VpcEndpoint",
        "ep",
        r#"{"serviceId": "11111111-2222-3333-4444-555555555555", "vpcId": "3a9e6c55-1f0d-4d2b-b7c4-8e5f2a6d1b03"}"#,
    );
    if parse(&by_id).is_ok() {
        return Err("an endpoint without serviceRef was accepted".into());
    }
    println!("lower_bound: the manifest reader works; scripts/bench.sh runs the benchmark");
    Ok(())
}

fn owner() -> Owner {
    Owner {
        uid: uuid::Uuid::new_v4().to_string(),
        cluster: "lower-bound".into(),
        adopted: false,
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Creates the service, polls it until available, then does the same for its endpoints.
async fn service_and_endpoints(
    client: &VpcepClient,
    limits: &(Semaphore, Semaphore),
    svc: &VpcEndpointService,
    endpoints: &[VpcEndpoint],
) -> Result<(), Failure> {
    let created = {
        let _slot = limits.0.acquire().await?;
        client
            .execute(api::create_service(&create_service_request(
                &svc.spec,
                &owner(),
                CloudKind::Otc,
            )?))
            .await?
    };
    loop {
        tokio::time::sleep(SHORT_REQUEUE).await;
        let _slot = limits.0.acquire().await?;
        let now = client.execute(api::get_service(&created.id)).await?;
        match now.status {
            ServiceStatus::Available => break,
            ServiceStatus::Creating => {}
            other => return Err(format!("service {} is {other}", created.id).into()),
        }
    }
    try_join_all(endpoints.iter().map(|ep| async {
        let created = {
            let _slot = limits.1.acquire().await?;
            let body = create_endpoint_request(&ep.spec, &created.id, &owner());
            client.execute(api::create_endpoint(&body)).await?
        };
        loop {
            tokio::time::sleep(SHORT_REQUEUE).await;
            let _slot = limits.1.acquire().await?;
            let now = client.execute(api::get_endpoint(&created.id)).await?;
            match now.status {
                EndpointStatus::Accepted => return Ok::<(), Failure>(()),
                EndpointStatus::Creating => {}
                other => return Err(format!("endpoint {} is {other}", created.id).into()),
            }
        }
    }))
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args = Args::parse();
    let Some(path) = &args.manifests else {
        return self_check();
    };
    let work = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| parse(&text).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let config = CloudSettings::default()
        .or_env(|name| std::env::var(name).ok())
        .resolve()?;
    let client = VpcepClient::new(
        &config,
        ClientSettings {
            rate_per_second: args.rate_limit,
            burst: args.rate_burst,
            ..Default::default()
        },
    )?;
    let limits = (
        Semaphore::new(args.concurrency),
        Semaphore::new(args.concurrency),
    );
    let started = Instant::now();
    try_join_all(work.services.iter().map(|svc| {
        let key = (svc.namespace().unwrap_or_default(), svc.name_any());
        let endpoints = work.endpoints.get(&key).map_or(&[][..], Vec::as_slice);
        service_and_endpoints(&client, &limits, svc, endpoints)
    }))
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let endpoints: usize = work.endpoints.values().map(Vec::len).sum();
    let list_pages = time_endpoint_pages(&client, endpoints).await?;
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds, "services": work.services.len(), "endpoints": endpoints,
            "list_pages": list_pages,
        })
    );
    Ok(())
}

/// Reads every endpoint page by page and returns the seconds each page took; fails unless the
/// pages hold the `expected` endpoints.
async fn time_endpoint_pages(client: &VpcepClient, expected: usize) -> Result<Vec<f64>, Failure> {
    let mut seconds = Vec::new();
    let mut listed = 0;
    loop {
        let page = PageParams {
            // The client's own page size: 1,000, the most the API allows.
            limit: ClientSettings::default().page_size,
            offset: listed as u64,
        };
        let started = Instant::now();
        let answer = client
            .execute(api::list_endpoints(&EndpointQuery::default(), page))
            .await?;
        seconds.push(started.elapsed().as_secs_f64());
        listed += answer.endpoints.len();
        if answer.endpoints.is_empty() || listed as u64 >= answer.total_count {
            break;
        }
    }
    if listed != expected {
        return Err(format!("list endpoints read {listed} endpoints, {expected} exist").into());
    }
    Ok(seconds)
}
