//! What both cloud object kinds share: finding the object of a Kubernetes object (by recorded id,
//! by the adoption annotation, or by its owner tags after a lost create answer), and deleting it.

use serde::de::{DeserializeOwned, IgnoredAny};

use super::error::Error;
use super::plan::Owner;
use vpcep_api::validate::InvalidSpec;
use vpcep_cloud::api::{self, ApiRequest};
use vpcep_cloud::inventory::{Listed, Seen, Snapshot};
use vpcep_cloud::model::{
    Endpoint, EndpointStatus, ResourceQueryRequest, ResourceType, Service, ServiceStatus, Tag,
};
use vpcep_cloud::{CloudError, ErrorKind, VpcepClient};

pub trait CloudObject: DeserializeOwned + Listed {
    const RESOURCE: ResourceType;
    /// What a person calls it, for messages.
    const NOUN: &'static str;
    fn get(id: &str) -> ApiRequest<Self>;
    fn delete(id: &str) -> ApiRequest<IgnoredAny>;
    /// Whether the cloud is deleting it already (a second DELETE would be refused).
    fn is_deleting(&self) -> bool;
    fn tags(&self) -> &[Tag];
}

impl CloudObject for Service {
    const RESOURCE: ResourceType = ResourceType::EndpointService;
    const NOUN: &'static str = "endpoint service";
    fn get(id: &str) -> ApiRequest<Self> {
        api::get_service(id)
    }
    fn delete(id: &str) -> ApiRequest<IgnoredAny> {
        api::delete_service(id)
    }
    fn is_deleting(&self) -> bool {
        self.status == ServiceStatus::Deleting
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

impl CloudObject for Endpoint {
    const RESOURCE: ResourceType = ResourceType::Endpoint;
    const NOUN: &'static str = "endpoint";
    fn get(id: &str) -> ApiRequest<Self> {
        api::get_endpoint(id)
    }
    fn delete(id: &str) -> ApiRequest<IgnoredAny> {
        api::delete_endpoint(id)
    }
    fn is_deleting(&self) -> bool {
        self.status == EndpointStatus::Deleting
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// The cloud object of a Kubernetes object, and how it was found.
pub enum Located<T> {
    /// At the id recorded in status.
    Recorded(T),
    /// The recorded id is gone: deleted behind the operator's back.
    Vanished(String),
    /// Named by the `vpcep.io/external-id` annotation; to be taken over.
    Adopted(T),
    /// Found by its owner tags: created earlier, but its id never reached the status.
    Recovered(T),
    /// There is none.
    Absent,
}

/// The object at `id`, if there is one. An answer about another object counts as none: the id
/// can come from an annotation, and a path such as `vpc-endpoint-services/public` answers with
/// a list whose fields would otherwise read as an object without id.
pub async fn get_opt<T: CloudObject>(
    client: &VpcepClient,
    id: &str,
) -> Result<Option<T>, CloudError> {
    match client.execute(T::get(id)).await {
        Ok(obj) => Ok(Some(obj).filter(|o: &T| o.id() == id)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The object at `id`, as the inventory snapshot `view` shows it when it proves something (see
/// inventory.rs), else as [`get_opt`] reads it.
pub async fn read<T: CloudObject>(
    client: &VpcepClient,
    view: Option<&Snapshot>,
    id: &str,
) -> Result<Option<T>, CloudError> {
    match view.map(|v| v.seen::<T>(id)) {
        Some(Seen::Present(obj)) => Ok(Some(obj.clone())),
        Some(Seen::Gone) => Ok(None),
        Some(Seen::Unlisted) | None => get_opt(client, id).await,
    }
}

/// The objects carrying this owner's tags, oldest first, except the `known` one (not fetched):
/// from the inventory snapshot `view` when it holds every object of the kind, else by a query
/// of the tags.
pub async fn find_by_owner<T: CloudObject>(
    client: &VpcepClient,
    view: Option<&Snapshot>,
    owner: &Owner,
    known: Option<&str>,
) -> Result<Vec<T>, CloudError> {
    let tags = owner.tags();
    if let Some(listing) = view.map(T::listing).filter(|l| l.is_complete()) {
        let mut objects: Vec<T> = listing
            .iter()
            .filter(|o| Some(o.id()) != known && tags.iter().all(|t| o.tags().contains(t)))
            .cloned()
            .collect();
        sort_oldest_first(&mut objects);
        return Ok(objects);
    }
    let query = ResourceQueryRequest::filter_by_tags(&tags);
    let found = client
        .list_all(|page| api::query_resources(T::RESOURCE, &query, Some(page)))
        .await?;
    let mut objects = Vec::new();
    for resource in found
        .into_iter()
        .filter(|r| Some(r.resource_id.as_str()) != known)
    {
        if let Some(obj) = get_opt::<T>(client, &resource.resource_id).await? {
            objects.push(obj);
        }
    }
    sort_oldest_first(&mut objects);
    Ok(objects)
}

fn sort_oldest_first<T: CloudObject>(objects: &mut [T]) {
    objects.sort_by(|a, b| {
        a.created_at()
            .cmp(b.created_at())
            .then_with(|| a.id().cmp(b.id()))
    });
}

/// Finds the cloud object: by the recorded id, else the adoption annotation, else — when a create
/// may have been sent (`create_sent`) — the owner tags. Extra objects with this owner's tags
/// (duplicates from an earlier lost answer) come back too, so that the caller can remove them.
pub async fn locate<T: CloudObject>(
    client: &VpcepClient,
    view: Option<&Snapshot>,
    recorded_id: Option<&str>,
    external_id: Option<&str>,
    owner: &Owner,
    create_sent: bool,
) -> Result<(Located<T>, Vec<T>), Error> {
    if let Some(id) = recorded_id {
        if let Some(obj) = read(client, view, id).await? {
            return Ok((Located::Recorded(obj), vec![]));
        }
        // Gone; but an object with the owner tags may have followed it (a replacement whose
        // old endpoint was deleted first, see replace.rs): take that one over.
        let mut found = find_by_owner::<T>(client, view, owner, Some(id))
            .await?
            .into_iter();
        return Ok(match found.next() {
            Some(next) => (Located::Recovered(next), found.collect()),
            None => (Located::Vanished(id.to_string()), vec![]),
        });
    }
    if let Some(id) = external_id {
        return match get_opt(client, id).await? {
            Some(obj) => Ok((Located::Adopted(obj), vec![])),
            None => Err(InvalidSpec {
                problems: vec![format!(
                    "the {} {id:?} named by the annotation vpcep.io/external-id does not exist; fix or remove the annotation",
                    T::NOUN
                )],
            }
            .into()),
        };
    }
    // The owner tags carry the object's uid: only a create of this very object can have made
    // a cloud object with them.
    if !create_sent {
        return Ok((Located::Absent, vec![]));
    }
    let mut found = find_by_owner::<T>(client, None, owner, None)
        .await?
        .into_iter();
    Ok(match found.next() {
        Some(first) => (Located::Recovered(first), found.collect()),
        None => (Located::Absent, vec![]),
    })
}

/// Where a deletion stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Deletion {
    Gone,
    InProgress,
}

/// Asks the cloud to delete `obj` unless it is already deleting; 404 counts as gone.
pub async fn request_delete<T: CloudObject>(
    client: &VpcepClient,
    obj: &T,
) -> Result<Deletion, Error> {
    if !obj.is_deleting() {
        match client.execute(T::delete(obj.id())).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(Deletion::Gone),
            Err(e)
                if e.kind() == ErrorKind::Conflict
                    && e.api().is_some_and(|a| a.has_code("EndPoint.3006")) =>
            {
                return Err(Error::DeletionBlocked(format!(
                    "the cloud refuses to delete the {} {}: it is in use ({e})",
                    T::NOUN,
                    obj.id()
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Deletion::InProgress)
}

/// The cloud object to delete for a Kubernetes object being deleted, if any is left.
pub async fn remaining<T: CloudObject>(
    client: &VpcepClient,
    view: Option<&Snapshot>,
    recorded_id: Option<&str>,
    owner: &Owner,
) -> Result<Vec<T>, Error> {
    match recorded_id {
        // A create whose answer was lost before the id was recorded may have left an object with
        // the owner tags: they are looked for once the recorded object is gone, so that a
        // deletion that takes several passes asks only for the recorded one until then.
        Some(id) => match read(client, view, id).await? {
            Some(recorded) => Ok(vec![recorded]),
            None => Ok(find_by_owner(client, view, owner, Some(id)).await?),
        },
        None => Ok(find_by_owner(client, None, owner, None).await?),
    }
}
