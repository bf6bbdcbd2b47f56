//! The `allocations` table: a request for a node matching a resource class and traits,
//! and the node it was given.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Serialisable so that a conductor can hand a new allocation back over RPC.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "allocations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: String,
    #[sea_orm(unique)]
    pub name: Option<String>,
    /// The node given to the allocation, once active.
    pub node_id: Option<i64>,
    /// `allocating`, `active` or `error`.
    pub state: String,
    pub owner: Option<String>,
    pub last_error: Option<String>,
    pub resource_class: Option<String>,
    /// Required traits, a JSON list.
    pub traits: Json,
    /// UUIDs of the nodes the allocation may pick from, a JSON list (empty: any).
    pub candidate_nodes: Json,
    pub extra: Json,
    /// The conductor that processed the allocation (internal).
    pub conductor_affinity: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
