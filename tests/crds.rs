//! The CRDs: checked-in files match the generator, CEL rules accept and refuse what they should
//! (through kube's client-side CEL evaluation), and the OpenAPI constraints refuse bad samples.

mod support;

use kube::CustomResourceExt;
use kube::core::cel::Validator;
use serde_json::{Value, json};
use support::cluster::operator_command;
use support::fixtures::success_stdout;
use support::openapi::violations;
use vpcep_api::{VpcEndpoint, VpcEndpointService};

fn schema<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .unwrap()
        .open_api_v3_schema
        .as_ref()
        .unwrap();
    serde_json::to_value(schema).unwrap()
}

fn crds_output(args: &[&str]) -> String {
    let out = operator_command().arg("crds").args(args).output().unwrap();
    success_stdout("vpcep-operator crds", out)
}

fn checked_in(dir: &str) -> String {
    [
        "cloudaccounts.vpcep.io.yaml",
        "vpcendpointservices.vpcep.io.yaml",
        "vpcendpoints.vpcep.io.yaml",
    ]
    .iter()
    .map(|f| {
        std::fs::read_to_string(format!("{}/crds/{dir}{f}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    })
    .collect()
}

const REGEN: &str = "crds/ is stale: run `cargo run -- crds --out-dir crds && cargo run -- crds --no-cel --out-dir crds/no-cel`";

#[test]
fn checked_in_crds_match_the_generator() {
    assert!(crds_output(&[]) == checked_in(""), "{REGEN}");
    let no_cel = crds_output(&["--no-cel"]);
    assert!(no_cel == checked_in("no-cel/"), "{REGEN}");
    assert!(!no_cel.contains("x-kubernetes-validations"));
    assert_eq!(no_cel.matches("kind: CustomResourceDefinition").count(), 3);
}

#[test]
fn crds_carry_names_categories_and_columns() {
    for (crd, short) in [
        (VpcEndpointService::crd(), "vpcesvc"),
        (VpcEndpoint::crd(), "vpce"),
    ] {
        assert_eq!(crd.spec.group, "vpcep.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&[short.to_string()][..])
        );
        assert_eq!(
            crd.spec.names.categories.as_deref(),
            Some(&["vpcep".to_string()][..])
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(version.subresources.as_ref().unwrap().status.is_some());
        let columns: Vec<_> = version
            .additional_printer_columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        for expected in ["Status", "ID", "Ready", "Synced", "Age"] {
            assert!(columns.contains(&expected), "{columns:?}");
        }
        // `kubectl get` shows whether the object is usable and whether its last reconcile
        // succeeded side by side.
        let ready = columns.iter().position(|c| *c == "Ready").unwrap();
        assert_eq!(columns[ready + 1], "Synced", "{columns:?}");
    }
    let endpoint_columns =
        serde_json::to_string(&VpcEndpoint::crd().spec.versions[0].additional_printer_columns)
            .unwrap();
    assert!(
        endpoint_columns.contains(".status.ip") && endpoint_columns.contains(".status.dnsNames[0]")
    );
}

const VPC: &str = "4189d3c2-8882-4871-a3c2-d380272eed83";
const VPC2: &str = "5189d3c2-8882-4871-a3c2-d380272eed83";
const SUBNET: &str = "6189d3c2-8882-4871-a3c2-d380272eed83";
const PORT: &str = "7189d3c2-8882-4871-a3c2-d380272eed83";
const SERVICE_ID: &str = "8189d3c2-8882-4871-a3c2-d380272eed83";

fn service(spec: Value) -> Value {
    json!({"apiVersion": "vpcep.io/v1alpha1", "kind": "VpcEndpointService", "metadata": {"name": "s"}, "spec": spec})
}

fn endpoint(spec: Value) -> Value {
    json!({"apiVersion": "vpcep.io/v1alpha1", "kind": "VpcEndpoint", "metadata": {"name": "e"}, "spec": spec})
}

fn service_spec() -> Value {
    json!({"vpcId": VPC, "portId": PORT, "serverType": "VM", "ports": [{"clientPort": 8080, "serverPort": 80}]})
}

fn endpoint_spec() -> Value {
    json!({"serviceId": SERVICE_ID, "vpcId": VPC, "subnetId": SUBNET, "enableDns": true})
}

fn with(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// CEL verdict: the messages of the failed rules.
fn cel(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<String> {
    match Validator::new().validate(schema, obj, old) {
        Ok(()) => vec![],
        Err(errors) => errors.iter().map(|e| e.message.clone()).collect(),
    }
}

#[test]
fn service_cel_rules() {
    let schema = schema::<VpcEndpointService>();
    let old = service(service_spec());
    assert_eq!(cel(&schema, &old, None), Vec::<String>::new());

    // Mutable fields may change.
    let changed = service(with(
        service_spec(),
        json!({"approvalEnabled": false, "serviceName": "web", "ports": [{"clientPort": 443, "serverPort": 8443}]}),
    ));
    assert_eq!(cel(&schema, &changed, Some(&old)), Vec::<String>::new());

    // Create-only fields may not.
    let moved = service(with(service_spec(), json!({"vpcId": VPC2})));
    assert_eq!(cel(&schema, &moved, Some(&old)), vec!["vpcId is immutable"]);
    let retyped = service(with(service_spec(), json!({"serverType": "LB"})));
    assert_eq!(
        cel(&schema, &retyped, Some(&old)),
        vec!["serverType is immutable"]
    );

    // Tag keys: charset, length and the reserved prefix.
    let tagged = |tags: Value| service(with(service_spec(), json!({"tags": tags})));
    assert!(
        cel(
            &schema,
            &tagged(json!({"team": "net", "cost@center": "42"})),
            None
        )
        .is_empty()
    );
    for bad in [
        json!({"vpcep-operator-uid": "x"}),
        json!({"bad key": "x"}),
        json!({"k".repeat(37): "x"}),
    ] {
        let errors = cel(&schema, &tagged(bad.clone()), None);
        assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
        assert!(errors[0].contains("tag keys"), "{errors:?}");
    }

    // revokeUnlisted only with AcceptListed (policy absent is Manual).
    let accepting =
        |acceptance: Value| service(with(service_spec(), json!({"acceptance": acceptance})));
    for (acceptance, refused) in [
        (
            json!({"policy": "AcceptListed", "revokeUnlisted": true}),
            false,
        ),
        (
            json!({"policy": "AcceptAll", "revokeUnlisted": false}),
            false,
        ),
        (json!({"policy": "AcceptAll", "revokeUnlisted": true}), true),
        (json!({"revokeUnlisted": true}), true),
    ] {
        let errors = cel(&schema, &accepting(acceptance.clone()), None);
        assert_eq!(
            errors.len(),
            usize::from(refused),
            "{acceptance}: {errors:?}"
        );
        assert!(
            errors.iter().all(|e| e.contains("revokeUnlisted")),
            "{errors:?}"
        );
    }
}

#[test]
fn endpoint_cel_rules() {
    let schema = schema::<VpcEndpoint>();
    let old = endpoint(endpoint_spec());
    assert_eq!(cel(&schema, &old, None), Vec::<String>::new());

    // Exactly one target.
    let two = endpoint(with(endpoint_spec(), json!({"serviceName": "eu-de.web.x"})));
    assert_eq!(
        cel(&schema, &two, None),
        vec!["set exactly one of serviceRef, serviceId, serviceName or publicService"]
    );
    let public_too = endpoint(with(
        endpoint_spec(),
        json!({"publicService": "com.t-systems.otc.eu-de.dns"}),
    ));
    assert_eq!(
        cel(&schema, &public_too, None),
        vec!["set exactly one of serviceRef, serviceId, serviceName or publicService"]
    );
    let none = endpoint(with(endpoint_spec(), json!({"serviceId": null})));
    assert_eq!(
        cel(&schema, &none, None),
        vec!["set exactly one of serviceRef, serviceId, serviceName or publicService"]
    );

    // A VpcEndpointService is an interface service: subnetId needed.
    let by_ref = json!({"serviceRef": {"name": "web"}, "vpcId": VPC});
    assert_eq!(
        cel(&schema, &endpoint(by_ref.clone()), None),
        vec!["subnetId is required: a VpcEndpointService is an interface service"]
    );
    assert!(
        cel(
            &schema,
            &endpoint(with(by_ref, json!({"subnetId": SUBNET}))),
            None
        )
        .is_empty()
    );

    // Gateway fields do not mix with interface fields; a gateway endpoint needs no subnet.
    let gateway = json!({"serviceName": "com.t-systems.otc.eu-de.obs", "vpcId": VPC, "routeTables": [SUBNET]});
    assert!(cel(&schema, &endpoint(gateway.clone()), None).is_empty());
    let mixed = endpoint(with(gateway.clone(), json!({"subnetId": SUBNET})));
    assert_eq!(
        cel(&schema, &mixed, None),
        vec!["routeTables and policyStatement apply to gateway endpoints, which take no subnetId"]
    );
    let ip_without_subnet = endpoint(with(
        gateway,
        json!({"routeTables": null, "portIp": "10.0.0.9"}),
    ));
    assert_eq!(
        cel(&schema, &ip_without_subnet, None),
        vec!["portIp and whitelist apply to interface endpoints, which need subnetId"]
    );

    // Mutable fields may change; create-only fields and the target may not.
    let whitelisted = endpoint(with(
        endpoint_spec(),
        json!({"whitelist": ["10.0.0.0/24"], "enableWhitelist": true, "description": "x"}),
    ));
    assert!(cel(&schema, &whitelisted, Some(&old)).is_empty());
    for (patch, message) in [
        (json!({"vpcId": VPC2}), "vpcId is immutable"),
        (json!({"subnetId": VPC2}), "subnetId is immutable"),
        (json!({"enableDns": false}), "enableDns is immutable"),
        (json!({"portIp": "10.0.0.7"}), "portIp is immutable"),
        (json!({"serviceId": VPC2}), "serviceId is immutable"),
    ] {
        let new = endpoint(with(endpoint_spec(), patch.clone()));
        assert_eq!(cel(&schema, &new, Some(&old)), vec![message], "{patch}");
    }
    let retargeted = endpoint(with(
        endpoint_spec(),
        json!({"serviceId": null, "serviceName": "eu-de.other.x"}),
    ));
    assert_eq!(
        cel(&schema, &retargeted, Some(&old)),
        vec![
            "the target service (serviceRef, serviceId, serviceName or publicService) is immutable"
        ]
    );
    let public = json!({"publicService": "com.t-systems.otc.eu-de.obs", "vpcId": VPC, "routeTables": [SUBNET]});
    let public_old = endpoint(public.clone());
    assert!(cel(&schema, &public_old, None).is_empty());
    let renamed = endpoint(with(
        public,
        json!({"publicService": "com.t-systems.otc.eu-de.dns"}),
    ));
    assert_eq!(
        cel(&schema, &renamed, Some(&public_old)),
        vec!["publicService is immutable"]
    );
}

#[test]
fn service_schema_constraints() {
    let schema = schema::<VpcEndpointService>();
    assert_eq!(
        violations(&schema, &service(service_spec())),
        Vec::<String>::new()
    );
    let full = with(
        service_spec(),
        json!({
            "serviceName": "my_web-1", "approvalEnabled": false, "description": "web backend",
            "tcpProxy": "proxy_open", "tags": {"team": "net"}, "permissions": ["iam:domain::0123abc", "*"],
            "deletionPolicy": "Orphan", "credentialsSecretRef": {"name": "otc"},
            "ports": [{"clientPort": 8080, "serverPort": 90}, {"clientPort": 8080, "serverPort": 90, "protocol": "UDP"}],
        }),
    );
    assert_eq!(violations(&schema, &service(full)), Vec::<String>::new());

    let ports = |n: i64| {
        (1..=n)
            .map(|p| json!({"clientPort": p, "serverPort": 80}))
            .collect::<Vec<_>>()
    };
    let tags = |n: usize| {
        (0..n)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
    };
    for (patch, why) in [
        (json!({"vpcId": "not-a-uuid"}), "vpcId pattern"),
        (json!({"serverType": "VPC"}), "serverType enum"),
        (
            json!({"serviceType": "gateway"}),
            "users create interface services only",
        ),
        (json!({"ports": []}), "at least one port"),
        (json!({"ports": ports(201)}), "at most 200 ports"),
        (
            json!({"ports": [{"clientPort": 0, "serverPort": 80}]}),
            "port range",
        ),
        (
            json!({"ports": [{"clientPort": 1, "serverPort": 65536}]}),
            "port range",
        ),
        (
            json!({"ports": [{"clientPort": 1, "serverPort": 80, "protocol": "SCTP"}]}),
            "protocol enum",
        ),
        (
            json!({"ports": [{"clientPort": 1, "serverPort": 80}, {"clientPort": 1, "serverPort": 81, "protocol": "TCP"}]}),
            "duplicate clientPort/protocol",
        ),
        (json!({"serviceName": "seventeen-chars-x"}), "name length"),
        (json!({"serviceName": "bad.name"}), "name charset"),
        (json!({"description": "<script>"}), "no angle brackets"),
        (
            json!({"description": "x".repeat(129)}),
            "description length",
        ),
        (json!({"tcpProxy": "on"}), "tcpProxy enum"),
        (
            json!({"tags": tags(19)}),
            "18 user tags leave room for the owner tags",
        ),
        (json!({"tags": {"k": "v".repeat(44)}}), "tag value length"),
        (json!({"tags": {"k": "a b"}}), "tag value charset"),
        (json!({"permissions": ["domain::abc"]}), "permission format"),
        (json!({"permissions": ["*", "*"]}), "permissions are a set"),
        (json!({"deletionPolicy": "Retain"}), "deletionPolicy enum"),
    ] {
        let obj = service(with(service_spec(), patch.clone()));
        assert!(
            !violations(&schema, &obj).is_empty(),
            "{why} should be refused: {patch}"
        );
    }
    assert!(
        violations(
            &schema,
            &service(with(service_spec(), json!({"tags": tags(18)})))
        )
        .is_empty()
    );
}

#[test]
fn endpoint_schema_constraints() {
    let schema = schema::<VpcEndpoint>();
    let full = with(
        endpoint_spec(),
        json!({
            "portIp": "192.168.0.10", "whitelist": ["10.0.0.1", "172.16.0.0/12"], "enableWhitelist": true,
            "description": "db", "tags": {"env": "prod"}, "deletionPolicy": "Delete",
        }),
    );
    assert_eq!(violations(&schema, &endpoint(full)), Vec::<String>::new());
    let gateway = json!({"serviceName": "com.t-systems.otc.eu-de.obs", "vpcId": VPC, "routeTables": [SUBNET],
        "policyStatement": [{"effect": "Allow", "action": ["obs:*:*"], "resource": ["obs:*:*:*:*/*"]}]});
    assert_eq!(
        violations(&schema, &endpoint(gateway)),
        Vec::<String>::new()
    );

    let many = (0..21)
        .map(|i| json!(format!("10.0.0.{i}")))
        .collect::<Vec<_>>();
    for (patch, why) in [
        (json!({"subnetId": "abc"}), "subnet uuid"),
        (json!({"serviceId": "abc"}), "service uuid"),
        (json!({"portIp": "10.0.0.256"}), "ipv4"),
        (json!({"portIp": "10.0.0.0/24"}), "a port ip is no cidr"),
        (json!({"whitelist": ["10.0.0.0/33"]}), "cidr prefix"),
        (
            json!({"whitelist": ["example.com"]}),
            "whitelist entries are addresses",
        ),
        (json!({"whitelist": many}), "at most 20 whitelist entries"),
        (
            json!({"policyStatement": [{"effect": "Maybe", "action": ["a"], "resource": ["r"]}]}),
            "effect enum",
        ),
        (
            json!({"policyStatement": [{"effect": "Allow", "action": [], "resource": ["r"]}]}),
            "actions needed",
        ),
        (json!({"serviceName": "has space"}), "service name charset"),
    ] {
        let obj = endpoint(with(endpoint_spec(), patch.clone()));
        assert!(
            !violations(&schema, &obj).is_empty(),
            "{why} should be refused: {patch}"
        );
    }
}

/// Names of a `DNS-1123` subdomain the API server accepts, and some it refuses.
fn subdomain_names() -> (Vec<String>, Vec<String>) {
    let good = ["a", "web", "web-1.db", "0a", &"n".repeat(253)]
        .map(String::from)
        .to_vec();
    let bad = [
        "Web",
        "a_b",
        "-a",
        "a-",
        "a..b",
        ".a",
        "a.",
        "a b",
        "",
        &"n".repeat(254),
    ]
    .map(String::from)
    .to_vec();
    (good, bad)
}

#[test]
fn references_are_dns_1123_subdomains() {
    let (good, bad) = subdomain_names();
    let endpoint_schema = schema::<VpcEndpoint>();
    let service_schema = schema::<VpcEndpointService>();
    let by_ref = |name: &str| {
        endpoint(json!({"serviceRef": {"name": name}, "vpcId": VPC, "subnetId": SUBNET}))
    };
    let endpoint_secret = |name: &str| {
        endpoint(with(
            endpoint_spec(),
            json!({"credentialsSecretRef": {"name": name}}),
        ))
    };
    let service_secret = |name: &str| {
        service(with(
            service_spec(),
            json!({"credentialsSecretRef": {"name": name}}),
        ))
    };
    for name in &good {
        assert_eq!(
            violations(&endpoint_schema, &by_ref(name)),
            Vec::<String>::new()
        );
        assert_eq!(
            violations(&endpoint_schema, &endpoint_secret(name)),
            Vec::<String>::new()
        );
        assert_eq!(
            violations(&service_schema, &service_secret(name)),
            Vec::<String>::new()
        );
    }
    for name in &bad {
        for (schema, obj) in [
            (&endpoint_schema, by_ref(name)),
            (&endpoint_schema, endpoint_secret(name)),
            (&service_schema, service_secret(name)),
        ] {
            assert!(
                !violations(schema, &obj).is_empty(),
                "{name:?} should be refused: {obj}"
            );
        }
    }
}

#[test]
fn published_ports_are_unique_and_named_as_the_api_server_accepts() {
    let schema = schema::<VpcEndpoint>();
    let published = |ports: Value| {
        endpoint(with(
            endpoint_spec(),
            json!({"publish": {"service": "db", "configMap": "db.endpoint", "ports": ports}}),
        ))
    };
    let fine = published(json!([
        {"name": "pg", "port": 5432},
        {"port": 53},
        {"port": 53, "protocol": "UDP"},
        {"name": "h2c-2", "port": 80},
        {"name": "a1b2c3d4e5f6g7h", "port": 81},
    ]));
    assert_eq!(violations(&schema, &fine), Vec::<String>::new());
    assert_eq!(cel(&schema, &fine, None), Vec::<String>::new());

    for name in [
        "1234",
        "a--b",
        "-ab",
        "ab-",
        "Ab",
        "a_b",
        "a1b2c3d4e5f6g7h8",
    ] {
        let obj = published(json!([{"name": name, "port": 5432}]));
        assert!(
            !violations(&schema, &obj).is_empty(),
            "port name {name:?} should be refused"
        );
    }
    for ports in [
        json!([{"name": "a", "port": 5432}, {"name": "b", "port": 5432}]),
        json!([{"name": "a", "port": 53, "protocol": "TCP"}, {"name": "b", "port": 53}]),
    ] {
        let obj = published(ports.clone());
        assert!(
            !violations(&schema, &obj).is_empty(),
            "duplicate port should be refused: {ports}"
        );
    }
    for bad in ["a..b", "-cm", "Cm"] {
        let obj = endpoint(with(
            endpoint_spec(),
            json!({"publish": {"configMap": bad}}),
        ));
        assert!(
            !violations(&schema, &obj).is_empty(),
            "configMap {bad:?} should be refused"
        );
    }

    // Names are unique, the derived names of unnamed ports (tcp-5432) included.
    let message = "publish.ports names must be unique (an unnamed port is named after its protocol and port, e.g. tcp-5432)";
    for ports in [
        json!([{"name": "pg", "port": 5432}, {"name": "pg", "port": 6432}]),
        json!([{"port": 5432}, {"name": "tcp-5432", "port": 6432}]),
        json!([{"port": 53, "protocol": "UDP"}, {"name": "udp-53", "port": 54}]),
    ] {
        assert_eq!(
            cel(&schema, &published(ports.clone()), None),
            vec![message],
            "{ports}"
        );
    }
}
