//! The auth service's storage: its signing keys and the revocation deny-list (plus the
//! outbox its revocation and rotation events go through).

pub mod entities;
pub mod migrations;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crossbar_authz::SigningKey;
use crossbar_envelope::ApiError;
use crossbar_events::Event;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use entities::{revoked_token, signing_key};
pub use migrations::Migrator;

/// Runs the auth service's migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    crossbar_crud::db::run_migrations_locked::<Migrator>(db, "auth").await
}

/// A database failure as the API reports it: connection trouble is 503, the rest 500
/// (the detail is logged by the error renderer, never sent).
pub fn db_error(error: DbErr) -> ApiError {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => ApiError::Unavailable(error.to_string()),
        other => ApiError::internal(other),
    }
}

/// Every stored signing key, oldest first; creates and stores one when there is none.
/// The newest signs; all are trusted for verification.
pub async fn load_or_create_keys(
    db: &DatabaseConnection,
    now: i64,
) -> Result<Vec<SigningKey>, String> {
    let fail = |e: DbErr| format!("signing keys: {e}");
    let txn = db.begin().await.map_err(fail)?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Replicas starting together on an empty table must not each make a key.
        txn.execute_unprepared("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .await
            .map_err(fail)?;
    }
    let mut rows = signing_key::Entity::find()
        .order_by_asc(signing_key::Column::Created)
        .order_by_asc(signing_key::Column::Kid)
        .all(&txn)
        .await
        .map_err(fail)?;
    if rows.is_empty() {
        let key = SigningKey::generate()?;
        let row = signing_key::Model {
            kid: key.kid.clone(),
            pkcs8: STANDARD.encode(key.pkcs8()),
            created: now,
        };
        signing_key::Entity::insert(signing_key::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await
            .map_err(fail)?;
        tracing::info!(kid = %row.kid, "auth: created a new signing key");
        rows.push(row);
    }
    txn.commit().await.map_err(fail)?;
    rows.iter().map(decode_key).collect()
}

fn decode_key(row: &signing_key::Model) -> Result<SigningKey, String> {
    let pkcs8 = STANDARD
        .decode(row.pkcs8.trim())
        .map_err(|_| format!("signing key {}: stored key is not base64", row.kid))?;
    SigningKey::from_pkcs8(&row.kid, pkcs8)
}

async fn key_rows<C: ConnectionTrait>(conn: &C) -> Result<Vec<signing_key::Model>, DbErr> {
    signing_key::Entity::find()
        .order_by_asc(signing_key::Column::Created)
        .order_by_asc(signing_key::Column::Kid)
        .all(conn)
        .await
}

/// Every stored signing key, oldest first (the last one signs); none created.
pub async fn load_keys<C: ConnectionTrait>(conn: &C) -> Result<Vec<SigningKey>, String> {
    key_rows(conn)
        .await
        .map_err(|e| format!("signing keys: {e}"))?
        .iter()
        .map(decode_key)
        .collect()
}

/// Stores a signing key created at `created` (unix seconds). No event: see [`rotate_keys`].
pub async fn insert_key<C: ConnectionTrait>(
    conn: &C,
    key: &SigningKey,
    created: i64,
) -> Result<(), DbErr> {
    signing_key::Entity::insert(signing_key::ActiveModel::from(signing_key::Model {
        kid: key.kid.clone(),
        pkcs8: STANDARD.encode(key.pkcs8()),
        created,
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// What a rotation did.
pub struct KeyRotation {
    /// The key that signs from now on.
    pub new: SigningKey,
    /// Every key still stored (trusted), oldest first; `new` is the last.
    pub keys: Vec<SigningKey>,
    /// Key ids deleted (retired): no token they signed can still be valid.
    pub retired: Vec<String>,
}

/// Adds a new (generated) signing key at `now`, retires the keys superseded at least
/// `keep_secs` ago ([`crate::domain::keys::retired`]) and appends the rotation event
/// to the outbox, all in one transaction.
pub async fn rotate_keys(
    db: &DatabaseConnection,
    now: i64,
    keep_secs: i64,
) -> Result<KeyRotation, String> {
    add_key(db, SigningKey::generate()?, now, keep_secs)
        .await?
        .ok_or_else(|| "signing key rotation: the new key's id is taken".to_string())
}

/// Adds `new` as the newest signing key at `now` the way [`rotate_keys`] does
/// (retirement, rotation event in the outbox, one transaction), unless a key with its
/// id is stored already: then nothing changes and the answer is `None`.
pub async fn add_key(
    db: &DatabaseConnection,
    new: SigningKey,
    now: i64,
    keep_secs: i64,
) -> Result<Option<KeyRotation>, String> {
    let fail = |e: DbErr| format!("signing key rotation: {e}");
    let txn = db.begin().await.map_err(fail)?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Concurrent rotations (or a first start) must not interleave.
        txn.execute_unprepared("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .await
            .map_err(fail)?;
    }
    let mut rows = key_rows(&txn).await.map_err(fail)?;
    if rows.iter().any(|row| row.kid == new.kid) {
        txn.rollback().await.map_err(fail)?;
        return Ok(None);
    }
    let created = crate::domain::keys::next_created(rows.last().map(|row| row.created), now);
    insert_key(&txn, &new, created).await.map_err(fail)?;
    rows.push(signing_key::Model {
        kid: new.kid.clone(),
        pkcs8: STANDARD.encode(new.pkcs8()),
        created,
    });
    let ages: Vec<(String, i64)> = rows
        .iter()
        .map(|row| (row.kid.clone(), row.created))
        .collect();
    let retired = crate::domain::keys::retired(&ages, now, keep_secs);
    if !retired.is_empty() {
        signing_key::Entity::delete_many()
            .filter(signing_key::Column::Kid.is_in(retired.iter().cloned()))
            .exec(&txn)
            .await
            .map_err(fail)?;
    }
    let keys = rows
        .iter()
        .filter(|row| !retired.contains(&row.kid))
        .map(decode_key)
        .collect::<Result<Vec<_>, _>>()?;
    let event = crate::events::signing_key_rotated(&new, &keys, &retired);
    crossbar_events::outbox::append(&txn, &event)
        .await
        .map_err(fail)?;
    txn.commit().await.map_err(fail)?;
    Ok(Some(KeyRotation { new, keys, retired }))
}

/// Revocations still in force at `now` (`(jti, exp)`); expired rows are deleted.
pub async fn active_revocations(
    db: &DatabaseConnection,
    now: i64,
) -> Result<Vec<(String, i64)>, DbErr> {
    revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::Exp.lte(now))
        .exec(db)
        .await?;
    let rows = revoked_token::Entity::find()
        .filter(revoked_token::Column::Exp.gt(now))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.jti, row.exp)).collect())
}

/// Records a revocation and its event in one transaction. `false` when the token was
/// already revoked (nothing written, no second event).
pub async fn revoke(
    db: &DatabaseConnection,
    jti: &str,
    exp: i64,
    now: i64,
    event: &Event,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    // Keep the deny-list short: rows past their token's expiry are of no use.
    revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::Exp.lte(now))
        .exec(&txn)
        .await?;
    let inserted = revoked_token::Entity::insert(revoked_token::ActiveModel {
        jti: Set(jti.to_string()),
        exp: Set(exp),
        revoked_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(revoked_token::Column::Jti)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted > 0 {
        crossbar_events::outbox::append(&txn, event).await?;
    }
    txn.commit().await?;
    Ok(inserted > 0)
}
