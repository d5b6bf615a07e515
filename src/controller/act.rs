//! The cloud writes of a reconcile that carry out a plan (creates and deletions are in
//! session.rs and cloud_object.rs). Each returns what it changed, in words for the event.

use vpcep_api::{OWNER_CLUSTER_TAG, OWNER_UID_TAG};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::{
    ConnectionAction, ConnectionDescription, EndpointStatus, PermissionType, ResourceType,
    TagAction, TagActionEntry, TagActionRequest,
};

use super::error::Error;
use super::plan::acceptance::Decision;
use super::plan::permissions::PermissionChanges;
use super::plan::{EndpointPlan, ServicePlan, TagDiff};

/// Deletes changed and unwanted tags, then creates the wanted ones.
async fn tags(
    client: &VpcepClient,
    resource: ResourceType,
    id: &str,
    diff: &TagDiff,
) -> Result<(), Error> {
    let deletes = diff.delete.iter().map(|k| TagActionEntry {
        key: k.clone(),
        value: None,
    });
    let creates = diff.create.iter().map(|t| TagActionEntry {
        key: t.key.clone(),
        value: Some(t.value.clone()),
    });
    for (action, tags) in [
        (TagAction::Delete, deletes.collect::<Vec<_>>()),
        (TagAction::Create, creates.collect()),
    ] {
        if !tags.is_empty() {
            let request = TagActionRequest { action, tags };
            client
                .execute(api::tag_action(resource, id, &request))
                .await?;
        }
    }
    Ok(())
}

/// Removes the operator's owner tags, so that another object can adopt the cloud object.
pub async fn untag_owner(
    client: &VpcepClient,
    resource: ResourceType,
    id: &str,
) -> Result<(), Error> {
    let diff = TagDiff {
        delete: vec![OWNER_CLUSTER_TAG.to_string(), OWNER_UID_TAG.to_string()],
        create: vec![],
    };
    tags(client, resource, id, &diff).await
}

/// Applies a service plan.
pub async fn service(
    client: &VpcepClient,
    id: &str,
    plan: &ServicePlan,
) -> Result<Vec<&'static str>, Error> {
    let mut changed = Vec::new();
    if let Some(update) = &plan.update {
        client.execute(api::update_service(id, update)).await?;
        changed.push("settings");
    }
    if !plan.tags.is_empty() {
        tags(client, ResourceType::EndpointService, id, &plan.tags).await?;
        changed.push("tags");
    }
    Ok(changed)
}

/// Applies an endpoint plan (the Huawei Cloud update APIs and the tag API).
pub async fn endpoint(
    client: &VpcepClient,
    id: &str,
    plan: &EndpointPlan,
) -> Result<Vec<&'static str>, Error> {
    let mut changed = Vec::new();
    if let Some(whitelist) = &plan.whitelist {
        client
            .execute(api::update_endpoint_whitelist(id, whitelist))
            .await?;
        changed.push("whitelist");
    }
    if let Some(tables) = &plan.routetables {
        client
            .execute(api::update_endpoint_routetables(id, tables.clone()))
            .await?;
        changed.push(if tables.is_empty() {
            "route tables (back to the VPC's default)"
        } else {
            "route tables"
        });
    }
    if let Some(policy) = &plan.policy {
        client
            .execute(api::update_endpoint_policy(id, policy.clone()))
            .await?;
        changed.push("policy");
    }
    if plan.delete_policy {
        client.execute(api::delete_endpoint_policy(id)).await?;
        changed.push("policy (back to the default)");
    }
    if !plan.tags.is_empty() {
        tags(client, ResourceType::Endpoint, id, &plan.tags).await?;
        changed.push("tags");
    }
    Ok(changed)
}

/// Adds and removes permissions of a service.
pub async fn permissions(
    client: &VpcepClient,
    service_id: &str,
    changes: &PermissionChanges,
) -> Result<Vec<&'static str>, Error> {
    for (action, kind, records) in changes.calls() {
        let request = match kind {
            PermissionType::DomainId => api::permission_action,
            PermissionType::OrgPath => api::org_permission_action,
        };
        client
            .execute(request(service_id, action, records.to_vec()))
            .await?;
    }
    Ok(if changes.is_empty() {
        vec![]
    } else {
        vec!["permissions"]
    })
}

/// Sets connection descriptions (Huawei Cloud), in one call.
pub async fn connection_descriptions(
    client: &VpcepClient,
    service_id: &str,
    descriptions: &[ConnectionDescription],
) -> Result<(), Error> {
    if !descriptions.is_empty() {
        client
            .execute(api::update_connection_descriptions(
                service_id,
                descriptions.to_vec(),
            ))
            .await?;
    }
    Ok(())
}

/// Accepts or rejects one endpoint (the API takes one per call); returns its new status.
pub async fn connection(
    client: &VpcepClient,
    service_id: &str,
    endpoint_id: &str,
    decision: Decision,
) -> Result<EndpointStatus, Error> {
    let (action, expected) = match decision {
        Decision::Accept(_) => (ConnectionAction::Receive, EndpointStatus::Accepted),
        Decision::Reject(_) => (ConnectionAction::Reject, EndpointStatus::Rejected),
    };
    let answer = client
        .execute(api::connection_action(service_id, action, endpoint_id))
        .await?;
    Ok(answer
        .connections
        .into_iter()
        .find(|c| c.id == endpoint_id)
        .map_or(expected, |c| c.status))
}
