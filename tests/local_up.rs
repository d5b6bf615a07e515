//! `scripts/local-up.sh` end to end, against the API server of KUBECONFIG: `up` brings the
//! cross-VPC example to Ready in a namespace of its own, a second `up` starts nothing new, `status`
//! says it runs, `down` stops the simulator and the operator, deletes the namespace, and leaves
//! the control plane running (local-up did not start it).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::cluster::{Env, bin_dir, free_port, kubeconfig, kubectl, kubectl_raw};
use support::fixtures::wait_for;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Whether a process runs (a zombie does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("State:").map(|v| v.trim().to_string()))
        })
        .is_some_and(|state| !state.starts_with('Z'))
}

fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One local-up installation with its own state dir and ports; `down` when dropped.
struct LocalUp {
    bin_dir: &'static Path,
    dir: PathBuf,
    /// The example's namespace: not the default one, which a local-up of a person may use.
    ns: String,
    sim_port: u16,
    metrics_port: u16,
    down: bool,
}

impl LocalUp {
    fn new() -> LocalUp {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let dir = std::env::temp_dir().join(format!("vpcep-local-up-test-{id}"));
        LocalUp {
            // Checked before there is anything to take down.
            bin_dir: bin_dir(),
            dir,
            ns: format!("vpcep-demo-{id}"),
            sim_port: free_port(),
            metrics_port: free_port(),
            down: false,
        }
    }

    /// `scripts/local-up.sh CMD` with this installation's settings. The script takes this test's
    /// own binaries (VPCEP_LOCAL_BIN_DIR) instead of running `cargo build --bins`: run from
    /// inside `cargo test`, that build was seen to recompile dependencies and to wait for the
    /// target dir's lock for minutes.
    fn run(&self, cmd: &str) -> Output {
        Command::new(Path::new(REPO).join("scripts/local-up.sh"))
            .arg(cmd)
            .env("KUBECONFIG", kubeconfig())
            .env("VPCEP_LOCAL_BIN_DIR", self.bin_dir)
            .env("VPCEP_LOCAL_DIR", &self.dir)
            .env("VPCEP_LOCAL_NAMESPACE", &self.ns)
            .env("VPCEP_LOCAL_SIM_PORT", self.sim_port.to_string())
            .env("VPCEP_LOCAL_METRICS_PORT", self.metrics_port.to_string())
            .env("VPCEP_LOCAL_TIMEOUT", "120")
            .env_remove("VPCEP_LOCAL_WATCH")
            .output()
            .expect("scripts/local-up.sh runs")
    }

    /// The pid in the state dir's NAME.pid.
    fn pid(&self, name: &str) -> u32 {
        let file = self.dir.join(format!("{name}.pid"));
        std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .trim()
            .parse()
            .expect("a pid")
    }

    fn logs(&self) -> String {
        ["operator", "sim"]
            .iter()
            .map(|n| {
                let f = self.dir.join(format!("{n}.log"));
                format!(
                    "--- {} ---\n{}",
                    f.display(),
                    std::fs::read_to_string(&f).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for LocalUp {
    fn drop(&mut self) {
        if !self.down {
            let out = self.run("down");
            if !out.status.success() {
                eprintln!("cleanup: scripts/local-up.sh down failed:\n{}", text(&out));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("lock"));
    }
}

fn get(ns: &str, object: &str) -> Value {
    serde_json::from_str(&kubectl(&["-n", ns, "get", object, "-o", "json"])).expect("kubectl JSON")
}

fn ready(obj: &Value) -> bool {
    Env::condition(obj, "Ready").is_some_and(|(status, _, _)| status == "True")
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn local_up_brings_the_example_to_ready_and_down_stops_it() {
    let (ok, _, err) = kubectl_raw(&["get", "--raw", "/readyz", "--request-timeout=5s"], None);
    assert!(ok, "the API server in KUBECONFIG does not answer: {err}");
    let mut local = LocalUp::new();

    // up: exit 0, the final table with both objects.
    let up = local.run("up");
    let out = text(&up);
    assert!(up.status.success(), "up failed:\n{out}\n{}", local.logs());
    let stdout = String::from_utf8_lossy(&up.stdout);
    let table = stdout
        .split(&format!("kubectl get vpcep -n {}\n", local.ns))
        .last()
        .expect("output");
    for name in [
        "vpcendpoint.vpcep.io/web",
        "vpcendpointservice.vpcep.io/web",
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name} in the final table:\n{out}"));
        assert!(row.contains(" True "), "{name} is not Ready: {row}\n{out}");
    }
    assert!(
        stdout.contains("scripts/local-up.sh down") && stdout.contains("export KUBECONFIG="),
        "no instructions:\n{out}"
    );

    // The objects as kubectl sees them: Ready, the endpoint with its address and DNS name.
    let svc = get(&local.ns, "vpcesvc/web");
    assert!(ready(&svc), "{svc:#}");
    let ep = get(&local.ns, "vpce/web");
    assert!(ready(&ep), "{ep:#}");
    assert!(
        ep["status"]["ip"].as_str().is_some_and(|ip| !ip.is_empty()),
        "no IP: {ep:#}"
    );
    assert!(
        ep["status"]["dnsNames"]
            .as_array()
            .is_some_and(|d| d.iter().any(|n| n.as_str().is_some_and(|n| !n.is_empty()))),
        "no DNS name: {ep:#}"
    );

    let sim_pid = local.pid("sim");
    let operator_pid = local.pid("operator");
    assert!(alive(sim_pid) && alive(operator_pid), "{}", local.logs());

    let status = local.run("status");
    assert!(status.status.success(), "status:\n{}", text(&status));

    // A second up reuses what runs.
    let again = local.run("up");
    assert!(again.status.success(), "second up:\n{}", text(&again));
    assert_eq!(
        (local.pid("sim"), local.pid("operator")),
        (sim_pid, operator_pid),
        "the second up started new processes:\n{}",
        text(&again)
    );

    // down: both processes gone, the namespace deleted, the state dir removed.
    let down = local.run("down");
    local.down = true;
    assert!(down.status.success(), "down:\n{}", text(&down));
    wait_for(
        "sim and operator to exit",
        Duration::from_secs(10),
        Duration::from_millis(200),
        || (alive(sim_pid), alive(operator_pid)),
        |&running| running == (false, false),
    );
    let (_, ns, _) = kubectl_raw(&["get", "namespace", &local.ns, "-o", "name"], None);
    assert!(
        ns.trim().is_empty(),
        "namespace {} still exists after down:\n{}",
        local.ns,
        text(&down)
    );
    assert!(!local.dir.exists(), "the state dir is still there");

    let status = local.run("status");
    assert!(
        !status.status.success(),
        "status after down:\n{}",
        text(&status)
    );

    // local-up did not start the control plane, so it is still up.
    let (ok, readyz, err) = kubectl_raw(&["get", "--raw", "/readyz", "--request-timeout=5s"], None);
    assert!(
        ok && readyz.trim() == "ok",
        "the control plane is gone: {err}"
    );
}
