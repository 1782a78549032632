//! The accounts table (the tree as a materialised path) and the directory documents
//! (users, devices) in the shared document table.

pub mod account;
pub mod migrations;

pub use migrations::Migrator;

use crossbar_crud::db::{db_error, is_unique_violation};
use crossbar_crud::listing::{ListQuery, SqlBuilder};
use crossbar_crud::Documents;
use crossbar_envelope::{ApiError, ValidationErrors};
use crossbar_events::{outbox, Event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Statement, TransactionTrait,
};

/// Queries and writes of the accounts table.
#[derive(Clone)]
pub struct AccountStore {
    db: DatabaseConnection,
    /// Reads outside transactions (a read-only pool on SQLite).
    read: DatabaseConnection,
}

fn realm_taken() -> ApiError {
    ApiError::Validation(ValidationErrors::single(
        "realm",
        "unique",
        "Realm is not unique for this system",
    ))
}

fn name_taken() -> ApiError {
    ApiError::Validation(ValidationErrors::single(
        "name",
        "unique",
        "Account name is already in use",
    ))
}

impl AccountStore {
    pub fn new(db: &crossbar_crud::db::Db) -> Self {
        Self {
            db: db.write.clone(),
            read: db.read.clone(),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub async fn get(&self, id: &str) -> Result<Option<account::Model>, ApiError> {
        account::Entity::find_by_id(id.to_string())
            .one(&self.read)
            .await
            .map_err(db_error)
    }

    /// The account, or 404 `bad_identifier`.
    pub async fn load(&self, id: &str) -> Result<account::Model, ApiError> {
        self.get(id)
            .await?
            .ok_or_else(|| ApiError::BadIdentifier(id.to_string()))
    }

    pub async fn count(&self) -> Result<u64, ApiError> {
        account::Entity::find()
            .count(&self.read)
            .await
            .map_err(db_error)
    }

    pub async fn by_realm(&self, realm: &str) -> Result<Option<account::Model>, ApiError> {
        account::Entity::find()
            .filter(account::Column::RealmKey.eq(realm.to_lowercase()))
            .one(&self.read)
            .await
            .map_err(db_error)
    }

    pub async fn by_name_key(&self, key: &str) -> Result<Vec<account::Model>, ApiError> {
        account::Entity::find()
            .filter(account::Column::NameKey.eq(key.to_string()))
            .all(&self.read)
            .await
            .map_err(db_error)
    }

    pub async fn by_api_key(&self, api_key: &str) -> Result<Option<account::Model>, ApiError> {
        account::Entity::find()
            .filter(account::Column::ApiKey.eq(api_key.to_string()))
            .one(&self.read)
            .await
            .map_err(db_error)
    }

    /// The accounts with these ids, in path order (root first).
    pub async fn many(&self, ids: &[String]) -> Result<Vec<account::Model>, ApiError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        account::Entity::find()
            .filter(account::Column::Id.is_in(ids.iter().cloned()))
            .order_by_asc(account::Column::Depth)
            .all(&self.read)
            .await
            .map_err(db_error)
    }

    /// Checks realm and name uniqueness (excluding `self_id`) for good errors; the
    /// unique indexes still decide under races.
    pub async fn check_unique(
        &self,
        realm: &str,
        name: &str,
        self_id: Option<&str>,
    ) -> Result<(), ApiError> {
        let mut errors = ValidationErrors::new();
        if let Some(other) = self.by_realm(realm).await? {
            if Some(other.id.as_str()) != self_id {
                if let ApiError::Validation(e) = realm_taken() {
                    errors.merge(e);
                }
            }
        }
        let key = domain_name_key(name);
        if self
            .by_name_key(&key)
            .await?
            .iter()
            .any(|other| Some(other.id.as_str()) != self_id)
        {
            if let ApiError::Validation(e) = name_taken() {
                errors.merge(e);
            }
        }
        errors.into_result()
    }

    async fn map_write_error(&self, error: DbErr, model: &account::Model) -> ApiError {
        if is_unique_violation(&error) {
            if let Ok(Some(other)) = self.by_realm(&model.realm).await {
                if other.id != model.id {
                    return realm_taken();
                }
            }
            return name_taken();
        }
        db_error(error)
    }

    /// Inserts an account and its event in one transaction.
    pub async fn insert(&self, model: account::Model, event: &Event) -> Result<(), ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        if let Err(error) = model.clone().into_active_model().insert(&txn).await {
            return Err(self.map_write_error(error, &model).await);
        }
        adjust_descendants(&txn, &model.tree(), 1).await?;
        outbox::append(&txn, event).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    /// Writes a new version if nobody wrote since `expected_rev`.
    pub async fn update(
        &self,
        model: account::Model,
        expected_rev: i64,
        event: &Event,
    ) -> Result<(), ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = account::Entity::update_many()
            .col_expr(account::Column::Name, model.name.clone().into())
            .col_expr(account::Column::NameKey, model.name_key.clone().into())
            .col_expr(account::Column::Realm, model.realm.clone().into())
            .col_expr(account::Column::RealmKey, model.realm_key.clone().into())
            .col_expr(account::Column::Enabled, model.enabled.into())
            .col_expr(account::Column::IsReseller, model.is_reseller.into())
            .col_expr(account::Column::ApiKey, model.api_key.clone().into())
            .col_expr(account::Column::Doc, model.doc.clone().into())
            .col_expr(account::Column::Rev, model.rev.into())
            .col_expr(account::Column::Modified, model.modified.into())
            .filter(account::Column::Id.eq(model.id.clone()))
            .filter(account::Column::Rev.eq(expected_rev))
            .exec(&txn)
            .await;
        match result {
            Ok(r) if r.rows_affected == 1 => {}
            Ok(_) => return Err(ApiError::Conflict),
            Err(error) => return Err(self.map_write_error(error, &model).await),
        }
        outbox::append(&txn, event).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    /// Hard-deletes an account with its directory documents, and records the event.
    pub async fn delete(&self, model: &account::Model, event: &Event) -> Result<(), ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        Documents::purge_account(&txn, &model.id).await?;
        account::Entity::delete_by_id(model.id.clone())
            .exec(&txn)
            .await
            .map_err(db_error)?;
        adjust_descendants(&txn, &model.tree(), -1).await?;
        outbox::append(&txn, event).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    /// Moves a subtree under a new parent: every path under the old prefix is rewritten.
    pub async fn move_subtree(
        &self,
        moved: &account::Model,
        new_parent: &account::Model,
        event: &Event,
    ) -> Result<(), ApiError> {
        let backend = self.db.get_database_backend();
        let old_prefix = moved.path.clone();
        let new_prefix = format!("{}/{}", new_parent.path, moved.id);
        let depth_delta = new_parent.depth + 1 - moved.depth;
        let mut sql = SqlBuilder::new(backend, "UPDATE accounts SET path = ");
        let np = sql.bind(new_prefix);
        let len = sql.bind(old_prefix.len() as i64 + 1);
        let dd = sql.bind(i64::from(depth_delta));
        // Explicit casts: PostgreSQL has no substr(varchar, bigint), and the bound
        // integers are 64-bit.
        sql.push(&format!(
            "{np} || substr(path, CAST({len} AS INTEGER)), depth = depth + CAST({dd} AS INTEGER) WHERE "
        ));
        let exact = sql.bind(old_prefix.clone());
        let lo = sql.bind(format!("{old_prefix}/"));
        let hi = sql.bind(format!("{old_prefix}0"));
        sql.push(&format!("path = {exact} OR (path >= {lo} AND path < {hi})"));
        let txn = self.db.begin().await.map_err(db_error)?;
        txn.execute(Statement::from_sql_and_values(backend, sql.sql, sql.values))
            .await
            .map_err(db_error)?;
        account::Entity::update_many()
            .col_expr(
                account::Column::ParentId,
                Some(new_parent.id.clone()).into(),
            )
            .filter(account::Column::Id.eq(moved.id.clone()))
            .exec(&txn)
            .await
            .map_err(db_error)?;
        // The subtree's size as the transaction sees it (not as it was read before).
        let size = account::Entity::find_by_id(moved.id.clone())
            .one(&txn)
            .await
            .map_err(db_error)?
            .map_or(1, |m| m.descendants + 1);
        adjust_descendants(&txn, &moved.tree(), -size).await?;
        let mut new_ancestors = new_parent.tree();
        new_ancestors.push(new_parent.id.clone());
        adjust_descendants(&txn, &new_ancestors, size).await?;
        outbox::append(&txn, event).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)
    }

    /// Children (`direct`) or all descendants of `account`, one page.
    pub async fn subtree_page(
        &self,
        account: &account::Model,
        direct: bool,
        query: &ListQuery,
    ) -> Result<(Vec<account::Model>, Option<crossbar_envelope::PageInfo>), ApiError> {
        let backend = self.db.get_database_backend();
        let mut sql = SqlBuilder::new(backend, "SELECT * FROM accounts WHERE ");
        if direct {
            let p = sql.bind(account.id.clone());
            sql.push(&format!("parent_id = {p}"));
        } else {
            let lo = sql.bind(format!("{}/", account.path));
            let hi = sql.bind(format!("{}0", account.path));
            sql.push(&format!("path >= {lo} AND path < {hi}"));
        }
        sql.filters("doc", &query.filters, "created", "modified");
        // Children in name order (index on parent_id, name_key, id); descendants in
        // tree order, which the path index yields directly: both O(log n + page).
        let sort_column = if direct { "name_key" } else { "path" };
        sql.page(query, sort_column, "id");
        let mut rows = account::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(backend, sql.sql, sql.values))
            .all(&self.read)
            .await
            .map_err(db_error)?;
        let next = if query.paginate && rows.len() as u64 > query.page_size {
            rows.pop().map(|extra| crossbar_crud::listing::Cursor {
                sort_key: if direct { extra.name_key } else { extra.path },
                id: Some(extra.id),
            })
        } else {
            None
        };
        let page = query.page_info(rows.len(), next);
        Ok((rows, page))
    }

    /// Number of accounts under `account` (all depths), counted over its subtree
    /// range; listings use the maintained `descendants` column instead.
    pub async fn count_subtree(&self, account: &account::Model) -> Result<u64, ApiError> {
        account::Entity::find()
            .filter(account::Column::Path.gte(format!("{}/", account.path)))
            .filter(account::Column::Path.lt(format!("{}0", account.path)))
            .count(&self.read)
            .await
            .map_err(db_error)
    }

    pub async fn has_children(&self, id: &str) -> Result<bool, ApiError> {
        Ok(account::Entity::find()
            .filter(account::Column::ParentId.eq(id.to_string()))
            .count(&self.read)
            .await
            .map_err(db_error)?
            > 0)
    }
}

fn domain_name_key(name: &str) -> String {
    crate::domain::accounts::name_key(name)
}

/// Adds `delta` to the descendant counter of each of `ancestors`.
async fn adjust_descendants<C: ConnectionTrait>(
    conn: &C,
    ancestors: &[String],
    delta: i64,
) -> Result<(), ApiError> {
    if ancestors.is_empty() || delta == 0 {
        return Ok(());
    }
    account::Entity::update_many()
        .col_expr(
            account::Column::Descendants,
            sea_orm::sea_query::Expr::col(account::Column::Descendants).add(delta),
        )
        .filter(account::Column::Id.is_in(ancestors.iter().cloned()))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
