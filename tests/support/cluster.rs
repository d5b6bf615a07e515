//! End-to-end fixtures: the real kube-apiserver of `scripts/control-plane.sh` (through
//! `KUBECONFIG`), `kubectl` as users run it, and the operator binary as a child process.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use serde_json::Value;

use super::fixtures::{poll, run_with_input};
use super::sim::{self, Sim};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The kubeconfig of the API server under test; the tests fail loudly without one.
pub fn kubeconfig() -> String {
    std::env::var("KUBECONFIG").unwrap_or_else(|_| {
        panic!("KUBECONFIG is not set: the end-to-end tests need a real API server; run scripts/test.sh, or `eval $(scripts/control-plane.sh up)` first")
    })
}

/// The operator binary of this build, to be given its arguments. Every test starts the operator
/// through this: [`Env`] for a running operator, the tests of its command line directly.
pub fn operator_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vpcep-operator"))
}

/// The directory of the binaries of this build, for the scripts that a test runs
/// (`scripts/chaos.sh`, `scripts/local-up.sh`): `vpcep-operator` and `vpcep-sim`. The simulator is
/// another package of the workspace, which `cargo test --test chaos` does not build: the test
/// fails here unless `cargo build --bins` (as scripts/test.sh runs) or a workspace build did.
pub fn bin_dir() -> &'static Path {
    let dir = Path::new(env!("CARGO_BIN_EXE_vpcep-operator"))
        .parent()
        .expect("the binaries' directory");
    assert!(
        dir.join("vpcep-sim").is_file(),
        "vpcep-sim is not next to vpcep-operator in {}: build it first with `cargo build --bins` \
         (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// Runs kubectl; returns (success, stdout, stderr).
pub fn kubectl_raw(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let out = run_with_input(
        Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", kubeconfig())
            .current_dir(REPO),
        stdin.unwrap_or(""),
        "kubectl must be on PATH",
    );
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("version difference between client"))
        .collect::<Vec<_>>()
        .join("\n");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Runs kubectl and panics when it fails.
pub fn kubectl(args: &[&str]) -> String {
    let (ok, out, err) = kubectl_raw(args, None);
    assert!(ok, "kubectl {}: {err}", args.join(" "));
    out
}

static CRDS: Once = Once::new();

/// Installs the CRDs once per test process (the `--no-cel` variant: the test server is 1.20).
pub fn install_crds() {
    CRDS.call_once(|| {
        let (ok, _, err) = kubectl_raw(&["version", "--request-timeout=5s"], None);
        assert!(ok, "the API server in KUBECONFIG does not answer: {err}");
        kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            "crds/no-cel/",
        ]);
        kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/vpcendpoints.vpcep.io",
            "crd/vpcendpointservices.vpcep.io",
            "--timeout=60s",
        ]);
    });
}

/// How an operator process of a test is started.
#[derive(Clone)]
pub struct OperatorArgs {
    pub resync: &'static str,
    pub extra: Vec<String>,
    /// Environment for the operator (cloud settings), in addition to the simulator's.
    pub env: Vec<(String, String)>,
    /// Watch every namespace, but only the objects labelled [`Env::scope_label`] (for scenarios
    /// across namespaces), instead of only the test's namespace.
    pub cluster_wide: bool,
}

impl Default for OperatorArgs {
    fn default() -> Self {
        OperatorArgs {
            resync: "10m",
            extra: vec![],
            env: vec![],
            cluster_wide: false,
        }
    }
}

/// A namespace of a test, with kubectl as users run it in there.
pub struct Namespace {
    pub ns: String,
}

/// One end-to-end scenario: its own namespace (whose helpers it offers as its own), simulator
/// and operator.
pub struct Env {
    space: Namespace,
    /// Further namespaces of the test (see [`Env::namespace`]), deleted with it.
    others: Vec<String>,
    pub sim: Sim,
    operator: Option<Operator>,
    args: OperatorArgs,
    starts: u32,
}

pub fn log_dir() -> PathBuf {
    let dir = PathBuf::from(REPO).join("target/e2e-logs");
    std::fs::create_dir_all(&dir).expect("log dir");
    dir
}

impl Env {
    /// Creates namespace `e2e-<name>`, a simulator with `sim_args`, and starts the operator.
    pub fn start(name: &str, sim_args: &[&str], args: OperatorArgs) -> Env {
        let mut env = Env::without_operator(name, sim_args);
        env.args = args;
        env.start_operator();
        env
    }

    /// Starts (again) the operator for this namespace; its log goes to target/e2e-logs.
    pub fn start_operator(&mut self) {
        assert!(self.operator.is_none(), "the operator is already running");
        self.operator = Some(self.spawn_operator(&[], &[]));
    }

    /// Starts one more operator process for this namespace with extra flags and environment,
    /// e.g. a second replica.
    pub fn spawn_operator(&mut self, extra: &[&str], env: &[(&str, &str)]) -> Operator {
        let (scope, watched) = if self.args.cluster_wide {
            let (key, value) = self.scope_label();
            ("--selector", format!("{key}={value}"))
        } else {
            ("--namespace", self.ns.clone())
        };
        let own = [
            scope,
            watched.as_str(),
            "--cluster-id",
            &format!("cluster-{}", self.ns),
            "--resync-period",
            self.args.resync,
        ]
        .map(String::from);
        let args: Vec<String> = own
            .into_iter()
            .chain(self.args.extra.iter().cloned())
            .chain(extra.iter().map(|a| a.to_string()))
            .collect();
        let env: Vec<(String, String)> = self
            .args
            .env
            .iter()
            .cloned()
            .chain(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        self.spawn(std::path::Path::new(&kubeconfig()), &args, &env)
    }

    /// `vpcep-operator run ARGS` against this environment's simulator, authenticated by
    /// `kubeconfig`, serving metrics on a free port; its log goes to target/e2e-logs.
    fn spawn(
        &mut self,
        kubeconfig: &std::path::Path,
        args: &[String],
        env: &[(String, String)],
    ) -> Operator {
        self.starts += 1;
        let log = self.operator_log();
        let log_file = File::create(&log).expect("operator log file");
        let metrics_port = free_port();
        let child = operator_command()
            .arg("run")
            .args(args)
            .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
            // Credentials Secrets of the tests name the simulator as their endpoint.
            .args(["--allow-endpoint", &self.sim.url])
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,vpcep_operator=debug")
            .env("VPCEP_ENDPOINT", &self.sim.url)
            .env("VPCEP_CLOUD", sim::cloud())
            .env("VPCEP_REGION", "eu-de")
            .env("VPCEP_PROJECT_ID", sim::PROJECT_ID)
            .env("VPCEP_ACCESS_KEY", sim::ACCESS_KEY)
            .env("VPCEP_SECRET_KEY", sim::SECRET_KEY)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("the operator starts");
        Operator {
            child,
            metrics_port,
            log,
        }
    }

    /// Kills the operator with SIGKILL: no chance to clean up.
    pub fn kill_operator(&mut self) {
        if let Some(mut op) = self.operator.take() {
            op.kill();
        }
    }

    /// The operator started by [`Env::start`].
    pub fn operator(&self) -> &Operator {
        self.operator.as_ref().expect("the operator runs")
    }
}

impl Env {
    /// The condition `type_` of an object: (status, reason, message).
    pub fn condition(obj: &Value, type_: &str) -> Option<(String, String, String)> {
        obj["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (s("status"), s("reason"), s("message"))
            })
    }
}

impl std::ops::Deref for Env {
    type Target = Namespace;
    fn deref(&self) -> &Namespace {
        &self.space
    }
}

impl Namespace {
    /// kubectl in this namespace.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        kubectl(&all)
    }

    /// `kubectl get events --field-selector SELECTOR -o OUTPUT` in this namespace.
    pub fn events(&self, selector: &str, output: &str) -> String {
        self.kubectl(&["get", "events", "--field-selector", selector, "-o", output])
    }

    /// `kubectl apply -f -` of a manifest in this namespace; returns (success, stderr).
    pub fn apply(&self, yaml: &str) -> (bool, String) {
        let (ok, _, err) = kubectl_raw(
            &[
                "-n",
                &self.ns,
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=e2e",
                "-f",
                "-",
            ],
            Some(yaml),
        );
        (ok, err)
    }

    pub fn apply_ok(&self, yaml: &str) {
        let (ok, err) = self.apply(yaml);
        assert!(ok, "kubectl apply failed: {err}");
    }

    /// `kubectl wait --for=condition=Ready` on objects of this namespace.
    pub fn wait_ready(&self, objects: &[&str], timeout: &str) {
        let mut args = vec!["wait", "--for=condition=Ready"];
        args.extend_from_slice(objects);
        let t = format!("--timeout={timeout}");
        args.push(&t);
        let (ok, out, err) = kubectl_raw(&[&["-n", &self.ns][..], &args].concat(), None);
        assert!(
            ok,
            "{objects:?} did not become Ready: {out}{err}\n{}",
            self.describe(objects)
        );
    }

    fn describe(&self, objects: &[&str]) -> String {
        objects
            .iter()
            .map(|o| kubectl_raw(&["-n", &self.ns, "get", o, "-o", "yaml"], None).1)
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// The object as JSON (`kind/name`).
    pub fn get(&self, object: &str) -> Value {
        serde_json::from_str(&self.kubectl(&["get", object, "-o", "json"])).expect("kubectl JSON")
    }

    /// Polls `check` on the object until it holds (returns the object) or `timeout` passes.
    pub fn wait_for(
        &self,
        object: &str,
        timeout: Duration,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let get = || {
            let (ok, out, _) = kubectl_raw(&["-n", &self.ns, "get", object, "-o", "json"], None);
            ok.then(|| serde_json::from_str::<Value>(&out).ok())
                .flatten()
        };
        poll(timeout, Duration::from_millis(200), get, |v| {
            v.as_ref().is_some_and(&check)
        })
        .unwrap_or_else(|_| {
            panic!(
                "timed out waiting for {object}: {what}\n{}",
                self.describe(&[object])
            )
        })
        .expect("a JSON object")
    }

    /// Waits until the object's `Synced` condition is `False` with `reason`; returns its message.
    pub fn wait_not_synced(&self, object: &str, reason: &str, timeout: Duration) -> String {
        let not_synced = |o: &Value| {
            Env::condition(o, "Synced").is_some_and(|(s, r, _)| s == "False" && r == reason)
        };
        let obj = self.wait_for(
            object,
            timeout,
            &format!("Synced=False {reason}"),
            not_synced,
        );
        Env::condition(&obj, "Synced")
            .expect("a Synced condition")
            .2
    }

    /// Waits until an object is gone from the API server.
    pub fn wait_deleted(&self, object: &str, timeout: &str) {
        let t = format!("--timeout={timeout}");
        let (ok, out, err) =
            kubectl_raw(&["-n", &self.ns, "wait", "--for=delete", object, &t], None);
        assert!(
            ok || err.contains("NotFound"),
            "{object} was not deleted: {out}{err}\n{}",
            self.describe(&[object])
        );
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the operator binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// An operator process of a test; killed (SIGKILL) when dropped.
pub struct Operator {
    child: Child,
    pub metrics_port: u16,
    pub log: PathBuf,
}

impl Operator {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.child.wait().expect("the operator exits")
    }

    /// Sends the signal `name` (`TERM`, `STOP`, `CONT`...) with kill(1).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{name} {pid} failed");
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status, if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        poll(
            timeout,
            Duration::from_millis(100),
            || self.child.try_wait().expect("the operator's status"),
            Option::is_some,
        )
        .unwrap_or_else(|running| running)
    }

    /// GET of a path of the operator's metrics server: (HTTP status, body); `None` when it
    /// does not answer (yet).
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    }

    /// Polls `path` until it answers `status`, for up to `timeout`.
    pub fn wait_http(&self, path: &str, status: u16, timeout: Duration) -> String {
        let answer = poll(
            timeout,
            Duration::from_millis(100),
            || self.http_get(path),
            |answer| answer.as_ref().is_some_and(|(s, _)| *s == status),
        );
        match answer {
            Ok(Some((_, body))) => body,
            last => panic!(
                "{path} of the operator on port {} did not answer {status}: {last:?}\n{}",
                self.metrics_port,
                self.log_text()
            ),
        }
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        self.wait_http("/metrics", 200, Duration::from_secs(10))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The holder of the Lease `name` in `default`, the namespace of the test kubeconfig's context and
/// so the operator's default ("" when nobody holds it; `None` when there is no Lease).
pub fn lease_holder(name: &str) -> Option<String> {
    let (ok, out, _) = kubectl_raw(
        &[
            "-n",
            "default",
            "get",
            "lease",
            name,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
        None,
    );
    ok.then_some(out)
}

/// Waits until the Lease `name` is held by `want`.
pub fn wait_lease_holder(name: &str, want: &str, timeout: Duration) {
    super::fixtures::wait_for(
        &format!("lease {name} to be held by {want:?}"),
        timeout,
        Duration::from_millis(100),
        || lease_holder(name),
        |now| now.as_deref() == Some(want),
    );
}

/// The sum of the samples of metric `name` whose labels include every one of `labels`
/// (`key="value"` strings) in a Prometheus text exposition.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let found: Vec<&str> = label_text.split(',').collect();
            (metric_name == name && labels.iter().all(|l| found.contains(l)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

impl Drop for Env {
    /// Stops the operator and removes the test's namespace. Without an operator nothing would
    /// remove the finalizers, and the objects would stay for the operator of a later test (which
    /// watches every namespace) to reconcile against its own simulator.
    fn drop(&mut self) {
        self.kill_operator();
        for ns in std::iter::once(&self.ns).chain(&self.others) {
            let (_, names, _) = kubectl_raw(&["get", "vpcep,secret", "-n", ns, "-o", "name"], None);
            for name in names.lines() {
                let clear = r#"{"metadata":{"finalizers":null}}"#;
                let args = ["patch", name, "-n", ns, "--type=merge", "-p", clear];
                kubectl_raw(&args, None);
            }
            kubectl_raw(&["delete", "namespace", ns, "--wait=false"], None);
        }
    }
}

impl Env {
    /// Like [`Env::start`] but without an operator: for a test that first installs what the
    /// operator is to run as, then starts it with [`Env::start_operator_as`].
    pub fn without_operator(name: &str, sim_args: &[&str]) -> Env {
        install_crds();
        let ns = format!(
            "e2e-{name}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        kubectl(&["create", "namespace", &ns]);
        Env {
            space: Namespace { ns },
            others: vec![],
            sim: Sim::start(sim_args),
            operator: None,
            args: OperatorArgs::default(),
            starts: 0,
        }
    }

    /// Starts the operator as a deployment runs it: authenticated by `kubeconfig` (e.g. a
    /// ServiceAccount's token) instead of the admin's, with `run` and only `args` (no
    /// `--cluster-id`: it reads the uid of kube-system), against this environment's simulator.
    pub fn start_operator_as(&mut self, kubeconfig: &std::path::Path, args: &[&str]) {
        assert!(self.operator.is_none(), "the operator is already running");
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.operator = Some(self.spawn(kubeconfig, &args, &[]));
    }

    /// Creates one more namespace for this test, `<ns>-<suffix>`, deleted with the test.
    pub fn namespace(&mut self, suffix: &str) -> Namespace {
        let ns = format!("{}-{suffix}", self.ns);
        kubectl(&["create", "namespace", &ns]);
        self.others.push(ns.clone());
        Namespace { ns }
    }

    /// The label that an operator started with `cluster_wide` selects objects by: every object of
    /// such a test carries it.
    pub fn scope_label(&self) -> (&'static str, &str) {
        ("vpcep-test", &self.ns)
    }

    /// The log file of the operator's latest start.
    pub fn operator_log(&self) -> PathBuf {
        log_dir().join(format!("{}-operator-{}.log", self.ns, self.starts))
    }
}
