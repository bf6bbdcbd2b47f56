//! The `images` table: what nodes are deployed from. Each image is an RBD image with a
//! protected snapshot that nodes' disks are cloned from.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: String,
    pub name: Option<String>,
    /// Project owning the image; `None` for images of the operator.
    pub owner: Option<String>,
    /// `public`, `private` or `shared`.
    pub visibility: String,
    /// Projects a `shared` image is shared with, a JSON list.
    pub shared_with: Json,
    /// `queued`, `saving`, `active` or `error`.
    pub status: String,
    /// Format the data was uploaded in (`raw`, `qcow2`); `None` when registered.
    pub disk_format: Option<String>,
    /// Virtual size in bytes, once known.
    pub size: Option<i64>,
    /// SHA-256 of the uploaded data, hex.
    pub checksum: Option<String>,
    /// Where the data is: pool, image and the protected snapshot clones start from.
    pub pool: String,
    pub rbd_image: String,
    pub snapshot: String,
    /// `upload`, `register` or `node` (a snapshot of a node's disk).
    pub source: String,
    /// The node a `node` image was taken from.
    pub source_node: Option<String>,
    /// Why the image is in `error`.
    pub last_error: Option<String>,
    pub extra: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
