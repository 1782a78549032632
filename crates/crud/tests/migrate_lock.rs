//! Migrations of replicas starting together, against a real PostgreSQL: with
//! `run_migrations_locked` they take turns and all succeed; without it they collide.
//! Runs when `CROSSBAR_TEST_DATABASE_URL` names a PostgreSQL database (as in
//! `scripts/test.sh`), and is skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbar_crud::db::{connect, run_migrations_locked, Db};
use crossbar_crud::DocumentsMigration;
use crossbar_events::OutboxMigration;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Real migrations of the services (several tables and indexes each).
struct TestMigrator;

impl MigratorTrait for TestMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(OutboxMigration), Box::new(DocumentsMigration)]
    }
}

const REPLICAS: usize = 4;

fn database_url() -> Option<String> {
    let url = std::env::var("CROSSBAR_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"));
    if url.is_none() {
        eprintln!("skipped: CROSSBAR_TEST_DATABASE_URL does not name a PostgreSQL database");
    }
    url
}

fn fresh_schema(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("mig_{tag}_{}_{nanos}", std::process::id())
}

/// `REPLICAS` processes' pools on one fresh schema, connected at the same moment.
async fn replicas(url: &str, schema: &str) -> Vec<Db> {
    let tasks: Vec<_> = (0..REPLICAS)
        .map(|_| {
            let (url, schema) = (url.to_string(), schema.to_string());
            actix_web::rt::spawn(async move { connect(&url, &schema).await })
        })
        .collect();
    let mut dbs = Vec::new();
    for task in tasks {
        dbs.push(task.await.unwrap().expect("connect"));
    }
    dbs
}

/// Runs `migrate` on every replica at once; the result of each.
async fn migrate_all<F, Fut>(dbs: &[Db], migrate: F) -> Vec<Result<(), DbErr>>
where
    F: Fn(sea_orm::DatabaseConnection) -> Fut,
    Fut: std::future::Future<Output = Result<(), DbErr>> + 'static,
{
    let tasks: Vec<_> = dbs
        .iter()
        .map(|db| actix_web::rt::spawn(migrate(db.write.clone())))
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn count(db: &Db, sql: &str, schema: &str) -> i64 {
    db.write
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [schema.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
}

async fn drop_schema(db: &Db, schema: &str) {
    db.write
        .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

#[actix_web::test]
async fn concurrent_locked_migrations_all_succeed_once() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema("locked");
    let dbs = replicas(&url, &schema).await;

    let results = migrate_all(&dbs, |db| async move {
        run_migrations_locked::<TestMigrator>(&db, "migrate_lock_test").await
    })
    .await;
    for result in &results {
        assert!(result.is_ok(), "a locked migration failed: {result:?}");
    }

    let tables = count(
        &dbs[0],
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 \
         AND table_name IN ('seaql_migrations', 'outbox', 'documents', 'unique_keys')",
        &schema,
    )
    .await;
    assert_eq!(tables, 4);
    let applied = dbs[0]
        .write
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n, count(DISTINCT version) AS d FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(applied.try_get::<i64>("", "n").unwrap(), 2);
    assert_eq!(applied.try_get::<i64>("", "d").unwrap(), 2);

    // Once applied, a later start has nothing to do and still succeeds.
    run_migrations_locked::<TestMigrator>(&dbs[1].write, "migrate_lock_test")
        .await
        .unwrap();
    drop_schema(&dbs[0], &schema).await;
}

/// The race the lock prevents: the same concurrent start without it. Each round is a
/// fresh schema; at least one of a few rounds must see a replica fail (in practice
/// every round does: the first transaction holds the new tables' catalog rows until it
/// commits, and the others' `CREATE TABLE IF NOT EXISTS` then fail on them).
#[actix_web::test]
async fn concurrent_unlocked_migrations_collide() {
    let Some(url) = database_url() else { return };
    let mut failed_rounds = 0;
    for round in 0..3 {
        let schema = fresh_schema(&format!("unlocked{round}"));
        let dbs = replicas(&url, &schema).await;
        let results =
            migrate_all(&dbs, |db| async move { TestMigrator::up(&db, None).await }).await;
        let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        eprintln!(
            "round {round}: {} of {REPLICAS} unlocked migrations failed{}",
            errors.len(),
            errors
                .first()
                .map(|e| format!(", e.g. {e}"))
                .unwrap_or_default()
        );
        if !errors.is_empty() {
            failed_rounds += 1;
        }
        drop_schema(&dbs[0], &schema).await;
    }
    assert!(
        failed_rounds > 0,
        "unlocked concurrent migrations never collided: the locked test proves nothing"
    );
}

/// A migration only a "newer release" has.
struct NewerTable;

impl sea_orm_migration::MigrationName for NewerTable {
    fn name(&self) -> &str {
        "m9901_test_newer_table"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for NewerTable {
    async fn up(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE TABLE IF NOT EXISTS newer_table (id INTEGER)")
            .await
            .map(|_| ())
    }
}

/// A migration of a release that branched off (unknown to the newer one).
struct OtherTable;

impl sea_orm_migration::MigrationName for OtherTable {
    fn name(&self) -> &str {
        "m9902_test_other_table"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OtherTable {
    async fn up(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE TABLE IF NOT EXISTS other_table (id INTEGER)")
            .await
            .map(|_| ())
    }
}

/// The next release: `TestMigrator`'s migrations and one more.
struct NewerMigrator;

impl MigratorTrait for NewerMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(OutboxMigration),
            Box::new(DocumentsMigration),
            Box::new(NewerTable),
        ]
    }
}

struct BranchedMigrator;

impl MigratorTrait for BranchedMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(OutboxMigration),
            Box::new(DocumentsMigration),
            Box::new(OtherTable),
        ]
    }
}

/// A schema migrated by the next release: the previous release still starts on it (a
/// rollback, or an old replica restarting mid-rollout); a release missing migrations
/// of its own there refuses, naming them.
async fn previous_release_starts_on(db: &Db) {
    run_migrations_locked::<NewerMigrator>(&db.write, "migrate_newer_test")
        .await
        .unwrap();
    run_migrations_locked::<TestMigrator>(&db.write, "migrate_newer_test")
        .await
        .expect("the previous release starts on the newer schema");
    let refused = run_migrations_locked::<BranchedMigrator>(&db.write, "migrate_newer_test")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("m9901_test_newer_table") && refused.contains("m9902_test_other_table"),
        "{refused}"
    );
    // The newer release itself still has nothing to do.
    run_migrations_locked::<NewerMigrator>(&db.write, "migrate_newer_test")
        .await
        .unwrap();
}

#[actix_web::test]
async fn the_previous_release_starts_on_a_schema_the_next_one_migrated_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("newer.sqlite").display()
    );
    let db = connect(&url, "main").await.unwrap();
    previous_release_starts_on(&db).await;
}

#[actix_web::test]
async fn the_previous_release_starts_on_a_schema_the_next_one_migrated_postgres() {
    let Some(url) = database_url() else { return };
    let schema = fresh_schema("newer");
    let db = connect(&url, &schema).await.unwrap();
    previous_release_starts_on(&db).await;
    drop_schema(&db, &schema).await;
}
