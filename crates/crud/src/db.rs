//! Database connections (SQLite embedded, PostgreSQL distributed) and the mapping of
//! database failures to API errors.

use std::time::Duration;

use crossbar_envelope::ApiError;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, IsolationLevel, RuntimeErr, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

/// A service's database: where it writes, and where it reads outside transactions.
/// On PostgreSQL both are the same pool. On SQLite writes go through one connection
/// (SQLite serialises writers anyway, and one writer avoids lock-upgrade failures)
/// while reads use a pool of read-only connections (WAL lets them run beside the writer).
#[derive(Clone, Debug)]
pub struct Db {
    pub write: DatabaseConnection,
    pub read: DatabaseConnection,
}

/// Read-only SQLite connections per service.
const SQLITE_READERS: u32 = 4;

/// Connects one service to its database (see [`Db`]).
pub async fn connect(url: &str, schema: &str) -> Result<Db, DbErr> {
    let write = connect_one(url, schema, false).await?;
    let read = if url.starts_with("sqlite:") {
        // Opened after the writer, so the file and its WAL index exist.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let query: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("mode="))
            .chain(std::iter::once("mode=ro"))
            .collect();
        connect_one(&format!("{base}?{}", query.join("&")), schema, true).await?
    } else {
        write.clone()
    };
    Ok(Db { write, read })
}

async fn connect_one(
    url: &str,
    schema: &str,
    read_only: bool,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let connections = if read_only { SQLITE_READERS } else { 1 };
        options.max_connections(connections).min_connections(1);
    } else {
        options
            .max_connections(16)
            .min_connections(1)
            .idle_timeout(Duration::from_secs(300))
            .set_schema_search_path(schema.to_string());
    }
    let db = Database::connect(options).await?;
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            )
            .await?;
        }
        DbBackend::Postgres => {
            // `IF NOT EXISTS` does not make concurrent creations safe (the loser fails on
            // the catalog's unique index), so replicas starting together take turns.
            let txn = begin_locked(&db, lock_key(SCHEMA_LOCK_NAMESPACE, schema), schema).await?;
            txn.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await?;
            txn.commit().await?;
        }
        DbBackend::MySql => {}
    }
    Ok(db)
}

/// Namespaces of the PostgreSQL advisory-lock keys (see [`lock_key`]).
const MIGRATION_LOCK_NAMESPACE: &str = "crossbar.migrations/";
const SCHEMA_LOCK_NAMESPACE: &str = "crossbar.schema/";

/// An advisory-lock key: FNV-1a (64 bits) of a fixed namespace and a name. It must never
/// change between releases: during a rolling upgrade old and new processes have to agree.
fn lock_key(namespace: &str, name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in namespace.bytes().chain(name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// The PostgreSQL advisory-lock key under which `service`'s migrations run.
pub fn migration_lock_key(service: &str) -> i64 {
    lock_key(MIGRATION_LOCK_NAMESPACE, service)
}

/// Begins a READ COMMITTED transaction on PostgreSQL holding the transaction-level
/// advisory lock `key` (waiting for it if another process holds it). The lock is
/// released when the transaction ends: commit, rollback, drop or a lost connection.
async fn begin_locked(
    db: &DatabaseConnection,
    key: i64,
    name: &str,
) -> Result<DatabaseTransaction, DbErr> {
    let txn = db
        .begin_with_config(Some(IsolationLevel::ReadCommitted), None)
        .await?;
    let free = txn
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS locked",
            [key.into()],
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "locked"))
        .transpose()?
        .unwrap_or(false);
    if !free {
        tracing::info!(
            lock = name,
            "another process is creating or migrating this schema; waiting for it"
        );
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(txn)
}

/// Applies `M`'s pending migrations, one process at a time per service.
///
/// On PostgreSQL, replicas starting together (and `crossbar migrate`) would otherwise
/// race: both see a table missing, both create it, and the losers fail on the catalog's
/// unique indexes. So the migrations run inside one transaction that first takes
/// `pg_advisory_xact_lock(migration_lock_key(service))`. A transaction-level lock, not a
/// session-level `pg_advisory_lock`: the pool may hand each statement a different
/// connection, but a transaction keeps one connection from `BEGIN` to `COMMIT`, and the
/// lock is released by that commit (or rollback, or the connection dying) on that very
/// connection — also through PgBouncer in transaction mode. sea-orm-migration accepts a
/// `&DatabaseTransaction` and, on PostgreSQL, runs its own transaction inside it as a
/// savepoint, so every DDL statement and its row in the migrations table commit with
/// the lock's release: the next process takes the lock, sees them, and has nothing to do.
/// READ COMMITTED (explicit, whatever the server's default) gives each statement after
/// the lock a fresh snapshot, so the waiter does see what the holder committed.
///
/// On SQLite (embedded mode: one process, one writer connection) the migrations just run.
///
/// A schema a newer release has migrated further (versions this binary does not know)
/// is left as it is, when every migration this binary knows is applied: migrations are
/// expand-only (docs/operations.md), so this release runs on it — a rollback, or an old
/// pod restarting during a rollout. sea-orm-migration alone would refuse to start.
pub async fn run_migrations_locked<M: MigratorTrait>(
    db: &DatabaseConnection,
    service: &str,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return up_unless_newer::<M, _>(db, service).await;
    }
    let txn = begin_locked(db, migration_lock_key(service), service).await?;
    match up_unless_newer::<M, _>(&txn, service).await {
        Ok(()) => txn.commit().await,
        Err(error) => {
            // The rollback releases the lock; its own failure would hide the cause.
            let _ = txn.rollback().await;
            Err(error)
        }
    }
}

/// `M::up`, unless the schema is newer than `M` (see [`run_migrations_locked`]).
async fn up_unless_newer<'c, M, C>(conn: &'c C, service: &str) -> Result<(), DbErr>
where
    M: MigratorTrait,
    C: ConnectionTrait,
    &'c C: sea_orm_migration::IntoSchemaManagerConnection<'c>,
{
    let known: Vec<String> = M::migrations()
        .iter()
        .map(|migration| migration.name().to_string())
        .collect();
    let applied: Vec<String> = M::get_migration_models(conn)
        .await?
        .into_iter()
        .map(|model| model.version)
        .collect();
    let newer: Vec<&String> = applied.iter().filter(|v| !known.contains(v)).collect();
    if newer.is_empty() {
        return M::up(conn, None).await;
    }
    let pending: Vec<&String> = known.iter().filter(|v| !applied.contains(v)).collect();
    if !pending.is_empty() {
        return Err(DbErr::Custom(format!(
            "the {service} schema holds migrations of another release ({newer:?}) but not this \
             release's {pending:?}: migrate it with a release that has both"
        )));
    }
    tracing::warn!(
        service,
        newer = ?newer,
        "the schema is newer than this release (a rollback, or an older replica during a rollout); running on it unchanged"
    );
    Ok(())
}

/// Maps a database error: connection trouble is 503 (retryable), the rest 500.
pub fn db_error(error: DbErr) -> ApiError {
    match &error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => ApiError::Unavailable(error.to_string()),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
            if matches!(
                e,
                sea_orm::SqlxError::Io(_)
                    | sea_orm::SqlxError::PoolTimedOut
                    | sea_orm::SqlxError::PoolClosed
            ) =>
        {
            ApiError::Unavailable(error.to_string())
        }
        _ => ApiError::internal(error),
    }
}

/// `true` when the error is a unique-constraint violation.
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Connections of a pool: (open, idle).
pub fn pool_stats(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DatabaseBackend::MySql => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::{lock_key, migration_lock_key, SCHEMA_LOCK_NAMESPACE};

    #[test]
    fn migration_lock_keys_are_stable_and_distinct() {
        // Pinned: every release must derive the same key (see `migration_lock_key`).
        assert_eq!(
            migration_lock_key("accounts"),
            migration_lock_key("accounts")
        );
        assert_ne!(migration_lock_key("accounts"), migration_lock_key("auth"));
        assert_eq!(migration_lock_key("accounts"), PINNED_ACCOUNTS_KEY);
        assert_ne!(
            lock_key(SCHEMA_LOCK_NAMESPACE, "accounts"),
            migration_lock_key("accounts")
        );
    }

    const PINNED_ACCOUNTS_KEY: i64 = -1_280_652_703_487_465_380;
}
