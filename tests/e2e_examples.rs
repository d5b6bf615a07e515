//! Every manifest in examples/ applies as it is and reaches Ready against the simulator.

mod support;

use serde::Deserialize;
use support::cluster::{Env, OperatorArgs};
use support::sim;

/// The simulator's accounts: the default one (the operator's) and the placeholder consumer
/// account of examples/cross-account-approval.yaml.
fn sim_args() -> Vec<String> {
    [
        format!("owner:{}:{}:{}:{}", sim::DOMAIN_ID, sim::PROJECT_ID, sim::ACCESS_KEY, sim::SECRET_KEY),
        "consumer:c0ffee00c0ffee00c0ffee00c0ffee00:c0ffee01c0ffee01c0ffee01c0ffee01:CONSUMERACCESSKEY001:consumer-secret-key-placeholder".to_string(),
    ]
    .into_iter()
    .flat_map(|a| ["--account".to_string(), a])
    .chain(["--provision-delay", "300ms"].map(String::from))
    .collect()
}

/// `kind/name` of every VPCEP object in a manifest.
fn objects(manifest: &str) -> Vec<String> {
    serde_yaml::Deserializer::from_str(manifest)
        .filter_map(|doc| {
            let v = serde_yaml::Value::deserialize(doc).ok()?;
            let kind = match v["kind"].as_str()? {
                "VpcEndpointService" => "vpcesvc",
                "VpcEndpoint" => "vpce",
                _ => return None,
            };
            Some(format!("{kind}/{}", v["metadata"]["name"].as_str()?))
        })
        .collect()
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn every_example_becomes_ready() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let args = sim_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        // The examples name OTC's public services; on Huawei Cloud they have Huawei's names.
        let manifest = sim::public_names(&std::fs::read_to_string(&file).unwrap());
        let wanted = objects(&manifest);
        assert!(!wanted.is_empty(), "{name} declares no VPCEP object");
        let env = Env::start(&name, &args, OperatorArgs::default());
        env.apply_ok(&manifest);
        env.wait_ready(
            &wanted.iter().map(String::as_str).collect::<Vec<_>>(),
            "90s",
        );
    }
}
