//! Tenancy: endpoints (see tests/e2e_tenancy.rs). A namespace user cannot make the operator call
//! a host the admin did not allow: a credentials Secret naming another `endpoint` or
//! `iamEndpoint` is refused before any connection, and only the admin's `--allow-endpoint` (the
//! simulator's URL, passed by tests/support/cluster.rs) opens one.

use std::net::TcpListener;
use std::time::Duration;

use crate::support::cluster::{Env, OperatorArgs};
use crate::support::fixtures::{self, PORT, str_at};
use crate::support::sim;

/// A VpcEndpointService using the credentials of Secret `secret`.
fn service(name: &str, secret: &str) -> String {
    fixtures::service_yaml(
        name,
        PORT,
        (80, 8080),
        &format!("  credentialsSecretRef: {{name: {secret}}}\n"),
    )
}

/// The connections `listener` was sent so far (the kernel completes them without an accept).
fn connections(listener: &TcpListener) -> usize {
    listener.set_nonblocking(true).expect("nonblocking");
    let mut count = 0;
    loop {
        match listener.accept() {
            Ok(_) => count += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return count,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Waits for `object` to be refused for its Secret `secret`; checks that the message names the
/// Secret, the refused URL and the flag that would allow it.
fn assert_refused(env: &Env, object: &str, secret: &str, key: &str, url: &str) {
    let message = env.wait_not_synced(object, "CredentialsError", Duration::from_secs(60));
    for part in [
        format!("{}/{secret}", env.ns),
        format!("Secret key {key}"),
        url.to_string(),
        "--allow-endpoint".to_string(),
    ] {
        assert!(message.contains(&part), "{part:?} not in {message:?}");
    }
    // Nothing of it reached the cloud.
    assert_eq!(str_at(&env.get(object), &["status", "id"]), "");
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn secrets_may_name_only_allowed_endpoints() {
    let env = Env::start("endpoints", &[], OperatorArgs::default());
    let probe = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let probed = format!("http://{}", probe.local_addr().unwrap());

    // A VPCEP endpoint of the user's choice, with otherwise valid credentials.
    env.apply_ok(&fixtures::credentials_secret(
        "probe",
        &format!("{probed}/metrics"),
        sim::PROJECT_ID,
        sim::ACCESS_KEY,
        sim::SECRET_KEY,
    ));
    env.apply_ok(&service("probe", "probe"));
    // An IAM endpoint of the user's choice for a password (the VPCEP endpoint is the operator's).
    env.apply_ok(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: iam\nstringData:\n  region: eu-de\n  projectId: {}\n  username: alice\n  password: alice-pw\n  domainName: alice-domain\n  iamEndpoint: {probed}/v3\n",
        sim::PROJECT_ID
    ));
    env.apply_ok(&service("iam", "iam"));

    assert_refused(
        &env,
        "vpcesvc/probe",
        "probe",
        "endpoint",
        &format!("{probed}/metrics"),
    );
    assert_refused(
        &env,
        "vpcesvc/iam",
        "iam",
        "iamEndpoint",
        &format!("{probed}/v3"),
    );
    assert_eq!(
        connections(&probe),
        0,
        "the operator connected to a URL no one allowed"
    );

    // The simulator, allowed by --allow-endpoint, serves a Secret that names it.
    env.apply_ok(&fixtures::credentials_secret(
        "sim",
        &env.sim.url,
        sim::PROJECT_ID,
        sim::ACCESS_KEY,
        sim::SECRET_KEY,
    ));
    env.apply_ok(&service("allowed", "sim"));
    env.wait_ready(&["vpcesvc/allowed"], "60s");
    let id = str_at(&env.get("vpcesvc/allowed"), &["status", "id"]).to_string();
    assert!(!id.is_empty(), "Ready without a cloud id");

    // Still nobody called the probe, also not by a retry of the refused objects meanwhile.
    assert_eq!(connections(&probe), 0);
}
