//! The document table every service stores its resources in, with the unique-claims
//! table that makes "unique within the account" hold under concurrent writes.

use async_trait::async_trait;
use sea_orm::{DbErr, DeriveIden};
use sea_orm_migration::prelude::*;

pub mod document {
    use sea_orm::entity::prelude::*;

    /// One resource: its whole JSON document plus the columns queries need.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "documents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `pvt_type`: "user", "device", ...
        pub kind: String,
        pub account_id: String,
        /// Listing order key (usually the lowercased name).
        pub sort_key: String,
        /// The full JSON document (public and `pvt_*` fields).
        #[sea_orm(column_type = "Text")]
        pub doc: String,
        pub rev: i64,
        pub deleted: bool,
        pub created: i64,
        pub modified: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod unique_key {
    use sea_orm::entity::prelude::*;

    /// A value that must be unique among one account's live documents of a kind
    /// (a username, a callflow number...). The primary key enforces it.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "unique_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub claim: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub value: String,
        pub doc_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    Kind,
    AccountId,
    SortKey,
    Doc,
    Rev,
    Deleted,
    Created,
    Modified,
}

#[derive(DeriveIden)]
enum UniqueKeys {
    Table,
    Scope,
    Claim,
    Value,
    DocId,
}

/// Creates `documents` and `unique_keys`; every service that stores documents lists it.
pub struct DocumentsMigration;

impl MigrationName for DocumentsMigration {
    fn name(&self) -> &str {
        "m0002_create_documents"
    }
}

#[async_trait]
impl MigrationTrait for DocumentsMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Documents::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Documents::Kind).string().not_null())
                    .col(ColumnDef::new(Documents::AccountId).string().not_null())
                    .col(ColumnDef::new(Documents::SortKey).string().not_null())
                    .col(ColumnDef::new(Documents::Doc).text().not_null())
                    .col(ColumnDef::new(Documents::Rev).big_integer().not_null())
                    .col(ColumnDef::new(Documents::Deleted).boolean().not_null())
                    .col(ColumnDef::new(Documents::Created).big_integer().not_null())
                    .col(ColumnDef::new(Documents::Modified).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("documents_listing")
                    .table(Documents::Table)
                    .col(Documents::AccountId)
                    .col(Documents::Kind)
                    .col(Documents::Deleted)
                    .col(Documents::SortKey)
                    .col(Documents::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UniqueKeys::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(UniqueKeys::Scope).string().not_null())
                    .col(ColumnDef::new(UniqueKeys::Claim).string().not_null())
                    .col(ColumnDef::new(UniqueKeys::Value).string().not_null())
                    .col(ColumnDef::new(UniqueKeys::DocId).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(UniqueKeys::Scope)
                            .col(UniqueKeys::Claim)
                            .col(UniqueKeys::Value),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unique_keys_by_doc")
                    .table(UniqueKeys::Table)
                    .col(UniqueKeys::DocId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UniqueKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Documents::Table).to_owned())
            .await
    }
}
