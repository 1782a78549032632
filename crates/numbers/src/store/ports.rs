//! Port requests: table `port_requests` (the request document and its private log),
//! `port_numbers` (which numbers each request carries, with whether the request is
//! still active, so "one active port per number" is an index lookup) and
//! `port_attachments` (uploaded files, stored in the database).

use async_trait::async_trait;
use crossbar_crud::db::db_error;
use crossbar_envelope::ApiError;
use crossbar_events::Event;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sea_orm_migration::prelude::*;
use serde_json::{Map, Value};

pub mod request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "port_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub account_id: String,
        pub port_state: String,
        /// The account that drives the request (`pvt_port_authority`).
        pub port_authority: String,
        pub deleted: bool,
        /// JSON object: the public document (name, numbers, bill, ...).
        #[sea_orm(column_type = "Text")]
        pub doc: String,
        /// JSON array: the transition log (`pvt_transitions`).
        #[sea_orm(column_type = "Text")]
        pub transitions: String,
        /// JSON array: comments (with `is_private`).
        #[sea_orm(column_type = "Text")]
        pub comments: String,
        pub created: i64,
        pub modified: i64,
        pub rev: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod number {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "port_numbers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub port_id: String,
        pub account_id: String,
        pub active: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod attachment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "port_attachments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub port_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub content_type: String,
        pub length: i64,
        #[sea_orm(column_type = "Blob")]
        pub bytes: Vec<u8>,
        pub created: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use request::Model as PortRow;

impl PortRow {
    pub fn doc(&self) -> Map<String, Value> {
        serde_json::from_str(&self.doc).unwrap_or_default()
    }

    pub fn transitions(&self) -> Vec<Value> {
        serde_json::from_str(&self.transitions).unwrap_or_default()
    }

    pub fn comments(&self) -> Vec<Value> {
        serde_json::from_str(&self.comments).unwrap_or_default()
    }

    /// The E.164 numbers of the request (keys of `numbers`).
    pub fn numbers(&self) -> Vec<String> {
        self.doc()
            .get("numbers")
            .and_then(Value::as_object)
            .map(|numbers| numbers.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Inserts or (revision-checked) updates a request, rewrites its number index with
/// `active`, and appends `events`, inside the caller's transaction.
pub async fn save<C: ConnectionTrait>(
    conn: &C,
    mut row: PortRow,
    expected_rev: Option<i64>,
    active: bool,
    events: &[Event],
) -> Result<PortRow, ApiError> {
    row.rev = expected_rev.map_or(1, |rev| rev + 1);
    let active_model = request::ActiveModel {
        id: Set(row.id.clone()),
        account_id: Set(row.account_id.clone()),
        port_state: Set(row.port_state.clone()),
        port_authority: Set(row.port_authority.clone()),
        deleted: Set(row.deleted),
        doc: Set(row.doc.clone()),
        transitions: Set(row.transitions.clone()),
        comments: Set(row.comments.clone()),
        created: Set(row.created),
        modified: Set(row.modified),
        rev: Set(row.rev),
    };
    match expected_rev {
        None => {
            request::Entity::insert(active_model)
                .exec_without_returning(conn)
                .await
                .map_err(db_error)?;
        }
        Some(rev) => {
            let updated = request::Entity::update_many()
                .set(active_model)
                .filter(request::Column::Id.eq(row.id.clone()))
                .filter(request::Column::Rev.eq(rev))
                .exec(conn)
                .await
                .map_err(db_error)?;
            if updated.rows_affected != 1 {
                return Err(ApiError::Conflict);
            }
        }
    }
    number::Entity::delete_many()
        .filter(number::Column::PortId.eq(row.id.clone()))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if !row.deleted {
        let rows: Vec<number::ActiveModel> = row
            .numbers()
            .into_iter()
            .map(|n| number::ActiveModel {
                number: Set(n),
                port_id: Set(row.id.clone()),
                account_id: Set(row.account_id.clone()),
                active: Set(active),
            })
            .collect();
        if !rows.is_empty() {
            number::Entity::insert_many(rows)
                .exec_without_returning(conn)
                .await
                .map_err(db_error)?;
        }
    }
    for event in events {
        crossbar_events::outbox::append(conn, event)
            .await
            .map_err(db_error)?;
    }
    Ok(row)
}

/// A live (not deleted) request by id.
pub async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<PortRow>, ApiError> {
    Ok(request::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
        .map_err(db_error)?
        .filter(|row| !row.deleted))
}

/// Live requests of an account, oldest first.
pub async fn by_account<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> Result<Vec<PortRow>, ApiError> {
    request::Entity::find()
        .filter(request::Column::AccountId.eq(account_id))
        .filter(request::Column::Deleted.eq(false))
        .order_by_asc(request::Column::Created)
        .order_by_asc(request::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Live requests a port authority manages.
pub async fn by_authority<C: ConnectionTrait>(
    conn: &C,
    authority: &str,
) -> Result<Vec<PortRow>, ApiError> {
    request::Entity::find()
        .filter(request::Column::PortAuthority.eq(authority))
        .filter(request::Column::Deleted.eq(false))
        .order_by_asc(request::Column::Created)
        .order_by_asc(request::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Every live request (superduper views).
pub async fn all_live<C: ConnectionTrait>(conn: &C) -> Result<Vec<PortRow>, ApiError> {
    request::Entity::find()
        .filter(request::Column::Deleted.eq(false))
        .order_by_asc(request::Column::Created)
        .order_by_asc(request::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Active requests carrying `number`: (port id, account id).
pub async fn active_for_number<C: ConnectionTrait>(
    conn: &C,
    number: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    Ok(number::Entity::find()
        .filter(number::Column::Number.eq(number))
        .filter(number::Column::Active.eq(true))
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|row| (row.port_id, row.account_id))
        .collect())
}

/// Ids of requests (any state, not deleted) carrying `number`.
pub async fn ids_with_number<C: ConnectionTrait>(
    conn: &C,
    number: &str,
) -> Result<Vec<String>, ApiError> {
    Ok(number::Entity::find()
        .filter(number::Column::Number.eq(number))
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|row| row.port_id)
        .collect())
}

/// Attachment metadata of a request: name → (content type, length).
pub async fn attachment_index<C: ConnectionTrait>(
    conn: &C,
    port_id: &str,
) -> Result<Vec<(String, String, i64)>, ApiError> {
    attachment::Entity::find()
        .select_only()
        .column(attachment::Column::Name)
        .column(attachment::Column::ContentType)
        .column(attachment::Column::Length)
        .filter(attachment::Column::PortId.eq(port_id))
        .order_by_asc(attachment::Column::Name)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_error)
}

pub async fn attachment<C: ConnectionTrait>(
    conn: &C,
    port_id: &str,
    name: &str,
) -> Result<Option<attachment::Model>, ApiError> {
    attachment::Entity::find_by_id((port_id.to_string(), name.to_string()))
        .one(conn)
        .await
        .map_err(db_error)
}

/// Stores (or replaces) an attachment.
pub async fn put_attachment<C: ConnectionTrait>(
    conn: &C,
    port_id: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
    now: i64,
) -> Result<(), ApiError> {
    attachment::Entity::delete_by_id((port_id.to_string(), name.to_string()))
        .exec(conn)
        .await
        .map_err(db_error)?;
    attachment::Entity::insert(attachment::ActiveModel {
        port_id: Set(port_id.to_string()),
        name: Set(name.to_string()),
        content_type: Set(content_type.to_string()),
        length: Set(bytes.len() as i64),
        bytes: Set(bytes),
        created: Set(now),
    })
    .exec_without_returning(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Removes an attachment; `false` when there was none.
pub async fn delete_attachment<C: ConnectionTrait>(
    conn: &C,
    port_id: &str,
    name: &str,
) -> Result<bool, ApiError> {
    let deleted = attachment::Entity::delete_by_id((port_id.to_string(), name.to_string()))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(deleted.rows_affected > 0)
}

/// Removes every attachment of a request.
pub async fn delete_attachments<C: ConnectionTrait>(
    conn: &C,
    port_id: &str,
) -> Result<(), ApiError> {
    attachment::Entity::delete_many()
        .filter(attachment::Column::PortId.eq(port_id))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

#[derive(DeriveIden)]
enum PortRequests {
    Table,
    Id,
    AccountId,
    PortState,
    PortAuthority,
    Deleted,
    Doc,
    Transitions,
    Comments,
    Created,
    Modified,
    Rev,
}

#[derive(DeriveIden)]
enum PortNumbers {
    Table,
    Number,
    PortId,
    AccountId,
    Active,
}

#[derive(DeriveIden)]
enum PortAttachments {
    Table,
    PortId,
    Name,
    ContentType,
    Length,
    Bytes,
    Created,
}

/// Creates the three port tables.
pub struct PortsMigration;

impl MigrationName for PortsMigration {
    fn name(&self) -> &str {
        "m0202_numbers_port_requests"
    }
}

#[async_trait]
impl MigrationTrait for PortsMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PortRequests::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(PortRequests::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PortRequests::AccountId).string().not_null())
                    .col(ColumnDef::new(PortRequests::PortState).string().not_null())
                    .col(
                        ColumnDef::new(PortRequests::PortAuthority)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PortRequests::Deleted).boolean().not_null())
                    .col(ColumnDef::new(PortRequests::Doc).text().not_null())
                    .col(ColumnDef::new(PortRequests::Transitions).text().not_null())
                    .col(ColumnDef::new(PortRequests::Comments).text().not_null())
                    .col(
                        ColumnDef::new(PortRequests::Created)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PortRequests::Modified)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PortRequests::Rev).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("port_requests_by_account", PortRequests::AccountId),
            ("port_requests_by_authority", PortRequests::PortAuthority),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(PortRequests::Table)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PortNumbers::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(PortNumbers::Number).string().not_null())
                    .col(ColumnDef::new(PortNumbers::PortId).string().not_null())
                    .col(ColumnDef::new(PortNumbers::AccountId).string().not_null())
                    .col(ColumnDef::new(PortNumbers::Active).boolean().not_null())
                    .primary_key(
                        Index::create()
                            .col(PortNumbers::Number)
                            .col(PortNumbers::PortId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("port_numbers_by_port")
                    .table(PortNumbers::Table)
                    .col(PortNumbers::PortId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortAttachments::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(PortAttachments::PortId).string().not_null())
                    .col(ColumnDef::new(PortAttachments::Name).string().not_null())
                    .col(
                        ColumnDef::new(PortAttachments::ContentType)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PortAttachments::Length)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PortAttachments::Bytes).blob().not_null())
                    .col(
                        ColumnDef::new(PortAttachments::Created)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(PortAttachments::PortId)
                            .col(PortAttachments::Name),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PortAttachments::Table.into_iden(),
            PortNumbers::Table.into_iden(),
            PortRequests::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
