//! Voicemail messages in the office-hours database: `vm_messages` (one row of
//! metadata per message, the way Kazoo 4+ keeps one `mailbox_message` document per
//! message rather than an array in the box) and `message_blobs` (the audio).

use std::collections::HashMap;

use async_trait::async_trait;
use crossbar_crud::db::db_error;
use crossbar_envelope::ApiError;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use sea_orm_migration::prelude::*;
use serde_json::{Map, Value};

use crate::domain::messages::{metadata_view, Folder};

pub mod message {
    use sea_orm::entity::prelude::*;

    /// A message's metadata.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "vm_messages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub media_id: String,
        pub account_id: String,
        pub vmbox_id: String,
        /// new, saved or deleted.
        pub folder: String,
        /// Soft-deleted (Kazoo's `pvt_deleted`): gone from every answer.
        pub deleted: bool,
        /// Gregorian seconds.
        pub timestamp: i64,
        /// Milliseconds.
        pub length: i64,
        /// The text fields (`from`, `to`, `caller_id_*`, `call_id`) as a JSON object.
        #[sea_orm(column_type = "Text")]
        pub fields: String,
        pub created: i64,
        pub modified: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod blob {
    use sea_orm::entity::prelude::*;

    /// A message's audio.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "message_blobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub media_id: String,
        pub vmbox_id: String,
        pub account_id: String,
        pub content_type: String,
        #[sea_orm(column_type = "Blob")]
        pub bytes: Vec<u8>,
        pub created: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl message::Model {
    /// The public metadata (Kazoo's message metadata object).
    pub fn view(&self) -> Value {
        let fields: Map<String, Value> = serde_json::from_str(&self.fields).unwrap_or_default();
        metadata_view(
            &self.media_id,
            &self.folder,
            self.timestamp,
            self.length,
            &fields,
        )
    }

    pub fn field_map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }
}

/// A new message to store.
pub struct NewMessage {
    pub media_id: String,
    pub account_id: String,
    pub vmbox_id: String,
    pub folder: Folder,
    pub timestamp: i64,
    pub length: i64,
    pub fields: Map<String, Value>,
    pub now: i64,
}

/// Audio to store.
pub struct NewBlob {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The messages store (cheap to clone).
#[derive(Clone)]
pub struct MessageStore {
    db: DatabaseConnection,
}

impl MessageStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Stores a message and its audio (if any) in one transaction.
    pub async fn insert(
        &self,
        new: NewMessage,
        audio: Option<NewBlob>,
    ) -> Result<message::Model, ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let model = message::ActiveModel {
            media_id: Set(new.media_id.clone()),
            account_id: Set(new.account_id.clone()),
            vmbox_id: Set(new.vmbox_id.clone()),
            folder: Set(new.folder.as_str().to_string()),
            deleted: Set(false),
            timestamp: Set(new.timestamp),
            length: Set(new.length),
            fields: Set(Value::Object(new.fields).to_string()),
            created: Set(new.now),
            modified: Set(new.now),
        }
        .insert(&txn)
        .await
        .map_err(db_error)?;
        if let Some(audio) = audio {
            put_blob(&txn, &model, audio, new.now).await?;
        }
        txn.commit().await.map_err(db_error)?;
        Ok(model)
    }

    /// Replaces the audio of a live message.
    pub async fn replace_blob(
        &self,
        message: &message::Model,
        audio: NewBlob,
        now: i64,
    ) -> Result<(), ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        blob::Entity::delete_by_id(message.media_id.clone())
            .exec(&txn)
            .await
            .map_err(db_error)?;
        put_blob(&txn, message, audio, now).await?;
        txn.commit().await.map_err(db_error)
    }

    /// The box's live messages, newest first, optionally of one folder.
    pub async fn list(
        &self,
        account_id: &str,
        vmbox_id: &str,
        folder: Option<Folder>,
    ) -> Result<Vec<message::Model>, ApiError> {
        let mut query = message::Entity::find()
            .filter(message::Column::AccountId.eq(account_id))
            .filter(message::Column::VmboxId.eq(vmbox_id))
            .filter(message::Column::Deleted.eq(false));
        if let Some(folder) = folder {
            query = query.filter(message::Column::Folder.eq(folder.as_str()));
        }
        query
            .order_by_desc(message::Column::Timestamp)
            .order_by_desc(message::Column::MediaId)
            .all(&self.db)
            .await
            .map_err(db_error)
    }

    /// A live message of the box.
    pub async fn find(
        &self,
        account_id: &str,
        vmbox_id: &str,
        media_id: &str,
    ) -> Result<Option<message::Model>, ApiError> {
        let found = message::Entity::find_by_id(media_id.to_string())
            .one(&self.db)
            .await
            .map_err(db_error)?;
        Ok(found.filter(|m| m.account_id == account_id && m.vmbox_id == vmbox_id && !m.deleted))
    }

    /// A live message of the box, or 404 bad_identifier.
    pub async fn load(
        &self,
        account_id: &str,
        vmbox_id: &str,
        media_id: &str,
    ) -> Result<message::Model, ApiError> {
        self.find(account_id, vmbox_id, media_id)
            .await?
            .ok_or_else(|| ApiError::BadIdentifier(media_id.to_string()))
    }

    /// Saves changed folder / metadata / soft-delete flag of a message.
    pub async fn update(&self, changed: message::Model) -> Result<message::Model, ApiError> {
        let active = message::ActiveModel {
            media_id: Set(changed.media_id),
            account_id: Set(changed.account_id),
            vmbox_id: Set(changed.vmbox_id),
            folder: Set(changed.folder),
            deleted: Set(changed.deleted),
            timestamp: Set(changed.timestamp),
            length: Set(changed.length),
            fields: Set(changed.fields),
            created: Set(changed.created),
            modified: Set(changed.modified),
        };
        active.update(&self.db).await.map_err(db_error)
    }

    /// Removes a message and its audio for good.
    pub async fn hard_delete(&self, media_id: &str) -> Result<(), ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        blob::Entity::delete_by_id(media_id.to_string())
            .exec(&txn)
            .await
            .map_err(db_error)?;
        message::Entity::delete_by_id(media_id.to_string())
            .exec(&txn)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    /// The audio of a message, if it has any.
    pub async fn blob(&self, media_id: &str) -> Result<Option<blob::Model>, ApiError> {
        blob::Entity::find_by_id(media_id.to_string())
            .one(&self.db)
            .await
            .map_err(db_error)
    }

    /// Whether a message has audio.
    pub async fn has_blob(&self, media_id: &str) -> Result<bool, ApiError> {
        let count = blob::Entity::find_by_id(media_id.to_string())
            .count(&self.db)
            .await
            .map_err(db_error)?;
        Ok(count > 0)
    }

    /// Live messages in the `new` and `saved` folders, per box (boxes without any
    /// are absent).
    pub async fn counts(
        &self,
        account_id: &str,
        vmbox_ids: &[String],
    ) -> Result<HashMap<String, i64>, ApiError> {
        if vmbox_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64)> = message::Entity::find()
            .select_only()
            .column(message::Column::VmboxId)
            .column_as(message::Column::MediaId.count(), "n")
            .filter(message::Column::AccountId.eq(account_id))
            .filter(message::Column::VmboxId.is_in(vmbox_ids.iter().cloned()))
            .filter(message::Column::Deleted.eq(false))
            .filter(message::Column::Folder.is_in([Folder::New.as_str(), Folder::Saved.as_str()]))
            .group_by(message::Column::VmboxId)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().collect())
    }

    /// Removes every message (and audio) of an account.
    pub async fn purge_account<C: ConnectionTrait>(
        conn: &C,
        account_id: &str,
    ) -> Result<(), ApiError> {
        blob::Entity::delete_many()
            .filter(blob::Column::AccountId.eq(account_id))
            .exec(conn)
            .await
            .map_err(db_error)?;
        message::Entity::delete_many()
            .filter(message::Column::AccountId.eq(account_id))
            .exec(conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

async fn put_blob<C: ConnectionTrait>(
    conn: &C,
    message: &message::Model,
    audio: NewBlob,
    now: i64,
) -> Result<(), ApiError> {
    blob::ActiveModel {
        media_id: Set(message.media_id.clone()),
        vmbox_id: Set(message.vmbox_id.clone()),
        account_id: Set(message.account_id.clone()),
        content_type: Set(audio.content_type),
        bytes: Set(audio.bytes),
        created: Set(now),
    }
    .insert(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[derive(DeriveIden)]
enum VmMessages {
    Table,
    MediaId,
    AccountId,
    VmboxId,
    Folder,
    Deleted,
    Timestamp,
    Length,
    Fields,
    Created,
    Modified,
}

#[derive(DeriveIden)]
enum MessageBlobs {
    Table,
    MediaId,
    VmboxId,
    AccountId,
    ContentType,
    Bytes,
    Created,
}

/// Creates `vm_messages` and `message_blobs`.
pub struct MessagesMigration;

impl MigrationName for MessagesMigration {
    fn name(&self) -> &str {
        "m0101_office_hours_voicemail_messages"
    }
}

#[async_trait]
impl MigrationTrait for MessagesMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VmMessages::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(VmMessages::MediaId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(VmMessages::AccountId).string().not_null())
                    .col(ColumnDef::new(VmMessages::VmboxId).string().not_null())
                    .col(ColumnDef::new(VmMessages::Folder).string().not_null())
                    .col(ColumnDef::new(VmMessages::Deleted).boolean().not_null())
                    .col(
                        ColumnDef::new(VmMessages::Timestamp)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(VmMessages::Length).big_integer().not_null())
                    .col(ColumnDef::new(VmMessages::Fields).text().not_null())
                    .col(ColumnDef::new(VmMessages::Created).big_integer().not_null())
                    .col(
                        ColumnDef::new(VmMessages::Modified)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("vm_messages_by_box")
                    .table(VmMessages::Table)
                    .col(VmMessages::AccountId)
                    .col(VmMessages::VmboxId)
                    .col(VmMessages::Deleted)
                    .col(VmMessages::Timestamp)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MessageBlobs::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MessageBlobs::MediaId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MessageBlobs::VmboxId).string().not_null())
                    .col(ColumnDef::new(MessageBlobs::AccountId).string().not_null())
                    .col(
                        ColumnDef::new(MessageBlobs::ContentType)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(MessageBlobs::Bytes).blob().not_null())
                    .col(
                        ColumnDef::new(MessageBlobs::Created)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("message_blobs_by_account")
                    .table(MessageBlobs::Table)
                    .col(MessageBlobs::AccountId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageBlobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(VmMessages::Table).to_owned())
            .await
    }
}
