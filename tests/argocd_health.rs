//! The Argo CD health check `deploy/argocd/health.lua`, run by a real Lua 5.1 interpreter (Argo CD
//! runs it with gopher-lua, which implements Lua 5.1) on sample objects, one per situation; and the
//! kustomize component `deploy/argocd`, rendered by `kubectl kustomize` into an Argo CD
//! installation's argocd-cm.
//!
//! The interpreter is `$VPCEP_LUA` or `lua5.1` on PATH (Debian package `lua5.1`), and `kubectl`
//! renders the component. Plain `cargo test` reports these tests ignored; `scripts/test.sh`
//! installs Lua and runs them, and without it they fail rather than skip: a health check nobody
//! ran is not known to work.

mod support;

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::fixtures::{run_with_input, success_stdout};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/argocd/health.lua");
const COMPONENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/argocd");

/// `v` as a Lua expression, the shape Argo CD hands the script: objects become tables with
/// string keys, arrays become sequences, null becomes nil.
fn lua_literal(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => lua_string(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(lua_literal).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("[{}] = {}", lua_string(k), lua_literal(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

/// A quoted Lua string; control characters as decimal escapes, the only numeric escape Lua 5.1
/// knows. Other bytes (UTF-8 included) stand for themselves.
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:03}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn lua_interpreter() -> String {
    std::env::var("VPCEP_LUA").unwrap_or_else(|_| "lua5.1".into())
}

/// Runs the health script on `obj`; returns (hs.status, hs.message).
fn health(obj: &Value) -> (String, String) {
    // Globals are locked after `obj` is set, so that a misspelt name (which Lua reads as nil) or
    // a forgotten `local` in the script fails here instead of passing unnoticed.
    let program = format!(
        r#"assert(_VERSION == "Lua 5.1", "Argo CD's gopher-lua is Lua 5.1; this interpreter is " .. _VERSION)
obj = {obj}
setmetatable(_G, {{
  __newindex = function(_, k) error("the script sets the global " .. tostring(k), 2) end,
  __index = function(_, k) error("the script reads the undefined global " .. tostring(k), 2) end,
}})
local hs = assert(loadfile({script}))()
assert(type(hs) == "table", "the script returns no table")
assert(type(hs.status) == "string", "hs.status is not a string")
assert(type(hs.message) == "string", "hs.message is not a string")
io.write(hs.status, "\n", hs.message)
"#,
        obj = lua_literal(obj),
        script = lua_string(SCRIPT),
    );
    let lua = lua_interpreter();
    let out = run_with_input(
        Command::new(&lua).arg("-"),
        &program,
        "the Lua 5.1 interpreter: install Debian's package lua5.1 (apt-get install -y lua5.1) or \
         set VPCEP_LUA to a Lua 5.1 interpreter",
    );
    let stdout = success_stdout(&lua, out);
    let (status, message) = stdout
        .split_once('\n')
        .unwrap_or_else(|| panic!("unexpected output: {stdout:?}"));
    (status.to_string(), message.to_string())
}

fn assert_health(obj: Value, status: &str, message_part: &str) {
    let (got, message) = health(&obj);
    assert_eq!(got, status, "message: {message:?}");
    assert!(
        message.contains(message_part),
        "{message:?} does not contain {message_part:?}"
    );
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    })
}

fn synced() -> Value {
    condition(
        "Synced",
        "True",
        "ReconcileSuccess",
        "the cloud matches the spec",
    )
}

fn object(kind: &str, generation: i64, status: Option<Value>) -> Value {
    let mut obj = json!({
        "apiVersion": "vpcep.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "db", "namespace": "shop", "generation": generation},
        "spec": {},
    });
    if let Some(status) = status {
        obj["status"] = status;
    }
    obj
}

fn service(generation: i64, status: Value) -> Value {
    object("VpcEndpointService", generation, Some(status))
}

fn endpoint(generation: i64, status: Value) -> Value {
    object("VpcEndpoint", generation, Some(status))
}

const SERVICE_ID: &str = "8189d3c2-8882-4871-a3c2-d380272eed83";
const ENDPOINT_ID: &str = "4189d3c2-8882-4871-a3c2-d380272eed83";

fn available_service() -> Value {
    json!({
        "id": SERVICE_ID, "serviceName": format!("eu-de.db.{SERVICE_ID}"), "status": "available",
        "observedGeneration": 1,
        "conditions": [
            condition("Ready", "True", "Available", "the endpoint service is available"),
            synced(),
        ],
    })
}

fn accepted_endpoint() -> Value {
    json!({
        "id": ENDPOINT_ID, "serviceId": SERVICE_ID, "status": "accepted", "ip": "10.1.2.3",
        "markerId": 302710895, "observedGeneration": 1,
        "conditions": [
            condition("Ready", "True", "Accepted", "the endpoint is connected and usable"),
            synced(),
        ],
    })
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn no_status_yet() {
    assert_health(
        object("VpcEndpoint", 1, None),
        "Progressing",
        "waiting for the vpcep operator",
    );
    assert_health(
        service(1, json!({})),
        "Progressing",
        "waiting for the vpcep operator",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn service_creating() {
    let status = json!({
        "id": SERVICE_ID, "status": "creating", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "Creating", "the cloud is creating the endpoint service"),
            synced(),
        ],
    });
    assert_health(
        service(1, status),
        "Progressing",
        "Creating: the cloud is creating the endpoint service",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn service_available() {
    assert_health(
        service(1, available_service()),
        "Healthy",
        "Available: the endpoint service is available",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn service_deleting_in_the_cloud() {
    let status = json!({
        "id": SERVICE_ID, "status": "deleting", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "Deleting", "the cloud is deleting the endpoint service"),
            synced(),
        ],
    });
    assert_health(service(1, status), "Progressing", "Deleting");
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn service_failed_with_cloud_error_message() {
    let status = json!({
        "id": SERVICE_ID, "status": "failed", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "Failed", "the cloud could not create the endpoint service: EndPoint.3008 port not found; fix the spec (e.g. portId, vpcId) or delete the object"),
            synced(),
        ],
    });
    assert_health(
        service(1, status),
        "Degraded",
        "Failed: the cloud could not create the endpoint service: EndPoint.3008 port not found",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn endpoint_creating() {
    let status = json!({
        "id": ENDPOINT_ID, "status": "creating", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "Creating", "the cloud is creating the endpoint"),
            synced(),
        ],
    });
    assert_health(
        endpoint(1, status),
        "Progressing",
        "the cloud is creating the endpoint",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn endpoint_pending_acceptance() {
    let status = json!({
        "id": ENDPOINT_ID, "status": "pendingAcceptance", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "PendingAcceptance", "the endpoint waits for the service owner to accept the connection"),
            synced(),
        ],
    });
    assert_health(
        endpoint(1, status),
        "Progressing",
        "PendingAcceptance: the endpoint waits for the service owner",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn endpoint_accepted_and_ready() {
    assert_health(
        endpoint(1, accepted_endpoint()),
        "Healthy",
        "Accepted: the endpoint is connected and usable",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn endpoint_rejected() {
    let status = json!({
        "id": ENDPOINT_ID, "status": "rejected", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "Rejected", "the service owner rejected the connection; ask them to accept it, or delete the object"),
            synced(),
        ],
    });
    assert_health(
        endpoint(1, status),
        "Degraded",
        "Rejected: the service owner rejected the connection",
    );
}

/// A status written without conditions (by hand, or by a tool restoring a backup): the cloud
/// status alone decides.
#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn cloud_status_failed_or_rejected_without_conditions() {
    assert_health(
        endpoint(1, json!({"id": ENDPOINT_ID, "status": "rejected"})),
        "Degraded",
        "the cloud reports the status rejected",
    );
    assert_health(
        service(1, json!({"id": SERVICE_ID, "status": "failed"})),
        "Degraded",
        "the cloud reports the status failed",
    );
    assert_health(
        service(1, json!({"id": SERVICE_ID, "status": "available"})),
        "Progressing",
        "the cloud reports the status available",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn unknown_cloud_status() {
    let status = json!({
        "id": ENDPOINT_ID, "status": "frozen", "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "Unknown", "the cloud reports the unknown status \"frozen\""),
            synced(),
        ],
    });
    assert_health(
        endpoint(1, status),
        "Progressing",
        "Unknown: the cloud reports the unknown status",
    );
}

/// The object stays Ready in the cloud, but the change cannot be applied: someone must restore
/// the field or recreate the object.
#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn invalid_spec_after_a_change() {
    let mut status = accepted_endpoint();
    status["observedGeneration"] = json!(2);
    status["conditions"][1] = condition(
        "Synced",
        "False",
        "InvalidSpec",
        "subnetId cannot change after creation (the cloud object has \"a\", the spec asks for \"b\"); restore it, or delete and recreate the VpcEndpoint",
    );
    assert_health(
        endpoint(2, status),
        "Degraded",
        "InvalidSpec: subnetId cannot change after creation",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn credentials_missing() {
    let status = json!({
        "observedGeneration": 1,
        "conditions": [condition("Synced", "False", "CredentialsError", "the credentials Secret shop/otc does not exist")],
    });
    assert_health(
        service(1, status),
        "Degraded",
        "CredentialsError: the credentials Secret shop/otc does not exist",
    );
}

/// Refusals of the cloud that only a person can resolve.
#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn cloud_refusals_wait_for_a_person() {
    for reason in [
        "CloudRejected",
        "QuotaExceeded",
        "Forbidden",
        "Conflict",
        "NotFound",
    ] {
        let status = json!({
            "observedGeneration": 1,
            "conditions": [condition("Synced", "False", reason, "create_endpoint: the cloud answered HTTP 400 EndPoint.0002: m")],
        });
        let (got, message) = health(&endpoint(1, status));
        assert_eq!(got, "Degraded", "{reason}: {message}");
        assert!(
            message.starts_with(&format!("{reason}: create_endpoint")),
            "{message}"
        );
    }
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn throttled_is_transient() {
    let mut status = available_service();
    status["conditions"][1] = condition(
        "Synced",
        "False",
        "Throttled",
        "list_connections: the cloud answered HTTP 429 APIG.0308: too many requests",
    );
    assert_health(
        service(1, status),
        "Progressing",
        "Throttled: list_connections: the cloud answered HTTP 429",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn cloud_and_kubernetes_errors_are_transient() {
    for reason in ["CloudError", "KubernetesError"] {
        let status = json!({
            "observedGeneration": 1,
            "conditions": [condition("Synced", "False", reason, "the server is unavailable")],
        });
        let (got, message) = health(&endpoint(1, status));
        assert_eq!(got, "Progressing", "{reason}: {message}");
        assert_eq!(message, format!("{reason}: the server is unavailable"));
    }
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn dependency_not_ready() {
    let status = json!({
        "observedGeneration": 1,
        "conditions": [condition("Synced", "False", "DependencyNotReady", "waiting for the VpcEndpointService shop/db to become available in the cloud")],
    });
    assert_health(
        endpoint(1, status),
        "Progressing",
        "DependencyNotReady: waiting for the VpcEndpointService shop/db",
    );
}

/// The status describes generation 3; generation 4 (perhaps the fix of the failure) has not
/// been reconciled yet.
#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn observed_generation_behind() {
    let status = json!({
        "id": ENDPOINT_ID, "status": "failed", "observedGeneration": 3,
        "conditions": [
            condition("Ready", "False", "Failed", "the cloud could not create the endpoint"),
            condition("Synced", "False", "InvalidSpec", "portIp cannot change after creation"),
        ],
    });
    assert_health(
        endpoint(4, status),
        "Progressing",
        "has not yet reconciled generation 4 (the status is from generation 3)",
    );
}

/// Argo CD itself reports objects with a deletionTimestamp as "Pending deletion" before it runs
/// a health script; the verdict shows where the script is run on its own.
#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn deletion_blocked() {
    let mut status = available_service();
    status["conditions"][1] = condition(
        "Synced",
        "False",
        "DeletionBlocked",
        "the endpoint service still has connected endpoints (e1); delete or reject them, or set forceDelete: true",
    );
    let mut obj = service(1, status);
    obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    assert_health(
        obj,
        "Degraded",
        "DeletionBlocked: the endpoint service still has connected endpoints",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn endpoint_published() {
    let mut status = accepted_endpoint();
    status["conditions"].as_array_mut().unwrap().insert(
        1,
        condition("Published", "True", "Published", "published as Service db"),
    );
    assert_health(endpoint(1, status), "Healthy", "Accepted");
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn endpoint_not_published() {
    let mut status = accepted_endpoint();
    status["conditions"].as_array_mut().unwrap().insert(
        1,
        condition(
            "Published",
            "False",
            "NotPublished",
            "a Service named db exists that this VpcEndpoint does not own; choose another name or delete it",
        ),
    );
    assert_health(
        endpoint(1, status),
        "Degraded",
        "NotPublished: a Service named db exists",
    );
}

/// Conditions without reason or message (written by hand) still give a message.
#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn sparse_conditions() {
    let status = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    assert_health(endpoint(1, status), "Healthy", "ready");
    let status =
        json!({"conditions": [{"type": "Synced", "status": "False", "reason": "InvalidSpec"}]});
    assert_health(
        endpoint(1, status),
        "Degraded",
        "InvalidSpec: the last reconcile failed",
    );
}

#[test]
#[ignore = "needs Lua 5.1 (lua5.1 on PATH or VPCEP_LUA): run scripts/test.sh"]
fn lua_literal_escapes_strings() {
    let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} ümlaut";
    let (_, message) = health(&json!({
        "metadata": {"generation": 1},
        "status": {"conditions": [condition("Ready", "True", "Available", tricky)]},
    }));
    assert_eq!(message, format!("Available: {tricky}"));
}

/// `to` relative to `from`: kustomize refuses absolute component paths.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    from[common..]
        .iter()
        .map(|_| Component::ParentDir)
        .chain(to[common..].iter().copied())
        .collect()
}

/// The component merges both keys, byte for byte the script, into the argocd-cm of an Argo CD
/// installation laid out as Argo CD documents it (upstream manifests without namespace, the
/// namespace set by the kustomization), keeping the keys already there.
#[test]
#[ignore = "needs kubectl on PATH (kubectl kustomize): run scripts/test.sh"]
fn component_merges_the_script_into_argocd_cm() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("argocd-component");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let component = relative(&dir, &Path::new(COMPONENT).canonicalize().unwrap());
    std::fs::write(
        dir.join("argocd-cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  labels:\n    app.kubernetes.io/part-of: argocd\ndata:\n  url: https://argocd.example.com\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\nresources:\n  - argocd-cm.yaml\ncomponents:\n  - {}\n",
            component.display()
        ),
    )
    .unwrap();
    let out = run_with_input(
        Command::new("kubectl").arg("kustomize").arg(&dir),
        "",
        "kubectl must be on PATH",
    );
    let rendered: Value = serde_yaml::from_str(&success_stdout("kubectl kustomize", out)).unwrap();
    let script = std::fs::read_to_string(SCRIPT).unwrap();
    assert_eq!(rendered["kind"], "ConfigMap");
    assert_eq!(rendered["metadata"]["name"], "argocd-cm");
    assert_eq!(rendered["metadata"]["namespace"], "argocd");
    let data = rendered["data"].as_object().unwrap();
    assert_eq!(data["url"], "https://argocd.example.com");
    for kind in ["VpcEndpoint", "VpcEndpointService"] {
        let key = format!("resource.customizations.health.vpcep.io_{kind}");
        assert!(
            data[&key].as_str() == Some(script.as_str()),
            "{key} differs from {SCRIPT}"
        );
    }
    assert_eq!(data.len(), 3, "{data:?}");
}
