//! Queries on allocations.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{allocation, node};
use super::is_unique_violation;
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

/// An allocation by UUID or name, as the API addresses it; 404 when absent.
pub async fn get<C: ConnectionTrait>(db: &C, ident: &str) -> Result<Allocation> {
    let found = match uuid::Uuid::try_parse(ident) {
        Ok(u) => by_uuid(db, &u.hyphenated().to_string()).await?,
        Err(_) => {
            allocation::Entity::find()
                .filter(allocation::Column::Name.eq(ident))
                .one(db)
                .await?
        }
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
