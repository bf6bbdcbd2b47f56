//! Images: what nodes are deployed from (m2's own resource).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Images {
    Table,
    Id,
    Uuid,
    Name,
    Owner,
    Visibility,
    SharedWith,
    Status,
    DiskFormat,
    Size,
    Checksum,
    Pool,
    RbdImage,
    Snapshot,
    Source,
    SourceNode,
    LastError,
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
                    .table(Images::Table)
                    .col(big_pk_auto(Images::Id))
                    .col(string_len_uniq(Images::Uuid, 36))
                    .col(string_len_null(Images::Name, 255))
                    .col(string_len_null(Images::Owner, 255))
                    .col(string_len(Images::Visibility, 16))
                    .col(json(Images::SharedWith))
                    .col(string_len(Images::Status, 16))
                    .col(string_len_null(Images::DiskFormat, 16))
                    .col(big_integer_null(Images::Size))
                    .col(string_len_null(Images::Checksum, 64))
                    .col(string_len(Images::Pool, 255))
                    .col(string_len(Images::RbdImage, 255))
                    .col(string_len(Images::Snapshot, 255))
                    .col(string_len(Images::Source, 16))
                    .col(string_len_null(Images::SourceNode, 36))
                    .col(text_null(Images::LastError))
                    .col(json(Images::Extra))
                    .col(timestamp_with_time_zone(Images::CreatedAt))
                    .col(timestamp_with_time_zone_null(Images::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("images_name_idx")
                    .table(Images::Table)
                    .col(Images::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("images_rbd_idx")
                    .table(Images::Table)
                    .col(Images::Pool)
                    .col(Images::RbdImage)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Images::Table).to_owned())
            .await
    }
}
