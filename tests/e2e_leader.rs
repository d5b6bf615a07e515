//! Two replicas with leader election on a real API server: only the Lease holder reconciles,
//! a follower takes over when the leader dies, and a leader stopped with SIGTERM hands the Lease
//! over at once. Also what `/metrics`, `/healthz` and `/readyz` report.

mod support;

use std::time::Duration;

use support::cluster::{
    Env, Operator, OperatorArgs, kubectl_raw, lease_holder, metric, wait_lease_holder,
};
use support::fixtures::{endpoint_yaml, wait_for};

const LEASE_DURATION: Duration = Duration::from_secs(5);

fn replica(env: &mut Env, lease: &str, name: &str) -> Operator {
    env.spawn_operator(
        &[
            "--leader-elect",
            "--lease-name",
            lease,
            "--lease-duration",
            "5s",
        ],
        &[("POD_NAME", name)],
    )
}

fn reconciles(op: &Operator) -> f64 {
    metric(&op.metrics(), "vpcep_reconciles_total", &[])
}

fn cloud_calls(op: &Operator) -> f64 {
    metric(&op.metrics(), "vpcep_cloud_requests_total", &[])
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn one_replica_reconciles_and_another_takes_over() {
    let lease = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // The Env's own operator is not started with leader election; both replicas are extra.
    let mut env = Env::start(
        "leader",
        &["--provision-delay", "300ms"],
        OperatorArgs::default(),
    );
    env.kill_operator();

    let mut a = replica(&mut env, &lease, "replica-a");
    wait_lease_holder(&lease, "replica-a", Duration::from_secs(30));
    let mut b = replica(&mut env, &lease, "replica-b");
    // The follower is up (ready) but does not lead.
    b.wait_http("/readyz", 200, Duration::from_secs(30));
    assert_eq!(metric(&b.metrics(), "vpcep_leader", &[]), 0.0);
    assert_eq!(metric(&a.metrics(), "vpcep_leader", &[]), 1.0);

    env.kubectl(&["apply", "-f", "examples/cross-vpc.yaml"]);
    env.wait_ready(&["vpcesvc/web", "vpce/web"], "60s");
    assert!(reconciles(&a) > 0.0, "{}", a.metrics());
    assert_eq!(
        reconciles(&b),
        0.0,
        "the follower reconciled:\n{}",
        b.metrics()
    );
    assert_eq!(
        cloud_calls(&b),
        0.0,
        "the follower called the cloud:\n{}",
        b.metrics()
    );
    assert_eq!(lease_holder(&lease).as_deref(), Some("replica-a"));

    // The leader dies without a word: the follower takes over once the Lease expires.
    a.kill();
    wait_lease_holder(&lease, "replica-b", LEASE_DURATION * 6);
    b.wait_http("/metrics", 200, Duration::from_secs(5));
    assert_eq!(metric(&b.metrics(), "vpcep_leader", &[]), 1.0);
    // The new leader acts: a deleted endpoint has its cloud object deleted and goes.
    env.kubectl(&["delete", "vpce/web", "--wait=false"]);
    env.wait_deleted("vpce/web", "60s");
    assert!(reconciles(&b) > 0.0, "{}", b.metrics());
    assert!(
        metric(
            &b.metrics(),
            "vpcep_cloud_requests_total",
            &[r#"operation="delete_endpoint""#]
        ) >= 1.0,
        "{}",
        b.metrics()
    );

    // SIGTERM: the leader finishes, releases the Lease and exits cleanly.
    let status = b.terminate();
    assert!(
        status.success(),
        "replica-b exited with {status}:\n{}",
        b.log_text()
    );
    assert_eq!(
        lease_holder(&lease).as_deref(),
        Some(""),
        "the lease was not released"
    );
    let c = replica(&mut env, &lease, "replica-c");
    wait_lease_holder(&lease, "replica-c", Duration::from_secs(30));
    drop(c);
    kubectl_raw(&["-n", "default", "delete", "lease", &lease], None);
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn metrics_report_reconciles_cloud_calls_and_objects() {
    let env = Env::start(
        "metrics",
        &["--provision-delay", "300ms"],
        OperatorArgs::default(),
    );
    let op = env.operator();
    assert_eq!(op.wait_http("/healthz", 200, Duration::from_secs(30)), "ok");
    op.wait_http("/readyz", 200, Duration::from_secs(30));
    env.kubectl(&["apply", "-f", "examples/cross-vpc.yaml"]);
    env.wait_ready(&["vpcesvc/web", "vpce/web"], "60s");

    let text = op.metrics();
    let value = |name: &str, labels: &[&str]| metric(&text, name, labels);
    let endpoint = r#"kind="VpcEndpoint""#;
    let service = r#"kind="VpcEndpointService""#;
    assert!(
        value("vpcep_reconciles_total", &[endpoint]) >= 1.0,
        "{text}"
    );
    assert!(value("vpcep_reconciles_total", &[service]) >= 1.0, "{text}");
    assert!(
        value("vpcep_reconcile_duration_seconds_count", &[endpoint]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        value(
            "vpcep_cloud_requests_total",
            &[r#"operation="create_endpoint""#, r#"status="200""#]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            "vpcep_cloud_requests_total",
            &[r#"operation="create_service""#, r#"status="200""#]
        ),
        1.0,
        "{text}"
    );
    assert!(
        value(
            "vpcep_cloud_request_duration_seconds_count",
            &[r#"operation="create_endpoint""#]
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(
        value("vpcep_time_to_ready_seconds_count", &[endpoint]),
        1.0,
        "{text}"
    );
    assert_eq!(
        value("vpcep_time_to_ready_seconds_count", &[service]),
        1.0,
        "{text}"
    );
    assert_eq!(
        value("vpcep_objects", &[endpoint, r#"status="accepted""#]),
        1.0,
        "{text}"
    );
    assert_eq!(
        value("vpcep_objects", &[service, r#"status="available""#]),
        1.0,
        "{text}"
    );
    assert_eq!(value("vpcep_leader", &[]), 1.0, "{text}");

    // Waiting is a state, not a failure: an endpoint whose service does not exist yet says so
    // in Synced, and is counted nowhere.
    env.apply_ok(&endpoint_yaml("orphan", "serviceRef: {name: missing}", ""));
    env.wait_not_synced("vpce/orphan", "DependencyNotReady", Duration::from_secs(30));
    let events = |type_: &str| {
        let selector = format!("involvedObject.name=orphan,reason=DependencyNotReady,type={type_}");
        env.events(&selector, "name")
    };
    // The event follows the status write: wait for it.
    wait_for(
        "the wait to be announced as a Normal event",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || events("Normal"),
        |normal| !normal.trim().is_empty(),
    );
    assert!(
        events("Warning").trim().is_empty(),
        "and never as a Warning"
    );
    // A failure is counted by its reason: an endpoint whose credentials Secret does not exist.
    env.apply_ok(&endpoint_yaml(
        "nokeys",
        "serviceId: 8189d3c2-8882-4871-a3c2-d380272eed83",
        "  credentialsSecretRef: {name: nowhere}\n",
    ));
    env.wait_not_synced("vpce/nokeys", "CredentialsError", Duration::from_secs(30));
    let text = op.metrics();
    assert!(
        metric(
            &text,
            "vpcep_reconcile_failures_total",
            &[endpoint, r#"reason="CredentialsError""#]
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "vpcep_reconcile_failures_total",
            &[endpoint, r#"reason="DependencyNotReady""#]
        ),
        0.0,
        "{text}"
    );
}
