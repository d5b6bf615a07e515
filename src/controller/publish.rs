//! Publishing an endpoint to the workloads of its namespace: a selector-less Service with an
//! EndpointSlice at the endpoint's IP, and a ConfigMap with its address and names. Both are owned
//! by the VpcEndpoint (garbage-collected with it) and never overwrite an object it does not own.
//! Their names are the ones `spec.publish` gives (the schema keeps them valid: a Service name is
//! a DNS-1035 label); nothing is derived from the endpoint's name, which may be 253 characters.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{ConfigMap, Service as KubeService};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};

use super::conditions::{self, PUBLISHED, Reason, SYNCED, Verdict};
use super::error::Error;
use super::session::MANAGER;
use vpcep_api::{
    Protocol, Publish, VpcEndpoint, VpcEndpointService, VpcEndpointStatus, default_port_name,
};
use vpcep_cloud::model::EndpointStatus;

/// Label on every published object: the uid of the VpcEndpoint it belongs to (a name may be
/// longer than the 63 characters a label value can hold; a uid always fits).
const ENDPOINT_LABEL: &str = "vpcep.io/endpoint-uid";

/// A port of the published Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub port: i32,
    pub protocol: &'static str,
}

fn protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
    }
}

/// The Service's ports: `publish.ports`, else the client ports of the target VpcEndpointService.
pub fn ports(publish: &Publish, target: Option<&VpcEndpointService>) -> Option<Vec<Port>> {
    match (&publish.ports, target) {
        (Some(ports), _) => Some(
            ports
                .iter()
                .map(|p| Port {
                    name: p.service_name(),
                    port: p.port,
                    protocol: protocol(p.protocol),
                })
                .collect(),
        ),
        (None, Some(svc)) => Some(
            svc.spec
                .ports
                .iter()
                .map(|p| Port {
                    name: default_port_name(p.client_port, p.protocol),
                    port: p.client_port,
                    protocol: protocol(p.protocol),
                })
                .collect(),
        ),
        (None, None) => None,
    }
}

/// The address that goes into the EndpointSlice: the endpoint's IP once it has one, if it is a
/// unicast IPv4 a workload can reach; otherwise why not (the cloud's answer is not trusted).
pub fn slice_address(status: &VpcEndpointStatus) -> Result<Option<Ipv4Addr>, String> {
    let Some(ip) = &status.ip else {
        return Ok(None);
    };
    let refuse = |what: &str| {
        Err(format!(
            "the endpoint's address {ip:?} is {what}, not a unicast IPv4 address: the EndpointSlice gets no endpoint"
        ))
    };
    match ip.parse::<Ipv4Addr>() {
        Err(_) => refuse("no IPv4 address"),
        Ok(a) if a.is_unspecified() => refuse("unspecified"),
        Ok(a) if a.is_loopback() => refuse("a loopback address"),
        Ok(a) if a.is_link_local() => refuse("a link-local address"),
        Ok(a) if a.is_multicast() => refuse("a multicast address"),
        Ok(a) if a.is_broadcast() => refuse("the broadcast address"),
        Ok(a) => Ok(Some(a)),
    }
}

fn metadata(ep: &VpcEndpoint, name: &str, owner: &OwnerReference, extra: Value) -> Value {
    let mut labels =
        json!({"app.kubernetes.io/managed-by": "vpcep-operator", ENDPOINT_LABEL: ep.uid()});
    if let (Some(l), Some(e)) = (labels.as_object_mut(), extra.as_object()) {
        l.extend(e.clone());
    }
    json!({"name": name, "namespace": ep.namespace(), "labels": labels, "ownerReferences": [owner]})
}

/// The owner reference that ties a published object to its VpcEndpoint.
pub fn owner_reference(ep: &VpcEndpoint) -> OwnerReference {
    OwnerReference {
        api_version: VpcEndpoint::api_version(&()).into_owned(),
        kind: VpcEndpoint::kind(&()).into_owned(),
        name: ep.name_any(),
        uid: ep.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

pub fn service_manifest(ep: &VpcEndpoint, name: &str, ports: &[Port]) -> Value {
    let ports: Vec<Value> = ports.iter().map(|p| json!({"name": p.name, "port": p.port, "targetPort": p.port, "protocol": p.protocol})).collect();
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(ep, name, &owner_reference(ep), json!({})),
        "spec": {"ports": ports},
    })
}

/// The EndpointSlice of the published Service; the same shape serves `v1` and `v1beta1`.
/// `address` is the endpoint's checked address ([`slice_address`]).
pub fn slice_manifest(
    ep: &VpcEndpoint,
    api_version: &str,
    name: &str,
    ports: &[Port],
    status: &VpcEndpointStatus,
    address: Option<Ipv4Addr>,
) -> Value {
    let ready = status
        .status
        .as_deref()
        .is_some_and(|s| EndpointStatus::from(s) == EndpointStatus::Accepted);
    let endpoints: Vec<Value> = address
        .iter()
        .map(|ip| json!({"addresses": [ip.to_string()], "conditions": {"ready": ready}}))
        .collect();
    let ports: Vec<Value> = ports
        .iter()
        .map(|p| json!({"name": p.name, "port": p.port, "protocol": p.protocol}))
        .collect();
    let labels = json!({"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "vpcep-operator"});
    json!({
        "apiVersion": api_version, "kind": "EndpointSlice",
        "metadata": metadata(ep, name, &owner_reference(ep), labels),
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    })
}

pub fn config_map_manifest(ep: &VpcEndpoint, name: &str, status: &VpcEndpointStatus) -> Value {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": metadata(ep, name, &owner_reference(ep), json!({})),
        "data": {
            "ip": s(&status.ip),
            "dnsName": status.dns_names.first().cloned().unwrap_or_default(),
            "dnsNames": status.dns_names.join(","),
            "serviceId": s(&status.service_id),
            "serviceName": s(&status.service_name),
            "markerId": status.marker_id.map(|m| m.to_string()).unwrap_or_default(),
        },
    })
}

/// Whether objects this endpoint published may exist under names `spec.publish` no longer
/// wants, judged by the stored status (what the last reconcile wrote), so that a reconcile lists
/// the published kinds only then and not every time. Objects are published only after the first
/// status write (`Creating`, before the create), and names change only with the spec; what one
/// reconcile left to remove, it leaves `Synced` not True, or the `Published` condition behind
/// when `spec.publish` is gone.
fn may_have_leftovers(ep: &VpcEndpoint) -> bool {
    let Some(status) = &ep.status else {
        return false;
    };
    status.observed_generation != ep.metadata.generation
        || !conditions::is_true(&status.conditions, SYNCED)
        || (ep.spec.publish.is_none() && conditions::get(&status.conditions, PUBLISHED).is_some())
}

/// Whether an existing object is this endpoint's to change.
fn owned_by(meta: &kube::core::ObjectMeta, ep: &VpcEndpoint) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| Some(&r.uid) == ep.uid().as_ref() && r.controller == Some(true))
}

/// The EndpointSlice API the server offers: `discovery.k8s.io/v1` from Kubernetes 1.21, else
/// `v1beta1`.
pub async fn endpoint_slice_resource(kube: &kube::Client) -> Result<ApiResource, Error> {
    let version = match kube.list_api_group_resources("discovery.k8s.io/v1").await {
        Ok(list) if list.resources.iter().any(|r| r.name == "endpointslices") => "v1",
        Ok(_) | Err(kube::Error::Api(_)) => "v1beta1",
        Err(e) => return Err(e.into()),
    };
    Ok(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("discovery.k8s.io", version, "EndpointSlice"),
        "endpointslices",
    ))
}

/// Applies one object unless a same-named object exists that this endpoint does not own;
/// returns whether it was applied.
async fn apply_owned<K>(
    api: &Api<K>,
    ep: &VpcEndpoint,
    name: &str,
    manifest: &Value,
) -> Result<bool, Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if let Some(existing) = api.get_opt(name).await?
        && !owned_by(existing.meta(), ep)
    {
        return Ok(false);
    }
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(manifest),
    )
    .await?;
    Ok(true)
}

/// Deletes this endpoint's published objects of one kind whose names are not wanted any more.
async fn remove_others<K>(api: &Api<K>, ep: &VpcEndpoint, keep: Option<&str>) -> Result<(), Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let selector = format!("{ENDPOINT_LABEL}={}", ep.uid().unwrap_or_default());
    for obj in api.list(&ListParams::default().labels(&selector)).await? {
        if owned_by(obj.meta(), ep) && Some(obj.name_any().as_str()) != keep {
            api.delete(&obj.name_any(), &DeleteParams::default())
                .await?;
        }
    }
    Ok(())
}

/// Brings the published objects in line with `spec.publish` and the endpoint's status; the
/// verdict is the `Published` condition (`None` when nothing is to be published).
pub async fn publish(
    kube: &kube::Client,
    slices: &ApiResource,
    ep: &VpcEndpoint,
    status: &VpcEndpointStatus,
    target: Option<&VpcEndpointService>,
) -> Result<Option<Verdict>, Error> {
    let ns = ep.namespace().unwrap_or_default();
    let services: Api<KubeService> = Api::namespaced(kube.clone(), &ns);
    let slice_api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), &ns, slices);
    let config_maps: Api<ConfigMap> = Api::namespaced(kube.clone(), &ns);
    let publish = ep.spec.publish.clone().unwrap_or_default();
    let (svc_name, cm_name) = (publish.service.as_deref(), publish.config_map.as_deref());
    if may_have_leftovers(ep) {
        remove_others(&services, ep, svc_name).await?;
        remove_others(&slice_api, ep, svc_name).await?;
        remove_others(&config_maps, ep, cm_name).await?;
    }
    if ep.spec.publish.is_none() {
        return Ok(None);
    }

    let mut published = Vec::new();
    let mut problems = Vec::new();
    let not_owned = |kind: &str, name: &str| {
        format!(
            "a {kind} named {name} exists that this VpcEndpoint does not own; choose another name or delete it"
        )
    };
    if let Some(name) = svc_name {
        match ports(&publish, target) {
            None => problems
                .push("the ports of the target service are unknown: set publish.ports".to_string()),
            Some(ports) => {
                let address = slice_address(status).unwrap_or_else(|problem| {
                    problems.push(problem);
                    None
                });
                if !apply_owned(&services, ep, name, &service_manifest(ep, name, &ports)).await? {
                    problems.push(not_owned("Service", name));
                } else {
                    let slice =
                        slice_manifest(ep, &slices.api_version, name, &ports, status, address);
                    if apply_owned(&slice_api, ep, name, &slice).await? {
                        published.push(format!("Service {name}"));
                    } else {
                        problems.push(not_owned("EndpointSlice", name));
                    }
                }
            }
        }
    }
    if let Some(name) = cm_name {
        if apply_owned(
            &config_maps,
            ep,
            name,
            &config_map_manifest(ep, name, status),
        )
        .await?
        {
            published.push(format!("ConfigMap {name}"));
        } else {
            problems.push(not_owned("ConfigMap", name));
        }
    }
    Ok(Some(if problems.is_empty() {
        Verdict::yes(
            Reason::Published,
            format!("published as {}", published.join(" and ")),
        )
    } else {
        Verdict::no(Reason::NotPublished, problems.join("; "))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpcep_api::PublishPort;

    fn endpoint() -> VpcEndpoint {
        let mut ep: VpcEndpoint = serde_json::from_value(json!({
            "apiVersion": "vpcep.io/v1alpha1", "kind": "VpcEndpoint",
            "metadata": {"name": "db", "namespace": "shop", "uid": "uid-7"},
            "spec": {"serviceId": "8189d3c2-8882-4871-a3c2-d380272eed83", "vpcId": "4189d3c2-8882-4871-a3c2-d380272eed83", "subnetId": "6189d3c2-8882-4871-a3c2-d380272eed83",
                     "publish": {"service": "db", "configMap": "db-endpoint"}},
        }))
        .unwrap();
        ep.status = Some(VpcEndpointStatus {
            ip: Some("10.1.2.3".into()),
            dns_names: vec!["a.example".into(), "b.example".into()],
            service_id: Some("s1".into()),
            service_name: Some("eu-de.db.s1".into()),
            marker_id: Some(4_294_967_297),
            status: Some("accepted".into()),
            ..Default::default()
        });
        ep
    }

    fn target() -> VpcEndpointService {
        serde_json::from_value(json!({
            "apiVersion": "vpcep.io/v1alpha1", "kind": "VpcEndpointService", "metadata": {"name": "db"},
            "spec": {"vpcId": "4189d3c2-8882-4871-a3c2-d380272eed83", "portId": "5189d3c2-8882-4871-a3c2-d380272eed83", "serverType": "VM",
                     "ports": [{"clientPort": 5432, "serverPort": 5432}, {"clientPort": 53, "serverPort": 53, "protocol": "UDP"}]},
        }))
        .unwrap()
    }

    #[test]
    fn ports_come_from_the_spec_or_the_target() {
        let publish = endpoint().spec.publish.unwrap();
        assert_eq!(ports(&publish, None), None);
        let from_target = ports(&publish, Some(&target())).unwrap();
        assert_eq!(
            from_target,
            vec![
                Port {
                    name: "tcp-5432".into(),
                    port: 5432,
                    protocol: "TCP"
                },
                Port {
                    name: "udp-53".into(),
                    port: 53,
                    protocol: "UDP"
                }
            ]
        );
        let explicit = Publish {
            ports: Some(vec![PublishPort {
                name: Some("pg".into()),
                port: 6432,
                protocol: Protocol::Tcp,
            }]),
            ..publish
        };
        assert_eq!(
            ports(&explicit, Some(&target())).unwrap(),
            vec![Port {
                name: "pg".into(),
                port: 6432,
                protocol: "TCP"
            }]
        );
    }

    #[test]
    fn manifests_point_at_the_endpoint_and_are_owned_by_it() {
        let ep = endpoint();
        let status = ep.status.clone().unwrap();
        let p = ports(ep.spec.publish.as_ref().unwrap(), Some(&target())).unwrap();
        let svc = service_manifest(&ep, "db", &p);
        assert!(svc["spec"].get("selector").is_none(), "selector-less");
        assert_eq!(
            svc["spec"]["ports"][0],
            json!({"name": "tcp-5432", "port": 5432, "targetPort": 5432, "protocol": "TCP"})
        );
        let owner = &svc["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                owner["uid"].as_str(),
                owner["controller"].as_bool(),
                owner["kind"].as_str()
            ),
            (Some("uid-7"), Some(true), Some("VpcEndpoint"))
        );

        let address = slice_address(&status).unwrap();
        let slice = slice_manifest(&ep, "discovery.k8s.io/v1beta1", "db", &p, &status, address);
        assert_eq!(slice["apiVersion"], "discovery.k8s.io/v1beta1");
        assert_eq!(
            slice["metadata"]["labels"]["kubernetes.io/service-name"],
            "db"
        );
        assert_eq!(
            slice["endpoints"],
            json!([{"addresses": ["10.1.2.3"], "conditions": {"ready": true}}])
        );
        assert_eq!(
            slice["ports"][1],
            json!({"name": "udp-53", "port": 53, "protocol": "UDP"})
        );

        let cm = config_map_manifest(&ep, "db-endpoint", &status);
        assert_eq!(
            cm["data"],
            json!({"ip": "10.1.2.3", "dnsName": "a.example", "dnsNames": "a.example,b.example", "serviceId": "s1", "serviceName": "eu-de.db.s1", "markerId": "4294967297"})
        );
        assert_eq!(cm["metadata"]["labels"][ENDPOINT_LABEL], "uid-7");
    }

    #[test]
    fn a_slice_without_an_address_has_no_endpoints() {
        let ep = endpoint();
        let pending = VpcEndpointStatus {
            status: Some("pendingAcceptance".into()),
            ..Default::default()
        };
        assert_eq!(
            slice_manifest(&ep, "discovery.k8s.io/v1", "db", &[], &pending, None)["endpoints"],
            json!([])
        );
    }

    #[test]
    fn only_a_unicast_ipv4_goes_into_the_slice() {
        let with_ip = |ip: &str| VpcEndpointStatus {
            ip: Some(ip.into()),
            ..Default::default()
        };
        assert_eq!(slice_address(&VpcEndpointStatus::default()), Ok(None));
        assert_eq!(
            slice_address(&with_ip("192.168.0.7")),
            Ok(Some(Ipv4Addr::new(192, 168, 0, 7)))
        );
        for (ip, why) in [
            ("0.0.0.0", "unspecified"),
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("fe80::1", "no IPv4"),
            ("10.0.0.1, 10.0.0.2", "no IPv4"),
        ] {
            let err = slice_address(&with_ip(ip)).unwrap_err();
            assert!(err.contains(why) && err.contains(ip), "{ip}: {err}");
        }
    }

    #[test]
    fn labels_fit_whatever_the_endpoint_name() {
        let mut ep = endpoint();
        ep.metadata.name = Some("n".repeat(253));
        let svc = service_manifest(&ep, "db", &[]);
        for value in svc["metadata"]["labels"].as_object().unwrap().values() {
            assert!(value.as_str().unwrap().len() <= 63, "{value}");
        }
        assert_eq!(svc["metadata"]["labels"][ENDPOINT_LABEL], "uid-7");
    }

    #[test]
    fn ownership_needs_the_controller_reference() {
        let ep = endpoint();
        let mut meta = kube::core::ObjectMeta {
            owner_references: Some(vec![owner_reference(&ep)]),
            ..Default::default()
        };
        assert!(owned_by(&meta, &ep));
        meta.owner_references.as_mut().unwrap()[0].controller = Some(false);
        assert!(!owned_by(&meta, &ep));
        assert!(!owned_by(&kube::core::ObjectMeta::default(), &ep));
    }

    /// `ep` as the last reconcile stored it: at `observed` generation, with `Synced` and
    /// `Published` as given.
    fn stored(mut ep: VpcEndpoint, observed: i64, synced: bool, published: bool) -> VpcEndpoint {
        ep.metadata.generation = Some(2);
        let status = ep.status.as_mut().unwrap();
        status.observed_generation = Some(observed);
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now());
        let synced = match synced {
            true => Verdict::yes(Reason::ReconcileSuccess, "ok"),
            false => Verdict::no(Reason::CloudError, "failed"),
        };
        conditions::set(&mut status.conditions, SYNCED, synced, Some(2), now.clone());
        if published {
            let verdict = Verdict::yes(Reason::Published, "published");
            conditions::set(&mut status.conditions, PUBLISHED, verdict, Some(2), now);
        }
        ep
    }

    #[test]
    fn published_kinds_are_listed_only_when_something_may_be_left_to_remove() {
        let unpublished = || {
            let mut ep = endpoint();
            ep.spec.publish = None;
            ep
        };
        // Never written: nothing was ever published (publishing follows the first write).
        let mut new = unpublished();
        new.status = None;
        assert!(!may_have_leftovers(&new));
        // Settled, at the stored generation: the names it published are still the wanted ones.
        assert!(!may_have_leftovers(&stored(endpoint(), 2, true, true)));
        assert!(!may_have_leftovers(&stored(unpublished(), 2, true, false)));
        // The spec changed since: the wanted names may have.
        assert!(may_have_leftovers(&stored(endpoint(), 1, true, true)));
        // The last reconcile failed, maybe halfway through a removal.
        assert!(may_have_leftovers(&stored(endpoint(), 2, false, true)));
        // `publish` removed, and the condition of what was published is still there.
        assert!(may_have_leftovers(&stored(unpublished(), 2, true, true)));
    }
}
