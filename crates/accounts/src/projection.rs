//! The accounts every request checks (caller and target), kept in each process that
//! does not host the accounts service (distributed mode).
//!
//! Fed by the accounts service's account events on a broadcast subscription (every
//! replica keeps its own copy); a miss asks the accounts service ([`RemoteDirectory`])
//! and remembers the answer. So the hot path needs no round trip, and a process keeps
//! serving the accounts it knows while NATS or the accounts service is away: an entry
//! older than the max age ([`DEFAULT_MAX_AGE`]) is asked again, but still served when
//! the question cannot be answered ([`ProjectionMap::get_or_ask`]). User questions
//! (login, API keys) always go to the accounts service: credentials never leave it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crossbar_authz::{
    AccountDirectory, AccountRef, AccountSelector, CredentialMethod, UserDirectory, UserRef,
};
use crossbar_envelope::ApiError;
use crossbar_events::projection::ProjectionMap;
use crossbar_events::subjects::ACCOUNT_EVENTS_PREFIX;
use crossbar_events::{Bus, Event, EventHandler};
use serde_json::Value;

use crate::remote::RemoteDirectory;

/// How long an entry is trusted without being asked again: the projections' shared
/// [`crossbar_events::projection::DEFAULT_MAX_AGE`].
pub const DEFAULT_MAX_AGE: Duration = crossbar_events::projection::DEFAULT_MAX_AGE;

/// More accounts than this and the projection starts over (a bound on memory; the
/// entries are small, ~200 bytes each).
pub const MAX_ACCOUNTS: usize = 250_000;

/// The local projection of accounts; also answers user questions by asking the
/// accounts service.
pub struct AccountProjection {
    remote: RemoteDirectory,
    accounts: ProjectionMap<AccountRef>,
}

impl AccountProjection {
    pub fn new(bus: Arc<dyn Bus>, max_age: Duration) -> Self {
        Self {
            remote: RemoteDirectory::new(bus),
            accounts: ProjectionMap::new(max_age, MAX_ACCOUNTS),
        }
    }

    /// A projection subscribed to account events on `bus` (every replica).
    pub async fn start(bus: Arc<dyn Bus>, max_age: Duration) -> Arc<Self> {
        let projection = Arc::new(Self::new(bus.clone(), max_age));
        bus.subscribe_broadcast(ACCOUNT_EVENTS_PREFIX, projection.clone())
            .await;
        projection
    }

    /// How many accounts the projection holds.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the projection holds no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Forgets `id` and every account below it (their trees may have changed).
    fn forget_subtree(&self, id: &str) {
        self.accounts
            .retain(|key, account| key != id && !account.tree.iter().any(|a| a == id));
    }
}

/// The account an account event describes (its document is the public view, the
/// tree travels on the event), or `None` when the event does not say enough.
fn account_of(event: &Event) -> Option<AccountRef> {
    let id = event.account_id.clone()?;
    let doc = &event.doc;
    let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
    let flag = |key: &str| doc.get(key).and_then(Value::as_bool);
    Some(AccountRef {
        id,
        name: text("name")?,
        realm: text("realm")?,
        tree: event.account_tree.clone(),
        enabled: flag("enabled")?,
        superduper_admin: flag("superduper_admin")?,
        is_reseller: flag("is_reseller")?,
    })
}

#[async_trait]
impl EventHandler for AccountProjection {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(account_id) = event.account_id.as_deref() else {
            return Ok(());
        };
        let action = event.subject.rsplit('.').next().unwrap_or_default();
        match (action, account_of(event)) {
            ("deleted", _) => self.forget_subtree(account_id),
            // A move changes the tree of every account below the moved one.
            ("moved", described) => {
                self.forget_subtree(account_id);
                if let Some(account) = described {
                    self.accounts.insert(account_id, account);
                }
            }
            // Idempotent: the event carries the account's whole current state.
            (_, Some(account)) => self.accounts.insert(account_id, account),
            (_, None) => self.accounts.remove(account_id),
        }
        Ok(())
    }
}

#[async_trait]
impl AccountDirectory for AccountProjection {
    async fn account(&self, id: &str) -> Result<Option<AccountRef>, ApiError> {
        self.accounts
            .get_or_ask(id, || self.remote.account(id))
            .await
    }
}

#[async_trait]
impl UserDirectory for AccountProjection {
    async fn find_accounts(&self, selector: &AccountSelector) -> Result<Vec<AccountRef>, ApiError> {
        self.remote.find_accounts(selector).await
    }

    async fn check_credentials(
        &self,
        account_id: &str,
        method: CredentialMethod,
        credentials: &str,
    ) -> Result<Option<UserRef>, ApiError> {
        self.remote
            .check_credentials(account_id, method, credentials)
            .await
    }

    async fn account_by_api_key(&self, api_key: &str) -> Result<Option<AccountRef>, ApiError> {
        self.remote.account_by_api_key(api_key).await
    }

    async fn user(&self, account_id: &str, user_id: &str) -> Result<Option<UserRef>, ApiError> {
        self.remote.user(account_id, user_id).await
    }

    async fn reseller_id(&self, account_id: &str) -> Result<Option<String>, ApiError> {
        self.remote.reseller_id(account_id).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use crossbar_events::projection::Known;
    use crossbar_events::subjects::ACCOUNTS_DIRECTORY_SUBJECT;
    use crossbar_events::{InProcessBus, RequestHandler};
    use serde_json::json;

    use super::*;

    /// The accounts service as the projection sees it: counts questions, can go away.
    #[derive(Default)]
    struct FakeAccounts {
        questions: AtomicUsize,
        down: AtomicBool,
        accounts: std::sync::Mutex<HashMap<String, Value>>,
    }

    #[async_trait]
    impl RequestHandler for FakeAccounts {
        async fn answer(&self, payload: Value) -> Result<Value, String> {
            self.questions.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err("accounts service away".into());
            }
            let id = payload["id"].as_str().unwrap_or_default();
            Ok(self
                .accounts
                .lock()
                .unwrap()
                .get(id)
                .cloned()
                .unwrap_or(Value::Null))
        }
    }

    fn account_json(id: &str, tree: &[&str], enabled: bool) -> Value {
        json!({"id": id, "name": format!("Account {id}"), "realm": format!("{id}.example.com"),
            "tree": tree, "enabled": enabled, "superduper_admin": false, "is_reseller": false})
    }

    fn event(action: &str, id: &str, tree: &[&str], enabled: bool) -> Event {
        Event::new(format!("{ACCOUNT_EVENTS_PREFIX}{action}"))
            .account(id.to_string(), tree.iter().map(|s| s.to_string()).collect())
            .doc(json!({"id": id, "name": format!("Account {id}"),
                "realm": format!("{id}.example.com"), "enabled": enabled,
                "superduper_admin": false, "is_reseller": false, "billing_mode": "normal"}))
    }

    async fn setup(
        max_age: Duration,
    ) -> (Arc<InProcessBus>, Arc<FakeAccounts>, Arc<AccountProjection>) {
        let bus = Arc::new(InProcessBus::new());
        let fake = Arc::new(FakeAccounts::default());
        fake.accounts
            .lock()
            .unwrap()
            .insert("a".into(), account_json("a", &["root"], true));
        bus.respond(ACCOUNTS_DIRECTORY_SUBJECT, fake.clone()).await;
        let projection = AccountProjection::start(bus.clone(), max_age).await;
        (bus, fake, projection)
    }

    #[tokio::test]
    async fn a_miss_asks_once_then_the_projection_answers() {
        let (_bus, fake, projection) = setup(DEFAULT_MAX_AGE).await;
        for _ in 0..5 {
            let account = projection.account("a").await.unwrap().unwrap();
            assert_eq!(account.tree, vec!["root".to_string()]);
        }
        assert_eq!(fake.questions.load(Ordering::SeqCst), 1);
        // Unknown accounts are asked every time (they may appear).
        assert!(projection.account("nobody").await.unwrap().is_none());
        assert!(projection.account("nobody").await.unwrap().is_none());
        assert_eq!(fake.questions.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn events_keep_it_current_without_questions() {
        let (bus, fake, projection) = setup(DEFAULT_MAX_AGE).await;
        bus.publish(&event("created", "b", &["root", "a"], true))
            .await
            .unwrap();
        assert!(projection.account("b").await.unwrap().unwrap().enabled);
        bus.publish(&event("updated", "b", &["root", "a"], false))
            .await
            .unwrap();
        assert!(!projection.account("b").await.unwrap().unwrap().enabled);
        assert_eq!(fake.questions.load(Ordering::SeqCst), 0);
        bus.publish(&event("deleted", "b", &["root", "a"], false))
            .await
            .unwrap();
        assert!(projection.account("b").await.unwrap().is_none());
        assert_eq!(fake.questions.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_move_forgets_the_moved_subtree() {
        let (bus, _fake, projection) = setup(DEFAULT_MAX_AGE).await;
        for (id, tree) in [
            ("p", vec!["root"]),
            ("c", vec!["root", "p"]),
            ("g", vec!["root", "p", "c"]),
            ("other", vec!["root"]),
        ] {
            bus.publish(&event("created", id, &tree, true))
                .await
                .unwrap();
        }
        assert_eq!(projection.len(), 4);
        bus.publish(&event("moved", "c", &["root", "other"], true))
            .await
            .unwrap();
        // The grandchild's tree changed: forgotten, asked again on next use.
        assert_eq!(projection.len(), 3);
        assert_eq!(
            projection.account("c").await.unwrap().unwrap().tree,
            vec!["root".to_string(), "other".to_string()]
        );
        assert!(matches!(projection.accounts.get("g"), Known::Unknown));
        assert!(matches!(projection.accounts.get("p"), Known::Fresh(_)));
    }

    #[tokio::test]
    async fn a_stale_entry_is_asked_again_and_served_when_nobody_answers() {
        let (_bus, fake, projection) = setup(Duration::ZERO).await;
        assert!(projection.account("a").await.unwrap().is_some());
        fake.down.store(true, Ordering::SeqCst);
        let served = projection.account("a").await.unwrap().unwrap();
        assert_eq!(served.id, "a");
        assert_eq!(fake.questions.load(Ordering::SeqCst), 2);
        // A miss with nobody to ask is an error (503 for the client), not a guess.
        assert!(projection.account("elsewhere").await.is_err());
        // Back: the answer replaces the entry; a deleted account disappears.
        fake.down.store(false, Ordering::SeqCst);
        fake.accounts.lock().unwrap().clear();
        assert!(projection.account("a").await.unwrap().is_none());
        assert!(projection.is_empty());
    }

    #[tokio::test]
    async fn an_event_without_the_facts_forgets_the_account() {
        let (bus, _fake, projection) = setup(DEFAULT_MAX_AGE).await;
        bus.publish(&event("created", "b", &["root"], true))
            .await
            .unwrap();
        let mut odd = event("updated", "b", &["root"], true);
        odd.doc = json!({"name": "no realm"});
        bus.publish(&odd).await.unwrap();
        assert!(matches!(projection.accounts.get("b"), Known::Unknown));
    }
}
