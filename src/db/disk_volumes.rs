//! Queries on disk volumes (`/v1/volumes`).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    NotSet, QueryFilter,
};

use super::entities::disk_volume;
use super::images::Viewer;
use super::is_unique_violation;
use super::paging::{self, Paging};
use crate::error::{Error, Result};

pub use disk_volume::Model as DiskVolume;

/// Volume states.
pub const AVAILABLE: &str = "available";
pub const IN_USE: &str = "in-use";

/// Columns a client may sort volumes by.
pub const SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "name",
    "owner",
    "status",
    "size",
    "created_at",
    "updated_at",
];

/// Filters of a volume list.
#[derive(Debug, Default, Clone)]
pub struct VolumeFilter {
    pub name: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
}

/// Can `viewer` see (and attach) `v`? Its owner project, and administrators.
pub fn visible_to(v: &DiskVolume, viewer: &Viewer) -> bool {
    match &viewer.project {
        None => true,
        Some(p) => v.owner.as_deref() == Some(p.as_str()),
    }
}

/// One page of the volumes `viewer` can see, matching `f`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    f: &VolumeFilter,
    p: Paging<'_, DiskVolume>,
) -> Result<Vec<DiskVolume>> {
    let mut c = Condition::all();
    if let Some(project) = &viewer.project {
        c = c.add(disk_volume::Column::Owner.eq(project.clone()));
    }
    if let Some(v) = &f.name {
        c = c.add(disk_volume::Column::Name.eq(v.clone()));
    }
    if let Some(v) = &f.status {
        c = c.add(disk_volume::Column::Status.eq(v.clone()));
    }
    if let Some(v) = &f.owner {
        c = c.add(disk_volume::Column::Owner.eq(v.clone()));
    }
    paging::page::<disk_volume::Entity, _>(db, c, disk_volume::Column::Id, p).await
}

/// A volume by UUID.
pub async fn by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<DiskVolume>> {
    Ok(disk_volume::Entity::find()
        .filter(disk_volume::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// Volumes with a name.
pub async fn by_name<C: ConnectionTrait>(db: &C, name: &str) -> Result<Vec<DiskVolume>> {
    Ok(disk_volume::Entity::find()
        .filter(disk_volume::Column::Name.eq(name))
        .all(db)
        .await?)
}

/// The volume stored as `pool/rbd_image`, if any.
pub async fn by_rbd<C: ConnectionTrait>(
    db: &C,
    pool: &str,
    rbd_image: &str,
) -> Result<Option<DiskVolume>> {
    Ok(disk_volume::Entity::find()
        .filter(disk_volume::Column::Pool.eq(pool))
        .filter(disk_volume::Column::RbdImage.eq(rbd_image))
        .one(db)
        .await?)
}

/// Inserts a volume record.
pub async fn insert<C: ConnectionTrait>(db: &C, v: DiskVolume) -> Result<DiskVolume> {
    let mut am = v.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!(
                "A volume stored as {}/{} exists already.",
                v.pool, v.rbd_image
            ))
        } else {
            e.into()
        }
    })
}

/// Writes every column of a volume and bumps `updated_at`.
pub async fn save<C: ConnectionTrait>(db: &C, v: &mut DiskVolume) -> Result<()> {
    v.updated_at = Some(chrono::Utc::now());
    let am = v.clone().into_active_model().reset_all();
    am.update(db).await?;
    Ok(())
}

/// Marks an `available` volume `in-use` by `node`; false when it is not available
/// (another node took it first).
pub async fn claim<C: ConnectionTrait>(db: &C, id: i64, node: &str) -> Result<bool> {
    let r = disk_volume::Entity::update_many()
        .col_expr(disk_volume::Column::Status, Expr::value(IN_USE))
        .col_expr(disk_volume::Column::NodeUuid, Expr::value(node))
        .col_expr(
            disk_volume::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(disk_volume::Column::Id.eq(id))
        .filter(disk_volume::Column::Status.eq(AVAILABLE))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Makes the volumes in use by `node` available; returns how many.
pub async fn release_node<C: ConnectionTrait>(db: &C, node: &str) -> Result<u64> {
    let r = disk_volume::Entity::update_many()
        .col_expr(disk_volume::Column::Status, Expr::value(AVAILABLE))
        .col_expr(
            disk_volume::Column::NodeUuid,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            disk_volume::Column::UpdatedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(disk_volume::Column::NodeUuid.eq(node))
        .filter(disk_volume::Column::Status.eq(IN_USE))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Deletes a volume record.
pub async fn delete<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    disk_volume::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_owners_and_admins_see_a_volume() {
        let v = DiskVolume {
            id: 1,
            uuid: "u".into(),
            name: None,
            owner: Some("a".into()),
            status: AVAILABLE.into(),
            size: None,
            pool: "p".into(),
            rbd_image: "i".into(),
            source: "release".into(),
            source_node: None,
            node_uuid: None,
            extra: json!({}),
            created_at: chrono::Utc::now(),
            updated_at: None,
        };
        assert!(visible_to(&v, &Viewer { project: None }));
        assert!(visible_to(
            &v,
            &Viewer {
                project: Some("a".into())
            }
        ));
        assert!(!visible_to(
            &v,
            &Viewer {
                project: Some("b".into())
            }
        ));
    }
}
