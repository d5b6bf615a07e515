//! The cloud side of the controller's life cycle — finding the cloud object of a Kubernetes
//! object (recorded id, adoption annotation, owner tags after a lost create answer), duplicate
//! removal and the deletion states — as named scenarios against the simulator run in-process.
//! No Kubernetes API server.
//!
//! Each scenario asserts what was found and the exact calls made, through the simulator's request
//! counters (`GET /_sim/counters`), so that an extra create, lookup or tag query fails it. The
//! scenarios that do not depend on the kind run for services and for endpoints.

mod support;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fixtures::{CONSUMER_VPC, PORT as TARGET_PORT, SUBNET, VPC, wait_for_async};
use support::sim::{self, Sim};
use vpcep_api::{EXTERNAL_ID_ANNOTATION, OWNER_UID_TAG, VpcEndpointServiceSpec, VpcEndpointSpec};
use vpcep_cloud::config::CloudKind;
use vpcep_cloud::inventory::{Seen, Snapshot};
use vpcep_cloud::model::CreateServiceRequest;
use vpcep_cloud::model::{Endpoint, EndpointStatus, Service, ServiceStatus};
use vpcep_cloud::{ClientSettings, CloudError, ErrorKind, VpcepClient, api};
use vpcep_operator::controller::Error;
use vpcep_operator::controller::cloud_object::{
    CloudObject, Deletion, Located, find_by_owner, locate, remaining, request_delete,
};
use vpcep_operator::controller::plan::{Owner, create_endpoint_request, create_service_request};

/// The create request of a spec without Huawei-only fields, which both clouds take alike.
fn plain_service_request(spec: &VpcEndpointServiceSpec, owner: &Owner) -> CreateServiceRequest {
    create_service_request(spec, owner, CloudKind::Otc).expect("a spec both clouds take")
}

/// An id that no object of the simulator has.
const NEVER_CREATED: &str = "6b1f0c2e-9d8a-4c3b-8e7f-0a1b2c3d4e5f";

/// The owner of the Kubernetes object number `n` (its uid is a UUID, as Kubernetes makes them).
fn owner(n: u32) -> Owner {
    Owner {
        uid: format!("4a5b6c7d-0000-4000-8000-{n:012}"),
        cluster: "lifecycle-test".into(),
        adopted: false,
    }
}

/// A service spec on its own backend port: the cloud refuses two services that map the same
/// server port of one `port_id` (`EndPoint.3044`), so every service gets a port of its own.
fn service_spec(port_id: &str) -> VpcEndpointServiceSpec {
    serde_json::from_value(json!({
        "vpcId": VPC,
        "portId": port_id,
        "serverType": "VM",
        "ports": [{"clientPort": 80, "serverPort": 8080}],
        // Endpoints are accepted at once: connected, they block the service's deletion.
        "approvalEnabled": false,
    }))
    .expect("a valid service spec")
}

fn fresh_port_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "9c8b7a65-4d3e-4f2a-8b1c-{:012}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn endpoint_spec() -> VpcEndpointSpec {
    serde_json::from_value(json!({"vpcId": CONSUMER_VPC, "subnetId": SUBNET}))
        .expect("a valid endpoint spec")
}

fn ids<T: CloudObject>(objs: &[T]) -> Vec<String> {
    objs.iter().map(|o| o.id().to_string()).collect()
}

/// What `locate` found, comparable and printable (`Located` is neither).
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Recorded(String),
    Vanished(String),
    Adopted(String),
    Recovered(String),
    Absent,
}

fn found<T: CloudObject>(located: &Located<T>) -> Found {
    match located {
        Located::Recorded(o) => Found::Recorded(o.id().into()),
        Located::Vanished(id) => Found::Vanished(id.clone()),
        Located::Adopted(o) => Found::Adopted(o.id().into()),
        Located::Recovered(o) => Found::Recovered(o.id().into()),
        Located::Absent => Found::Absent,
    }
}

/// Request counts by the simulator's operation names.
fn calls(expected: &[(&str, u64)]) -> BTreeMap<String, u64> {
    expected
        .iter()
        .map(|(op, n)| (op.to_string(), *n))
        .collect()
}

/// The simulator with an account, its client, and an available service for endpoints.
struct Cloud {
    sim: Sim,
    client: VpcepClient,
    /// Not owned by any scenario's owner: its tags never match their queries.
    service: Service,
}

impl Cloud {
    /// Objects are ready at once; deleted ones stay `deleting` for `delete_delay`.
    async fn start(delete_delay: &str) -> Cloud {
        let sim = Sim::start(&["--provision-delay", "0s", "--delete-delay", delete_delay]);
        // No client-side rate limit gets in the way of a scenario's calls.
        let settings = ClientSettings {
            rate_per_second: NonZeroU32::new(1000).expect("non-zero"),
            burst: NonZeroU32::new(1000).expect("non-zero"),
            ..ClientSettings::default()
        };
        let client = sim.client_as(
            sim::aksk(sim::ACCESS_KEY, sim::SECRET_KEY),
            sim::PROJECT_ID,
            settings,
        );
        let service = client
            .execute(api::create_service(&plain_service_request(
                &service_spec(TARGET_PORT),
                &owner(999_999),
            )))
            .await
            .expect("the target service is created");
        let cloud = Cloud {
            sim,
            client,
            service,
        };
        cloud.calls().await;
        cloud
    }

    /// The requests per operation since the last call (or the start), then zeroes them.
    async fn calls(&self) -> BTreeMap<String, u64> {
        let counters = self.sim.get("counters").await;
        self.sim.delete("counters").await;
        serde_json::from_value(counters).expect("counters are operation: count")
    }

    /// The next `n` creates of this kind are committed, but their answers are lost.
    async fn lose_create_answers<K: Kind>(&self, n: u32) {
        self.sim
            .post(
                "faults",
                json!({"operation": K::CREATE, "kind": "drop", "times": n}),
            )
            .await;
    }

    /// The simulator's records of this kind with this owner's uid tag, in creation order, as
    /// `(id, status)`.
    async fn owned<K: Kind>(&self, owner: &Owner) -> Vec<(String, String)> {
        let state = self.sim.get("state").await;
        let mut records: Vec<&Value> = state[K::RECORDS]
            .as_array()
            .expect("records")
            .iter()
            .filter(|r| {
                r["tags"].as_array().is_some_and(|tags| {
                    tags.iter()
                        .any(|t| t["key"] == OWNER_UID_TAG && t["value"] == owner.uid.as_str())
                })
            })
            .collect();
        records.sort_by_key(|r| r["seq"].as_u64());
        records
            .into_iter()
            .map(|r| {
                (
                    r["id"].as_str().expect("id").to_string(),
                    r["status"].as_str().expect("status").to_string(),
                )
            })
            .collect()
    }

    /// Waits (bounded) until the simulator no longer has the object: its deletion has finished.
    async fn wait_until_gone<K: Kind>(&self, id: &str) {
        let what = format!("the deletion of the {} {id}", K::NOUN);
        wait_for_async(
            &what,
            Duration::from_secs(10),
            Duration::from_millis(20),
            async || self.sim.get("state").await[K::RECORDS].clone(),
            |records| {
                !records
                    .as_array()
                    .expect("records")
                    .iter()
                    .any(|r| r["id"] == id)
            },
        )
        .await;
    }

    async fn get<K: Kind>(&self, id: &str) -> K {
        self.client.execute(K::get(id)).await.expect("the object")
    }
}

/// What the scenarios need to know of a kind besides [`CloudObject`].
trait Kind: CloudObject + std::fmt::Debug {
    /// The simulator's operation names.
    const CREATE: &'static str;
    const GET: &'static str;
    const DELETE: &'static str;
    /// The records' key in `/_sim/state`.
    const RECORDS: &'static str;
    /// Sends the create the controller sends for an object of `owner` (with its owner tags).
    async fn create(cloud: &Cloud, owner: &Owner) -> Result<Self, CloudError>;
}

impl Kind for Service {
    const CREATE: &'static str = "create_service";
    const GET: &'static str = "get_service";
    const DELETE: &'static str = "delete_service";
    const RECORDS: &'static str = "services";
    async fn create(cloud: &Cloud, owner: &Owner) -> Result<Self, CloudError> {
        let request = plain_service_request(&service_spec(&fresh_port_id()), owner);
        cloud.client.execute(api::create_service(&request)).await
    }
}

impl Kind for Endpoint {
    const CREATE: &'static str = "create_endpoint";
    const GET: &'static str = "get_endpoint";
    const DELETE: &'static str = "delete_endpoint";
    const RECORDS: &'static str = "endpoints";
    async fn create(cloud: &Cloud, owner: &Owner) -> Result<Self, CloudError> {
        let request = create_endpoint_request(&endpoint_spec(), &cloud.service.id, owner);
        cloud.client.execute(api::create_endpoint(&request)).await
    }
}

/// One test per kind for each generic scenario: `<scenario>::service`, `<scenario>::endpoint`.
macro_rules! for_both_kinds {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;
            #[tokio::test]
            async fn service() {
                super::$scenario::<Service>().await
            }
            #[tokio::test]
            async fn endpoint() {
                super::$scenario::<Endpoint>().await
            }
        }
    )*};
}

for_both_kinds!(
    nothing_recorded_and_no_create_sent_is_absent_without_a_cloud_call,
    nothing_recorded_after_a_create_was_sent_asks_the_tags_once,
    recorded_id_present_is_recorded_with_one_get,
    recorded_id_deleted_behind_the_operators_back_is_vanished,
    a_successor_with_the_owner_tags_is_recovered_when_the_recorded_one_is_gone,
    external_id_annotation_adopts_the_named_object,
    external_id_annotation_naming_nothing_is_an_invalid_spec,
    lost_create_answer_is_recovered_by_the_owner_tags,
    duplicates_from_lost_answers_keep_the_oldest_and_delete_the_rest,
    a_duplicate_still_deleting_comes_back_but_is_not_deleted_again,
    deletion_is_requested_once_then_waited_for_until_gone,
    leftovers_are_looked_for_only_once_the_recorded_object_is_gone,
);

/// The status has no id and no create was ever sent: nothing can exist, and the tag query is
/// skipped. To prove it, an object with this owner's tags does exist here; a `locate` that asked
/// the tags would find it.
async fn nothing_recorded_and_no_create_sent_is_absent_without_a_cloud_call<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(1);
    K::create(&cloud, &owner).await.expect("created");
    cloud.calls().await;

    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, false)
        .await
        .expect("located");

    assert_eq!(found(&located), Found::Absent);
    assert!(duplicates.is_empty());
    assert_eq!(cloud.calls().await, calls(&[]), "no cloud call at all");
}

/// A create may have been sent but nothing carries the owner tags: absent after one tag query
/// (and no GET, as there is nothing to fetch).
async fn nothing_recorded_after_a_create_was_sent_asks_the_tags_once<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(2);
    // Someone else's object does not count.
    K::create(&cloud, &self::owner(3)).await.expect("created");
    cloud.calls().await;

    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");

    assert_eq!(found(&located), Found::Absent);
    assert!(duplicates.is_empty());
    assert_eq!(cloud.calls().await, calls(&[("query_resources", 1)]));
}

/// The recorded id wins over the annotation and the owner tags: one GET, nothing else.
async fn recorded_id_present_is_recorded_with_one_get<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(4);
    let recorded = K::create(&cloud, &owner).await.expect("created");
    // Also an owner-tagged duplicate and an object the annotation names: neither is looked at.
    K::create(&cloud, &owner).await.expect("created");
    let other = K::create(&cloud, &self::owner(5)).await.expect("created");
    cloud.calls().await;

    let (located, duplicates) = locate::<K>(
        &cloud.client,
        None,
        Some(recorded.id()),
        Some(other.id()),
        &owner,
        true,
    )
    .await
    .expect("located");

    assert_eq!(found(&located), Found::Recorded(recorded.id().into()));
    assert!(duplicates.is_empty());
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]));
}

/// An object of owner `n` created, then deleted directly (as someone else would) until gone.
async fn created_then_deleted_directly<K: Kind>(n: u32) -> (Cloud, Owner, K) {
    let cloud = Cloud::start("0s").await;
    let owner = owner(n);
    let recorded = K::create(&cloud, &owner).await.expect("created");
    cloud
        .client
        .execute(K::delete(recorded.id()))
        .await
        .expect("deleted directly");
    cloud.wait_until_gone::<K>(recorded.id()).await;
    (cloud, owner, recorded)
}

/// The recorded object was deleted by someone else: Vanished, after one GET (404) and one tag
/// query that finds no successor.
async fn recorded_id_deleted_behind_the_operators_back_is_vanished<K: Kind>() {
    let (cloud, owner, recorded) = created_then_deleted_directly::<K>(6).await;
    cloud.calls().await;

    let (located, duplicates) =
        locate::<K>(&cloud.client, None, Some(recorded.id()), None, &owner, true)
            .await
            .expect("located");

    assert_eq!(found(&located), Found::Vanished(recorded.id().into()));
    assert!(duplicates.is_empty());
    assert_eq!(
        cloud.calls().await,
        calls(&[(K::GET, 1), ("query_resources", 1)])
    );
}

/// The recorded object is gone, but another one carries the owner tags (an endpoint replaced
/// with its old one deleted first, see src/controller/replace.rs): that one is taken over.
async fn a_successor_with_the_owner_tags_is_recovered_when_the_recorded_one_is_gone<K: Kind>() {
    let (cloud, owner, recorded) = created_then_deleted_directly::<K>(16).await;
    let successor = K::create(&cloud, &owner).await.expect("created");

    let (located, duplicates) =
        locate::<K>(&cloud.client, None, Some(recorded.id()), None, &owner, true)
            .await
            .expect("located");

    assert_eq!(found(&located), Found::Recovered(successor.id().into()));
    assert!(duplicates.is_empty());
}

/// The annotation names an object the operator did not create: it is taken over (one GET), even
/// when an object with the owner tags exists too.
async fn external_id_annotation_adopts_the_named_object<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(7);
    let foreign = K::create(&cloud, &self::owner(8)).await.expect("created");
    K::create(&cloud, &owner).await.expect("created");
    cloud.calls().await;

    let (located, duplicates) =
        locate::<K>(&cloud.client, None, None, Some(foreign.id()), &owner, true)
            .await
            .expect("located");

    assert_eq!(found(&located), Found::Adopted(foreign.id().into()));
    assert!(duplicates.is_empty());
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]));
}

/// An annotation naming no object is the user's mistake: an invalid spec whose message names
/// the annotation and the id, not a cloud error to retry, and no fallback to the owner tags.
async fn external_id_annotation_naming_nothing_is_an_invalid_spec<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(9);
    K::create(&cloud, &owner).await.expect("created");
    cloud.calls().await;

    let result = locate::<K>(&cloud.client, None, None, Some(NEVER_CREATED), &owner, true).await;

    let Err(e @ Error::InvalidSpec(_)) = result else {
        panic!(
            "expected an invalid spec, got {:?}",
            result.map(|(l, _)| found(&l))
        );
    };
    let message = e.to_string();
    for part in [EXTERNAL_ID_ANNOTATION, NEVER_CREATED, K::NOUN] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]));
}

/// The cloud made the object but the answer never arrived: the client does not repeat the
/// create, and the next `locate` finds the object by its owner tags.
async fn lost_create_answer_is_recovered_by_the_owner_tags<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(10);
    cloud.lose_create_answers::<K>(1).await;

    let lost = K::create(&cloud, &owner).await;

    let Err(e) = lost else {
        panic!("the create answer should have been lost");
    };
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let detail = cloud.sim.get("counters/detail").await;
    assert_eq!(
        detail[K::CREATE],
        json!({"total": 1, "outcomes": {"dropped": 1}}),
        "one create, committed and dropped, not repeated"
    );
    let committed = cloud.owned::<K>(&owner).await;
    assert_eq!(committed.len(), 1, "{committed:?}");
    let id = committed[0].0.clone();
    cloud.calls().await;

    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");

    assert_eq!(found(&located), Found::Recovered(id.clone()));
    assert!(duplicates.is_empty());
    assert_eq!(
        cloud.calls().await,
        calls(&[("query_resources", 1), (K::GET, 1)])
    );
    assert_eq!(
        cloud.owned::<K>(&owner).await.len(),
        1,
        "exactly one object"
    );
}

/// Three creates whose answers were lost left three objects with the same owner tags. The oldest
/// (by `created_at`) is the one, the others come back oldest first for removal; deleting them
/// leaves one. The creation times are set so that the oldest is neither the first created nor
/// the smallest id: keeping the cloud's order or sorting by id picks another one.
async fn duplicates_from_lost_answers_keep_the_oldest_and_delete_the_rest<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(11);
    cloud.lose_create_answers::<K>(3).await;
    for _ in 0..3 {
        K::create(&cloud, &owner)
            .await
            .expect_err("the answer is lost");
    }
    let made: Vec<String> = cloud
        .owned::<K>(&owner)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(made.len(), 3, "{made:?}");
    let smallest = made.iter().min().expect("three");
    let oldest = made[1..]
        .iter()
        .find(|id| *id != smallest)
        .expect("one of two")
        .clone();
    // The other two: the later created is the older one.
    let mut newer: Vec<String> = made.iter().filter(|id| **id != oldest).cloned().collect();
    newer.reverse();
    for (id, at) in [&oldest, &newer[0], &newer[1]].into_iter().zip([
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:01Z",
        "2024-01-01T00:00:02Z",
    ]) {
        cloud
            .sim
            .patch(&format!("{}/{id}", K::RECORDS), json!({"created_at": at}))
            .await;
    }
    cloud.calls().await;

    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");

    assert_eq!(found(&located), Found::Recovered(oldest.clone()));
    assert_eq!(ids(&duplicates), newer);
    assert_eq!(
        cloud.calls().await,
        calls(&[("query_resources", 1), (K::GET, 3)])
    );

    for duplicate in &duplicates {
        assert_eq!(
            request_delete(&cloud.client, duplicate)
                .await
                .expect("deleted"),
            Deletion::InProgress
        );
    }
    assert_eq!(cloud.calls().await, calls(&[(K::DELETE, 2)]));

    // With no delete delay they are gone at once; the next pass finds only the oldest.
    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");
    assert_eq!(found(&located), Found::Recovered(oldest.clone()));
    assert!(duplicates.is_empty());
    assert_eq!(
        cloud.calls().await,
        calls(&[("query_resources", 1), (K::GET, 1)])
    );
    let left: Vec<String> = cloud
        .owned::<K>(&owner)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(left, vec![oldest]);
}

/// The cloud keeps listing a duplicate while it is `deleting`: the next pass gets it back as a
/// duplicate again (the controller calls `request_delete` on every duplicate of every pass), and
/// that sends no second DELETE.
async fn a_duplicate_still_deleting_comes_back_but_is_not_deleted_again<K: Kind>() {
    let cloud = Cloud::start("1s").await;
    let owner = owner(15);
    cloud.lose_create_answers::<K>(2).await;
    for _ in 0..2 {
        K::create(&cloud, &owner)
            .await
            .expect_err("the answer is lost");
    }
    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");
    let Found::Recovered(kept) = found(&located) else {
        panic!("expected Recovered, got {:?}", found(&located));
    };
    assert_eq!(duplicates.len(), 1);
    let duplicate = duplicates[0].id().to_string();
    assert_eq!(
        request_delete(&cloud.client, &duplicates[0])
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    cloud.calls().await;

    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");

    assert_eq!(found(&located), Found::Recovered(kept.clone()));
    assert_eq!(ids(&duplicates), vec![duplicate.clone()]);
    assert!(duplicates[0].is_deleting());
    assert_eq!(
        request_delete(&cloud.client, &duplicates[0])
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    assert_eq!(
        cloud.calls().await,
        calls(&[("query_resources", 1), (K::GET, 2)]),
        "no second DELETE"
    );

    cloud.wait_until_gone::<K>(&duplicate).await;
    let (located, duplicates) = locate::<K>(&cloud.client, None, None, None, &owner, true)
        .await
        .expect("located");
    assert_eq!(found(&located), Found::Recovered(kept));
    assert!(duplicates.is_empty());
}

/// A deletion over several passes: the first sends DELETE and the object turns `deleting`; a pass
/// on the `deleting` object sends nothing; `remaining` keeps returning it (asking only for the
/// recorded id) until it is gone, then nothing; a DELETE answered 404 counts as gone.
async fn deletion_is_requested_once_then_waited_for_until_gone<K: Kind>() {
    // Long enough to observe `deleting` over a few calls, short enough to wait for.
    let cloud = Cloud::start("1s").await;
    let owner = owner(12);
    let obj = K::create(&cloud, &owner).await.expect("created");
    let id = obj.id().to_string();
    cloud.calls().await;

    let left = remaining::<K>(&cloud.client, None, Some(&id), &owner)
        .await
        .expect("remaining");
    assert_eq!(ids(&left), vec![id.clone()]);
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]));

    assert_eq!(
        request_delete(&cloud.client, &obj)
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    assert_eq!(cloud.calls().await, calls(&[(K::DELETE, 1)]));

    let left = remaining::<K>(&cloud.client, None, Some(&id), &owner)
        .await
        .expect("remaining");
    assert_eq!(ids(&left), vec![id.clone()]);
    assert!(left[0].is_deleting());
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]));

    assert_eq!(
        request_delete(&cloud.client, &left[0])
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    assert_eq!(cloud.calls().await, calls(&[]), "no second DELETE");

    cloud.wait_until_gone::<K>(&id).await;
    let left = remaining::<K>(&cloud.client, None, Some(&id), &owner)
        .await
        .expect("remaining");
    assert!(left.is_empty(), "{:?}", ids(&left));
    assert_eq!(
        cloud.calls().await,
        calls(&[(K::GET, 1), ("query_resources", 1)])
    );

    // A stale copy from before the deletion: its DELETE answers 404, which is done.
    assert_eq!(
        request_delete(&cloud.client, &obj).await.expect("gone"),
        Deletion::Gone
    );
    assert_eq!(cloud.calls().await, calls(&[(K::DELETE, 1)]));
}

/// A lost create left an owner-tagged object besides the recorded one. While the recorded one
/// exists, only it is asked for; once it is gone, the leftover is found by the owner tags.
async fn leftovers_are_looked_for_only_once_the_recorded_object_is_gone<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(13);
    let recorded = K::create(&cloud, &owner).await.expect("created");
    let recorded_id = recorded.id().to_string();
    cloud.lose_create_answers::<K>(1).await;
    K::create(&cloud, &owner)
        .await
        .expect_err("the answer is lost");
    let leftover = cloud
        .owned::<K>(&owner)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| *id != recorded_id)
        .expect("the leftover");
    cloud.calls().await;

    let left = remaining::<K>(&cloud.client, None, Some(&recorded_id), &owner)
        .await
        .expect("remaining");
    assert_eq!(ids(&left), vec![recorded_id.clone()]);
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]), "no tag query");

    // The known object is left out of the tag query's result without being fetched.
    let others = find_by_owner::<K>(&cloud.client, None, &owner, Some(&recorded_id))
        .await
        .expect("found");
    assert_eq!(ids(&others), vec![leftover.clone()]);
    assert_eq!(
        cloud.calls().await,
        calls(&[("query_resources", 1), (K::GET, 1)])
    );

    // Nothing recorded: everything with the owner tags.
    let mut all = ids(&remaining::<K>(&cloud.client, None, None, &owner)
        .await
        .expect("remaining"));
    all.sort();
    let mut expected = vec![recorded_id.clone(), leftover.clone()];
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(
        cloud.calls().await,
        calls(&[("query_resources", 1), (K::GET, 2)])
    );

    // The recorded object vanishes: the leftover is what remains.
    cloud
        .sim
        .delete(&format!("{}/{recorded_id}", K::RECORDS))
        .await;
    let left = remaining::<K>(&cloud.client, None, Some(&recorded_id), &owner)
        .await
        .expect("remaining");
    assert_eq!(ids(&left), vec![leftover.clone()]);
    assert_eq!(
        cloud.calls().await,
        calls(&[(K::GET, 2), ("query_resources", 1)])
    );

    assert_eq!(
        request_delete(&cloud.client, &left[0])
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    let left = remaining::<K>(&cloud.client, None, Some(&recorded_id), &owner)
        .await
        .expect("remaining");
    assert!(left.is_empty(), "{:?}", ids(&left));
    assert_eq!(
        cloud.calls().await,
        calls(&[(K::DELETE, 1), (K::GET, 1), ("query_resources", 1)])
    );
}

/// A service with a connected endpoint: the cloud refuses its deletion (400 `EndPoint.3006`),
/// which is `DeletionBlocked` (not retried soon), and the service stays. Once the endpoint is
/// gone the deletion goes through.
/// An annotation naming another route of the API (`public` answers the list of public services)
/// adopts nothing: the answer is not the object asked for.
#[tokio::test]
async fn external_id_annotation_naming_a_route_is_an_invalid_spec() {
    let cloud = Cloud::start("0s").await;
    let result =
        locate::<Service>(&cloud.client, None, None, Some("public"), &owner(15), true).await;
    let Err(e @ Error::InvalidSpec(_)) = result else {
        panic!(
            "expected an invalid spec, got {:?}",
            result.map(|(l, _)| found(&l))
        );
    };
    assert!(e.to_string().contains("\"public\""), "{e}");
}

#[tokio::test]
async fn deleting_a_service_in_use_by_a_connected_endpoint_is_blocked() {
    let cloud = Cloud::start("0s").await;
    let service = cloud.service.clone();
    let endpoint = Endpoint::create(&cloud, &owner(14)).await.expect("created");
    assert_eq!(
        cloud.get::<Endpoint>(&endpoint.id).await.status,
        EndpointStatus::Accepted
    );
    cloud.calls().await;

    let result = request_delete(&cloud.client, &service).await;

    let Err(e @ Error::DeletionBlocked(_)) = result else {
        panic!("expected DeletionBlocked, got {result:?}");
    };
    assert!(!e.is_transient());
    let message = e.to_string();
    for part in [service.id.as_str(), "EndPoint.3006"] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    let detail = cloud.sim.get("counters/detail").await;
    assert_eq!(
        detail["delete_service"],
        json!({"total": 1, "outcomes": {"400": 1}})
    );
    assert_eq!(cloud.calls().await, calls(&[("delete_service", 1)]));
    assert_eq!(
        cloud.get::<Service>(&service.id).await.status,
        ServiceStatus::Available
    );

    assert_eq!(
        request_delete(&cloud.client, &endpoint)
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    cloud.wait_until_gone::<Endpoint>(&endpoint.id).await;
    assert_eq!(
        request_delete(&cloud.client, &service)
            .await
            .expect("requested"),
        Deletion::InProgress
    );
    assert_eq!(
        cloud.calls().await,
        calls(&[
            ("delete_endpoint", 1),
            ("get_service", 1),
            ("delete_service", 1)
        ])
    );
}

for_both_kinds!(the_inventory_answers_for_recorded_objects_and_proves_them_gone);

/// A listing of the account (crates/cloud/src/inventory.rs) answers for the recorded object
/// without a GET; once the object is deleted, a newer listing reports the change and proves the
/// object gone, so that neither `remaining` nor `locate` asks the cloud again (the listing is
/// complete, so the owner tags are looked for in it, not by a query). An object created after
/// the listing began is read with a GET.
async fn the_inventory_answers_for_recorded_objects_and_proves_them_gone<K: Kind>() {
    let cloud = Cloud::start("0s").await;
    let owner = owner(20);
    let recorded = K::create(&cloud, &owner).await.expect("created");
    let id = recorded.id().to_string();
    cloud.calls().await;
    let listed = |since| cloud.client.inventory().since(&cloud.client, since);
    // What `locate` finds for the recorded `id` of `owner` with the listing `view`.
    let located = async |view: &Snapshot, id: &str, owner: &Owner| {
        let (located, _) = locate::<K>(&cloud.client, Some(view), Some(id), None, owner, true)
            .await
            .expect("located");
        found(&located)
    };

    let first = listed(Instant::now())
        .await
        .expect("listed")
        .expect("a snapshot");
    assert!(first.changes.is_none(), "nothing to compare the first with");
    assert_eq!(
        cloud.calls().await,
        calls(&[("list_endpoints", 1), ("list_services", 1)])
    );
    assert_eq!(
        located(&first.snapshot, &id, &owner).await,
        Found::Recorded(id.clone())
    );
    // A listing begun earlier than asked for is not shared.
    let shared = listed(first.snapshot.started)
        .await
        .expect("listed")
        .expect("a snapshot");
    assert!(Arc::ptr_eq(&shared.snapshot, &first.snapshot));
    assert_eq!(cloud.calls().await, calls(&[]), "no GET, no second listing");

    // Created after the listing began: not in it, so read with one GET.
    let later = K::create(&cloud, &self::owner(21)).await.expect("created");
    cloud.calls().await;
    assert_eq!(
        located(&first.snapshot, later.id(), &self::owner(21)).await,
        Found::Recorded(later.id().into())
    );
    assert_eq!(cloud.calls().await, calls(&[(K::GET, 1)]));

    cloud
        .client
        .execute(K::delete(&id))
        .await
        .expect("deleted directly");
    cloud.wait_until_gone::<K>(&id).await;
    cloud.calls().await;
    let second = listed(Instant::now())
        .await
        .expect("listed")
        .expect("a snapshot");
    let changes = second.changes.expect("compared with the first");
    assert!(
        changes.services.contains(&id) || changes.endpoints.contains(&id),
        "{changes:?}"
    );
    let left = remaining::<K>(&cloud.client, Some(&second.snapshot), Some(&id), &owner)
        .await
        .expect("remaining");
    assert!(left.is_empty(), "{:?}", ids(&left));
    assert_eq!(
        located(&second.snapshot, &id, &owner).await,
        Found::Vanished(id.clone())
    );
    assert_eq!(
        cloud.calls().await,
        calls(&[("list_endpoints", 1), ("list_services", 1)]),
        "the listing only: no GET, no tag query"
    );
}

/// A listing of many pages, each repeating the end of the one before, finds every object once
/// and leaves no seam open when nothing is deleted meanwhile.
#[tokio::test]
async fn the_inventory_reads_many_pages_without_a_seam() {
    let sim = Sim::start(&["--provision-delay", "0s"]);
    let settings = ClientSettings {
        rate_per_second: NonZeroU32::new(1000).expect("non-zero"),
        burst: NonZeroU32::new(1000).expect("non-zero"),
        page_size: 4,
        ..ClientSettings::default()
    };
    let client = sim.client_as(
        sim::aksk(sim::ACCESS_KEY, sim::SECRET_KEY),
        sim::PROJECT_ID,
        settings,
    );
    let mut created = Vec::new();
    for n in 0..11 {
        let request = plain_service_request(&service_spec(&fresh_port_id()), &owner(30 + n));
        let svc = client
            .execute(api::create_service(&request))
            .await
            .expect("created");
        created.push(svc.id);
    }
    let taken = client
        .inventory()
        .since(&client, Instant::now())
        .await
        .expect("listed")
        .expect("a snapshot");
    let services = &taken.snapshot.services;
    assert_eq!(services.len(), created.len());
    assert!(services.is_complete());
    for id in &created {
        assert!(
            matches!(taken.snapshot.seen::<Service>(id), Seen::Present(s) if s.id == *id),
            "{id}"
        );
    }
}
