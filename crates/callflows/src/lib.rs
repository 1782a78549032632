//! The callflows service: callflows (CRUD with Kazoo's rules), number and pattern
//! routing, the call-path simulator and the lint.
//!
//! Callflows are documents of the shared store (`crossbar-crud`) in the service's own
//! database (`callflows`); their numbers and patterns are unique keys of the account,
//! which is also the index exact-number routing reads. Patterns are compiled per
//! account into a `RegexSet`, cached until one of the account's callflows changes.

pub mod domain;
pub mod events;
pub mod handlers;
pub mod owners;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use crossbar_authz::AccountDirectory;
use crossbar_crud::Documents;
use crossbar_envelope::ApiError;
use crossbar_events::subjects::{
    ACCOUNT_DELETED_SUBJECT, CALLFLOW_EVENTS_PREFIX, CALLFLOW_LOOKUP_SUBJECT,
};
use crossbar_events::{Bus, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::routing::{Route, NO_MATCH};
use crate::store::PatternCache;

/// How often the background relay publishes events a request-path flush left behind.
const RELAY_EVERY: Duration = Duration::from_secs(1);

/// The callflows service, ready to be mounted in an app (cheap to clone).
#[derive(Clone)]
pub struct CallflowsService {
    pub docs: Documents,
    pub bus: Arc<dyn Bus>,
    /// Accounts, for "may the caller use a number owned by account X".
    pub directory: Arc<dyn AccountDirectory>,
    pub patterns: Arc<PatternCache>,
    /// Who owns a DID, kept from the numbers service's events.
    pub owners: Arc<owners::NumberOwners>,
}

impl CallflowsService {
    pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
        crossbar_crud::db::run_migrations_locked::<store::Migrator>(db, "callflows").await
    }

    /// Migrates its database, wires the document store, starts the outbox relay,
    /// subscribes to the events it keeps its caches with and answers routing
    /// questions on the bus.
    pub async fn start(
        db: crossbar_crud::db::Db,
        bus: Arc<dyn Bus>,
        schemas: Arc<SchemaRegistry>,
        directory: Arc<dyn AccountDirectory>,
    ) -> Result<Self, String> {
        Self::migrate(&db.write)
            .await
            .map_err(|e| format!("callflows migrations: {e}"))?;
        let outbox = Outbox::new(db.write.clone(), bus.clone());
        outbox.spawn_relay(RELAY_EVERY);
        let docs = Documents::new(&db, outbox, schemas, "callflows");
        let patterns = Arc::new(PatternCache::default());
        // The compiled patterns live in every replica: every replica hears of changes.
        let invalidator = Arc::new(events::PatternInvalidator {
            cache: patterns.clone(),
        });
        bus.subscribe_broadcast(CALLFLOW_EVENTS_PREFIX, invalidator.clone())
            .await;
        bus.subscribe_broadcast(ACCOUNT_DELETED_SUBJECT, invalidator)
            .await;
        // The purge is done once per service (a durable consumer shared by replicas).
        bus.subscribe(
            ACCOUNT_DELETED_SUBJECT,
            Arc::new(events::AccountPurger {
                db: db.write.clone(),
            }),
        )
        .await;
        let owners = owners::NumberOwners::start(bus.clone(), owners::DEFAULT_MAX_AGE).await;
        let service = Self {
            docs: docs.clone(),
            bus: bus.clone(),
            directory,
            patterns,
            owners,
        };
        bus.respond(
            CALLFLOW_LOOKUP_SUBJECT,
            Arc::new(handlers::rpc::Lookup {
                service: service.clone(),
            }),
        )
        .await;
        crossbar_crud::rpc::DocumentsResponder::register(&bus, "callflows", docs).await;
        Ok(service)
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(self, cfg);
    }

    /// Resolves a dialed number in an account the way Kazoo does
    /// ([`domain::routing::resolve`]): the exact (normalised) number through the unique
    /// keys' index, then the account's compiled patterns, then `no_match`.
    pub async fn lookup(&self, account_id: &str, dialed: &str) -> Result<Option<Route>, ApiError> {
        let number = crossbar_numbering::normalize(dialed);
        if let Some(callflow_id) = store::number_holder(&self.docs, account_id, &number).await? {
            return Ok(Some(Route::Number {
                callflow_id,
                number,
            }));
        }
        let patterns = self.patterns.patterns(&self.docs, account_id).await?;
        if let Some(m) = patterns.best_match(&number) {
            return Ok(Some(Route::Pattern {
                callflow_id: m.callflow_id,
                pattern: m.pattern,
                capture: m.capture,
            }));
        }
        Ok(store::number_holder(&self.docs, account_id, NO_MATCH)
            .await?
            .map(|callflow_id| Route::NoMatch { callflow_id }))
    }
}
