//! The callflows service: callflows, number/pattern routing, and the call-path simulator.

pub mod domain;
pub mod events;
pub mod handlers;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use crossbar_crud::Documents;
use crossbar_events::{Bus, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::{DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// How often the background relay publishes events a request-path flush left behind.
const RELAY_EVERY: Duration = Duration::from_secs(1);

/// The callflows service, ready to be mounted in an app (cheap to clone).
#[derive(Clone)]
pub struct CallflowsService {
    pub docs: Documents,
    pub bus: Arc<dyn Bus>,
}

impl CallflowsService {
    pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
        store::Migrator::up(db, None).await
    }

    /// Migrates its database, wires the document store and starts the outbox relay.
    pub async fn start(
        db: crossbar_crud::db::Db,
        bus: Arc<dyn Bus>,
        schemas: Arc<SchemaRegistry>,
    ) -> Result<Self, String> {
        Self::migrate(&db.write)
            .await
            .map_err(|e| format!("callflows migrations: {e}"))?;
        let outbox = Outbox::new(db.write.clone(), bus.clone());
        outbox.spawn_relay(RELAY_EVERY);
        let docs = Documents::new(&db, outbox, schemas, "callflows");
        Ok(Self { docs, bus })
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(self, cfg);
    }
}
