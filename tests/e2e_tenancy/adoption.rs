//! Tenancy: a cloud object belongs to one Kubernetes object. The adoption annotation cannot take
//! another object's cloud object; `deletionPolicy: Orphan` releases one for adoption; the account
//! (project and region) of an object cannot change under it.

use std::time::Duration;

use super::support::cluster::{Env, OperatorArgs, kubectl_raw};
use super::support::fixtures::{
    PORT, cloud_objects, credentials_secret, endpoint_yaml, service_yaml, str_at, tag,
};
use super::support::sim::{self, aksk};
use super::{BOB_AK, BOB_PROJECT, BOB_SK, SIM_ARGS, adopting, labelled};
use vpcep_api::{OWNER_UID_TAG, RESERVED_TAG_PREFIX};
use vpcep_cloud::ClientSettings;
use vpcep_cloud::api::{self, PageParams};
use vpcep_cloud::model::ConnectionQuery;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_takeover_by_annotation_is_refused_and_the_victim_is_untouched() {
    let args = OperatorArgs {
        cluster_wide: true,
        ..Default::default()
    };
    let mut env = Env::start("takeover", SIM_ARGS, args);
    let attacker = env.namespace("attacker");
    let db = service_yaml("db", PORT, (8080, 80), "  approvalEnabled: false\n");
    env.apply_ok(&labelled(&env, &db));
    let client = endpoint_yaml("client", "serviceRef: {name: db}", "");
    env.apply_ok(&labelled(&env, &client));
    env.wait_ready(&["vpcesvc/db", "vpce/client"], "90s");
    let id = str_at(&env.get("vpcesvc/db"), &["status", "id"]).to_string();
    let cloud = env.sim.owner_client();
    let before = cloud.execute(api::get_service(&id)).await.unwrap();
    let connections = || async {
        let page = PageParams {
            limit: 100,
            offset: 0,
        };
        let query = ConnectionQuery::default();
        let list = cloud.execute(api::list_connections(&id, &query, page));
        let mut conns: Vec<_> = list.await.unwrap().connections;
        conns.sort_by(|a, b| a.id.cmp(&b.id));
        conns
            .into_iter()
            .map(|c| (c.id, c.status))
            .collect::<Vec<_>>()
    };
    let conns_before = connections().await;
    env.sim.delete("counters").await;

    // Another namespace names the service's id (it is part of the name every consumer gets),
    // with forceDelete, which would reject the victim's connections on deletion.
    let grab = service_yaml("grab", PORT, (8080, 80), "  forceDelete: true\n");
    attacker.apply_ok(&adopting(&labelled(&env, &grab), &id));
    let refused = attacker.wait_not_synced("vpcesvc/grab", "AdoptionRefused", WAIT);
    assert!(
        refused.contains(&format!("VpcEndpointService {}/db", env.ns)),
        "the owner is named: {refused}"
    );
    let grabbed = attacker.get("vpcesvc/grab");
    assert!(grabbed["status"]["id"].is_null(), "{grabbed}");

    // Its deletion ends at once and deletes nothing.
    attacker.kubectl(&["delete", "vpcesvc/grab", "--wait=false"]);
    attacker.wait_deleted("vpcesvc/grab", "30s");
    assert_eq!(
        env.sim.cloud_writes().await,
        vec![],
        "no cloud write at all"
    );
    let after = cloud.execute(api::get_service(&id)).await.unwrap();
    assert_eq!(after.tags, before.tags, "the owner tags are untouched");
    assert_eq!(connections().await, conns_before, "connections untouched");
    env.wait_ready(&["vpcesvc/db", "vpce/client"], "10s");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn an_orphaned_object_can_be_adopted_again_and_the_annotation_must_be_an_id() {
    let env = Env::start("release", SIM_ARGS, OperatorArgs::default());
    let old = service_yaml("old", PORT, (8080, 80), "  deletionPolicy: Orphan\n");
    env.apply_ok(&old);
    env.wait_ready(&["vpcesvc/old"], "60s");
    let id = str_at(&env.get("vpcesvc/old"), &["status", "id"]).to_string();
    env.kubectl(&["delete", "vpcesvc/old", "--wait=false"]);
    env.wait_deleted("vpcesvc/old", "30s");
    let cloud = env.sim.owner_client();
    let (services, _) = cloud_objects(&cloud).await;
    assert_eq!(services.len(), 1, "orphaned, not deleted");
    assert!(
        services[0]
            .tags
            .iter()
            .all(|t| !t.key.starts_with(RESERVED_TAG_PREFIX)),
        "the owner tags are removed: {:?}",
        services[0].tags
    );

    let new = service_yaml("new", PORT, (8080, 80), "");
    env.apply_ok(&adopting(&new, &id));
    env.wait_ready(&["vpcesvc/new"], "60s");
    let adopted = env.get("vpcesvc/new");
    assert_eq!(str_at(&adopted, &["status", "id"]), id);
    let service = cloud.execute(api::get_service(&id)).await.unwrap();
    assert_eq!(
        tag(&service.tags, OWNER_UID_TAG),
        None,
        "an adoption writes no owner tags"
    );

    let bad = service_yaml("bad", PORT, (8080, 80), "");
    env.apply_ok(&adopting(&bad, "../../vpc-endpoints"));
    let invalid = env.wait_not_synced("vpcesvc/bad", "InvalidSpec", WAIT);
    assert!(invalid.contains("UUID"), "{invalid}");
    assert_eq!(cloud_objects(&cloud).await.0.len(), 1, "nothing created");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn the_account_of_an_existing_object_cannot_change() {
    let env = Env::start("account", SIM_ARGS, OperatorArgs::default());
    let owner = credentials_secret(
        "creds",
        &env.sim.url,
        sim::PROJECT_ID,
        sim::ACCESS_KEY,
        sim::SECRET_KEY,
    );
    env.apply_ok(&owner);
    let db = service_yaml(
        "db",
        PORT,
        (8080, 80),
        "  credentialsSecretRef: {name: creds}\n",
    );
    env.apply_ok(&db);
    env.wait_ready(&["vpcesvc/db"], "60s");
    let obj = env.get("vpcesvc/db");
    assert_eq!(str_at(&obj, &["status", "projectId"]), sim::PROJECT_ID);
    assert_eq!(str_at(&obj, &["status", "region"]), "eu-de");

    // The Secret now names Bob's project: refused, and nothing is created there.
    let bob = credentials_secret("creds", &env.sim.url, BOB_PROJECT, BOB_AK, BOB_SK);
    env.apply_ok(&bob);
    let refused = env.wait_not_synced("vpcesvc/db", "InvalidSpec", WAIT);
    assert!(
        refused.contains(BOB_PROJECT) && refused.contains(sim::PROJECT_ID),
        "{refused}"
    );
    let bob_client =
        env.sim
            .client_as(aksk(BOB_AK, BOB_SK), BOB_PROJECT, ClientSettings::default());
    let owner_client = env.sim.owner_client();
    assert!(cloud_objects(&bob_client).await.0.is_empty());
    assert_eq!(cloud_objects(&owner_client).await.0.len(), 1);

    // A deletion with the wrong account says how to get out, and deletes nothing.
    env.kubectl(&["delete", "vpcesvc/db", "--wait=false"]);
    let stuck = env.wait_for("vpcesvc/db", WAIT, "a way out", |o| {
        Env::condition(o, "Synced").is_some_and(|(_, _, m)| m.contains("deletionPolicy: Orphan"))
    });
    let (_, ready, _) = Env::condition(&stuck, "Ready").expect("Ready");
    assert_eq!(ready, "Deleting");
    assert_eq!(cloud_objects(&owner_client).await.0.len(), 1, "not leaked");

    // With the right credentials back, the deletion completes.
    env.apply_ok(&owner);
    env.wait_deleted("vpcesvc/db", "60s");
    assert!(cloud_objects(&owner_client).await.0.is_empty());
    let (ok, _, _) = kubectl_raw(&["-n", &env.ns, "get", "secret", "creds"], None);
    assert!(ok, "the Secret itself stays");
}
