//! Events of the office-hours service.
//!
//! Published (through the outbox, in the transaction of the write):
//! `crossbar.office_hours.temporal_rule.{created,updated,deleted}`,
//! `crossbar.office_hours.temporal_rule_set.{created,updated,deleted}`,
//! `crossbar.office_hours.menu.{created,updated,deleted}`,
//! `crossbar.office_hours.vmbox.{created,updated,deleted}`. Each carries the account id
//! and its tree, the document id and the public view of the document.
//!
//! Consumed: [`ACCOUNT_DELETED_SUBJECT`]. An account is hard-deleted by the accounts
//! service; its office-hours documents (and their unique mailbox numbers) are purged
//! here in turn (idempotent: purging twice removes nothing more). And, in every
//! replica, the account events into [`TimezoneProjection`].
//!
//! [`ACCOUNT_DELETED_SUBJECT`]: crossbar_events::subjects::ACCOUNT_DELETED_SUBJECT

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crossbar_crud::rpc::bus_error;
use crossbar_crud::Documents;
use crossbar_envelope::ApiError;
use crossbar_events::projection::ProjectionMap;
use crossbar_events::subjects::{ACCOUNT_EVENTS_PREFIX, ACCOUNT_GET_SUBJECT};
use crossbar_events::{Bus, BusError, Event, EventHandler, DEFAULT_REQUEST_TIMEOUT};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

/// Subject prefix of this service's events.
pub const SUBJECT_PREFIX: &str = "crossbar.office_hours.";

/// Purges the documents of deleted accounts.
pub struct AccountPurger {
    pub db: DatabaseConnection,
}

#[async_trait]
impl EventHandler for AccountPurger {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(account_id) = event.deleted_account() else {
            return Ok(());
        };
        Documents::purge_account(&self.db, account_id)
            .await
            .map_err(|e| format!("purging account {account_id}: {e}"))?;
        crate::store::messages::MessageStore::purge_account(&self.db, account_id)
            .await
            .map_err(|e| format!("purging voicemail messages of {account_id}: {e}"))?;
        tracing::info!(
            account_id,
            "office-hours documents of a deleted account purged"
        );
        Ok(())
    }
}

/// More accounts than this and the time-zone projection starts over (a bound on
/// memory: an entry is an account id and a zone name, about 100 bytes).
pub const MAX_ACCOUNTS: usize = 250_000;

/// Accounts' time zones, as every replica keeps them: fed by the accounts service's
/// account events (broadcast), with a question to it ([`ACCOUNT_GET_SUBJECT`]) for an
/// account this process has not heard of, or has not heard of within the max age.
/// The reading policy is the shared one ([`ProjectionMap::get_or_ask`]): while NATS or
/// the accounts service is away, the accounts already known keep their zone; an
/// account never heard of is a 503.
pub struct TimezoneProjection {
    bus: Arc<dyn Bus>,
    /// By account id; `None`: the account exists and has no zone.
    zones: ProjectionMap<Option<String>>,
}

impl TimezoneProjection {
    /// A projection holding at most `capacity` accounts, asking again about entries
    /// older than `max_age`.
    pub fn new(bus: Arc<dyn Bus>, max_age: Duration, capacity: usize) -> Self {
        Self {
            bus,
            zones: ProjectionMap::new(max_age, capacity),
        }
    }

    /// A projection of at most [`MAX_ACCOUNTS`] subscribed to account events on `bus`
    /// (broadcast: every replica hears of every change).
    pub async fn start(bus: Arc<dyn Bus>, max_age: Duration) -> Arc<Self> {
        let projection = Arc::new(Self::new(bus.clone(), max_age, MAX_ACCOUNTS));
        bus.subscribe_broadcast(ACCOUNT_EVENTS_PREFIX, projection.clone())
            .await;
        projection
    }

    /// How many accounts the projection holds.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether the projection holds no account.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Asks the accounts service for the account's zone (`None`: no such account).
    async fn ask(&self, account_id: &str) -> Result<Option<Option<String>>, BusError> {
        let answer = self
            .bus
            .request(
                ACCOUNT_GET_SUBJECT,
                json!({ "account_id": account_id }),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await?;
        Ok(answer
            .get("account")
            .filter(|account| account.is_object())
            .map(zone_of))
    }
}

fn zone_of(account: &Value) -> Option<String> {
    account
        .get("timezone")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[async_trait]
impl EventHandler for TimezoneProjection {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(account_id) = event.account_id.as_deref() else {
            return Ok(());
        };
        // An account with sub-accounts cannot be deleted, so only its own entry goes.
        if event.subject.ends_with(".deleted") {
            self.zones.remove(account_id);
        } else if event.doc.is_object() {
            // Idempotent: the document carries the account's whole current state.
            self.zones.insert(account_id, zone_of(&event.doc));
        } else {
            // An event without the document: forgotten, asked again on next use.
            self.zones.remove(account_id);
        }
        Ok(())
    }
}

#[async_trait]
impl crate::AccountTimezones for TimezoneProjection {
    async fn timezone(&self, account_id: &str) -> Result<Option<String>, ApiError> {
        let known = self
            .zones
            .get_or_ask(account_id, || self.ask(account_id))
            .await
            .map_err(bus_error)?;
        Ok(known.flatten())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    use actix_web::http::StatusCode;
    use crossbar_events::projection::{Known, DEFAULT_MAX_AGE};
    use crossbar_events::{InProcessBus, RequestHandler};

    use super::*;
    use crate::AccountTimezones;

    /// The accounts service as the projection sees it: counts questions, can go away.
    #[derive(Default)]
    struct FakeAccounts {
        questions: AtomicUsize,
        down: AtomicBool,
        /// Zone by account id (`None`: the account has none).
        accounts: Mutex<HashMap<String, Option<String>>>,
    }

    impl FakeAccounts {
        fn with(account_id: &str, zone: Option<&str>) -> Self {
            let fake = Self::default();
            fake.set(account_id, zone);
            fake
        }

        fn set(&self, account_id: &str, zone: Option<&str>) {
            self.accounts
                .lock()
                .unwrap()
                .insert(account_id.into(), zone.map(str::to_string));
        }

        fn questions(&self) -> usize {
            self.questions.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl RequestHandler for FakeAccounts {
        async fn answer(&self, payload: Value) -> Result<Value, String> {
            self.questions.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err("accounts service away".into());
            }
            let id = payload["account_id"].as_str().unwrap_or_default();
            Ok(match self.accounts.lock().unwrap().get(id) {
                Some(zone) => json!({"account": {"id": id, "timezone": zone}}),
                None => json!({ "account": null }),
            })
        }
    }

    fn account_event(action: &str, account_id: &str, zone: Option<&str>) -> Event {
        Event::new(format!("{ACCOUNT_EVENTS_PREFIX}{action}"))
            .account(account_id, vec!["root".to_string()])
            .doc(json!({"id": account_id, "name": "Acme", "timezone": zone}))
    }

    async fn setup(
        max_age: Duration,
        fake: FakeAccounts,
    ) -> (
        Arc<InProcessBus>,
        Arc<FakeAccounts>,
        Arc<TimezoneProjection>,
    ) {
        let bus = Arc::new(InProcessBus::new());
        let fake = Arc::new(fake);
        bus.respond(ACCOUNT_GET_SUBJECT, fake.clone()).await;
        let projection = TimezoneProjection::start(bus.clone(), max_age).await;
        (bus, fake, projection)
    }

    /// The 503 of an unanswered question, in Kazoo's shape.
    fn assert_unavailable(error: &ApiError) {
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{error}");
        assert_eq!(error.message(), "service_unavailable");
        assert!(error.data()["message"].is_string());
    }

    #[tokio::test]
    async fn a_miss_asks_once_then_the_projection_answers() {
        let fake = FakeAccounts::with("a", Some("Europe/London"));
        fake.set("plain", None);
        let (_bus, fake, projection) = setup(DEFAULT_MAX_AGE, fake).await;
        for _ in 0..3 {
            let zone = projection.timezone("a").await.unwrap();
            assert_eq!(zone.as_deref(), Some("Europe/London"));
        }
        assert_eq!(fake.questions(), 1);
        // An account without a zone is remembered as such.
        assert_eq!(projection.timezone("plain").await.unwrap(), None);
        assert_eq!(projection.timezone("plain").await.unwrap(), None);
        assert_eq!(fake.questions(), 2);
        // Unknown accounts are asked every time (they may be created later).
        assert_eq!(projection.timezone("nobody").await.unwrap(), None);
        assert_eq!(projection.timezone("nobody").await.unwrap(), None);
        assert_eq!(fake.questions(), 4);
        assert_eq!(projection.len(), 2);
    }

    #[tokio::test]
    async fn events_keep_it_current_without_questions() {
        let (bus, fake, projection) = setup(DEFAULT_MAX_AGE, FakeAccounts::default()).await;
        let zone = |p: &TimezoneProjection| match p.zones.get("b") {
            Known::Fresh(zone) => zone,
            other => panic!("expected a fresh entry, got {other:?}"),
        };
        bus.publish(&account_event("created", "b", Some("America/New_York")))
            .await
            .unwrap();
        assert_eq!(zone(&projection).as_deref(), Some("America/New_York"));
        bus.publish(&account_event("updated", "b", Some("Asia/Tokyo")))
            .await
            .unwrap();
        assert_eq!(
            projection.timezone("b").await.unwrap().as_deref(),
            Some("Asia/Tokyo")
        );
        // A move keeps the zone the event carries.
        bus.publish(&account_event("moved", "b", Some("Asia/Tokyo")))
            .await
            .unwrap();
        assert_eq!(zone(&projection).as_deref(), Some("Asia/Tokyo"));
        assert_eq!(fake.questions(), 0);
        // Deleted: forgotten (and unknown to the accounts service now).
        bus.publish(&account_event("deleted", "b", None))
            .await
            .unwrap();
        assert!(projection.is_empty());
        assert_eq!(projection.timezone("b").await.unwrap(), None);
        assert_eq!(fake.questions(), 1);
        // An event without the document forgets rather than guesses.
        bus.publish(&account_event("created", "c", Some("Europe/Paris")))
            .await
            .unwrap();
        let mut bare = account_event("updated", "c", None);
        bare.doc = Value::Null;
        bus.publish(&bare).await.unwrap();
        assert_eq!(projection.zones.get("c"), Known::Unknown);
    }

    #[tokio::test]
    async fn a_stale_zone_is_asked_again_and_served_when_nobody_answers() {
        let fake = FakeAccounts::with("a", Some("Europe/London"));
        let (_bus, fake, projection) = setup(Duration::ZERO, fake).await;
        assert!(projection.timezone("a").await.unwrap().is_some());
        // Every entry is stale: asked again, and the new answer replaces it.
        fake.set("a", Some("Europe/Berlin"));
        assert_eq!(
            projection.timezone("a").await.unwrap().as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(fake.questions(), 2);
        // The accounts service (or NATS) away: the known zone is still served.
        fake.down.store(true, Ordering::SeqCst);
        assert_eq!(
            projection.timezone("a").await.unwrap().as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(fake.questions(), 3);
        // Back, and the account is gone: forgotten.
        fake.down.store(false, Ordering::SeqCst);
        fake.accounts.lock().unwrap().clear();
        assert_eq!(projection.timezone("a").await.unwrap(), None);
        assert!(projection.is_empty());
    }

    #[tokio::test]
    async fn an_account_never_heard_of_with_nobody_to_ask_is_a_503() {
        // Nobody answers at all (NATS down, or no accounts service).
        let bus = Arc::new(InProcessBus::new());
        let projection = TimezoneProjection::start(bus.clone(), DEFAULT_MAX_AGE).await;
        bus.publish(&account_event("created", "known", Some("Europe/Rome")))
            .await
            .unwrap();
        assert_eq!(
            projection.timezone("known").await.unwrap().as_deref(),
            Some("Europe/Rome")
        );
        assert_unavailable(&projection.timezone("stranger").await.unwrap_err());
        assert_eq!(projection.len(), 1);
    }

    #[tokio::test]
    async fn the_projection_is_bounded() {
        let bus = Arc::new(InProcessBus::new());
        let projection = TimezoneProjection::new(bus, DEFAULT_MAX_AGE, 3);
        for n in 0..3 {
            let id = format!("account-{n}");
            projection
                .handle(&account_event("created", &id, Some("Europe/Oslo")))
                .await
                .unwrap();
        }
        assert_eq!(projection.len(), 3);
        // One more account than the bound: the projection starts over.
        projection
            .handle(&account_event("created", "account-3", Some("Europe/Oslo")))
            .await
            .unwrap();
        assert_eq!(projection.len(), 1);
    }
}
