//! The `nodes` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "nodes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: String,
    #[sea_orm(unique)]
    pub name: Option<String>,
    pub description: Option<String>,
    pub chassis_id: Option<i64>,
    pub driver: String,
    pub driver_info: Json,
    pub driver_internal_info: Json,
    pub properties: Json,
    pub extra: Json,
    pub instance_info: Json,
    #[sea_orm(unique)]
    pub instance_uuid: Option<String>,
    pub power_state: Option<String>,
    pub target_power_state: Option<String>,
    pub provision_state: String,
    pub target_provision_state: Option<String>,
    pub provision_updated_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub maintenance: bool,
    pub maintenance_reason: Option<String>,
    pub fault: Option<String>,
    pub reservation: Option<String>,
    pub conductor_affinity: Option<i64>,
    pub conductor_group: String,
    pub console_enabled: bool,
    pub inspection_started_at: Option<DateTimeUtc>,
    pub inspection_finished_at: Option<DateTimeUtc>,
    pub clean_step: Json,
    pub deploy_step: Json,
    pub raid_config: Json,
    pub target_raid_config: Json,
    pub network_data: Json,
    pub resource_class: Option<String>,
    pub automated_clean: Option<bool>,
    pub protected: bool,
    pub protected_reason: Option<String>,
    pub owner: Option<String>,
    pub lessee: Option<String>,
    pub retired: bool,
    pub retired_reason: Option<String>,
    pub boot_mode: Option<String>,
    pub secure_boot: Option<bool>,
    pub bios_interface: String,
    pub boot_interface: String,
    pub console_interface: String,
    pub deploy_interface: String,
    pub firmware_interface: String,
    pub inspect_interface: String,
    pub management_interface: String,
    pub network_interface: String,
    pub power_interface: String,
    pub raid_interface: String,
    pub rescue_interface: String,
    pub storage_interface: String,
    pub vendor_interface: String,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    /// The allocation holding the node, if any.
    pub allocation_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
