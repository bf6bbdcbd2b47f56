//! Queries on volume connectors and volume targets (`/v1/volume/...`).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    NotSet, QueryFilter,
};

use super::entities::{volume_connector, volume_target};
use super::is_unique_violation;
use super::paging::{self, Paging};
use crate::error::{Error, Result};

pub use volume_connector::Model as Connector;
pub use volume_target::Model as Target;

/// Columns a client may sort connectors by (`extra` is refused, as Ironic does).
pub const CONNECTOR_SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "node_id",
    "type",
    "connector_id",
    "created_at",
    "updated_at",
];

/// Columns a client may sort targets by (`extra` and `properties` are refused).
pub const TARGET_SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "node_id",
    "volume_type",
    "boot_index",
    "volume_id",
    "created_at",
    "updated_at",
];

/// One page of connectors, of one node when `node_id` is given, of the nodes
/// `project` owns or leases when it is.
pub async fn list_connectors<C: ConnectionTrait>(
    db: &C,
    node_id: Option<i64>,
    project: Option<&str>,
    p: Paging<'_, Connector>,
) -> Result<Vec<Connector>> {
    let mut c = Condition::all();
    if let Some(id) = node_id {
        c = c.add(volume_connector::Column::NodeId.eq(id));
    }
    if let Some(project) = project {
        c = c.add(
            volume_connector::Column::NodeId.in_subquery(super::nodes::ids_of_project(project)),
        );
    }
    paging::page::<volume_connector::Entity, _>(db, c, volume_connector::Column::Id, p).await
}

/// Every connector of a node.
pub async fn connectors_of<C: ConnectionTrait>(db: &C, node_id: i64) -> Result<Vec<Connector>> {
    use sea_orm::{EntityTrait, QueryOrder};
    Ok(volume_connector::Entity::find()
        .filter(volume_connector::Column::NodeId.eq(node_id))
        .order_by_asc(volume_connector::Column::Id)
        .all(db)
        .await?)
}

/// A connector by UUID.
pub async fn connector_by_uuid<C: ConnectionTrait>(
    db: &C,
    uuid: &str,
) -> Result<Option<Connector>> {
    Ok(volume_connector::Entity::find()
        .filter(volume_connector::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// The connector with this type and connector id, if any.
pub async fn connector_by_type_and_id<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    connector_id: &str,
) -> Result<Option<Connector>> {
    Ok(volume_connector::Entity::find()
        .filter(volume_connector::Column::Type.eq(kind))
        .filter(volume_connector::Column::ConnectorId.eq(connector_id))
        .one(db)
        .await?)
}

fn connector_conflict(e: DbErr, c: &Connector) -> Error {
    if is_unique_violation(&e) {
        if e.to_string().contains("connector_id") {
            return duplicate_connector(c);
        }
        return Error::Conflict(format!(
            "A volume connector with UUID {} already exists.",
            c.uuid
        ));
    }
    e.into()
}

/// The 409 for a second connector with the same type and connector id.
pub fn duplicate_connector(c: &Connector) -> Error {
    Error::Conflict(format!(
        "A volume connector with type {} and connector ID {} already exists.",
        c.r#type, c.connector_id
    ))
}

/// Inserts a connector; a duplicate (type, connector_id) or UUID is a 409.
pub async fn insert_connector<C: ConnectionTrait>(db: &C, c: Connector) -> Result<Connector> {
    let mut am = c.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| connector_conflict(e, &c))
}

/// Writes every column of a connector and bumps `updated_at`.
pub async fn save_connector<C: ConnectionTrait>(db: &C, c: &mut Connector) -> Result<()> {
    c.updated_at = Some(chrono::Utc::now());
    let am = c.clone().into_active_model().reset_all();
    am.update(db).await.map_err(|e| connector_conflict(e, c))?;
    Ok(())
}

/// Deletes a connector.
pub async fn delete_connector<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    volume_connector::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// One page of targets, of one node when `node_id` is given, of the nodes
/// `project` owns or leases when it is.
pub async fn list_targets<C: ConnectionTrait>(
    db: &C,
    node_id: Option<i64>,
    project: Option<&str>,
    p: Paging<'_, Target>,
) -> Result<Vec<Target>> {
    let mut c = Condition::all();
    if let Some(id) = node_id {
        c = c.add(volume_target::Column::NodeId.eq(id));
    }
    if let Some(project) = project {
        c = c.add(volume_target::Column::NodeId.in_subquery(super::nodes::ids_of_project(project)));
    }
    paging::page::<volume_target::Entity, _>(db, c, volume_target::Column::Id, p).await
}

/// A target by UUID.
pub async fn target_by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<Target>> {
    Ok(volume_target::Entity::find()
        .filter(volume_target::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// The target of a node with this boot index, if any.
pub async fn target_by_boot_index<C: ConnectionTrait>(
    db: &C,
    node_id: i64,
    boot_index: i32,
) -> Result<Option<Target>> {
    Ok(volume_target::Entity::find()
        .filter(volume_target::Column::NodeId.eq(node_id))
        .filter(volume_target::Column::BootIndex.eq(boot_index))
        .one(db)
        .await?)
}

/// The 409 for a second target of a node with the same boot index.
pub fn duplicate_boot_index(t: &Target) -> Error {
    Error::Conflict(format!(
        "A volume target with boot index '{}' for the same node already exists.",
        t.boot_index
    ))
}

fn target_conflict(e: DbErr, t: &Target) -> Error {
    if is_unique_violation(&e) {
        if e.to_string().contains("boot_index") {
            return duplicate_boot_index(t);
        }
        return Error::Conflict(format!(
            "A volume target with UUID {} already exists.",
            t.uuid
        ));
    }
    e.into()
}

/// Inserts a target; a duplicate (node, boot_index) or UUID is a 409.
pub async fn insert_target<C: ConnectionTrait>(db: &C, t: Target) -> Result<Target> {
    let mut am = t.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| target_conflict(e, &t))
}

/// Writes every column of a target and bumps `updated_at`.
pub async fn save_target<C: ConnectionTrait>(db: &C, t: &mut Target) -> Result<()> {
    t.updated_at = Some(chrono::Utc::now());
    let am = t.clone().into_active_model().reset_all();
    am.update(db).await.map_err(|e| target_conflict(e, t))?;
    Ok(())
}

/// Deletes a target.
pub async fn delete_target<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    volume_target::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
