//! The numbers service: phone numbers (inventory, search, states) and port requests.
//!
//! Numbers live in the service's own table `numbers` (see [`store::numbers`]), keyed
//! by E.164, so that inventory search is an index range scan and every state change is
//! one transaction with its event. The state machine is [`domain::states`].

pub mod domain;
pub mod events;
pub mod handlers;
pub mod manager;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use crossbar_crud::db::Db;
use crossbar_crud::Documents;
use crossbar_events::subjects::{
    ACCOUNT_DELETED_SUBJECT, ACTIVE_PORTS_SUBJECT, CALLFLOW_EVENTS_PREFIX, NUMBER_OWNERS_SUBJECT,
};
use crossbar_events::{Bus, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::{DatabaseConnection, DbErr};

/// How often the background relay publishes events a request-path flush left behind.
const RELAY_EVERY: Duration = Duration::from_secs(1);

/// The numbers service, ready to be mounted in an app (cheap to clone).
#[derive(Clone)]
pub struct NumbersService {
    pub docs: Documents,
    pub bus: Arc<dyn Bus>,
    pub db: Db,
    pub outbox: Outbox,
    pub schemas: Arc<SchemaRegistry>,
}

impl NumbersService {
    pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
        crossbar_crud::db::run_migrations_locked::<store::Migrator>(db, "numbers").await
    }

    /// Migrates its database, wires the stores, starts the outbox relay and registers
    /// its responders.
    pub async fn start(
        db: Db,
        bus: Arc<dyn Bus>,
        schemas: Arc<SchemaRegistry>,
    ) -> Result<Self, String> {
        Self::migrate(&db.write)
            .await
            .map_err(|e| format!("numbers migrations: {e}"))?;
        let outbox = Outbox::new(db.write.clone(), bus.clone());
        outbox.spawn_relay(RELAY_EVERY);
        let docs = Documents::new(&db, outbox.clone(), schemas.clone(), "numbers");
        bus.respond(
            NUMBER_OWNERS_SUBJECT,
            Arc::new(handlers::rpc::OwnersResponder { db: db.clone() }),
        )
        .await;
        let manager = manager::NumberManager {
            db: db.clone(),
            outbox: outbox.clone(),
            bus: bus.clone(),
        };
        bus.respond(
            ACTIVE_PORTS_SUBJECT,
            Arc::new(events::ActivePorts {
                manager: manager.clone(),
            }),
        )
        .await;
        bus.subscribe(
            CALLFLOW_EVENTS_PREFIX,
            Arc::new(events::CallflowUsage {
                manager: manager.clone(),
            }),
        )
        .await;
        bus.subscribe(
            ACCOUNT_DELETED_SUBJECT,
            Arc::new(events::AccountRemoval { manager }),
        )
        .await;
        Ok(Self {
            docs,
            bus,
            db,
            outbox,
            schemas,
        })
    }

    /// Adds inventory numbers (`available`, local carrier); returns (added, already known).
    pub async fn import_inventory(
        &self,
        lines: &[store::numbers::InventoryLine],
    ) -> Result<(u64, u64), crossbar_envelope::ApiError> {
        store::numbers::import(
            &self.db.write,
            lines,
            crossbar_envelope::time::now_gregorian(),
        )
        .await
    }

    /// `crossbar numbers import FILE.csv`: reads the file (see
    /// [`domain::inventory::parse_csv`]) and adds its numbers. Returns a JSON summary;
    /// bad lines are listed and skipped, good ones imported.
    pub async fn import_csv_file(
        &self,
        path: &std::path::Path,
    ) -> Result<serde_json::Value, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (lines, errors) = domain::inventory::parse_csv(std::io::BufReader::new(file))?;
        let (added, existing) = self
            .import_inventory(&lines)
            .await
            .map_err(|e| format!("import: {}", e.data()))?;
        Ok(serde_json::json!({
            "added": added,
            "already_present": existing,
            "rejected": errors
                .iter()
                .map(|(line, reason)| serde_json::json!({"line": line, "reason": reason}))
                .collect::<Vec<_>>(),
        }))
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(self, cfg);
    }
}
