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

/// Registers (or re-registers) a conductor, online or not yet; returns its row id.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    hostname: &str,
    group: &str,
    hardware_types: &[String],
    online: bool,
) -> Result<i64> {
    let now = Utc::now();
    let existing = conductor::Entity::find()
        .filter(conductor::Column::Hostname.eq(hostname))
        .one(db)
        .await?;
    match existing {
        Some(row) => {
            let mut am = row.into_active_model();
            am.online = Set(online);
            am.conductor_group = Set(group.to_owned());
            am.hardware_types = Set(json!(hardware_types));
            am.updated_at = Set(Some(now));
            Ok(am.update(db).await?.id)
        }
        None => Ok(conductor::ActiveModel {
            hostname: Set(hostname.to_owned()),
            online: Set(online),
            conductor_group: Set(group.to_owned()),
            hardware_types: Set(json!(hardware_types)),
            created_at: Set(now),
            updated_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(db)
        .await?
        .id),
    }
}

/// Records a heartbeat. It does not change `online`: a conductor that deregistered
/// and is finishing its work keeps heartbeating, so that nobody takes its nodes from
/// under it. `false` when the row is gone.
pub async fn touch<C: ConnectionTrait>(db: &C, hostname: &str) -> Result<bool> {
    let r = conductor::Entity::update_many()
        .col_expr(
            conductor::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(conductor::Column::Hostname.eq(hostname))
        .exec(db)
        .await?;
    Ok(r.rows_affected > 0)
}

/// Marks a conductor online: it serves requests (the hash rings include it).
pub async fn set_online<C: ConnectionTrait>(db: &C, hostname: &str) -> Result<()> {
    conductor::Entity::update_many()
        .col_expr(
            conductor::Column::Online,
            sea_orm::sea_query::Expr::value(true),
        )
        .col_expr(
            conductor::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(conductor::Column::Hostname.eq(hostname))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a conductor offline (graceful stop): the hash rings drop it at once.
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
    c.online && !is_dead(c, timeout_s)
}

/// Has the conductor stopped heartbeating for `timeout_s`? Its reservations may then
/// be taken over. (A conductor that is offline but still heartbeats is finishing its
/// work, and keeps its reservations.)
pub fn is_dead(c: &ConductorRow, timeout_s: u64) -> bool {
    c.updated_at
        .is_none_or(|t| Utc::now() - t >= Duration::seconds(timeout_s as i64))
}
