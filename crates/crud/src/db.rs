//! Database connections (SQLite embedded, PostgreSQL distributed) and the mapping of
//! database failures to API errors.

use std::time::Duration;

use crossbar_envelope::ApiError;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr,
};

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
            db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await?;
        }
        DbBackend::MySql => {}
    }
    Ok(db)
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
