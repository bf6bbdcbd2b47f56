//! The `deploy_template_steps` table: the steps of a deploy template, in order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deploy_template_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deploy_template_id: i64,
    pub interface: String,
    pub step: String,
    pub args: Json,
    pub priority: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
