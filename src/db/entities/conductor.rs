//! The `conductors` table: registered conductor services and their heartbeats.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conductors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub hostname: String,
    pub online: bool,
    pub conductor_group: String,
    /// Hardware types served, a JSON list of names.
    pub hardware_types: Json,
    pub created_at: DateTimeUtc,
    /// Last heartbeat.
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
