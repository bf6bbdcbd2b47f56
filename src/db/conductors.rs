//! Queries on the conductor registry.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use super::entities::conductor;
use crate::error::Result;

pub use conductor::Model as ConductorRow;

/// Registers (or re-registers) a conductor as online.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    hostname: &str,
    group: &str,
    hardware_types: &[String],
) -> Result<()> {
    let now = Utc::now();
    let existing = conductor::Entity::find()
        .filter(conductor::Column::Hostname.eq(hostname))
        .one(db)
        .await?;
    match existing {
        Some(row) => {
            let mut am = row.into_active_model();
            am.online = Set(true);
            am.conductor_group = Set(group.to_owned());
            am.hardware_types = Set(json!(hardware_types));
            am.updated_at = Set(Some(now));
            am.update(db).await?;
        }
        None => {
            conductor::ActiveModel {
                hostname: Set(hostname.to_owned()),
                online: Set(true),
                conductor_group: Set(group.to_owned()),
                hardware_types: Set(json!(hardware_types)),
                created_at: Set(now),
                updated_at: Set(Some(now)),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Records a heartbeat.
pub async fn touch<C: ConnectionTrait>(db: &C, hostname: &str) -> Result<()> {
    conductor::Entity::update_many()
        .col_expr(
            conductor::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .col_expr(
            conductor::Column::Online,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(conductor::Column::Hostname.eq(hostname))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a conductor offline (graceful stop).
pub async fn unregister<C: ConnectionTrait>(db: &C, hostname: &str) -> Result<()> {
    conductor::Entity::update_many()
        .col_expr(
            conductor::Column::Online,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(conductor::Column::Hostname.eq(hostname))
        .exec(db)
        .await?;
    Ok(())
}

/// The database id of the conductor registered as `hostname`.
pub async fn id_of<C: ConnectionTrait>(db: &C, hostname: &str) -> Result<Option<i64>> {
    Ok(conductor::Entity::find()
        .filter(conductor::Column::Hostname.eq(hostname))
        .one(db)
        .await?
        .map(|c| c.id))
}

/// Every registered conductor, by hostname.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<ConductorRow>> {
    Ok(conductor::Entity::find()
        .order_by_asc(conductor::Column::Hostname)
        .all(db)
        .await?)
}

/// Is the conductor alive: online and heartbeating within `timeout_s`?
pub fn is_alive(c: &ConductorRow, timeout_s: u64) -> bool {
    let fresh = c
        .updated_at
        .is_some_and(|t| Utc::now() - t < Duration::seconds(timeout_s as i64));
    c.online && fresh
}
