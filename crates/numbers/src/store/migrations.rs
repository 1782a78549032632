//! The numbers service's migrations.

use async_trait::async_trait;
use sea_orm_migration::prelude::*;

/// The numbers migrator: the outbox, the document tables, then the
/// inventory and port-request tables.
pub struct Migrator;

#[async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(crossbar_events::OutboxMigration),
            Box::new(crossbar_crud::DocumentsMigration),
            Box::new(super::numbers::NumbersMigration),
            Box::new(super::ports::PortsMigration),
            Box::new(super::numbers::NumbersLastRequestMigration),
        ]
    }

    /// Its own bookkeeping table (services never trip over each other's migrations).
    fn migration_table_name() -> DynIden {
        Alias::new("numbers_migrations").into_iden()
    }
}
