//! Queries on chassis (`/v1/chassis`).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    NotSet, PaginatorTrait, QueryFilter, TransactionSession, TransactionTrait,
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
    let txn = db.begin().await?;
    let members = node::Entity::find()
        .filter(node::Column::ChassisId.eq(c.id))
        .count(&txn)
        .await?;
    if members > 0 {
        return Err(Error::invalid(format!(
            "Cannot complete the requested action because chassis {} contains nodes.",
            c.uuid
        )));
    }
    chassis::Entity::delete_by_id(c.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
