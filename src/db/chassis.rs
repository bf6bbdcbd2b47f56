//! Queries on chassis (`/v1/chassis`).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    NotSet, PaginatorTrait, QueryFilter, TransactionTrait,
};

use super::entities::{chassis, node};
use super::is_unique_violation;
use super::paging::{self, Paging};
use crate::error::{Error, Result};

pub use chassis::Model as Chassis;

/// Columns a client may sort chassis by (`extra` is refused, as Ironic does).
pub const SORTABLE: &[&str] = &["id", "uuid", "description", "created_at", "updated_at"];

/// One page of chassis.
pub async fn list<C: ConnectionTrait>(db: &C, p: Paging<'_, Chassis>) -> Result<Vec<Chassis>> {
    paging::page::<chassis::Entity, _>(db, Condition::all(), chassis::Column::Id, p).await
}

/// A chassis by UUID.
pub async fn by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<Chassis>> {
    Ok(chassis::Entity::find()
        .filter(chassis::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// Inserts a chassis; a duplicate UUID is a 409.
pub async fn insert<C: ConnectionTrait>(db: &C, c: Chassis) -> Result<Chassis> {
    let mut am = c.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("A chassis with UUID {} already exists.", c.uuid))
        } else {
            e.into()
        }
    })
}

/// Writes every column of a chassis and bumps `updated_at`.
pub async fn save<C: ConnectionTrait>(db: &C, c: &mut Chassis) -> Result<()> {
    c.updated_at = Some(chrono::Utc::now());
    let am = c.clone().into_active_model().reset_all();
    am.update(db).await?;
    Ok(())
}

/// Deletes a chassis; one that still holds nodes is refused (400, as Ironic's
/// ChassisNotEmpty).
pub async fn delete<C: ConnectionTrait + TransactionTrait>(db: &C, c: &Chassis) -> Result<()> {
    // One statement: removed only while no node is in it. (A read, then a write, in
    // one SQLite transaction fails at once when another writer commits in between.)
    let with_nodes = sea_orm::sea_query::Query::select()
        .column(node::Column::ChassisId)
        .from(node::Entity)
        .and_where(node::Column::ChassisId.is_not_null())
        .to_owned();
    let done = chassis::Entity::delete_many()
        .filter(chassis::Column::Id.eq(c.id))
        .filter(chassis::Column::Id.not_in_subquery(with_nodes))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        let members = node::Entity::find()
            .filter(node::Column::ChassisId.eq(c.id))
            .count(db)
            .await?;
        if members > 0 {
            return Err(Error::invalid(format!(
                "Cannot complete the requested action because chassis {} contains nodes.",
                c.uuid
            )));
        }
        return Err(Error::not_found("Chassis", c.uuid.clone()));
    }
    Ok(())
}
