//! The office-hours service: temporal rules, rule sets, menus, voicemail boxes, and
//! the rules engine that says whether an office is open.
//!
//! The four resources are documents of the shared store (`crossbar-crud`) in the
//! service's own database (`office_hours`); their rules (`pvt_type`, schema, listing
//! rows, references, mailbox uniqueness) are in [`domain::rules`].

pub mod domain;
pub mod events;
pub mod handlers;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use async_trait::async_trait;
use crossbar_crud::Documents;
use crossbar_envelope::ApiError;
use crossbar_events::projection::DEFAULT_MAX_AGE;
use crossbar_events::subjects::{ACCOUNT_DELETED_SUBJECT, TEMPORAL_EVALUATE_SUBJECT};
use crossbar_events::{Bus, Outbox};
use crossbar_schema::SchemaRegistry;
use sea_orm::{DatabaseConnection, DbErr};

/// How often the background relay publishes events a request-path flush left behind.
const RELAY_EVERY: Duration = Duration::from_secs(1);

/// What this service asks the directory (the accounts service) about users.
/// Embedded: implemented by the gateway on the accounts directory.
#[async_trait]
pub trait UserLookup: Send + Sync {
    /// Whether `user_id` is a live (not deleted) user of `account_id`.
    async fn user_exists(&self, account_id: &str, user_id: &str) -> Result<bool, ApiError>;
}

/// Kazoo's default account time zone, used when an account has none or an unknown one.
pub const DEFAULT_TIMEZONE: &str = "America/Los_Angeles";

/// Where this service learns an account's IANA time zone (the account document's
/// `timezone`): [`events::TimezoneProjection`], fed by account events with a
/// request-reply fallback on a miss, serving what it knows while nobody answers.
#[async_trait]
pub trait AccountTimezones: Send + Sync {
    /// The account's `timezone` as stored (`None`: account unknown or no zone set).
    async fn timezone(&self, account_id: &str) -> Result<Option<String>, ApiError>;
}

/// A source that knows no zones: every account evaluates in [`DEFAULT_TIMEZONE`].
pub struct DefaultTimezones;

#[async_trait]
impl AccountTimezones for DefaultTimezones {
    async fn timezone(&self, _account_id: &str) -> Result<Option<String>, ApiError> {
        Ok(None)
    }
}

/// The office-hours service, ready to be mounted in an app (cheap to clone).
#[derive(Clone)]
pub struct OfficeHoursService {
    pub docs: Documents,
    pub users: Arc<dyn UserLookup>,
    pub timezones: Arc<dyn AccountTimezones>,
}

impl OfficeHoursService {
    pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
        crossbar_crud::db::run_migrations_locked::<store::Migrator>(db, "office_hours").await
    }

    /// Migrates its database, wires the document store, starts the outbox relay and
    /// subscribes to account deletions (see [`events`]).
    pub async fn start(
        db: crossbar_crud::db::Db,
        bus: Arc<dyn Bus>,
        schemas: Arc<SchemaRegistry>,
        users: Arc<dyn UserLookup>,
    ) -> Result<Self, String> {
        Self::migrate(&db.write)
            .await
            .map_err(|e| format!("office_hours migrations: {e}"))?;
        let outbox = Outbox::new(db.write.clone(), bus.clone());
        outbox.spawn_relay(RELAY_EVERY);
        bus.subscribe(
            ACCOUNT_DELETED_SUBJECT,
            Arc::new(events::AccountPurger {
                db: db.write.clone(),
            }),
        )
        .await;
        let docs = Documents::new(&db, outbox, schemas, "office_hours");
        let projection = events::TimezoneProjection::start(bus.clone(), DEFAULT_MAX_AGE).await;
        let service = Self {
            docs: docs.clone(),
            users,
            timezones: projection,
        };
        bus.respond(
            TEMPORAL_EVALUATE_SUBJECT,
            Arc::new(handlers::rpc::TemporalEvaluator {
                service: service.clone(),
            }),
        )
        .await;
        crossbar_crud::rpc::DocumentsResponder::register(&bus, "office_hours", docs).await;
        Ok(service)
    }

    /// Uses `timezones` for accounts' time zones (default: [`DefaultTimezones`]).
    pub fn with_timezones(mut self, timezones: Arc<dyn AccountTimezones>) -> Self {
        self.timezones = timezones;
        self
    }

    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(self, cfg);
    }
}
