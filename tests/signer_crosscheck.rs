//! The client's AK/SK signatures equal those of the official Huawei Cloud Python SDK signer on
//! generated requests (odd characters in paths and queries, bodies, ports, every method).
//! Needs the project's Python venv (`scripts/python-env.sh`): plain `cargo test` reports the test
//! ignored, `scripts/test.sh` runs it, and without the venv it fails.

mod support;

use std::process::Command;

use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::json;
use support::fixtures::{run_with_input, success_stdout};
use support::sim::client_at;
use vpcep_cloud::ClientSettings;
use vpcep_cloud::api::{self, PageParams};
use vpcep_cloud::auth::{self, AkSk, Credentials};
use vpcep_cloud::model::*;

fn python() -> String {
    std::env::var("VPCEP_PYTHON")
        .unwrap_or_else(|_| format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR")))
}

#[test]
#[ignore = "needs the Python venv of scripts/python-env.sh: run scripts/test.sh"]
fn signatures_match_the_official_python_signer() {
    let key = AkSk {
        access_key: "QTWAOYTTINDUT2QVKYUC".into(),
        secret_key: SecretString::from("MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"),
        security_token: None,
    };
    let now: Timestamp = "2026-11-22T03:14:18Z".parse().unwrap();
    let page = PageParams {
        limit: 1000,
        offset: 0,
    };
    let create = CreateServiceRequest {
        port_id: "p".into(),
        vpc_id: "v".into(),
        server_type: "VM".into(),
        ports: vec![PortMapping {
            client_port: 8080,
            server_port: 90,
            protocol: "TCP".into(),
        }],
        description: Some("ünïcode & spaces <ok>".into()),
        ..Default::default()
    };
    let query = ServiceQuery {
        endpoint_service_name: Some("a b+c/d~e*f".into()),
        status: Some("available".into()),
        ..Default::default()
    };
    let tag_query = ResourceQueryRequest::filter_by_tags(&[Tag {
        key: "vpcep-operator-uid".into(),
        value: "7c1e".into(),
    }]);

    for endpoint in [
        "http://127.0.0.1:8643",
        "https://vpcep.eu-de.otc.t-systems.com",
    ] {
        let client = client_at(
            endpoint,
            Credentials::AkSk(key.clone()),
            "0123456789abcdef0123456789abcdef",
            ClientSettings::default(),
        );
        let requests = [
            client.build_request(&api::list_versions()),
            client.build_request(&api::list_services(&query, page)),
            client.build_request(&api::create_service(&create)),
            client.build_request(&api::describe_service_by_name("eu-de.名前.x y")),
            client.build_request(&api::get_endpoint("a b")),
            client.build_request(&api::delete_service("4189d3c2-8882-4871-a3c2-d380272eed83")),
            client.build_request(&api::update_endpoint_routetables("e", vec!["r1".into()])),
            client.build_request(&api::query_resources(
                ResourceType::Endpoint,
                &tag_query,
                Some(page),
            )),
            client.build_request(&api::list_connections(
                "s",
                &ConnectionQuery {
                    marker_id: Some(422321321312321321),
                    ..Default::default()
                },
                page,
            )),
        ];
        let mut cases = String::new();
        let mut ours = Vec::new();
        for req in requests {
            let mut req = req.unwrap();
            auth::sign(&mut req, &key, now).unwrap();
            let header = |n: &str| {
                req.headers()
                    .get(n)
                    .map(|v| v.to_str().unwrap().to_string())
            };
            let mut headers = serde_json::Map::new();
            for name in ["content-type", "host", "x-sdk-date"] {
                if let Some(v) = header(name) {
                    headers.insert(name.into(), json!(v));
                }
            }
            let query: Vec<(String, String)> = req
                .url()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let body = req
                .body()
                .and_then(|b| b.as_bytes())
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
                .unwrap_or_default();
            let case = json!({
                "method": req.method().as_str(), "host": header("host").unwrap(), "path": req.url().path(),
                "query": query, "headers": headers, "body": body, "ak": key.access_key, "sk": "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
            });
            cases.push_str(&format!("{case}\n"));
            ours.push(header("authorization").unwrap());
        }

        let out = run_with_input(
            Command::new(python()).arg(format!(
                "{}/tests/python/sign.py",
                env!("CARGO_MANIFEST_DIR")
            )),
            &cases,
            "create the venv with scripts/python-env.sh",
        );
        let theirs: Vec<String> = success_stdout("the Python signer", out)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(theirs.len(), ours.len());
        for ((ours, theirs), case) in ours.iter().zip(&theirs).zip(cases.lines()) {
            assert_eq!(ours, theirs, "signatures differ for {case}");
        }
    }
}
