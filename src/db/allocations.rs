//! Queries on allocations.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, TransactionSession, TransactionTrait,
};
use serde_json::Value;

use super::entities::{allocation, node};
use super::is_unique_violation;
use super::nodes::{self, Node};
use super::paging::{self, Paging};
use crate::error::{Error, Result};

pub use allocation::Model as Allocation;

/// The allocation is being processed.
pub const ALLOCATING: &str = "allocating";
/// A node was found and reserved.
pub const ACTIVE: &str = "active";
/// No node could be found; `last_error` says why.
pub const ERROR: &str = "error";

/// Filters of `GET /v1/allocations`.
#[derive(Debug, Default, Clone)]
pub struct AllocationFilter {
    pub node_id: Option<i64>,
    pub resource_class: Option<String>,
    pub state: Option<String>,
    pub owner: Option<String>,
}

/// Keys a client may sort allocations by (JSON columns are refused, as Ironic does).
pub const SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "name",
    "node_id",
    "state",
    "owner",
    "last_error",
    "resource_class",
    "conductor_affinity",
    "created_at",
    "updated_at",
];

fn condition(f: &AllocationFilter) -> Condition {
    let mut c = Condition::all();
    if let Some(v) = f.node_id {
        c = c.add(allocation::Column::NodeId.eq(v));
    }
    if let Some(v) = &f.resource_class {
        c = c.add(allocation::Column::ResourceClass.eq(v.clone()));
    }
    if let Some(v) = &f.state {
        c = c.add(allocation::Column::State.eq(v.clone()));
    }
    if let Some(v) = &f.owner {
        c = c.add(allocation::Column::Owner.eq(v.clone()));
    }
    c
}

/// Lists allocations matching `f`, ordered and paged.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    f: &AllocationFilter,
    p: Paging<'_, Allocation>,
) -> Result<Vec<Allocation>> {
    paging::page::<allocation::Entity, C>(db, condition(f), allocation::Column::Id, p).await
}

/// An allocation by UUID.
pub async fn by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<Allocation>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// An allocation by database id.
pub async fn by_id<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<Allocation>> {
    Ok(allocation::Entity::find_by_id(id).one(db).await?)
}

/// An allocation by name.
pub async fn by_name<C: ConnectionTrait>(db: &C, name: &str) -> Result<Option<Allocation>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::Name.eq(name))
        .one(db)
        .await?)
}

/// An allocation by UUID or name, as the API addresses it; 404 when absent.
pub async fn get<C: ConnectionTrait>(db: &C, ident: &str) -> Result<Allocation> {
    let found = match uuid::Uuid::try_parse(ident) {
        Ok(u) => by_uuid(db, &u.hyphenated().to_string()).await?,
        Err(_) => by_name(db, ident).await?,
    };
    found.ok_or_else(|| Error::not_found("Allocation", ident))
}

/// The allocation holding a node, if any.
pub async fn for_node<C: ConnectionTrait>(db: &C, node_id: i64) -> Result<Option<Allocation>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::NodeId.eq(node_id))
        .order_by_asc(allocation::Column::Id)
        .one(db)
        .await?)
}

fn conflict(e: sea_orm::DbErr, a: &Allocation) -> Error {
    if is_unique_violation(&e) {
        if e.to_string().contains("name") {
            return Error::Conflict(format!(
                "An allocation with name {} already exists.",
                a.name.as_deref().unwrap_or("")
            ));
        }
        return Error::Conflict(format!(
            "An allocation with UUID {} already exists.",
            a.uuid
        ));
    }
    e.into()
}

/// Inserts a new allocation.
pub async fn insert<C: ConnectionTrait>(db: &C, a: Allocation) -> Result<Allocation> {
    let mut am = a.clone().into_active_model();
    am.id = sea_orm::NotSet;
    am.insert(db).await.map_err(|e| conflict(e, &a))
}

/// Writes every column of `a` and bumps updated_at.
pub async fn save<C: ConnectionTrait>(db: &C, a: &mut Allocation) -> Result<()> {
    a.updated_at = Some(Utc::now());
    let am = a.clone().into_active_model().reset_all();
    am.update(db).await.map_err(|e| conflict(e, a))?;
    Ok(())
}

/// Deletes one allocation.
pub async fn delete<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    allocation::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Deletes the allocations of a node (the node is going away).
pub async fn delete_for_node<C: ConnectionTrait>(db: &C, node_id: i64) -> Result<()> {
    allocation::Entity::delete_many()
        .filter(allocation::Column::NodeId.eq(node_id))
        .exec(db)
        .await?;
    Ok(())
}

/// UUIDs of allocations by id.
pub async fn uuids_by_id<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = allocation::Entity::find()
            .select_only()
            .column(allocation::Column::Id)
            .column(allocation::Column::Uuid)
            .filter(allocation::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// UUIDs of nodes by id (an allocation's `node_uuid`).
pub async fn node_uuids<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String)> = node::Entity::find()
            .select_only()
            .column(node::Column::Id)
            .column(node::Column::Uuid)
            .filter(node::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Resolves node identifiers (UUIDs or names) to UUIDs, keeping the caller's order;
/// `owner` restricts the search to nodes owned or leased by that project. Unknown
/// identifiers are a 400, as Ironic answers.
pub async fn resolve_nodes<C: ConnectionTrait>(
    db: &C,
    idents: &[String],
    owner: Option<&str>,
) -> Result<Vec<String>> {
    let mut by_ident: HashMap<String, String> = HashMap::new();
    let uuids: Vec<String> = idents
        .iter()
        .filter_map(|i| uuid::Uuid::try_parse(i).ok())
        .map(|u| u.hyphenated().to_string())
        .collect();
    let names: Vec<String> = idents
        .iter()
        .filter(|i| uuid::Uuid::try_parse(i).is_err())
        .cloned()
        .collect();
    let mut cond = Condition::any();
    if !uuids.is_empty() {
        cond = cond.add(node::Column::Uuid.is_in(uuids.iter().cloned()));
    }
    if !names.is_empty() {
        cond = cond.add(node::Column::Name.is_in(names.iter().cloned()));
    }
    if !idents.is_empty() {
        let mut q = node::Entity::find()
            .select_only()
            .column(node::Column::Uuid)
            .column(node::Column::Name)
            .filter(cond);
        if let Some(o) = owner {
            q = q.filter(
                Condition::any()
                    .add(node::Column::Owner.eq(o))
                    .add(node::Column::Lessee.eq(o)),
            );
        }
        let rows: Vec<(String, Option<String>)> = q.into_tuple().all(db).await?;
        for (uuid, name) in rows {
            by_ident.insert(uuid.clone(), uuid.clone());
            if let Some(n) = name {
                by_ident.insert(n, uuid);
            }
        }
    }
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for i in idents {
        let key = uuid::Uuid::try_parse(i)
            .map(|u| u.hyphenated().to_string())
            .unwrap_or_else(|_| i.clone());
        match by_ident.get(&key) {
            Some(u) => out.push(u.clone()),
            None if !missing.contains(i) => missing.push(i.clone()),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "Nodes cannot be found: {}",
            missing.join(", ")
        )));
    }
    Ok(out)
}

/// Writes what a client may change (name and extra) and nothing else, so that a
/// conductor's concurrent write of the allocation's state is never lost.
pub async fn update_meta<C: ConnectionTrait>(
    db: &C,
    a: &Allocation,
    name: Option<String>,
    extra: Value,
) -> Result<Allocation> {
    let mut probe = a.clone();
    probe.name = name.clone();
    allocation::Entity::update_many()
        .col_expr(allocation::Column::Name, Expr::value(name))
        .col_expr(allocation::Column::Extra, Expr::value(extra))
        .col_expr(allocation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(allocation::Column::Id.eq(a.id))
        .exec(db)
        .await
        .map_err(|e| conflict(e, &probe))?;
    by_id(db, a.id)
        .await?
        .ok_or_else(|| Error::not_found("Allocation", a.uuid.clone()))
}

/// Gives `node` to the allocation `id` in one transaction: the allocation becomes
/// active (only if it is still allocating) and the node row is written as the caller
/// prepared it (allocation_id, instance_uuid; the caller holds its reservation).
/// `Ok(false)` when the allocation was deleted or finished meanwhile: nothing is written.
pub async fn activate<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    id: i64,
    node: &mut Node,
) -> Result<bool> {
    let txn = db.begin().await?;
    let r = allocation::Entity::update_many()
        .col_expr(allocation::Column::State, Expr::value(ACTIVE))
        .col_expr(allocation::Column::NodeId, Expr::value(node.id))
        .col_expr(
            allocation::Column::LastError,
            Expr::value(sea_orm::Value::String(None)),
        )
        .col_expr(allocation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(allocation::Column::Id.eq(id))
        .filter(allocation::Column::State.eq(ALLOCATING))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    nodes::save(&txn, node).await?;
    txn.commit().await?;
    Ok(true)
}

/// Records that the allocation `id` failed with `message` (only while it is still
/// allocating). `false` when it was deleted or finished meanwhile.
pub async fn fail<C: ConnectionTrait>(db: &C, id: i64, message: &str) -> Result<bool> {
    let r = allocation::Entity::update_many()
        .col_expr(allocation::Column::State, Expr::value(ERROR))
        .col_expr(
            allocation::Column::NodeId,
            Expr::value(sea_orm::Value::BigInt(None)),
        )
        .col_expr(allocation::Column::LastError, Expr::value(message))
        .col_expr(allocation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(allocation::Column::Id.eq(id))
        .filter(allocation::Column::State.eq(ALLOCATING))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Inserts an allocation that already holds `node` (backfilling) and writes the node
/// pointing at it, in one transaction.
pub async fn insert_with_node<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    a: Allocation,
    node: &mut Node,
) -> Result<Allocation> {
    let txn = db.begin().await?;
    let saved = insert(&txn, a).await?;
    node.allocation_id = Some(saved.id);
    nodes::save(&txn, node).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes the allocation `id` if it holds no node. `false` when it holds one by now
/// (or is gone).
pub async fn delete_unassigned<C: ConnectionTrait>(db: &C, id: i64) -> Result<bool> {
    let r = allocation::Entity::delete_many()
        .filter(allocation::Column::Id.eq(id))
        .filter(allocation::Column::NodeId.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Deletes the allocation `id` and writes its node, freed of it by the caller, in one
/// transaction.
pub async fn delete_with_node<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    id: i64,
    node: &mut Node,
) -> Result<()> {
    let txn = db.begin().await?;
    delete(&txn, id).await?;
    nodes::save(&txn, node).await?;
    txn.commit().await?;
    Ok(())
}

/// Allocations still waiting for a node.
pub async fn allocating<C: ConnectionTrait>(db: &C) -> Result<Vec<Allocation>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::State.eq(ALLOCATING))
        .order_by_asc(allocation::Column::Id)
        .all(db)
        .await?)
}

/// Nodes that may be given to `a`: available, with a known power state, out of
/// maintenance, without an instance or an allocation, of its resource class, among its
/// candidate nodes when it names some, and owned or leased by its owner when it has one.
/// Traits are left to the caller.
pub async fn candidate_nodes<C: ConnectionTrait>(db: &C, a: &Allocation) -> Result<Vec<Node>> {
    let mut c = Condition::all()
        .add(node::Column::ProvisionState.eq("available"))
        .add(node::Column::PowerState.is_not_null())
        .add(node::Column::Maintenance.eq(false))
        .add(node::Column::InstanceUuid.is_null())
        .add(node::Column::AllocationId.is_null());
    c = match &a.resource_class {
        Some(rc) => c.add(node::Column::ResourceClass.eq(rc.clone())),
        None => c.add(node::Column::ResourceClass.is_null()),
    };
    let candidates = string_list(&a.candidate_nodes);
    if !candidates.is_empty() {
        c = c.add(node::Column::Uuid.is_in(candidates));
    }
    if let Some(o) = &a.owner {
        c = c.add(
            Condition::any()
                .add(node::Column::Owner.eq(o.clone()))
                .add(node::Column::Lessee.eq(o.clone())),
        );
    }
    Ok(node::Entity::find()
        .filter(c)
        .order_by_asc(node::Column::Id)
        .all(db)
        .await?)
}

/// The strings of a JSON list column (`traits`, `candidate_nodes`).
pub fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
