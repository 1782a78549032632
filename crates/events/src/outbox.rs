//! The transactional outbox: events are written in the same database transaction as
//! the change they describe, then relayed to the bus. A write never succeeds without
//! its event, and an event is never published for a write that rolled back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sea_orm_migration::prelude::*;
use tokio::sync::Mutex;

use crate::{Bus, Event};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        #[sea_orm(unique)]
        pub event_id: String,
        pub subject: String,
        pub payload: String,
        pub created: i64,
        pub published: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Appends an event to the outbox inside the caller's transaction.
pub async fn append<C: ConnectionTrait>(conn: &C, event: &Event) -> Result<(), DbErr> {
    let payload = serde_json::to_string(event).map_err(|e| DbErr::Custom(e.to_string()))?;
    entity::ActiveModel {
        event_id: Set(event.id.clone()),
        subject: Set(event.subject.clone()),
        payload: Set(payload),
        created: Set(event.occurred_at),
        published: Set(false),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Number of events not yet published in the outbox of the database `db`.
pub async fn backlog(db: &DatabaseConnection) -> Result<u64, DbErr> {
    entity::Entity::find()
        .filter(entity::Column::Published.eq(false))
        .count(db)
        .await
}

/// Relays a service's outbox to the bus, in order.
#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    relay_lock: Arc<Mutex<()>>,
}

impl Outbox {
    pub fn new(db: DatabaseConnection, bus: Arc<dyn Bus>) -> Self {
        Self {
            db,
            bus,
            relay_lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Publishes every pending event; returns how many went out. On a bus failure
    /// it stops and leaves the rest for the next round.
    pub async fn flush(&self) -> Result<usize, DbErr> {
        let _guard = self.relay_lock.lock().await;
        let mut sent = 0;
        loop {
            let pending = entity::Entity::find()
                .filter(entity::Column::Published.eq(false))
                .order_by_asc(entity::Column::Seq)
                .limit(200)
                .all(&self.db)
                .await?;
            if pending.is_empty() {
                return Ok(sent);
            }
            for row in pending {
                let event: Event = match serde_json::from_str(&row.payload) {
                    Ok(event) => event,
                    Err(error) => {
                        tracing::error!(seq = row.seq, %error, "unreadable outbox row skipped");
                        self.mark_published(row.seq).await?;
                        continue;
                    }
                };
                if let Err(error) = self.bus.publish(&event).await {
                    tracing::warn!(%error, "outbox relay paused: bus unavailable");
                    return Ok(sent);
                }
                self.mark_published(row.seq).await?;
                sent += 1;
            }
        }
    }

    async fn mark_published(&self, seq: i64) -> Result<(), DbErr> {
        entity::Entity::update_many()
            .col_expr(entity::Column::Published, Expr::value(true))
            .filter(entity::Column::Seq.eq(seq))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Number of events not yet published.
    pub async fn backlog(&self) -> Result<u64, DbErr> {
        backlog(&self.db).await
    }

    /// Background relay for events a request-path flush did not get out.
    pub fn spawn_relay(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let outbox = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(error) = outbox.flush().await {
                    tracing::warn!(%error, "outbox relay failed");
                }
            }
        })
    }
}

/// Migration creating the outbox table; every service lists it in its migrator.
pub struct OutboxMigration;

impl MigrationName for OutboxMigration {
    fn name(&self) -> &str {
        "m0001_create_outbox"
    }
}

#[async_trait]
impl MigrationTrait for OutboxMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(entity::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(entity::Column::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(entity::Column::EventId)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(entity::Column::Subject).string().not_null())
                    .col(ColumnDef::new(entity::Column::Payload).text().not_null())
                    .col(
                        ColumnDef::new(entity::Column::Created)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(entity::Column::Published)
                            .boolean()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_pending")
                    .table(entity::Entity)
                    .col(entity::Column::Published)
                    .col(entity::Column::Seq)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(entity::Entity).to_owned())
            .await
    }
}
