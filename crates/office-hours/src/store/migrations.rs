//! The office-hours service's migrations.

use async_trait::async_trait;
use sea_orm_migration::prelude::*;

/// The office-hours migrator: the outbox, then the document tables.
pub struct Migrator;

#[async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(crossbar_events::OutboxMigration),
            Box::new(crossbar_crud::DocumentsMigration),
            Box::new(super::messages::MessagesMigration),
        ]
    }

    /// Its own bookkeeping table, so that it never trips over another service's
    /// migrations should two services ever share a database.
    fn migration_table_name() -> DynIden {
        Alias::new("office_hours_migrations").into_iden()
    }
}
