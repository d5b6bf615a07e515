//! Runs `vpcep-sim` in-process (its library, on its own thread and runtime) on a free loopback
//! port, and stops it when dropped.
// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::time::Duration;

use clap::Parser;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;
use vpcep_cloud::auth::{AkSk, Credentials};
use vpcep_cloud::config::{CloudConfig, CloudKind};
use vpcep_cloud::{ClientSettings, VpcepClient};

/// The default account of a simulator started without `--account`.
pub const DOMAIN_ID: &str = "5f0d36c2a1b04e5e9a3b8d7c6e2f1a09";
pub const PROJECT_ID: &str = "0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10";
pub const ACCESS_KEY: &str = "SIMDEFAULTACCESSKEY1";
pub const SECRET_KEY: &str = "simDefaultSecretKey0000000000000000000000";

/// A second account (Bob's), for tests that need the operator to reach another project.
pub const BOB_PROJECT: &str = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
pub const BOB_AK: &str = "BOBACCESSKEY00000001";
pub const BOB_SK: &str = "bobSecretKey";

/// Simulator flags: quick state changes, the default account (the constants above, which
/// `--account` would otherwise replace) and Bob's.
pub const TWO_ACCOUNTS: &[&str] = &[
    "--provision-delay",
    "300ms",
    "--delete-delay",
    "300ms",
    "--account",
    "owner:5f0d36c2a1b04e5e9a3b8d7c6e2f1a09:0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10:SIMDEFAULTACCESSKEY1:simDefaultSecretKey0000000000000000000000",
    "--account",
    "bob:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0:b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1:BOBACCESSKEY00000001:bobSecretKey",
];

/// AK/SK credentials without a security token.
pub fn aksk(access_key: &str, secret_key: &str) -> Credentials {
    Credentials::AkSk(AkSk {
        access_key: access_key.into(),
        secret_key: SecretString::from(secret_key),
        security_token: None,
    })
}

/// A client of the VPCEP API at `endpoint` in region `eu-de`: of a simulator (through
/// [`Sim::client_as`]), or of any address for tests that only build requests.
pub fn client_at(
    endpoint: &str,
    credentials: Credentials,
    project_id: &str,
    settings: ClientSettings,
) -> VpcepClient {
    let kind = match cloud() {
        "otc" => CloudKind::Otc,
        _ => CloudKind::Huawei,
    };
    let config = CloudConfig {
        kind,
        endpoint: endpoint.into(),
        region: "eu-de".into(),
        project_id: project_id.into(),
        credentials,
    };
    VpcepClient::new(&config, settings).expect("a VPCEP client")
}

/// The cloud the tests run against (`VPCEP_TEST_CLOUD`: `otc` or `huawei`): the simulator's
/// flavour and the operator's `VPCEP_CLOUD`. scripts/test.sh runs the suites once per flavour.
pub fn cloud() -> &'static str {
    static CLOUD: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    CLOUD.get_or_init(|| match std::env::var("VPCEP_TEST_CLOUD").as_deref() {
        Ok("otc") | Err(_) => "otc",
        Ok("huawei") => "huawei",
        Ok(other) => panic!("VPCEP_TEST_CLOUD={other}: expected otc or huawei"),
    })
}

/// The simulated cloud as `vpcep_sim` names it.
pub fn flavour() -> vpcep_sim::Flavour {
    match cloud() {
        "huawei" => vpcep_sim::Flavour::Huawei,
        _ => vpcep_sim::Flavour::Otc,
    }
}

/// A manifest or name written for Open Telekom Cloud's public services (the examples' cloud),
/// with the names the simulated cloud gives its own (`com.myhuaweicloud.{region}.obs` on Huawei
/// Cloud).
pub fn public_names(text: &str) -> String {
    text.replace(
        "com.t-systems.otc.",
        &format!("{}.", flavour().limits().public_prefix),
    )
}

/// Whether the simulated cloud offers the public service `short` (e.g. `dns`) in eu-de.
pub fn offers_public(short: &str) -> bool {
    flavour()
        .public_services("eu-de")
        .iter()
        .any(|(name, _)| *name == short)
}

pub struct Sim {
    probe: vpcep_sim::Probe,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub url: String,
}

impl Sim {
    /// Starts the simulator with these extra command-line arguments (as `vpcep-sim` takes them).
    pub fn start(args: &[&str]) -> Sim {
        Sim::start_on("127.0.0.1:0", args)
    }

    /// Starts the simulator on `listen` (e.g. the address pods of a node reach the host by).
    pub fn start_on(listen: &str, args: &[&str]) -> Sim {
        let flavour = if args.contains(&"--cloud") {
            &[][..]
        } else {
            &["--cloud", cloud()][..]
        };
        let argv = ["vpcep-sim", "--listen", listen]
            .into_iter()
            .chain(flavour.iter().copied())
            .chain(args.iter().copied());
        let args = vpcep_sim::SimArgs::try_parse_from(argv).expect("valid simulator arguments");
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("simulator runtime");
            runtime.block_on(async move {
                let bound = match vpcep_sim::bind(args).await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = url_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = url_tx.send(Ok((bound.url.clone(), bound.probe())));
                tokio::select! {
                    () = bound.serve() => {}
                    _ = stopped => {}
                }
            });
        });
        let (url, probe) = url_rx
            .recv()
            .expect("the simulator thread answers")
            .unwrap_or_else(|e| panic!("the simulator does not start: {e}"));
        Sim {
            probe,
            stop: Some(stop),
            thread: Some(thread),
            url,
        }
    }

    /// A client of the simulator as an account sees it (region `eu-de`).
    pub fn client_as(
        &self,
        credentials: Credentials,
        project_id: &str,
        settings: ClientSettings,
    ) -> VpcepClient {
        client_at(&self.url, credentials, project_id, settings)
    }

    /// A client of the default account, with default settings.
    pub fn owner_client(&self) -> VpcepClient {
        self.client_as(
            aksk(ACCESS_KEY, SECRET_KEY),
            PROJECT_ID,
            ClientSettings::default(),
        )
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let mut req = client.request(method, format!("{}/_sim/{path}", self.url));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("simulator control call");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "/_sim/{path}: HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// `GET /_sim/<path>`.
    pub async fn get(&self, path: &str) -> Value {
        self.control(reqwest::Method::GET, path, None).await
    }

    /// `POST /_sim/<path>` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }

    /// `PUT /_sim/<path>` with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `DELETE /_sim/<path>`.
    pub async fn delete(&self, path: &str) -> Value {
        self.control(reqwest::Method::DELETE, path, None).await
    }
}

impl Drop for Sim {
    /// Every test that uses a simulator also proves that no client called an operation that the
    /// simulated cloud lacks (on OTC: the Huawei-only update APIs).
    fn drop(&mut self) {
        let unsupported = self.probe.unsupported_calls();
        if !std::thread::panicking() {
            assert!(
                unsupported.is_empty(),
                "calls to operations that {} lacks: {unsupported:?}",
                cloud()
            );
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Sim {
    /// The cloud writes counted since the counters were last reset: every operation but reads.
    pub async fn cloud_writes(&self) -> Vec<(String, u64)> {
        let counters: Value = self.get("counters").await;
        let reads = ["get_", "list_", "query_", "describe_"];
        counters
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(op, _)| !reads.iter().any(|r| op.starts_with(r)))
            .map(|(op, n)| (op.clone(), n.as_u64().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// `PATCH /_sim/<path>` with a JSON body (out-of-band edits of a record, e.g. its
    /// `created_at`).
    pub async fn patch(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::PATCH, path, Some(body)).await
    }
}
