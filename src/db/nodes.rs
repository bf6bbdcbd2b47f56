//! Queries on nodes and their traits, including the reservation (lock) primitives.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Utc;
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    ModelTrait, Order, QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession,
    TransactionTrait,
};

use super::entities::{
    allocation, node, node_trait, port, portgroup, volume_connector, volume_target,
};
use super::is_unique_violation;
use crate::error::{Error, Result};

pub use node::Model as Node;

/// The ids of the nodes `project` owns or leases, as a subquery for the records
/// beside nodes (ports, portgroups, volume records) a project-scoped caller lists.
pub fn ids_of_project(project: &str) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::QueryTrait;
    node::Entity::find()
        .select_only()
        .column(node::Column::Id)
        .filter(
            Condition::any()
                .add(node::Column::Owner.eq(project))
                .add(node::Column::Lessee.eq(project)),
        )
        .into_query()
}

/// Filters of `GET /v1/nodes`.
#[derive(Debug, Default, Clone)]
pub struct NodeFilter {
    pub provision_state: Option<String>,
    pub maintenance: Option<bool>,
    pub associated: Option<bool>,
    pub instance_uuid: Option<String>,
    pub driver: Option<String>,
    pub resource_class: Option<String>,
    pub conductor_group: Option<String>,
    pub fault: Option<String>,
    pub owner: Option<String>,
    pub lessee: Option<String>,
    /// Owner or lessee (policy-scoped listing).
    pub project: Option<String>,
    pub chassis_id: Option<i64>,
    pub description_contains: Option<String>,
    pub retired: Option<bool>,
    pub reserved_by: Option<String>,
}

/// How to order and cut a list.
#[derive(Debug, Clone)]
pub struct ListOpts {
    pub limit: u64,
    /// The id and row of the marker, if paging.
    pub marker: Option<Node>,
    pub sort_key: String,
    pub descending: bool,
}

fn filter_condition(f: &NodeFilter) -> Condition {
    let mut c = Condition::all();
    if let Some(v) = &f.provision_state {
        c = c.add(node::Column::ProvisionState.eq(v.clone()));
    }
    if let Some(v) = f.maintenance {
        c = c.add(node::Column::Maintenance.eq(v));
    }
    match f.associated {
        Some(true) => c = c.add(node::Column::InstanceUuid.is_not_null()),
        Some(false) => c = c.add(node::Column::InstanceUuid.is_null()),
        None => {}
    }
    if let Some(v) = &f.instance_uuid {
        c = c.add(node::Column::InstanceUuid.eq(v.clone()));
    }
    if let Some(v) = &f.driver {
        c = c.add(node::Column::Driver.eq(v.clone()));
    }
    if let Some(v) = &f.resource_class {
        c = c.add(node::Column::ResourceClass.eq(v.clone()));
    }
    if let Some(v) = &f.conductor_group {
        c = c.add(node::Column::ConductorGroup.eq(v.to_lowercase()));
    }
    if let Some(v) = &f.fault {
        c = c.add(node::Column::Fault.eq(v.clone()));
    }
    if let Some(v) = &f.owner {
        c = c.add(node::Column::Owner.eq(v.clone()));
    }
    if let Some(v) = &f.lessee {
        c = c.add(node::Column::Lessee.eq(v.clone()));
    }
    if let Some(v) = &f.project {
        c = c.add(
            Condition::any()
                .add(node::Column::Owner.eq(v.clone()))
                .add(node::Column::Lessee.eq(v.clone())),
        );
    }
    if let Some(v) = f.chassis_id {
        c = c.add(node::Column::ChassisId.eq(v));
    }
    if let Some(v) = &f.description_contains {
        c = c.add(node::Column::Description.contains(v.clone()));
    }
    if let Some(v) = f.retired {
        c = c.add(node::Column::Retired.eq(v));
    }
    if let Some(v) = &f.reserved_by {
        c = c.add(node::Column::Reservation.eq(v.clone()));
    }
    c
}

/// Keys a client may sort nodes by (JSON columns are refused, as Ironic does).
pub const SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "name",
    "driver",
    "created_at",
    "updated_at",
    "provision_state",
    "provision_updated_at",
    "power_state",
    "target_power_state",
    "target_provision_state",
    "instance_uuid",
    "maintenance",
    "resource_class",
    "conductor_group",
    "owner",
    "lessee",
    "fault",
    "description",
    "chassis_id",
    "reservation",
];

/// Lists nodes matching `f`, ordered and paged by `opts`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    f: &NodeFilter,
    opts: &ListOpts,
) -> Result<Vec<Node>> {
    let col = node::Column::from_str(&opts.sort_key)
        .map_err(|_| Error::invalid(format!("Invalid sort key {}", opts.sort_key)))?;
    let mut cond = filter_condition(f);
    if let Some(m) = &opts.marker {
        let value = m.get(col);
        let after = if opts.sort_key == "id" {
            if opts.descending {
                node::Column::Id.lt(m.id).into_condition()
            } else {
                node::Column::Id.gt(m.id).into_condition()
            }
        } else {
            let (beyond, tie) = if opts.descending {
                (col.lt(value.clone()), node::Column::Id.lt(m.id))
            } else {
                (col.gt(value.clone()), node::Column::Id.gt(m.id))
            };
            Condition::any()
                .add(beyond)
                .add(Condition::all().add(col.eq(value)).add(tie))
        };
        cond = cond.add(after);
    }
    let order = if opts.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut q = node::Entity::find()
        .filter(cond)
        .order_by(col, order.clone());
    if opts.sort_key != "id" {
        q = q.order_by(node::Column::Id, order);
    }
    Ok(q.limit(opts.limit).all(db).await?)
}

/// Every node matching `f` (no paging), for internal use.
pub async fn all<C: ConnectionTrait>(db: &C, f: &NodeFilter) -> Result<Vec<Node>> {
    Ok(node::Entity::find()
        .filter(filter_condition(f))
        .order_by_asc(node::Column::Id)
        .all(db)
        .await?)
}

/// A node by UUID.
pub async fn by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<Node>> {
    Ok(node::Entity::find()
        .filter(node::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// A node by database id.
pub async fn by_id<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<Node>> {
    Ok(node::Entity::find_by_id(id).one(db).await?)
}

/// A node by instance UUID.
pub async fn by_instance<C: ConnectionTrait>(db: &C, instance: &str) -> Result<Option<Node>> {
    Ok(node::Entity::find()
        .filter(node::Column::InstanceUuid.eq(instance))
        .one(db)
        .await?)
}

/// A node by UUID or name, as the API addresses it; 404 when absent.
pub async fn get<C: ConnectionTrait>(db: &C, ident: &str) -> Result<Node> {
    let found = match uuid::Uuid::try_parse(ident) {
        Ok(u) => by_uuid(db, &u.hyphenated().to_string()).await?,
        Err(_) => {
            node::Entity::find()
                .filter(node::Column::Name.eq(ident))
                .one(db)
                .await?
        }
    };
    found.ok_or_else(|| Error::not_found("Node", ident))
}

/// Maps a unique violation on insert/update to Ironic's 409 messages.
fn conflict(e: sea_orm::DbErr, n: &Node) -> Error {
    if is_unique_violation(&e) {
        let msg = e.to_string();
        if msg.contains("instance_uuid") {
            return Error::Conflict(format!(
                "Instance {} is already associated with a node, it cannot be associated with \
                 this other node {}",
                n.instance_uuid.as_deref().unwrap_or(""),
                n.uuid
            ));
        }
        if msg.contains("name") {
            return Error::Conflict(format!(
                "A node with name {} already exists.",
                n.name.as_deref().unwrap_or("")
            ));
        }
        return Error::Conflict(format!("A node with UUID {} already exists.", n.uuid));
    }
    e.into()
}

/// Inserts a new node and its traits.
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    n: Node,
    traits: &[String],
) -> Result<Node> {
    let txn = db.begin().await?;
    let mut am = n.clone().into_active_model();
    am.id = sea_orm::NotSet;
    let saved = am.insert(&txn).await.map_err(|e| conflict(e, &n))?;
    for t in traits {
        add_trait(&txn, saved.id, t).await?;
    }
    txn.commit().await?;
    Ok(saved)
}

/// Writes every column of `n` (the caller holds the node's lock) and bumps updated_at.
pub async fn save<C: ConnectionTrait>(db: &C, n: &mut Node) -> Result<()> {
    n.updated_at = Some(Utc::now());
    // Every column is marked changed so that the whole row is written.
    let am = n.clone().into_active_model().reset_all();
    am.update(db).await.map_err(|e| conflict(e, n))?;
    Ok(())
}

/// Writes every column of `n` and bumps updated_at, only while `host` holds the node's
/// reservation. `false` (and nothing written) when it no longer does: another
/// conductor took the node over.
pub async fn save_held<C: ConnectionTrait>(db: &C, n: &mut Node, host: &str) -> Result<bool> {
    n.updated_at = Some(Utc::now());
    let am = n.clone().into_active_model().reset_all();
    let written = node::Entity::update(am)
        .validate()?
        .filter(node::Column::Reservation.eq(host))
        .exec_without_returning(db)
        .await;
    match written {
        Ok(_) => Ok(true),
        Err(sea_orm::DbErr::RecordNotUpdated) => Ok(false),
        Err(e) => Err(conflict(e, n)),
    }
}

/// Moves the node's reservation from `from` (a conductor that died) to `to`, in one
/// conditional write: of several conductors trying, exactly one succeeds.
pub async fn take_reservation<C: ConnectionTrait>(
    db: &C,
    id: i64,
    from: &str,
    to: &str,
) -> Result<bool> {
    let r = node::Entity::update_many()
        .col_expr(node::Column::Reservation, Expr::value(to))
        .filter(node::Column::Id.eq(id))
        .filter(node::Column::Reservation.eq(from))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Every reserved node.
pub async fn reserved<C: ConnectionTrait>(db: &C) -> Result<Vec<Node>> {
    Ok(node::Entity::find()
        .filter(node::Column::Reservation.is_not_null())
        .order_by_asc(node::Column::Id)
        .all(db)
        .await?)
}

/// Takes the node's exclusive reservation for `host`. `false` when another holds it.
pub async fn reserve<C: ConnectionTrait>(db: &C, id: i64, host: &str) -> Result<bool> {
    let r = node::Entity::update_many()
        .col_expr(node::Column::Reservation, Expr::value(host))
        .filter(node::Column::Id.eq(id))
        .filter(node::Column::Reservation.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Releases the node's reservation if `host` holds it.
pub async fn release<C: ConnectionTrait>(db: &C, id: i64, host: &str) -> Result<bool> {
    let r = node::Entity::update_many()
        .col_expr(
            node::Column::Reservation,
            Expr::value(sea_orm::Value::String(None)),
        )
        .filter(node::Column::Id.eq(id))
        .filter(node::Column::Reservation.eq(host))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Clears every reservation held by `host` (a conductor that restarted or died).
pub async fn release_all<C: ConnectionTrait>(db: &C, host: &str) -> Result<u64> {
    let r = node::Entity::update_many()
        .col_expr(
            node::Column::Reservation,
            Expr::value(sea_orm::Value::String(None)),
        )
        .filter(node::Column::Reservation.eq(host))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Traits of one node, sorted.
pub async fn traits<C: ConnectionTrait>(db: &C, node_id: i64) -> Result<Vec<String>> {
    let mut v: Vec<String> = node_trait::Entity::find()
        .filter(node_trait::Column::NodeId.eq(node_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.r#trait)
        .collect();
    v.sort();
    Ok(v)
}

/// Traits of many nodes at once.
pub async fn traits_of<C: ConnectionTrait>(
    db: &C,
    node_ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if node_ids.is_empty() {
        return Ok(out);
    }
    for chunk in node_ids.chunks(500) {
        let rows = node_trait::Entity::find()
            .filter(node_trait::Column::NodeId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for t in rows {
            out.entry(t.node_id).or_default().push(t.r#trait);
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

/// Adds one trait (idempotent).
pub async fn add_trait<C: ConnectionTrait>(db: &C, node_id: i64, t: &str) -> Result<()> {
    let exists = node_trait::Entity::find_by_id((node_id, t.to_owned()))
        .one(db)
        .await?
        .is_some();
    if !exists {
        node_trait::ActiveModel {
            node_id: Set(node_id),
            r#trait: Set(t.to_owned()),
            created_at: Set(Utc::now()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Removes one trait; `false` when the node did not have it.
pub async fn remove_trait<C: ConnectionTrait>(db: &C, node_id: i64, t: &str) -> Result<bool> {
    let r = node_trait::Entity::delete_many()
        .filter(node_trait::Column::NodeId.eq(node_id))
        .filter(node_trait::Column::Trait.eq(t))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// Replaces the node's traits.
pub async fn set_traits<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    node_id: i64,
    traits: &[String],
) -> Result<()> {
    let txn = db.begin().await?;
    node_trait::Entity::delete_many()
        .filter(node_trait::Column::NodeId.eq(node_id))
        .exec(&txn)
        .await?;
    for t in traits {
        add_trait(&txn, node_id, t).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Deletes a node with its traits, ports, portgroups, volume records and the
/// allocations holding it.
pub async fn delete<C: ConnectionTrait + TransactionTrait>(db: &C, id: i64) -> Result<()> {
    let txn = db.begin().await?;
    allocation::Entity::delete_many()
        .filter(allocation::Column::NodeId.eq(id))
        .exec(&txn)
        .await?;
    node_trait::Entity::delete_many()
        .filter(node_trait::Column::NodeId.eq(id))
        .exec(&txn)
        .await?;
    port::Entity::delete_many()
        .filter(port::Column::NodeId.eq(id))
        .exec(&txn)
        .await?;
    portgroup::Entity::delete_many()
        .filter(portgroup::Column::NodeId.eq(id))
        .exec(&txn)
        .await?;
    volume_connector::Entity::delete_many()
        .filter(volume_connector::Column::NodeId.eq(id))
        .exec(&txn)
        .await?;
    volume_target::Entity::delete_many()
        .filter(volume_target::Column::NodeId.eq(id))
        .exec(&txn)
        .await?;
    node::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Ports of a node.
pub async fn ports<C: ConnectionTrait>(db: &C, node_id: i64) -> Result<Vec<port::Model>> {
    Ok(port::Entity::find()
        .filter(port::Column::NodeId.eq(node_id))
        .order_by_asc(port::Column::Id)
        .all(db)
        .await?)
}

/// UUIDs of chassis by id.
pub async fn chassis_uuids<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<HashMap<i64, String>> {
    use super::entities::chassis;
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(chassis::Entity::find()
        .filter(chassis::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.uuid))
        .collect())
}

/// A chassis id by UUID; 400 when it does not exist (a node may only reference an
/// existing chassis).
pub async fn chassis_id_of<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<i64> {
    use super::entities::chassis;
    chassis::Entity::find()
        .filter(chassis::Column::Uuid.eq(uuid))
        .one(db)
        .await?
        .map(|c| c.id)
        .ok_or_else(|| Error::invalid(format!("Chassis {uuid} could not be found.")))
}

/// A node with every field at its default, not yet stored.
pub fn blank(uuid: String, driver: String, provision_state: &str) -> Node {
    let empty = || serde_json::Value::Object(serde_json::Map::new());
    Node {
        id: 0,
        uuid,
        name: None,
        description: None,
        chassis_id: None,
        driver,
        driver_info: empty(),
        driver_internal_info: empty(),
        properties: empty(),
        extra: empty(),
        instance_info: empty(),
        instance_uuid: None,
        power_state: None,
        target_power_state: None,
        provision_state: provision_state.to_owned(),
        target_provision_state: None,
        provision_updated_at: None,
        last_error: None,
        maintenance: false,
        maintenance_reason: None,
        fault: None,
        reservation: None,
        conductor_affinity: None,
        conductor_group: String::new(),
        console_enabled: false,
        inspection_started_at: None,
        inspection_finished_at: None,
        clean_step: empty(),
        deploy_step: empty(),
        raid_config: empty(),
        target_raid_config: empty(),
        network_data: empty(),
        resource_class: None,
        automated_clean: None,
        protected: false,
        protected_reason: None,
        owner: None,
        lessee: None,
        retired: false,
        retired_reason: None,
        boot_mode: None,
        secure_boot: None,
        bios_interface: String::new(),
        boot_interface: String::new(),
        console_interface: String::new(),
        deploy_interface: String::new(),
        firmware_interface: String::new(),
        inspect_interface: String::new(),
        management_interface: String::new(),
        network_interface: String::new(),
        power_interface: String::new(),
        raid_interface: String::new(),
        rescue_interface: String::new(),
        storage_interface: String::new(),
        vendor_interface: String::new(),
        created_at: chrono::Utc::now(),
        updated_at: None,
        allocation_id: None,
    }
}
