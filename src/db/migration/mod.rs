//! Schema migrations, applied in order by `m2 dbsync` and on `m2 standalone` start.
//! A migration, once released, never changes: add a new one instead.

use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_allocations_templates;
mod m0003_images;
mod m0004_disk_volumes;

/// All migrations of m2, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_allocations_templates::Migration),
            Box::new(m0003_images::Migration),
            Box::new(m0004_disk_volumes::Migration),
        ]
    }
}
