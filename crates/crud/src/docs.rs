//! The verbs over documents, once for every resource: create (PUT), read (GET),
//! replace (POST, stored `pvt_*` kept), patch (PATCH: deep merge, then the same
//! validation), soft delete (DELETE) and filtered, keyset-paginated listing.

use std::sync::Arc;

use async_trait::async_trait;
use crossbar_envelope::{ids, time, ApiError, PageInfo, ValidationErrors};
use crossbar_events::{outbox, Event, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, Set, Statement, TransactionTrait,
};
use serde_json::{Map, Value};

use crate::db::{db_error, Db};
use crate::json::{deep_merge, private_fields, public_fields, strip_request_fields};

/// Private field of a deleted document: the gateway's id of the request that deleted it.
const DELETED_BY_REQUEST: &str = "pvt_deleted_by_request";
use crate::listing::{Cursor, ListQuery, SqlBuilder};
use crate::store::{document, unique_key};

/// A stored document as read from the table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDoc {
    pub id: String,
    pub kind: String,
    pub account_id: String,
    pub sort_key: String,
    pub doc: Map<String, Value>,
    pub rev: i64,
    pub deleted: bool,
    pub created: i64,
    pub modified: i64,
}

impl StoredDoc {
    fn from_model(model: document::Model) -> Result<Self, ApiError> {
        let doc = match serde_json::from_str::<Value>(&model.doc) {
            Ok(Value::Object(doc)) => doc,
            _ => {
                return Err(ApiError::internal(format!(
                    "stored document {} is not an object",
                    model.id
                )))
            }
        };
        Ok(Self {
            id: model.id,
            kind: model.kind,
            account_id: model.account_id,
            sort_key: model.sort_key,
            doc,
            rev: model.rev,
            deleted: model.deleted,
            created: model.created,
            modified: model.modified,
        })
    }

    /// Public fields + `id` (what GET returns by default).
    pub fn public(&self) -> Value {
        let mut out = public_fields(&self.doc);
        out.insert("id".into(), Value::String(self.id.clone()));
        Value::Object(out)
    }

    /// The revision string of this version (`<rev>-<hash of id and rev>`).
    pub fn revision(&self) -> String {
        revision_of(&self.id, self.rev)
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.doc.get(key).and_then(Value::as_str)
    }
}

fn revision_of(id: &str, rev: i64) -> String {
    // Stable for a given version, distinct between versions.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes().chain(rev.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{rev}-{hash:016x}{:016x}",
        hash.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15
    )
}

/// A value that must be unique among the account's live documents.
#[derive(Debug, Clone)]
pub struct UniqueClaim {
    /// What is claimed (`username`, `number`, ...), part of the key.
    pub claim: String,
    pub value: String,
    /// The error when another document holds it.
    pub error: ValidationErrors,
}

/// Who is writing, for rules that depend on it.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub account_id: String,
    pub account_tree: Vec<String>,
    pub caller_account_id: String,
    pub caller_is_admin: bool,
    pub caller_is_superduper: bool,
    /// The calling user, when the token has one.
    pub caller_user_id: Option<String>,
}

/// A write verb, for [`ResourceRules::authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAction {
    Create,
    Update,
    Delete,
}

/// The per-resource rules plugged into the shared verbs.
#[async_trait]
pub trait ResourceRules: Send + Sync {
    /// `pvt_type` of the documents.
    fn kind(&self) -> &'static str;
    /// Path segment under `/v2/accounts/{A}/` (also the event resource name).
    fn collection(&self) -> &'static str;
    /// Schema to validate with (file stem in `schemas/`).
    fn schema(&self) -> &'static str;

    /// Who may write (beyond the account-tree rule the extractor already applied).
    async fn authorize(
        &self,
        _ctx: &WriteContext,
        _action: WriteAction,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Normalises and derives fields before validation (lowercase a username, turn a
    /// password into credentials...). `existing` is the stored doc on update.
    async fn prepare(
        &self,
        _ctx: &WriteContext,
        _data: &mut Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Business rules after schema validation (references, permissions...).
    async fn check(
        &self,
        _ctx: &WriteContext,
        _doc: &Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Derives stored fields from a valid document (runs after validation and
    /// `check`, so expensive work such as password hashing is never spent on a
    /// request that is refused anyway).
    async fn finalize(
        &self,
        _ctx: &WriteContext,
        _doc: &mut Map<String, Value>,
        _existing: Option<&StoredDoc>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// `pvt_vsn` given to new documents (Kazoo sets "2" on menus, "1" elsewhere).
    fn version(&self) -> &'static str {
        "1"
    }

    /// Values that must be unique in the account.
    fn unique_claims(&self, _doc: &Map<String, Value>) -> Vec<UniqueClaim> {
        Vec::new()
    }

    /// The error for a claim another document already holds; `holder` is that
    /// document when it could be read (default: the claim's own error).
    fn claim_conflict(&self, claim: &UniqueClaim, _holder: Option<&StoredDoc>) -> ValidationErrors {
        claim.error.clone()
    }

    /// Listing order key.
    fn sort_key(&self, doc: &Map<String, Value>) -> String {
        doc.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase()
    }

    /// One row of the listing.
    fn summary(&self, doc: &StoredDoc) -> Value;

    /// The single-document view (GET and write responses).
    fn view(&self, doc: &StoredDoc) -> Value {
        doc.public()
    }
}

/// A service's document store.
#[derive(Clone)]
pub struct Documents {
    db: DatabaseConnection,
    read: DatabaseConnection,
    outbox: Outbox,
    schemas: Arc<SchemaRegistry>,
    service: &'static str,
}

impl Documents {
    pub fn new(
        db: &Db,
        outbox: Outbox,
        schemas: Arc<SchemaRegistry>,
        service: &'static str,
    ) -> Self {
        Self {
            db: db.write.clone(),
            read: db.read.clone(),
            outbox,
            schemas,
            service,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The connection for reads outside transactions (the read-only pool on SQLite).
    pub fn read_db(&self) -> &DatabaseConnection {
        &self.read
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn schemas(&self) -> &SchemaRegistry {
        &self.schemas
    }

    /// Validates `doc` against a schema (defaults filled in).
    pub fn validate(&self, schema: &str, doc: &mut Map<String, Value>) -> Result<(), ApiError> {
        let mut value = Value::Object(std::mem::take(doc));
        let result = self.schemas.validate(schema, &mut value);
        if let Value::Object(filled) = value {
            *doc = filled;
        }
        result.map_err(ApiError::Validation)
    }

    /// A live document of `kind` in `account_id`, or 404 bad_identifier.
    pub async fn load(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
    ) -> Result<StoredDoc, ApiError> {
        self.find(account_id, kind, id)
            .await?
            .ok_or_else(|| ApiError::BadIdentifier(id.to_string()))
    }

    /// A live document of `kind` in `account_id`, if there is one.
    pub async fn find(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<StoredDoc>, ApiError> {
        Ok(self
            .find_any(account_id, id)
            .await?
            .filter(|doc| doc.kind == kind))
    }

    /// A live document of any kind in `account_id`, if there is one.
    pub async fn find_any(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<StoredDoc>, ApiError> {
        let model = document::Entity::find_by_id(id.to_string())
            .one(&self.read)
            .await
            .map_err(db_error)?;
        match model {
            Some(m) if m.account_id == account_id && !m.deleted => {
                Ok(Some(StoredDoc::from_model(m)?))
            }
            _ => Ok(None),
        }
    }

    /// Creates a document from request `data`.
    pub async fn create(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        data: Map<String, Value>,
    ) -> Result<StoredDoc, ApiError> {
        self.create_replayable(rules, ctx, data, None).await
    }

    /// PUT with a creation id ([`crate::CREATE_ID_HEADER`], set by the gateway, one per
    /// client request): when `data` names no id, the document gets `create_id`, and when
    /// the account already holds a document of that id and kind — an earlier attempt of
    /// the same request, on a replica that failed before answering, or a concurrent one —
    /// that document is the answer instead of a second one. So a creation can be retried
    /// and still happens once.
    pub async fn create_replayable(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        mut data: Map<String, Value>,
        create_id: Option<&str>,
    ) -> Result<StoredDoc, ApiError> {
        let replay_id = match (data.get("id"), create_id) {
            (None, Some(id)) if ids::is_valid_id(id) => id.to_string(),
            _ => return self.insert_new(rules, ctx, data).await,
        };
        // An earlier attempt's document is answered only to a caller who may create it.
        rules.authorize(ctx, WriteAction::Create, None).await?;
        data.insert("id".into(), Value::String(replay_id.clone()));
        match self.insert_new(rules, ctx, data).await {
            Ok(created) => Ok(created),
            // The id is taken (or a claim of the same body is): an earlier or concurrent
            // attempt of the same request created it, when it is there in this account.
            Err(error) => match self.find(&ctx.account_id, rules.kind(), &replay_id).await {
                Ok(Some(done)) => Ok(done),
                _ => Err(error),
            },
        }
    }

    async fn insert_new(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        mut data: Map<String, Value>,
    ) -> Result<StoredDoc, ApiError> {
        let id = match data.get("id") {
            None => ids::new_id(),
            Some(Value::String(id)) if ids::is_valid_id(id) => id.clone(),
            Some(_) => {
                return Err(ApiError::validation(
                    "id",
                    "pattern",
                    "Failed to match pattern '^[0-9a-f]{32}$'",
                ))
            }
        };
        rules.authorize(ctx, WriteAction::Create, None).await?;
        strip_request_fields(&mut data);
        rules.prepare(ctx, &mut data, None).await?;
        self.validate(rules.schema(), &mut data)?;
        rules.check(ctx, &data, None).await?;
        rules.finalize(ctx, &mut data, None).await?;

        let now = time::now_gregorian();
        data.insert("pvt_type".into(), Value::String(rules.kind().into()));
        data.insert(
            "pvt_account_id".into(),
            Value::String(ctx.account_id.clone()),
        );
        data.insert("pvt_created".into(), Value::from(now));
        data.insert("pvt_modified".into(), Value::from(now));
        data.insert("pvt_vsn".into(), Value::String(rules.version().into()));
        let stored = StoredDoc {
            id: id.clone(),
            kind: rules.kind().to_string(),
            account_id: ctx.account_id.clone(),
            sort_key: rules.sort_key(&data),
            doc: data,
            rev: 1,
            deleted: false,
            created: now,
            modified: now,
        };

        let txn = self.db.begin().await.map_err(db_error)?;
        if document::Entity::find_by_id(id.clone())
            .one(&txn)
            .await
            .map_err(db_error)?
            .is_some()
        {
            return Err(ApiError::Conflict);
        }
        self.claim(&txn, rules, &stored).await?;
        document::ActiveModel {
            id: Set(stored.id.clone()),
            kind: Set(stored.kind.clone()),
            account_id: Set(stored.account_id.clone()),
            sort_key: Set(stored.sort_key.clone()),
            doc: Set(Value::Object(stored.doc.clone()).to_string()),
            rev: Set(stored.rev),
            deleted: Set(false),
            created: Set(now),
            modified: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(db_error)?;
        self.emit(&txn, rules, ctx, &stored, "created").await?;
        txn.commit().await.map_err(db_error)?;
        self.flush().await;
        Ok(stored)
    }

    /// POST: the request `data` becomes the public part; stored `pvt_*` are kept.
    pub async fn replace(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        id: &str,
        mut data: Map<String, Value>,
    ) -> Result<StoredDoc, ApiError> {
        let existing = self.load(&ctx.account_id, rules.kind(), id).await?;
        strip_request_fields(&mut data);
        self.save_update(rules, ctx, existing, data).await
    }

    /// PATCH: deep-merge `data` over the stored public fields, then as POST.
    pub async fn patch(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        id: &str,
        mut data: Map<String, Value>,
    ) -> Result<StoredDoc, ApiError> {
        let existing = self.load(&ctx.account_id, rules.kind(), id).await?;
        strip_request_fields(&mut data);
        let mut merged = public_fields(&existing.doc);
        deep_merge(&mut merged, &data);
        self.save_update(rules, ctx, existing, merged).await
    }

    async fn save_update(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        existing: StoredDoc,
        mut data: Map<String, Value>,
    ) -> Result<StoredDoc, ApiError> {
        rules
            .authorize(ctx, WriteAction::Update, Some(&existing))
            .await?;
        rules.prepare(ctx, &mut data, Some(&existing)).await?;
        self.validate(rules.schema(), &mut data)?;
        rules.check(ctx, &data, Some(&existing)).await?;
        rules.finalize(ctx, &mut data, Some(&existing)).await?;
        // Private fields: stored ones, then whatever `prepare` derived (it wins).
        let mut doc = private_fields(&existing.doc);
        for (key, value) in data {
            doc.insert(key, value);
        }
        let now = time::now_gregorian();
        doc.insert("pvt_modified".into(), Value::from(now));
        let updated = StoredDoc {
            sort_key: rules.sort_key(&doc),
            doc,
            rev: existing.rev + 1,
            modified: now,
            ..existing.clone()
        };
        let txn = self.db.begin().await.map_err(db_error)?;
        self.release_claims(&txn, &updated.id).await?;
        self.claim(&txn, rules, &updated).await?;
        self.write_version(&txn, &existing, &updated).await?;
        self.emit(&txn, rules, ctx, &updated, "updated").await?;
        txn.commit().await.map_err(db_error)?;
        self.flush().await;
        Ok(updated)
    }

    /// DELETE: soft delete; the document drops out of reads and listings and its
    /// unique values are free again.
    pub async fn soft_delete(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        id: &str,
    ) -> Result<StoredDoc, ApiError> {
        self.soft_delete_replayable(rules, ctx, id, None).await
    }

    /// DELETE with the gateway's request id ([`crate::CREATE_ID_HEADER`]): kept on the
    /// deleted document, so the same request sent again (its first attempt's replica
    /// died before answering) answers the deletion it made instead of 404.
    pub async fn soft_delete_replayable(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        id: &str,
        request_id: Option<&str>,
    ) -> Result<StoredDoc, ApiError> {
        let error = match self.mark_deleted(rules, ctx, id, request_id).await {
            // Gone, or changed under it (a concurrent attempt of the same request
            // deleting it): the earlier attempt's deletion, if it is one.
            Err(error @ (ApiError::BadIdentifier(_) | ApiError::Conflict)) => error,
            other => return other,
        };
        match request_id {
            Some(request_id) => self
                .deleted_by(ctx, rules.kind(), id, request_id)
                .await?
                .ok_or(error),
            None => Err(error),
        }
    }

    /// The deleted document of `kind` in the caller's account that request
    /// `request_id` deleted, if any.
    async fn deleted_by(
        &self,
        ctx: &WriteContext,
        kind: &str,
        id: &str,
        request_id: &str,
    ) -> Result<Option<StoredDoc>, ApiError> {
        let model = document::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .map_err(db_error)?;
        let Some(model) = model.filter(|m| m.account_id == ctx.account_id && m.deleted) else {
            return Ok(None);
        };
        let doc = StoredDoc::from_model(model)?;
        let by_this_request =
            doc.doc.get(DELETED_BY_REQUEST).and_then(Value::as_str) == Some(request_id);
        Ok((doc.kind == kind && by_this_request).then_some(doc))
    }

    async fn mark_deleted(
        &self,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        id: &str,
        request_id: Option<&str>,
    ) -> Result<StoredDoc, ApiError> {
        let existing = self.load(&ctx.account_id, rules.kind(), id).await?;
        rules
            .authorize(ctx, WriteAction::Delete, Some(&existing))
            .await?;
        let mut doc = existing.doc.clone();
        let now = time::now_gregorian();
        if let Some(request_id) = request_id {
            doc.insert(DELETED_BY_REQUEST.into(), Value::String(request_id.into()));
        }
        doc.insert("pvt_deleted".into(), Value::Bool(true));
        doc.insert("pvt_modified".into(), Value::from(now));
        let deleted = StoredDoc {
            doc,
            rev: existing.rev + 1,
            deleted: true,
            modified: now,
            ..existing.clone()
        };
        let txn = self.db.begin().await.map_err(db_error)?;
        self.release_claims(&txn, &deleted.id).await?;
        self.write_version(&txn, &existing, &deleted).await?;
        self.emit(&txn, rules, ctx, &deleted, "deleted").await?;
        txn.commit().await.map_err(db_error)?;
        self.flush().await;
        Ok(deleted)
    }

    /// Writes a new version only if nobody else wrote since `existing` was read.
    async fn write_version(
        &self,
        txn: &DatabaseTransaction,
        existing: &StoredDoc,
        next: &StoredDoc,
    ) -> Result<(), ApiError> {
        let result = document::Entity::update_many()
            .col_expr(
                document::Column::Doc,
                Value::Object(next.doc.clone()).to_string().into(),
            )
            .col_expr(document::Column::SortKey, next.sort_key.clone().into())
            .col_expr(document::Column::Rev, next.rev.into())
            .col_expr(document::Column::Deleted, next.deleted.into())
            .col_expr(document::Column::Modified, next.modified.into())
            .filter(document::Column::Id.eq(existing.id.clone()))
            .filter(document::Column::Rev.eq(existing.rev))
            .exec(txn)
            .await
            .map_err(db_error)?;
        if result.rows_affected == 1 {
            Ok(())
        } else {
            Err(ApiError::Conflict)
        }
    }

    async fn claim(
        &self,
        txn: &DatabaseTransaction,
        rules: &dyn ResourceRules,
        doc: &StoredDoc,
    ) -> Result<(), ApiError> {
        let mut errors = ValidationErrors::new();
        for claim in rules.unique_claims(&doc.doc) {
            let inserted = unique_key::Entity::insert(unique_key::ActiveModel {
                scope: Set(format!("{}:{}", doc.account_id, rules.kind())),
                claim: Set(claim.claim.clone()),
                value: Set(claim.value.clone()),
                doc_id: Set(doc.id.clone()),
            })
            .on_conflict(
                OnConflict::columns([
                    unique_key::Column::Scope,
                    unique_key::Column::Claim,
                    unique_key::Column::Value,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
            if inserted == 0 {
                let holder = self.holder_in(txn, doc, rules, &claim).await?;
                errors.merge(rules.claim_conflict(&claim, holder.as_ref()));
            }
        }
        errors.into_result()
    }

    /// The live document holding `claim` (read inside the writing transaction).
    async fn holder_in(
        &self,
        txn: &DatabaseTransaction,
        doc: &StoredDoc,
        rules: &dyn ResourceRules,
        claim: &UniqueClaim,
    ) -> Result<Option<StoredDoc>, ApiError> {
        let row = unique_key::Entity::find_by_id((
            format!("{}:{}", doc.account_id, rules.kind()),
            claim.claim.clone(),
            claim.value.clone(),
        ))
        .one(txn)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let model = document::Entity::find_by_id(row.doc_id)
            .one(txn)
            .await
            .map_err(db_error)?;
        model
            .filter(|m| !m.deleted)
            .map(StoredDoc::from_model)
            .transpose()
    }

    async fn release_claims(
        &self,
        txn: &DatabaseTransaction,
        doc_id: &str,
    ) -> Result<(), ApiError> {
        unique_key::Entity::delete_many()
            .filter(unique_key::Column::DocId.eq(doc_id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Which document holds a unique value, if any.
    pub async fn claim_holder(
        &self,
        account_id: &str,
        kind: &str,
        claim: &str,
        value: &str,
    ) -> Result<Option<String>, ApiError> {
        let row = unique_key::Entity::find_by_id((
            format!("{account_id}:{kind}"),
            claim.to_string(),
            value.to_string(),
        ))
        .one(&self.read)
        .await
        .map_err(db_error)?;
        Ok(row.map(|r| r.doc_id))
    }

    async fn emit(
        &self,
        txn: &DatabaseTransaction,
        rules: &dyn ResourceRules,
        ctx: &WriteContext,
        doc: &StoredDoc,
        action: &str,
    ) -> Result<(), ApiError> {
        let event = Event::new(format!(
            "crossbar.{}.{}.{action}",
            self.service,
            rules.kind()
        ))
        .account(ctx.account_id.clone(), ctx.account_tree.clone())
        .resource(doc.id.clone())
        .doc(rules.view(doc));
        outbox::append(txn, &event).await.map_err(db_error)
    }

    /// Relays pending events now (best effort: the background relay retries).
    pub async fn flush(&self) {
        if let Err(error) = self.outbox.flush().await {
            tracing::warn!(%error, "outbox flush failed; the relay will retry");
        }
    }

    /// One page of the account's live documents of `kind`.
    pub async fn list(
        &self,
        account_id: &str,
        kind: &str,
        query: &ListQuery,
    ) -> Result<(Vec<StoredDoc>, Option<PageInfo>), ApiError> {
        let backend = self.db.get_database_backend();
        let mut sql = SqlBuilder::new(
            backend,
            "SELECT id, kind, account_id, sort_key, doc, rev, deleted, created, modified FROM documents WHERE ",
        );
        let a = sql.bind(account_id.to_string());
        let k = sql.bind(kind.to_string());
        let f = sql.bind(false);
        sql.push(&format!(
            "account_id = {a} AND kind = {k} AND deleted = {f}"
        ));
        sql.filters("doc", &query.filters, "created", "modified");
        sql.page(query, "sort_key", "id");
        let models = document::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(backend, sql.sql, sql.values))
            .all(&self.read)
            .await
            .map_err(db_error)?;
        let mut docs = models
            .into_iter()
            .map(StoredDoc::from_model)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if query.paginate && docs.len() as u64 > query.page_size {
            docs.pop().map(|extra| Cursor {
                sort_key: extra.sort_key,
                id: Some(extra.id),
            })
        } else {
            None
        };
        let page = query.page_info(docs.len(), next);
        Ok((docs, page))
    }

    /// Live documents of `kind` in the account whose JSON field equals `value`
    /// (used for cross-resource checks such as "does this owner exist").
    pub async fn exists(&self, account_id: &str, kind: &str, id: &str) -> Result<bool, ApiError> {
        Ok(self.find(account_id, kind, id).await?.is_some())
    }

    /// Hard-deletes every document of an account (used when the account itself goes).
    pub async fn purge_account<C: ConnectionTrait>(
        conn: &C,
        account_id: &str,
    ) -> Result<(), ApiError> {
        document::Entity::delete_many()
            .filter(document::Column::AccountId.eq(account_id))
            .exec(conn)
            .await
            .map_err(db_error)?;
        unique_key::Entity::delete_many()
            .filter(unique_key::Column::Scope.starts_with(format!("{account_id}:")))
            .exec(conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
