//! The `disk_volumes` table: node disks that outlive a deployment. A volume is an RBD
//! image that a deploy attaches as the node's disk as it is, without a copy.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "disk_volumes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: String,
    pub name: Option<String>,
    /// Project owning the volume; `None` for volumes of the operator.
    pub owner: Option<String>,
    /// `available` or `in-use` (attached to `node_uuid`).
    pub status: String,
    /// Size in bytes when last seen.
    pub size: Option<i64>,
    pub pool: String,
    pub rbd_image: String,
    /// `release` (kept on undeploy), `recovery` (moved off a failed node),
    /// `retained` (a disk images taken from it still read from, kept instead of
    /// removed) or `register` (an RBD image m2 did not make, such as a VM's volume).
    pub source: String,
    /// The node whose disk this was first.
    pub source_node: Option<String>,
    /// The node the volume is attached to while `in-use`.
    pub node_uuid: Option<String>,
    pub extra: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
