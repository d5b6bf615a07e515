//! Test fixtures that several test crates use: the ids and manifests of sample objects, JSON
//! lookups, the simulator's objects as its owner lists them, polling until a condition holds, and
//! child processes fed on stdin.

use std::fmt::Debug;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api::{self, PageParams};
use vpcep_cloud::model::{Endpoint, EndpointQuery, Service, ServiceQuery, Tag};

/// The VPC of the sample services.
pub const VPC: &str = "0d2b3b3e-5b8e-4c1e-9a6a-6f2f1b6c0a01";
/// The VPC and subnet of the sample endpoints.
pub const CONSUMER_VPC: &str = "3a9e6c55-1f0d-4d2b-b7c4-8e5f2a6d1b03";
pub const SUBNET: &str = "5c1d8e22-7a3b-4f6c-9e0d-1b2a3c4d5e04";
/// The backend port of a sample service.
pub const PORT: &str = "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a02";

/// A VpcEndpointService in [`VPC`] on backend port `port_id`, mapping `(client port, server
/// port)`, followed by `extra` spec lines (indented by two spaces, each ending in a newline).
pub fn service_yaml(
    name: &str,
    port_id: &str,
    (client, server): (u16, u16),
    extra: &str,
) -> String {
    format!(
        "apiVersion: vpcep.io/v1alpha1\nkind: VpcEndpointService\nmetadata:\n  name: {name}\nspec:\n  vpcId: {VPC}\n  portId: {port_id}\n  serverType: VM\n  ports:\n  - {{clientPort: {client}, serverPort: {server}}}\n{extra}"
    )
}

/// A VpcEndpoint in [`CONSUMER_VPC`] and [`SUBNET`] to `target` (a spec line such as
/// `serviceRef: {name: web}`), followed by `extra` spec lines.
pub fn endpoint_yaml(name: &str, target: &str, extra: &str) -> String {
    format!(
        "apiVersion: vpcep.io/v1alpha1\nkind: VpcEndpoint\nmetadata:\n  name: {name}\nspec:\n  {target}\n  vpcId: {CONSUMER_VPC}\n  subnetId: {SUBNET}\n{extra}"
    )
}

/// A Secret with the cloud credentials an object refers to by `credentialsSecretRef`.
pub fn credentials_secret(
    name: &str,
    endpoint: &str,
    project_id: &str,
    access_key: &str,
    secret_key: &str,
) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  region: eu-de\n  projectId: {project_id}\n  endpoint: {endpoint}\n  accessKey: {access_key}\n  secretKey: {secret_key}\n"
    )
}

/// The string at `path` in `v` ("" when there is none).
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_default()
}

/// The value of tag `key`.
pub fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// The user's (non-public) services and endpoints in the cloud of `client`.
pub async fn cloud_objects(client: &VpcepClient) -> (Vec<Service>, Vec<Endpoint>) {
    const ALL: PageParams = PageParams {
        limit: 1000,
        offset: 0,
    };
    let services = client
        .execute(api::list_services(&ServiceQuery::default(), ALL))
        .await
        .unwrap()
        .endpoint_services;
    let endpoints = client
        .execute(api::list_endpoints(&EndpointQuery::default(), ALL))
        .await
        .unwrap()
        .endpoints;
    (services, endpoints)
}

/// Calls `fetch` every `every` until `done` holds for its value, which it returns; once `timeout`
/// has passed, the last value as `Err`.
pub fn poll<T>(
    timeout: Duration,
    every: Duration,
    mut fetch: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> Result<T, T> {
    let deadline = Instant::now() + timeout;
    loop {
        match outcome(fetch(), &done, deadline) {
            Some(outcome) => return outcome,
            None => std::thread::sleep(every),
        }
    }
}

/// [`poll`] for async calls.
pub async fn poll_async<T>(
    timeout: Duration,
    every: Duration,
    mut fetch: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> Result<T, T> {
    let deadline = Instant::now() + timeout;
    loop {
        match outcome(fetch().await, &done, deadline) {
            Some(outcome) => return outcome,
            None => tokio::time::sleep(every).await,
        }
    }
}

/// The end of a poll with this `value`, if it ends: done, or timed out.
fn outcome<T>(value: T, done: impl Fn(&T) -> bool, deadline: Instant) -> Option<Result<T, T>> {
    if done(&value) {
        Some(Ok(value))
    } else if Instant::now() >= deadline {
        Some(Err(value))
    } else {
        None
    }
}

fn timed_out<T: Debug>(what: &str, timeout: Duration, last: T) -> T {
    panic!("timed out after {timeout:?} waiting for {what}; the last value: {last:?}")
}

/// [`poll`], failing the test with `what` and the last value after `timeout`.
pub fn wait_for<T: Debug>(
    what: &str,
    timeout: Duration,
    every: Duration,
    fetch: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    poll(timeout, every, fetch, done).unwrap_or_else(|last| timed_out(what, timeout, last))
}

/// [`poll_async`], failing the test with `what` and the last value after `timeout`.
pub async fn wait_for_async<T: Debug>(
    what: &str,
    timeout: Duration,
    every: Duration,
    fetch: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    poll_async(timeout, every, fetch, done)
        .await
        .unwrap_or_else(|last| timed_out(what, timeout, last))
}

/// Runs `command` with `input` on its stdin and returns its output; when the program does not
/// start, the test fails and `missing` says how to get it.
pub fn run_with_input(command: &mut Command, input: &str, missing: &str) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {missing}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written by a thread of its own: a program that answers before it has read all its input
    // must not wait for us to read its output while we wait for it to read.
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{program} did not finish: {e}"));
    // A program that exits without reading its input breaks the pipe: its exit status tells.
    let _ = writer.join().expect("the stdin writer");
    out
}

/// The standard output of a finished program, which must have succeeded (`what` names it).
pub fn success_stdout(what: &str, out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}): {}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
