//! Tenancy: one leader at a time (see tests/e2e_tenancy.rs). A leader frozen past its lease
//! (SIGSTOP) stops acting by its own clock: after it resumes it sends no cloud request, even
//! from the reconciles it was in the middle of, and exits, while the replica that took over
//! carries on. The simulator tells the replicas apart by their User-Agent, which names the
//! Lease identity (POD_NAME).

use std::time::Duration;

use serde_json::Value;

use crate::support::cluster::{Env, OperatorArgs, kubectl_raw, wait_lease_holder};
use crate::support::fixtures::{PORT, endpoint_yaml, service_yaml, wait_for_async};
use vpcep_cloud::DEFAULT_USER_AGENT;

const LEASE_DURATION: Duration = Duration::from_secs(4);
const ENDPOINTS: usize = 3;

/// The cloud requests the simulator received from the replica named `identity`.
async fn requests_from(env: &Env, identity: &str) -> u64 {
    let clients = env.sim.get("counters/clients").await;
    let user_agent = format!("{DEFAULT_USER_AGENT} ({identity})");
    clients[user_agent.as_str()]
        .as_object()
        .map_or(0, |ops| ops.values().filter_map(Value::as_u64).sum())
}

/// Waits until the replica `identity` has sent more than `than` requests; returns the count.
async fn wait_requests(env: &Env, identity: &str, than: u64) -> u64 {
    wait_for_async(
        &format!("{identity} to call the cloud (more than {than} requests)"),
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || requests_from(env, identity).await,
        |n| *n > than,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_frozen_leader_makes_no_cloud_call_after_it_resumes() {
    // A resync of a second keeps the leader calling the cloud all the time.
    let args = OperatorArgs {
        resync: "1s",
        ..OperatorArgs::default()
    };
    let mut env = Env::start("leader", &["--provision-delay", "300ms"], args);
    // The Env's own operator is not started with leader election; both replicas are extra.
    env.kill_operator();
    let lease = format!("{}-lease", env.ns);
    let (a, b) = (format!("{}-a", env.ns), format!("{}-b", env.ns));
    let lease_args = [
        "--leader-elect",
        "--lease-name",
        &lease,
        "--lease-duration",
        &format!("{}s", LEASE_DURATION.as_secs()),
    ];
    let mut leader = env.spawn_operator(&lease_args, &[("POD_NAME", &a)]);
    wait_lease_holder(&lease, &a, Duration::from_secs(30));
    let follower = env.spawn_operator(&lease_args, &[("POD_NAME", &b)]);
    follower.wait_http("/readyz", 200, Duration::from_secs(30));

    env.apply_ok(&service_yaml(
        "busy",
        PORT,
        (8080, 80),
        "  approvalEnabled: false\n",
    ));
    let mut objects = vec!["vpcesvc/busy".to_string()];
    for i in 0..ENDPOINTS {
        env.apply_ok(&endpoint_yaml(
            &format!("busy-{i}"),
            "serviceRef: {name: busy}",
            "",
        ));
        objects.push(format!("vpce/busy-{i}"));
    }
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    env.wait_ready(&objects, "60s");
    // The leader keeps calling the cloud; the follower never did.
    let before = requests_from(&env, &a).await;
    wait_requests(&env, &a, before + 5).await;
    assert_eq!(
        requests_from(&env, &b).await,
        0,
        "the follower called the cloud"
    );

    // Frozen past its lease, the leader is replaced; the new leader calls the cloud.
    leader.signal("STOP");
    wait_lease_holder(&lease, &b, LEASE_DURATION * 5);
    wait_requests(&env, &b, 0).await;
    let frozen = requests_from(&env, &a).await;

    // Resumed, the old leader finds its last renewal too old: it stops the reconciles it was
    // in the middle of without another cloud call, and exits to come back as a follower.
    leader.signal("CONT");
    let status = leader
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| {
            panic!(
                "the old leader still runs after it resumed:\n{}",
                leader.log_text()
            )
        });
    assert!(
        !status.success(),
        "the old leader exited with {status}:\n{}",
        leader.log_text()
    );
    assert!(
        leader.log_text().contains("no longer holding the lease"),
        "{}",
        leader.log_text()
    );
    assert_eq!(
        requests_from(&env, &a).await,
        frozen,
        "the old leader called the cloud after it resumed: {}",
        env.sim.get("counters/clients").await
    );
    // The new leader carries on and keeps the lease.
    let now = requests_from(&env, &b).await;
    wait_requests(&env, &b, now + 5).await;
    wait_lease_holder(&lease, &b, Duration::from_secs(5));
    drop(follower);
    kubectl_raw(&["-n", "default", "delete", "lease", &lease], None);
}
