//! The accounts service's migrations.

use async_trait::async_trait;
use sea_orm_migration::prelude::*;

use super::account;

pub struct Migrator;

#[async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(crossbar_events::OutboxMigration),
            Box::new(crossbar_crud::DocumentsMigration),
            Box::new(CreateAccounts),
        ]
    }
}

struct CreateAccounts;

impl MigrationName for CreateAccounts {
    fn name(&self) -> &str {
        "m0003_create_accounts"
    }
}

#[async_trait]
impl MigrationTrait for CreateAccounts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use account::Column as C;
        manager
            .create_table(
                Table::create()
                    .table(account::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(C::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(C::Name).string().not_null())
                    .col(ColumnDef::new(C::NameKey).string().not_null().unique_key())
                    .col(ColumnDef::new(C::Realm).string().not_null())
                    .col(ColumnDef::new(C::RealmKey).string().not_null().unique_key())
                    .col(ColumnDef::new(C::ParentId).string().null())
                    .col(ColumnDef::new(C::Path).string().not_null())
                    .col(ColumnDef::new(C::Depth).integer().not_null())
                    .col(
                        ColumnDef::new(C::Descendants)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(C::Enabled).boolean().not_null())
                    .col(ColumnDef::new(C::SuperduperAdmin).boolean().not_null())
                    .col(ColumnDef::new(C::IsReseller).boolean().not_null())
                    .col(ColumnDef::new(C::ApiKey).string().not_null().unique_key())
                    .col(ColumnDef::new(C::AuthSalt).string().not_null())
                    .col(ColumnDef::new(C::Doc).text().not_null())
                    .col(ColumnDef::new(C::Rev).big_integer().not_null())
                    .col(ColumnDef::new(C::Created).big_integer().not_null())
                    .col(ColumnDef::new(C::Modified).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        // Subtrees are ranges of `path`; children pages walk (parent_id, name_key, id).
        let indexes = [
            ("accounts_path", vec![C::Path]),
            ("accounts_children", vec![C::ParentId, C::NameKey, C::Id]),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.name(name).table(account::Entity).if_not_exists();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(account::Entity).to_owned())
            .await
    }
}
