//! Queries on ports and portgroups: the VIF bookkeeping the conductor does, and the
//! `/v1/ports` and `/v1/portgroups` resources.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    NotSet, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::Value;

use super::entities::{node, port, portgroup};
use super::is_unique_violation;
use super::paging::{self, Paging};
use crate::error::{Error, Result};

/// Portgroups of a node.
pub async fn portgroups_of<C: ConnectionTrait>(
    db: &C,
    node_id: i64,
) -> Result<Vec<portgroup::Model>> {
    Ok(portgroup::Entity::find()
        .filter(portgroup::Column::NodeId.eq(node_id))
        .order_by_asc(portgroup::Column::Id)
        .all(db)
        .await?)
}

/// Replaces a port's internal_info.
pub async fn set_port_internal_info<C: ConnectionTrait>(
    db: &C,
    p: &port::Model,
    info: Value,
) -> Result<()> {
    let mut am = p.clone().into_active_model();
    am.internal_info = Set(info);
    am.updated_at = Set(Some(chrono::Utc::now()));
    am.update(db).await?;
    Ok(())
}

/// Replaces a portgroup's internal_info.
pub async fn set_portgroup_internal_info<C: ConnectionTrait>(
    db: &C,
    p: &portgroup::Model,
    info: Value,
) -> Result<()> {
    let mut am = p.clone().into_active_model();
    am.internal_info = Set(info);
    am.updated_at = Set(Some(chrono::Utc::now()));
    am.update(db).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Ports and portgroups as API resources.
// ---------------------------------------------------------------------------------------

pub use port::Model as Port;
pub use portgroup::Model as Portgroup;

/// Filters of a port list; unset fields do not filter.
#[derive(Debug, Default, Clone)]
pub struct PortFilter {
    pub node_id: Option<i64>,
    pub portgroup_id: Option<i64>,
    /// Normalised (lower-case) MAC address.
    pub address: Option<String>,
    /// Only ports of the nodes this project owns or leases.
    pub project: Option<String>,
}

/// Columns a client may sort ports by (dictionaries are refused, as Ironic does).
pub const PORT_SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "address",
    "node_id",
    "portgroup_id",
    "pxe_enabled",
    "physical_network",
    "is_smartnic",
    "created_at",
    "updated_at",
];

/// Columns a client may sort portgroups by.
pub const PORTGROUP_SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "name",
    "address",
    "node_id",
    "mode",
    "standalone_ports_supported",
    "created_at",
    "updated_at",
];

/// One page of ports matching `f`.
pub async fn list_ports<C: ConnectionTrait>(
    db: &C,
    f: &PortFilter,
    p: Paging<'_, Port>,
) -> Result<Vec<Port>> {
    let mut c = Condition::all();
    if let Some(v) = f.node_id {
        c = c.add(port::Column::NodeId.eq(v));
    }
    if let Some(v) = f.portgroup_id {
        c = c.add(port::Column::PortgroupId.eq(v));
    }
    if let Some(v) = &f.address {
        c = c.add(port::Column::Address.eq(v.clone()));
    }
    if let Some(p) = &f.project {
        c = c.add(port::Column::NodeId.in_subquery(super::nodes::ids_of_project(p)));
    }
    paging::page::<port::Entity, _>(db, c, port::Column::Id, p).await
}

/// A port by UUID.
pub async fn port_by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<Port>> {
    Ok(port::Entity::find()
        .filter(port::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// A port by (normalised) MAC address.
pub async fn port_by_address<C: ConnectionTrait>(db: &C, address: &str) -> Result<Option<Port>> {
    Ok(port::Entity::find()
        .filter(port::Column::Address.eq(address))
        .one(db)
        .await?)
}

/// Ports that are members of a portgroup.
pub async fn ports_in_portgroup<C: ConnectionTrait>(db: &C, pg_id: i64) -> Result<Vec<Port>> {
    Ok(port::Entity::find()
        .filter(port::Column::PortgroupId.eq(pg_id))
        .order_by_asc(port::Column::Id)
        .all(db)
        .await?)
}

fn port_conflict(e: DbErr, p: &Port) -> Error {
    if is_unique_violation(&e) {
        if e.to_string().contains("address") {
            return Error::Conflict(format!(
                "A port with MAC address {} already exists.",
                p.address
            ));
        }
        return Error::Conflict(format!("A port with UUID {} already exists.", p.uuid));
    }
    e.into()
}

/// Inserts a port; a duplicate MAC address or UUID is a 409.
pub async fn insert_port<C: ConnectionTrait>(db: &C, p: Port) -> Result<Port> {
    let mut am = p.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| port_conflict(e, &p))
}

/// Writes every column of a port and bumps `updated_at`.
pub async fn save_port<C: ConnectionTrait>(db: &C, p: &mut Port) -> Result<()> {
    p.updated_at = Some(chrono::Utc::now());
    let am = p.clone().into_active_model().reset_all();
    am.update(db).await.map_err(|e| port_conflict(e, p))?;
    Ok(())
}

/// Deletes a port.
pub async fn delete_port<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    port::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Filters of a portgroup list.
#[derive(Debug, Default, Clone)]
pub struct PortgroupFilter {
    pub node_id: Option<i64>,
    pub address: Option<String>,
    /// Only portgroups of the nodes this project owns or leases.
    pub project: Option<String>,
}

/// One page of portgroups matching `f`.
pub async fn list_portgroups<C: ConnectionTrait>(
    db: &C,
    f: &PortgroupFilter,
    p: Paging<'_, Portgroup>,
) -> Result<Vec<Portgroup>> {
    let mut c = Condition::all();
    if let Some(v) = f.node_id {
        c = c.add(portgroup::Column::NodeId.eq(v));
    }
    if let Some(v) = &f.address {
        c = c.add(portgroup::Column::Address.eq(v.clone()));
    }
    if let Some(p) = &f.project {
        c = c.add(portgroup::Column::NodeId.in_subquery(super::nodes::ids_of_project(p)));
    }
    paging::page::<portgroup::Entity, _>(db, c, portgroup::Column::Id, p).await
}

/// A portgroup by UUID.
pub async fn portgroup_by_uuid<C: ConnectionTrait>(
    db: &C,
    uuid: &str,
) -> Result<Option<Portgroup>> {
    Ok(portgroup::Entity::find()
        .filter(portgroup::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// A portgroup by name.
pub async fn portgroup_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<Portgroup>> {
    Ok(portgroup::Entity::find()
        .filter(portgroup::Column::Name.eq(name))
        .one(db)
        .await?)
}

/// A portgroup by (normalised) MAC address.
pub async fn portgroup_by_address<C: ConnectionTrait>(
    db: &C,
    address: &str,
) -> Result<Option<Portgroup>> {
    Ok(portgroup::Entity::find()
        .filter(portgroup::Column::Address.eq(address))
        .one(db)
        .await?)
}

/// UUIDs of portgroups by id.
pub async fn portgroup_uuids<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = portgroup::Entity::find()
            .filter(portgroup::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|g| (g.id, g.uuid)));
    }
    Ok(out)
}

/// UUIDs of nodes by id (to show `node_uuid` of ports, portgroups and volume records).
pub async fn node_uuids<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let rows = node::Entity::find()
            .filter(node::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|n| (n.id, n.uuid)));
    }
    Ok(out)
}

fn portgroup_conflict(e: DbErr, g: &Portgroup) -> Error {
    if is_unique_violation(&e) {
        let msg = e.to_string();
        if let Some(name) = &g.name
            && msg.contains("name")
            && !msg.contains("address")
        {
            return Error::Conflict(format!("A portgroup with name {name} already exists."));
        }
        if let Some(addr) = &g.address
            && msg.contains("address")
        {
            return Error::Conflict(format!(
                "A portgroup with MAC address {addr} already exists."
            ));
        }
        return Error::Conflict(format!("A portgroup with UUID {} already exists.", g.uuid));
    }
    e.into()
}

/// Inserts a portgroup; a duplicate name, MAC address or UUID is a 409.
pub async fn insert_portgroup<C: ConnectionTrait>(db: &C, g: Portgroup) -> Result<Portgroup> {
    let mut am = g.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| portgroup_conflict(e, &g))
}

/// Writes every column of a portgroup and bumps `updated_at`.
pub async fn save_portgroup<C: ConnectionTrait>(db: &C, g: &mut Portgroup) -> Result<()> {
    g.updated_at = Some(chrono::Utc::now());
    let am = g.clone().into_active_model().reset_all();
    am.update(db).await.map_err(|e| portgroup_conflict(e, g))?;
    Ok(())
}

/// Deletes a portgroup; one that still has ports is refused (400, as Ironic's
/// PortgroupNotEmpty).
pub async fn delete_portgroup<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    g: &Portgroup,
) -> Result<()> {
    // One statement: removed only while no port is in it (see chassis::delete).
    let with_ports = sea_orm::sea_query::Query::select()
        .column(port::Column::PortgroupId)
        .from(port::Entity)
        .and_where(port::Column::PortgroupId.is_not_null())
        .to_owned();
    let done = portgroup::Entity::delete_many()
        .filter(portgroup::Column::Id.eq(g.id))
        .filter(portgroup::Column::Id.not_in_subquery(with_ports))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        let members = port::Entity::find()
            .filter(port::Column::PortgroupId.eq(g.id))
            .count(db)
            .await?;
        if members > 0 {
            return Err(Error::invalid(format!(
                "Cannot complete the requested action because portgroup {} contains ports.",
                g.uuid
            )));
        }
        return Err(Error::not_found("Portgroup", g.uuid.clone()));
    }
    Ok(())
}
