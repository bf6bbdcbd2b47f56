//! Allocations, deploy templates with their steps, and the node's `allocation_id`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Nodes {
    Table,
    AllocationId,
}

#[derive(DeriveIden)]
enum Allocations {
    Table,
    Id,
    Uuid,
    Name,
    NodeId,
    State,
    Owner,
    LastError,
    ResourceClass,
    Traits,
    CandidateNodes,
    Extra,
    ConductorAffinity,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeployTemplates {
    Table,
    Id,
    Uuid,
    Name,
    Extra,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeployTemplateSteps {
    Table,
    Id,
    DeployTemplateId,
    Interface,
    Step,
    Args,
    Priority,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Allocations::Table)
                    .col(big_pk_auto(Allocations::Id))
                    .col(string_len_uniq(Allocations::Uuid, 36))
                    .col(
                        ColumnDef::new(Allocations::Name)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(big_integer_null(Allocations::NodeId))
                    .col(string_len(Allocations::State, 15))
                    .col(string_len_null(Allocations::Owner, 255))
                    .col(text_null(Allocations::LastError))
                    .col(string_len_null(Allocations::ResourceClass, 80))
                    .col(json(Allocations::Traits))
                    .col(json(Allocations::CandidateNodes))
                    .col(json(Allocations::Extra))
                    .col(big_integer_null(Allocations::ConductorAffinity))
                    .col(timestamp_with_time_zone(Allocations::CreatedAt))
                    .col(timestamp_with_time_zone_null(Allocations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("allocations_node_id_idx")
                    .table(Allocations::Table)
                    .col(Allocations::NodeId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeployTemplates::Table)
                    .col(big_pk_auto(DeployTemplates::Id))
                    .col(string_len_uniq(DeployTemplates::Uuid, 36))
                    .col(string_len_uniq(DeployTemplates::Name, 255))
                    .col(json(DeployTemplates::Extra))
                    .col(timestamp_with_time_zone(DeployTemplates::CreatedAt))
                    .col(timestamp_with_time_zone_null(DeployTemplates::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeployTemplateSteps::Table)
                    .col(big_pk_auto(DeployTemplateSteps::Id))
                    .col(big_integer(DeployTemplateSteps::DeployTemplateId))
                    .col(string_len(DeployTemplateSteps::Interface, 255))
                    .col(string_len(DeployTemplateSteps::Step, 255))
                    .col(json(DeployTemplateSteps::Args))
                    .col(integer(DeployTemplateSteps::Priority))
                    .col(timestamp_with_time_zone(DeployTemplateSteps::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        DeployTemplateSteps::UpdatedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                DeployTemplateSteps::Table,
                                DeployTemplateSteps::DeployTemplateId,
                            )
                            .to(DeployTemplates::Table, DeployTemplates::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deploy_template_steps_template_idx")
                    .table(DeployTemplateSteps::Table)
                    .col(DeployTemplateSteps::DeployTemplateId)
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Nodes::Table)
                    .add_column(big_integer_null(Nodes::AllocationId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Nodes::Table)
                    .drop_column(Nodes::AllocationId)
                    .to_owned(),
            )
            .await?;
        for table in [
            DeployTemplateSteps::Table.into_iden(),
            DeployTemplates::Table.into_iden(),
            Allocations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
