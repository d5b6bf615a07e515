//! Starts `vpcep-sim` as a child process on a free loopback port and stops it when dropped.
// Each test crate includes this module and uses a different part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The default account of a simulator started without `--account`.
pub const DOMAIN_ID: &str = "5f0d36c2a1b04e5e9a3b8d7c6e2f1a09";
pub const PROJECT_ID: &str = "0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10";
pub const ACCESS_KEY: &str = "SIMDEFAULTACCESSKEY1";
pub const SECRET_KEY: &str = "simDefaultSecretKey0000000000000000000000";

pub struct Sim {
    child: Child,
    pub url: String,
}

impl Sim {
    /// Starts the simulator with these extra arguments and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vpcep-sim"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("vpcep-sim starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("vpcep-sim printed its address")
                .expect("readable stdout");
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the simulator never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Sim { child, url }
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

    /// `DELETE /_sim/<path>`.
    pub async fn delete(&self, path: &str) -> Value {
        self.control(reqwest::Method::DELETE, path, None).await
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
