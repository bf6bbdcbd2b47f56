//! Queries on ports and portgroups used by the conductor (VIF bookkeeping).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::Value;

use super::entities::{port, portgroup};
use crate::error::Result;

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
