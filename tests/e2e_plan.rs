//! End to end, `vpcep-operator plan` and `import` (issue 17): the commands as users run them,
//! against a real kube-apiserver and vpcep-sim, with the objects the operator binary made. The
//! simulator's counters prove that neither writes to the cloud; the objects' resource versions
//! that `plan` writes nothing to the cluster.

mod support;

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::cluster::{Env, OperatorArgs, kubeconfig, operator_command};
use support::fixtures::{
    CONSUMER_VPC, PORT, SUBNET, cloud_objects, endpoint_yaml, run_with_input, service_yaml, str_at,
    tag,
};
use support::sim::{self, Sim};
use vpcep_cloud::api;
use vpcep_cloud::model::{CreateEndpointRequest, CreateServiceRequest, PortMapping, Tag};

const FAST: &[&str] = &["--provision-delay", "300ms", "--delete-delay", "300ms"];

/// `vpcep-operator ARGS` with the cloud settings and cluster id of `env`'s operator.
fn command(env: &Env, args: &[&str]) -> Command {
    let mut command = operator_command();
    command
        .args(args)
        .args(["--cluster-id", &format!("cluster-{}", env.ns)])
        .env("KUBECONFIG", kubeconfig())
        .env("VPCEP_ENDPOINT", &env.sim.url)
        .env("VPCEP_CLOUD", sim::cloud())
        .env("VPCEP_REGION", "eu-de")
        .env("VPCEP_PROJECT_ID", sim::PROJECT_ID)
        .env("VPCEP_ACCESS_KEY", sim::ACCESS_KEY)
        .env("VPCEP_SECRET_KEY", sim::SECRET_KEY);
    command
}

/// Runs [`command`] with `stdin`.
fn cli(env: &Env, args: &[&str], stdin: &str) -> Output {
    run_with_input(
        &mut command(env, args),
        stdin,
        "cargo builds the operator binary",
    )
}

/// The JSON a command printed, and its exit code.
fn json_of(out: Output) -> (i32, Value) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON printed ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("an exit code"), json)
}

/// `plan -f -` of `manifests` in the test's namespace, as JSON; and its exit code.
fn plan(env: &Env, manifests: &[String], extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["plan", "-f", "-", "-n", &env.ns, "-o", "json"];
    args.extend(extra);
    json_of(cli(env, &args, &manifests.join("---\n")))
}

/// The plan's entry for `kind/name`.
fn entry<'a>(planned: &'a Value, kind: &str, name: &str) -> &'a Value {
    planned["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["kind"] == kind && e["name"] == name)
        .unwrap_or_else(|| panic!("no entry for {kind} {name} in {planned:#}"))
}

/// The resource versions of the namespace's VPCEP objects and events: what a write would move.
fn versions(env: &Env) -> String {
    env.kubectl(&[
        "get",
        "vpcesvc,vpce,events",
        "-o",
        "jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}",
    ])
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn plan_reports_every_verdict_and_writes_nothing() {
    let mut env = Env::start("plan", FAST, OperatorArgs::default());
    let open = "  approvalEnabled: false\n";
    let web = service_yaml("web", PORT, (8080, 80), open);
    let db = service_yaml("db", PORT, (5432, 5432), open);
    let web_ref = "serviceRef: {name: web}";
    let client = endpoint_yaml("client", web_ref, "");
    let fixed = endpoint_yaml("fixed", web_ref, "  recreateOnChange: true\n");
    let pinned = endpoint_yaml("pinned", web_ref, "");
    let old = endpoint_yaml("old", web_ref, "");
    let db_client = endpoint_yaml("db-client", "serviceRef: {name: db}", "");
    // An endpoint that waits for the approval of its service's owner.
    let gated = service_yaml("gated", PORT, (6060, 60), "  approvalEnabled: true\n");
    let waiting = endpoint_yaml("waiting", "serviceRef: {name: gated}", "");
    for yaml in [
        &web, &db, &client, &fixed, &pinned, &old, &db_client, &gated, &waiting,
    ] {
        env.apply_ok(yaml);
    }
    let all = [
        "vpcesvc/web",
        "vpcesvc/db",
        "vpce/client",
        "vpce/fixed",
        "vpce/pinned",
        "vpce/old",
        "vpce/db-client",
        "vpcesvc/gated",
    ];
    env.wait_ready(&all, "120s");
    let pending = |o: &Value| {
        Env::condition(o, "Ready").is_some_and(|(_, reason, _)| reason == "PendingAcceptance")
    };
    let waiting_obj = env.wait_for("vpce/waiting", Duration::from_secs(60), "pending", pending);
    let waiting_id = str_at(&waiting_obj, &["status", "id"]).to_string();
    // Nothing may write while the plan is compared with the cluster.
    env.kill_operator();
    let web_id = str_at(&env.get("vpcesvc/web"), &["status", "id"]).to_string();
    let db_id = str_at(&env.get("vpcesvc/db"), &["status", "id"]).to_string();
    let fixed_id = str_at(&env.get("vpce/fixed"), &["status", "id"]).to_string();
    let db_client_id = str_at(&env.get("vpce/db-client"), &["status", "id"]).to_string();
    let before = versions(&env);
    env.sim.delete("counters").await;

    // The change under review: web gets a description, fixed (recreateOnChange) a new one,
    // pinned a new VPC (create-only); fresh and broken are new; db and old are gone.
    let described = "  approvalEnabled: false\n  description: reviewed\n";
    let changed_web = service_yaml("web", PORT, (8080, 80), described);
    let changed_fixed = endpoint_yaml(
        "fixed",
        web_ref,
        "  recreateOnChange: true\n  description: moved\n",
    );
    let moved = "9b1d7e44-2c3a-4e5f-8a6b-7c8d9e0f1a25";
    let changed_pinned = pinned.replace(CONSUMER_VPC, moved);
    let fresh = service_yaml("fresh", PORT, (9090, 90), open);
    let broken = endpoint_yaml(
        "broken",
        web_ref,
        "  routeTables: [\"4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c07\"]\n",
    );
    // gated gets a policy that accepts every endpoint: the waiting one is accepted.
    let accepting = service_yaml(
        "gated",
        PORT,
        (6060, 60),
        "  approvalEnabled: true\n  acceptance: {policy: AcceptAll}\n",
    );
    let manifests = [
        changed_web,
        accepting,
        waiting.clone(),
        fresh.clone(),
        client.clone(),
        changed_fixed,
        changed_pinned,
        db_client.clone(),
        broken.clone(),
    ];
    let (code, planned) = plan(&env, &manifests, &["--prune", "--detailed-exitcode"]);
    assert_eq!(
        code, 1,
        "invalid and blocked objects fail the plan: {planned:#}"
    );

    let verdict = |kind: &str, name: &str| entry(&planned, kind, name)["verdict"].clone();
    let web_plan = entry(&planned, "VpcEndpointService", "web");
    assert_eq!(web_plan["verdict"], "update", "{planned:#}");
    assert_eq!(web_plan["id"], web_id.as_str());
    assert_eq!(
        web_plan["changes"],
        serde_json::json!([{"field": "description", "new": "reviewed"}])
    );
    assert_eq!(verdict("VpcEndpointService", "fresh"), "create");
    let created = &entry(&planned, "VpcEndpointService", "fresh")["changes"];
    assert!(
        created
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "ports[0].clientPort" && c["new"] == "9090"),
        "{created:#}"
    );
    assert_eq!(verdict("VpcEndpoint", "client"), "no-change");
    assert_eq!(verdict("VpcEndpoint", "db-client"), "no-change");
    let replace = entry(&planned, "VpcEndpoint", "fixed");
    assert_eq!(replace["verdict"], "replace", "{planned:#}");
    assert_eq!(replace["id"], fixed_id.as_str());
    assert_eq!(
        replace["changes"],
        serde_json::json!([{"field": "description", "old": "(none)", "new": "moved"}])
    );
    let pinned_plan = entry(&planned, "VpcEndpoint", "pinned");
    assert_eq!(pinned_plan["verdict"], "invalid");
    assert_eq!(pinned_plan["reason"], "InvalidSpec");
    let pinned_message = pinned_plan["message"].as_str().unwrap();
    assert!(
        pinned_message.starts_with("vpcId cannot change after creation"),
        "{pinned_message}"
    );
    let broken_plan = entry(&planned, "VpcEndpoint", "broken");
    assert_eq!(broken_plan["verdict"], "invalid");
    let old_plan = entry(&planned, "VpcEndpoint", "old");
    assert_eq!(old_plan["verdict"], "delete");
    let db_plan = entry(&planned, "VpcEndpointService", "db");
    assert_eq!(db_plan["verdict"], "blocked", "{planned:#}");
    assert_eq!(db_plan["reason"], "DeletionBlocked");
    let db_message = db_plan["message"].as_str().unwrap();
    assert!(
        db_message.contains(&db_id) && db_message.contains(&db_client_id),
        "names the service and the endpoint that holds it: {db_message}"
    );
    assert_eq!(planned["summary"]["create"], 1);
    let gated_plan = entry(&planned, "VpcEndpointService", "gated");
    assert_eq!(gated_plan["verdict"], "update", "{planned:#}");
    assert_eq!(
        gated_plan["changes"],
        serde_json::json!([{
            "field": format!("connections.{waiting_id}"),
            "old": "pendingAcceptance",
            "new": "accepted (rule AcceptAll)",
        }])
    );
    assert_eq!(verdict("VpcEndpoint", "waiting"), "no-change");

    // Exit codes: no change is 0, a change 2 (with --detailed-exitcode), 0 without it.
    let unchanged = [client.clone(), db_client.clone()];
    assert_eq!(plan(&env, &unchanged, &["--detailed-exitcode"]).0, 0);
    let one_more = [client.clone(), fresh.clone()];
    assert_eq!(plan(&env, &one_more, &["--detailed-exitcode"]).0, 2);
    assert_eq!(plan(&env, &one_more, &[]).0, 0);

    // The text a reviewer reads, from a directory.
    let dir = std::env::temp_dir().join(format!("vpcep-plan-{}", env.ns));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("web.yaml"), &manifests[0]).unwrap();
    let out = cli(
        &env,
        &["plan", "-f", dir.to_str().unwrap(), "-n", &env.ns],
        "",
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "~ VpcEndpointService {}/web ({web_id}): update\n    + description: reviewed\n",
            env.ns
        )),
        "{text}"
    );
    assert!(text.contains("Plan: 0 to create, 1 to update"), "{text}");

    assert_eq!(
        env.sim.cloud_writes().await,
        vec![],
        "plan wrote to the cloud"
    );
    assert_eq!(versions(&env), before, "plan wrote to the cluster");

    // The message of an invalid object is the one the operator sets.
    env.start_operator();
    env.apply_ok(&broken);
    let set = env.wait_not_synced("vpce/broken", "InvalidSpec", Duration::from_secs(60));
    assert_eq!(set, broken_plan["message"].as_str().unwrap());
}

fn cloud_tags(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect()
}

/// A cloud object made outside the operator (the console, Terraform), with `tags`.
async fn made_by_hand(sim: &Sim, ports: (i32, i32), tags: &[(&str, &str)]) -> String {
    let request = CreateServiceRequest {
        port_id: PORT.into(),
        vpc_id: support::fixtures::VPC.into(),
        server_type: "VM".into(),
        approval_enabled: Some(false),
        service_name: Some(format!("legacy{}", ports.0)),
        ports: vec![PortMapping {
            client_port: ports.0,
            server_port: ports.1,
            protocol: "TCP".into(),
        }],
        description: Some("made in the console".into()),
        tags: cloud_tags(tags),
        ..Default::default()
    };
    let client = sim.owner_client();
    let service = client.execute(api::create_service(&request)).await.unwrap();
    service.id
}

async fn endpoint_by_hand(sim: &Sim, service_id: &str, tags: &[(&str, &str)]) -> String {
    let request = CreateEndpointRequest {
        endpoint_service_id: service_id.into(),
        vpc_id: CONSUMER_VPC.into(),
        subnet_id: Some(SUBNET.into()),
        enable_dns: Some(true),
        whitelist: Some(vec!["10.1.0.0/16".into()]),
        enable_whitelist: Some(true),
        tags: cloud_tags(tags),
        ..Default::default()
    };
    let client = sim.owner_client();
    client
        .execute(api::create_endpoint(&request))
        .await
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn imported_objects_are_adopted_without_a_cloud_write() {
    let mut env = Env::without_operator("import", FAST);
    let wanted = [("adopt", "yes"), ("team", "net")];
    let svc = made_by_hand(&env.sim, (8080, 80), &wanted).await;
    let other = made_by_hand(&env.sim, (9090, 90), &[]).await;
    let theirs = made_by_hand(
        &env.sim,
        (7070, 70),
        &[("adopt", "yes"), ("vpcep-operator-cluster", "elsewhere")],
    )
    .await;
    // Endpoints are refused while their service is being created.
    let cloud = env.sim.owner_client();
    support::fixtures::wait_for_async(
        "the services to be available",
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || cloud_objects(&cloud).await.0,
        |svcs| svcs.iter().all(|s| s.status.as_str() == "available"),
    )
    .await;
    let ep = endpoint_by_hand(&env.sim, &svc, &wanted).await;
    let ep_other = endpoint_by_hand(&env.sim, &other, &wanted).await;
    // Accepted once the service lets them in (none asks for approval): wait for it.
    support::fixtures::wait_for_async(
        "the endpoints to be accepted",
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || cloud_objects(&cloud).await.1,
        |eps| eps.iter().all(|e| e.status.as_str() == "accepted"),
    )
    .await;

    let out = cli(&env, &["import", "-n", &env.ns, "--tag", "adopt=yes"], "");
    let manifests = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{report}\n{manifests}");
    assert!(
        report.contains(&theirs) && report.contains("\"elsewhere\""),
        "the object of another cluster is skipped, saying whose: {report}"
    );
    assert!(!manifests.contains(&theirs), "{manifests}");
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&manifests)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|d: &Value| !d.is_null())
        .collect();
    assert_eq!(docs.len(), 3, "{manifests}");
    for d in &docs {
        assert_eq!(d["spec"]["deletionPolicy"], "Orphan", "{manifests}");
    }
    let by_id = |id: &str| {
        docs.iter()
            .find(|d| d["metadata"]["annotations"]["vpcep.io/external-id"] == id)
            .unwrap_or_else(|| panic!("no manifest adopts {id}: {manifests}"))
    };
    let svc_name = by_id(&svc)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(svc_name, "legacy8080");
    assert_eq!(by_id(&ep)["spec"]["serviceRef"]["name"], svc_name.as_str());
    assert_eq!(by_id(&ep_other)["spec"]["serviceId"], other.as_str());
    let adopts = |id: &str| {
        docs.iter()
            .any(|d| d["metadata"]["annotations"]["vpcep.io/external-id"] == id)
    };
    assert!(!adopts(&other), "not tagged adopt=yes: {manifests}");
    let adopts = |id: &str| {
        docs.iter()
            .any(|d| d["metadata"]["annotations"]["vpcep.io/external-id"] == id)
    };
    assert!(!adopts(&other), "not tagged adopt=yes: {manifests}");

    let delete = cli(
        &env,
        &[
            "import",
            "-n",
            &env.ns,
            "--tag",
            "adopt",
            "--deletion-policy",
            "Delete",
        ],
        "",
    );
    let text = String::from_utf8_lossy(&delete.stdout);
    assert_eq!(text.matches("deletionPolicy: Delete").count(), 3, "{text}");

    // Applied as they are, with the operator running: every object Ready, no cloud write.
    let before = cloud_objects(&cloud).await;
    env.sim.delete("counters").await;
    env.start_operator();
    env.apply_ok(&manifests);
    let ep_name = by_id(&ep)["metadata"]["name"].as_str().unwrap().to_string();
    let other_name = by_id(&ep_other)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    env.wait_ready(
        &[
            &format!("vpcesvc/{svc_name}"),
            &format!("vpce/{ep_name}"),
            &format!("vpce/{other_name}"),
        ],
        "90s",
    );
    assert_eq!(
        env.sim.cloud_writes().await,
        vec![],
        "adoption wrote to the cloud"
    );
    for (object, id) in [
        (format!("vpcesvc/{svc_name}"), &svc),
        (format!("vpce/{ep_name}"), &ep),
        (format!("vpce/{other_name}"), &ep_other),
    ] {
        assert_eq!(str_at(&env.get(&object), &["status", "id"]), id.as_str());
    }
    let after = cloud_objects(&cloud).await;
    assert_eq!(
        (after.0.len(), after.1.len()),
        (before.0.len(), before.1.len())
    );
    let adopted = after.0.iter().find(|s| s.id == svc).unwrap();
    assert_eq!(tag(&adopted.tags, "team"), Some("net"), "tags kept");

    // A plan of the imported manifests finds nothing to change, and import wrote nothing.
    env.sim.delete("counters").await;
    let (code, planned) = plan(&env, &[manifests], &["--detailed-exitcode"]);
    assert_eq!(code, 0, "{planned:#}");
    cli(&env, &["import", "-n", &env.ns], "");
    assert_eq!(env.sim.cloud_writes().await, vec![], "plan or import wrote");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn without_a_cluster_plan_reads_only_the_cloud() {
    let env = Env::without_operator("offline", FAST);
    let existing = made_by_hand(&env.sim, (8080, 80), &[]).await;
    let as_made =
        "  approvalEnabled: false\n  serviceName: legacy8080\n  description: made in the console\n";
    let adopting = service_yaml("legacy", PORT, (8080, 80), as_made).replacen(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    vpcep.io/external-id: {existing}\n"),
        1,
    );
    let fresh = service_yaml("fresh", PORT, (9090, 90), "");
    let accounted = service_yaml("team", PORT, (7070, 70), "  accountRef: {name: team}\n");
    let manifests = [adopting, fresh, accounted].join("---\n");
    env.sim.delete("counters").await;

    // No KUBECONFIG, no ~/.kube/config: the cloud only.
    let home = std::env::temp_dir().join(format!("vpcep-home-{}", env.ns));
    std::fs::create_dir_all(&home).unwrap();
    let args = ["plan", "-f", "-", "-n", &env.ns, "-o", "json"];
    let mut offline = command(&env, &args);
    offline.env_remove("KUBECONFIG").env("HOME", &home);
    let (code, planned) = json_of(run_with_input(&mut offline, &manifests, "the binary"));
    let mut pruning = command(&env, &["plan", "-f", "-", "--prune"]);
    pruning.env_remove("KUBECONFIG").env("HOME", &home);
    let refused = run_with_input(&mut pruning, &manifests, "the binary");
    std::fs::remove_dir_all(&home).unwrap();

    assert_eq!(planned["cluster"], false);
    assert_eq!(code, 1, "an object that could not be planned: {planned:#}");
    let legacy = entry(&planned, "VpcEndpointService", "legacy");
    assert_eq!(legacy["verdict"], "no-change", "{planned:#}");
    assert_eq!(legacy["id"], existing.as_str());
    assert_eq!(
        entry(&planned, "VpcEndpointService", "fresh")["verdict"],
        "create"
    );
    let team = entry(&planned, "VpcEndpointService", "team");
    assert_eq!(team["verdict"], "error");
    assert!(
        team["message"].as_str().unwrap().contains("KUBECONFIG"),
        "{team:#}"
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--prune compares with the cluster"),
        "{refused:?}"
    );
    assert_eq!(
        env.sim.cloud_writes().await,
        vec![],
        "plan wrote to the cloud"
    );
}
