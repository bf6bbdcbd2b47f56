//! The `portgroups` table: a bond of ports.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "portgroups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: String,
    #[sea_orm(unique)]
    pub name: Option<String>,
    #[sea_orm(unique)]
    pub address: Option<String>,
    pub node_id: i64,
    pub extra: Json,
    pub internal_info: Json,
    pub properties: Json,
    pub mode: Option<String>,
    pub standalone_ports_supported: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
