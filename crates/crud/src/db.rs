//! Database connections (SQLite embedded, PostgreSQL distributed) and the mapping of
//! database failures to API errors.

use std::time::Duration;

use crossbar_envelope::ApiError;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr,
};

/// Connects one service to its database. SQLite: a single connection (writes in
/// SQLite are serial anyway, and one connection avoids lock-upgrade failures), WAL.
/// PostgreSQL: a pool whose connections use the service's own schema.
pub async fn connect(url: &str, schema: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.max_connections(1).min_connections(1);
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
