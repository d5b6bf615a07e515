//! `deploy/` as users install it, on a real node (scripts/node.sh): the image built by
//! scripts/image.sh and loaded into the node's containerd, the CRDs, the credentials Secret and
//! `kubectl apply -k` of an overlay that changes only the image and adds the component for 1.20 —
//! the steps of the README's install section. The simulator runs on the host, at the node's
//! address, which the pods reach over their bridge.
//!
//! Needs the node's control plane in `KUBECONFIG`, its containerd socket in `CONTAINERD_ADDRESS`
//! and the host's address on the pod bridge in `VPCEP_NODE_ADDRESS` (scripts/test.sh sets all
//! three); it fails loudly without them.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::cluster::{kubectl, kubectl_raw};
use support::fixtures::{cloud_objects, poll, poll_async, str_at};
use support::sim::{self, Sim};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const NS: &str = "vpcep-system";
const DEMO: &str = "node-demo";

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the node of scripts/node.sh; run scripts/test.sh"
        )
    })
}

fn json(args: &[&str]) -> Value {
    let out = kubectl(&[args, &["-o", "json"]].concat());
    serde_json::from_str(&out).expect("kubectl prints JSON")
}

/// The operator's pods that run and are Ready, by name.
fn ready_pods() -> Vec<String> {
    let pods = json(&[
        "-n",
        NS,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=vpcep-operator",
    ]);
    pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .map(|p| str_at(p, &["metadata", "name"]).to_string())
        .collect()
}

fn lease_holder() -> String {
    let (_, out, _) = kubectl_raw(
        &[
            "-n",
            NS,
            "get",
            "lease",
            "vpcep-operator",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
        None,
    );
    out
}

/// Two Ready pods, one of which holds the Lease; returns (pods, holder).
fn two_ready_pods_and_a_leader(timeout: Duration) -> (Vec<String>, String) {
    poll(
        timeout,
        Duration::from_millis(500),
        || (ready_pods(), lease_holder()),
        |(pods, holder)| pods.len() == 2 && pods.contains(holder),
    )
    .unwrap_or_else(|last| panic!("not two Ready operator pods with a leader: {last:?}"))
}

/// What the operator pods logged; `failed` lines of the reconciles and refusals of the API
/// server mean a missing grant or a broken install.
fn operator_logs() -> String {
    ready_pods()
        .iter()
        .map(|pod| kubectl(&["-n", NS, "logs", pod, "--prefix"]))
        .collect()
}

fn assert_no_failures(logs: &str) {
    let bad: Vec<&str> = logs
        .lines()
        .filter(|l| {
            l.contains("reconcile failed") || l.contains("forbidden") || l.contains("Forbidden")
        })
        .collect();
    assert!(
        bad.is_empty(),
        "the operator pods logged failures:\n{}",
        bad.join("\n")
    );
}

/// Waits until both objects of the cross-VPC example are Ready.
fn example_ready(timeout: &str) {
    let timeout = format!("--timeout={timeout}");
    let args = ["wait", "--for=condition=Ready", "vpcesvc/web", "vpce/web"];
    kubectl(&[&["-n", DEMO][..], &args, &[&timeout]].concat());
}

/// A node kept between runs (while developing) may hold the install and the example of an
/// earlier run, whose simulator is gone: the example's objects lose their finalizers, and both
/// namespaces go, so that this run installs afresh.
fn forget_earlier_runs() {
    // The operator first, so that it adds no finalizer back.
    kubectl(&[
        "delete",
        "namespace",
        NS,
        "--ignore-not-found",
        "--timeout=120s",
    ]);
    let (_, names, _) = kubectl_raw(&["-n", DEMO, "get", "vpcep", "-o", "name"], None);
    for name in names.lines() {
        let clear = r#"{"metadata":{"finalizers":null}}"#;
        kubectl_raw(
            &["-n", DEMO, "patch", name, "--type=merge", "-p", clear],
            None,
        );
    }
    kubectl(&[
        "delete",
        "namespace",
        DEMO,
        "--ignore-not-found",
        "--timeout=120s",
    ]);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes node: run scripts/test.sh (scripts/node.sh up)"]
async fn deploy_runs_as_pods_on_a_real_node() {
    let node_address = required_env("VPCEP_NODE_ADDRESS");
    required_env("CONTAINERD_ADDRESS");
    support::cluster::kubeconfig();

    // The image, as the README builds and loads it.
    let status = Command::new("scripts/image.sh")
        .arg("--load")
        .current_dir(REPO)
        .status()
        .expect("scripts/image.sh runs");
    assert!(status.success(), "scripts/image.sh --load failed");

    forget_earlier_runs();

    // The cloud: the simulator on the host, at the address the pods reach it by.
    let sim = Sim::start_on(
        &format!("{node_address}:0"),
        &["--provision-delay", "500ms", "--delete-delay", "500ms"],
    );

    // The CRDs, the namespace and the credentials Secret, as the README says.
    support::cluster::install_crds();
    let secret = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: vpcep-credentials\n  namespace: {NS}\nstringData:\n  VPCEP_CLOUD: {}\n  VPCEP_REGION: eu-de\n  VPCEP_PROJECT_ID: {}\n  VPCEP_ACCESS_KEY: {}\n  VPCEP_SECRET_KEY: {}\n  VPCEP_ENDPOINT: {}\n",
        sim::cloud(),
        sim::PROJECT_ID,
        sim::ACCESS_KEY,
        sim::SECRET_KEY,
        sim.url
    );
    let (ok, _, err) = kubectl_raw(&["apply", "-f", "-"], Some(&secret));
    assert!(ok, "{err}");

    // The install: deploy/ through an overlay that changes only the image (the one just loaded)
    // and adds the component for a 1.20 cluster.
    let overlay = Path::new(REPO).join("target/e2e-node/overlay");
    std::fs::create_dir_all(&overlay).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../../deploy\ncomponents:\n  - ../../../deploy/components/kubernetes-1.20\nimages:\n  - name: ghcr.io/vpcep-operator/vpcep-operator\n    newTag: \"{version}\"\n"
        ),
    )
    .unwrap();
    kubectl(&["apply", "-k", overlay.to_str().unwrap()]);
    let (pods, leader) = two_ready_pods_and_a_leader(Duration::from_secs(180));

    // The pods run as the install says: non-root, read-only root filesystem, the image loaded.
    let pod = json(&["-n", NS, "get", "pod", &leader]);
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        str_at(container, &["image"]),
        format!("ghcr.io/vpcep-operator/vpcep-operator:{version}")
    );
    assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 0);

    // The cross-VPC example reaches Ready through the operator in the cluster.
    kubectl(&["create", "namespace", DEMO]);
    kubectl(&["-n", DEMO, "apply", "-f", "examples/cross-vpc.yaml"]);
    example_ready("120s");
    let c = sim.owner_client();
    let one_each =
        |(services, endpoints): &(Vec<_>, Vec<_>)| services.len() == 1 && endpoints.len() == 1;
    assert!(one_each(&cloud_objects(&c).await));

    // The leader's pod is deleted: it gives the Lease up on SIGTERM, and another pod (the
    // follower, or the replacement the ReplicaSet starts) holds it within the lease duration
    // (15 s), duplicating nothing.
    assert_eq!(pods.len(), 2);
    kubectl(&["-n", NS, "delete", "pod", &leader, "--wait=false"]);
    let holder = poll(
        Duration::from_secs(15),
        Duration::from_millis(250),
        lease_holder,
        |h| !h.is_empty() && *h != leader,
    );
    assert!(holder.is_ok(), "nobody took over from {leader}: {holder:?}");
    kubectl(&["-n", DEMO, "annotate", "vpce/web", "e2e/nudge=1"]);
    two_ready_pods_and_a_leader(Duration::from_secs(180));
    let objects = poll_async(
        Duration::from_secs(10),
        Duration::from_millis(500),
        async || cloud_objects(&c).await,
        one_each,
    )
    .await;
    assert!(objects.is_ok(), "one service and one endpoint: {objects:?}");

    // A rolling restart completes, and the new pods reconcile without a failure.
    kubectl(&["-n", NS, "rollout", "restart", "deployment/vpcep-operator"]);
    kubectl(&[
        "-n",
        NS,
        "rollout",
        "status",
        "deployment/vpcep-operator",
        "--timeout=180s",
    ]);
    two_ready_pods_and_a_leader(Duration::from_secs(60));
    kubectl(&[
        "-n",
        DEMO,
        "annotate",
        "vpce/web",
        "e2e/nudge=2",
        "--overwrite",
    ]);
    example_ready("60s");

    // The new pods reconciled without a failure, and every grant the operator used was there.
    assert_no_failures(&operator_logs());

    // Deleting the example goes through the in-cluster operator too: nothing stays in the cloud.
    kubectl(&[
        "-n",
        DEMO,
        "delete",
        "-f",
        "examples/cross-vpc.yaml",
        "--timeout=120s",
    ]);
    let empty = poll_async(
        Duration::from_secs(30),
        Duration::from_millis(500),
        async || cloud_objects(&c).await,
        |(s, e)| s.is_empty() && e.is_empty(),
    )
    .await;
    assert!(empty.is_ok(), "left in the cloud: {empty:?}");
    let logs = operator_logs();
    assert!(
        !logs.contains("forbidden") && !logs.contains("Forbidden"),
        "{logs}"
    );

    kubectl(&["delete", "namespace", DEMO, "--wait=false"]);
    kubectl(&["delete", "-k", overlay.to_str().unwrap(), "--wait=false"]);
}
