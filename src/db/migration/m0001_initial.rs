//! The initial schema: nodes, traits, ports, portgroups, chassis, conductors and volumes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Nodes {
    Table,
    Id,
    Uuid,
    Name,
    Description,
    ChassisId,
    Driver,
    DriverInfo,
    DriverInternalInfo,
    Properties,
    Extra,
    InstanceInfo,
    InstanceUuid,
    PowerState,
    TargetPowerState,
    ProvisionState,
    TargetProvisionState,
    ProvisionUpdatedAt,
    LastError,
    Maintenance,
    MaintenanceReason,
    Fault,
    Reservation,
    ConductorAffinity,
    ConductorGroup,
    ConsoleEnabled,
    InspectionStartedAt,
    InspectionFinishedAt,
    CleanStep,
    DeployStep,
    RaidConfig,
    TargetRaidConfig,
    NetworkData,
    ResourceClass,
    AutomatedClean,
    Protected,
    ProtectedReason,
    Owner,
    Lessee,
    Retired,
    RetiredReason,
    BootMode,
    SecureBoot,
    BiosInterface,
    BootInterface,
    ConsoleInterface,
    DeployInterface,
    FirmwareInterface,
    InspectInterface,
    ManagementInterface,
    NetworkInterface,
    PowerInterface,
    RaidInterface,
    RescueInterface,
    StorageInterface,
    VendorInterface,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NodeTraits {
    Table,
    NodeId,
    Trait,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Ports {
    Table,
    Id,
    Uuid,
    Address,
    NodeId,
    PortgroupId,
    Extra,
    LocalLinkConnection,
    InternalInfo,
    PxeEnabled,
    PhysicalNetwork,
    IsSmartnic,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Portgroups {
    Table,
    Id,
    Uuid,
    Name,
    Address,
    NodeId,
    Extra,
    InternalInfo,
    Properties,
    Mode,
    StandalonePortsSupported,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Chassis {
    Table,
    Id,
    Uuid,
    Description,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Conductors {
    Table,
    Id,
    Hostname,
    Online,
    ConductorGroup,
    HardwareTypes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VolumeConnectors {
    Table,
    Id,
    Uuid,
    NodeId,
    Type,
    ConnectorId,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VolumeTargets {
    Table,
    Id,
    Uuid,
    NodeId,
    VolumeType,
    Properties,
    BootIndex,
    VolumeId,
    Extra,
    CreatedAt,
    UpdatedAt,
}

fn uuid_col<T: IntoIden>(col: T) -> ColumnDef {
    string_len_uniq(col, 36)
}

fn created<T: IntoIden>(col: T) -> ColumnDef {
    timestamp_with_time_zone(col)
}

fn updated<T: IntoIden>(col: T) -> ColumnDef {
    timestamp_with_time_zone_null(col)
}

fn iface<T: IntoIden>(col: T) -> ColumnDef {
    string_len(col, 255)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Chassis::Table)
                    .col(big_pk_auto(Chassis::Id))
                    .col(uuid_col(Chassis::Uuid))
                    .col(string_len_null(Chassis::Description, 255))
                    .col(json(Chassis::Extra))
                    .col(created(Chassis::CreatedAt))
                    .col(updated(Chassis::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Nodes::Table)
                    .col(big_pk_auto(Nodes::Id))
                    .col(uuid_col(Nodes::Uuid))
                    .col(
                        ColumnDef::new(Nodes::Name)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(text_null(Nodes::Description))
                    .col(big_integer_null(Nodes::ChassisId))
                    .col(string_len(Nodes::Driver, 255))
                    .col(json(Nodes::DriverInfo))
                    .col(json(Nodes::DriverInternalInfo))
                    .col(json(Nodes::Properties))
                    .col(json(Nodes::Extra))
                    .col(json(Nodes::InstanceInfo))
                    .col(
                        ColumnDef::new(Nodes::InstanceUuid)
                            .string_len(36)
                            .null()
                            .unique_key(),
                    )
                    .col(string_len_null(Nodes::PowerState, 32))
                    .col(string_len_null(Nodes::TargetPowerState, 32))
                    .col(string_len(Nodes::ProvisionState, 32))
                    .col(string_len_null(Nodes::TargetProvisionState, 32))
                    .col(timestamp_with_time_zone_null(Nodes::ProvisionUpdatedAt))
                    .col(text_null(Nodes::LastError))
                    .col(boolean(Nodes::Maintenance))
                    .col(text_null(Nodes::MaintenanceReason))
                    .col(string_len_null(Nodes::Fault, 255))
                    .col(string_len_null(Nodes::Reservation, 255))
                    .col(big_integer_null(Nodes::ConductorAffinity))
                    .col(string_len(Nodes::ConductorGroup, 255))
                    .col(boolean(Nodes::ConsoleEnabled))
                    .col(timestamp_with_time_zone_null(Nodes::InspectionStartedAt))
                    .col(timestamp_with_time_zone_null(Nodes::InspectionFinishedAt))
                    .col(json(Nodes::CleanStep))
                    .col(json(Nodes::DeployStep))
                    .col(json(Nodes::RaidConfig))
                    .col(json(Nodes::TargetRaidConfig))
                    .col(json(Nodes::NetworkData))
                    .col(string_len_null(Nodes::ResourceClass, 80))
                    .col(boolean_null(Nodes::AutomatedClean))
                    .col(boolean(Nodes::Protected))
                    .col(text_null(Nodes::ProtectedReason))
                    .col(string_len_null(Nodes::Owner, 255))
                    .col(string_len_null(Nodes::Lessee, 255))
                    .col(boolean(Nodes::Retired))
                    .col(text_null(Nodes::RetiredReason))
                    .col(string_len_null(Nodes::BootMode, 16))
                    .col(boolean_null(Nodes::SecureBoot))
                    .col(iface(Nodes::BiosInterface))
                    .col(iface(Nodes::BootInterface))
                    .col(iface(Nodes::ConsoleInterface))
                    .col(iface(Nodes::DeployInterface))
                    .col(iface(Nodes::FirmwareInterface))
                    .col(iface(Nodes::InspectInterface))
                    .col(iface(Nodes::ManagementInterface))
                    .col(iface(Nodes::NetworkInterface))
                    .col(iface(Nodes::PowerInterface))
                    .col(iface(Nodes::RaidInterface))
                    .col(iface(Nodes::RescueInterface))
                    .col(iface(Nodes::StorageInterface))
                    .col(iface(Nodes::VendorInterface))
                    .col(created(Nodes::CreatedAt))
                    .col(updated(Nodes::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("nodes_provision_state_idx", Nodes::ProvisionState),
            ("nodes_reservation_idx", Nodes::Reservation),
            ("nodes_conductor_group_idx", Nodes::ConductorGroup),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Nodes::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(NodeTraits::Table)
                    .col(big_integer(NodeTraits::NodeId))
                    .col(string_len(NodeTraits::Trait, 255))
                    .col(created(NodeTraits::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(NodeTraits::NodeId)
                            .col(NodeTraits::Trait),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(NodeTraits::Table, NodeTraits::NodeId)
                            .to(Nodes::Table, Nodes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Portgroups::Table)
                    .col(big_pk_auto(Portgroups::Id))
                    .col(uuid_col(Portgroups::Uuid))
                    .col(
                        ColumnDef::new(Portgroups::Name)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Portgroups::Address)
                            .string_len(18)
                            .null()
                            .unique_key(),
                    )
                    .col(big_integer(Portgroups::NodeId))
                    .col(json(Portgroups::Extra))
                    .col(json(Portgroups::InternalInfo))
                    .col(json(Portgroups::Properties))
                    .col(string_len_null(Portgroups::Mode, 255))
                    .col(boolean(Portgroups::StandalonePortsSupported))
                    .col(created(Portgroups::CreatedAt))
                    .col(updated(Portgroups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Portgroups::Table, Portgroups::NodeId)
                            .to(Nodes::Table, Nodes::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Ports::Table)
                    .col(big_pk_auto(Ports::Id))
                    .col(uuid_col(Ports::Uuid))
                    .col(string_len_uniq(Ports::Address, 18))
                    .col(big_integer(Ports::NodeId))
                    .col(big_integer_null(Ports::PortgroupId))
                    .col(json(Ports::Extra))
                    .col(json(Ports::LocalLinkConnection))
                    .col(json(Ports::InternalInfo))
                    .col(boolean(Ports::PxeEnabled))
                    .col(string_len_null(Ports::PhysicalNetwork, 64))
                    .col(boolean(Ports::IsSmartnic))
                    .col(created(Ports::CreatedAt))
                    .col(updated(Ports::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ports::Table, Ports::NodeId)
                            .to(Nodes::Table, Nodes::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ports_node_id_idx")
                    .table(Ports::Table)
                    .col(Ports::NodeId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Conductors::Table)
                    .col(big_pk_auto(Conductors::Id))
                    .col(string_len_uniq(Conductors::Hostname, 255))
                    .col(boolean(Conductors::Online))
                    .col(string_len(Conductors::ConductorGroup, 255))
                    .col(json(Conductors::HardwareTypes))
                    .col(created(Conductors::CreatedAt))
                    .col(updated(Conductors::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(VolumeConnectors::Table)
                    .col(big_pk_auto(VolumeConnectors::Id))
                    .col(uuid_col(VolumeConnectors::Uuid))
                    .col(big_integer(VolumeConnectors::NodeId))
                    .col(string_len(VolumeConnectors::Type, 32))
                    .col(string_len(VolumeConnectors::ConnectorId, 255))
                    .col(json(VolumeConnectors::Extra))
                    .col(created(VolumeConnectors::CreatedAt))
                    .col(updated(VolumeConnectors::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VolumeConnectors::Table, VolumeConnectors::NodeId)
                            .to(Nodes::Table, Nodes::Id),
                    )
                    .index(
                        Index::create()
                            .name("volume_connectors_type_connector_id_uniq")
                            .unique()
                            .col(VolumeConnectors::Type)
                            .col(VolumeConnectors::ConnectorId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(VolumeTargets::Table)
                    .col(big_pk_auto(VolumeTargets::Id))
                    .col(uuid_col(VolumeTargets::Uuid))
                    .col(big_integer(VolumeTargets::NodeId))
                    .col(string_len(VolumeTargets::VolumeType, 64))
                    .col(json(VolumeTargets::Properties))
                    .col(integer(VolumeTargets::BootIndex))
                    .col(string_len(VolumeTargets::VolumeId, 255))
                    .col(json(VolumeTargets::Extra))
                    .col(created(VolumeTargets::CreatedAt))
                    .col(updated(VolumeTargets::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VolumeTargets::Table, VolumeTargets::NodeId)
                            .to(Nodes::Table, Nodes::Id),
                    )
                    .index(
                        Index::create()
                            .name("volume_targets_node_id_boot_index_uniq")
                            .unique()
                            .col(VolumeTargets::NodeId)
                            .col(VolumeTargets::BootIndex),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VolumeTargets::Table.into_iden(),
            VolumeConnectors::Table.into_iden(),
            Conductors::Table.into_iden(),
            Ports::Table.into_iden(),
            Portgroups::Table.into_iden(),
            NodeTraits::Table.into_iden(),
            Nodes::Table.into_iden(),
            Chassis::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
