//! Disk volumes: node disks kept beyond their deployment (released, recovered or
//! registered), which a later deploy attaches as they are.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DiskVolumes {
    Table,
    Id,
    Uuid,
    Name,
    Owner,
    Status,
    Size,
    Pool,
    RbdImage,
    Source,
    SourceNode,
    NodeUuid,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DiskVolumes::Table)
                    .col(big_pk_auto(DiskVolumes::Id))
                    .col(string_len_uniq(DiskVolumes::Uuid, 36))
                    .col(string_len_null(DiskVolumes::Name, 255))
                    .col(string_len_null(DiskVolumes::Owner, 255))
                    .col(string_len(DiskVolumes::Status, 16))
                    .col(big_integer_null(DiskVolumes::Size))
                    .col(string_len(DiskVolumes::Pool, 255))
                    .col(string_len(DiskVolumes::RbdImage, 255))
                    .col(string_len(DiskVolumes::Source, 16))
                    .col(string_len_null(DiskVolumes::SourceNode, 36))
                    .col(string_len_null(DiskVolumes::NodeUuid, 36))
                    .col(json(DiskVolumes::Extra))
                    .col(timestamp_with_time_zone(DiskVolumes::CreatedAt))
                    .col(timestamp_with_time_zone_null(DiskVolumes::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("disk_volumes_name_idx")
                    .table(DiskVolumes::Table)
                    .col(DiskVolumes::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("disk_volumes_rbd_idx")
                    .table(DiskVolumes::Table)
                    .col(DiskVolumes::Pool)
                    .col(DiskVolumes::RbdImage)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DiskVolumes::Table).to_owned())
            .await
    }
}
