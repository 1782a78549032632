//! Schema of the auth service's database.

use async_trait::async_trait;
use crossbar_events::OutboxMigration;
use sea_orm_migration::prelude::*;

use super::entities::{revoked_token, signing_key};

/// The auth service's migrator: the outbox, signing keys, revocations.
pub struct Migrator;

#[async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(OutboxMigration),
            Box::new(CreateSigningKeys),
            Box::new(CreateRevokedTokens),
        ]
    }

    /// Its own bookkeeping table, so that it never trips over another service's
    /// migrations should two services ever share a database.
    fn migration_table_name() -> DynIden {
        Alias::new("auth_migrations").into_iden()
    }
}

struct CreateSigningKeys;

impl MigrationName for CreateSigningKeys {
    fn name(&self) -> &str {
        "m0002_auth_create_signing_keys"
    }
}

#[async_trait]
impl MigrationTrait for CreateSigningKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use signing_key::{Column, Entity};
        manager
            .create_table(
                Table::create()
                    .table(Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Column::Kid)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Column::Pkcs8).text().not_null())
                    .col(ColumnDef::new(Column::Created).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(signing_key::Entity).to_owned())
            .await
    }
}

struct CreateRevokedTokens;

impl MigrationName for CreateRevokedTokens {
    fn name(&self) -> &str {
        "m0003_auth_create_revoked_tokens"
    }
}

#[async_trait]
impl MigrationTrait for CreateRevokedTokens {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use revoked_token::{Column, Entity};
        manager
            .create_table(
                Table::create()
                    .table(Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Column::Jti)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Column::Exp).big_integer().not_null())
                    .col(ColumnDef::new(Column::RevokedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revoked_tokens_exp")
                    .table(Entity)
                    .col(Column::Exp)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(revoked_token::Entity).to_owned())
            .await
    }
}
