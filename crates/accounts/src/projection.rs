//! The accounts every request checks (caller and target), kept in each process that
//! does not host the accounts service (distributed mode).
//!
//! Fed by the accounts service's account events on a broadcast subscription (every
//! replica keeps its own copy); a miss asks the accounts service ([`RemoteDirectory`])
//! and remembers the answer. So the hot path needs no round trip, and a process keeps
//! serving the accounts it knows while NATS or the accounts service is away: an entry
//! older than [`AccountProjection::max_age`] is asked again, but still served when the
//! question cannot be answered. User questions (login, API keys) always go to the
//! accounts service: credentials never leave it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crossbar_authz::{
    AccountDirectory, AccountRef, AccountSelector, CredentialMethod, UserDirectory, UserRef,
};
use crossbar_envelope::ApiError;
use crossbar_events::{Bus, Event, EventHandler};
use serde_json::Value;

use crate::events::ACCOUNT_SUBJECT_PREFIX;
use crate::remote::RemoteDirectory;

/// How long an entry is trusted without being asked again (events keep it current;
/// this only bounds how long a missed event could go unnoticed).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// More accounts than this and the projection starts over (a bound on memory; the
/// entries are small, ~200 bytes each).
pub const MAX_ACCOUNTS: usize = 250_000;

struct Entry {
    account: AccountRef,
    refreshed: Instant,
}

/// The local projection of accounts; also answers user questions by asking the
/// accounts service.
pub struct AccountProjection {
    remote: RemoteDirectory,
    accounts: RwLock<HashMap<String, Entry>>,
    max_age: Duration,
}

impl AccountProjection {
    pub fn new(bus: Arc<dyn Bus>, max_age: Duration) -> Self {
        Self {
            remote: RemoteDirectory::new(bus),
            accounts: RwLock::default(),
            max_age,
        }
    }

    /// A projection subscribed to account events on `bus` (every replica).
    pub async fn start(bus: Arc<dyn Bus>, max_age: Duration) -> Arc<Self> {
        let projection = Arc::new(Self::new(bus.clone(), max_age));
        bus.subscribe_broadcast(ACCOUNT_SUBJECT_PREFIX, projection.clone())
            .await;
        projection
    }

    /// How many accounts the projection holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the projection holds no account.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(accounts: &mut HashMap<String, Entry>, account: AccountRef) {
        if accounts.len() >= MAX_ACCOUNTS && !accounts.contains_key(&account.id) {
            accounts.clear();
        }
        accounts.insert(
            account.id.clone(),
            Entry {
                account,
                refreshed: Instant::now(),
            },
        );
    }

    /// Forgets `id` and every account below it (their trees may have changed).
    fn forget_subtree(accounts: &mut HashMap<String, Entry>, id: &str) {
        accounts.retain(|key, entry| key != id && !entry.account.tree.iter().any(|a| a == id));
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
        let mut accounts = self.write();
        match (action, account_of(event)) {
            ("deleted", _) => Self::forget_subtree(&mut accounts, account_id),
            // A move changes the tree of every account below the moved one.
            ("moved", described) => {
                Self::forget_subtree(&mut accounts, account_id);
                if let Some(account) = described {
                    Self::insert(&mut accounts, account);
                }
            }
            // Idempotent: the event carries the account's whole current state.
            (_, Some(account)) => Self::insert(&mut accounts, account),
            (_, None) => {
                accounts.remove(account_id);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AccountDirectory for AccountProjection {
    async fn account(&self, id: &str) -> Result<Option<AccountRef>, ApiError> {
        let known = self.read().get(id).map(|entry| {
            (
                entry.account.clone(),
                entry.refreshed.elapsed() < self.max_age,
            )
        });
        match known {
            Some((account, true)) => Ok(Some(account)),
            Some((stale, false)) => match self.remote.account(id).await {
                Ok(Some(account)) => {
                    Self::insert(&mut self.write(), account.clone());
                    Ok(Some(account))
                }
                Ok(None) => {
                    self.write().remove(id);
                    Ok(None)
                }
                Err(error) => {
                    tracing::warn!(account_id = id, %error, "accounts service unreachable; serving the projected account");
                    Ok(Some(stale))
                }
            },
            None => {
                let Some(account) = self.remote.account(id).await? else {
                    // Unknown accounts are not remembered: they may be created later.
                    return Ok(None);
                };
                let mut accounts = self.write();
                // An event that arrived meanwhile is newer than this answer.
                if let Some(entry) = accounts.get(id) {
                    return Ok(Some(entry.account.clone()));
                }
                Self::insert(&mut accounts, account.clone());
                Ok(Some(account))
            }
        }
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

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use crossbar_events::{InProcessBus, RequestHandler};
    use serde_json::json;

    use super::*;
    use crate::remote::DIRECTORY_SUBJECT;

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
        Event::new(format!("crossbar.accounts.account.{action}"))
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
        bus.respond(DIRECTORY_SUBJECT, fake.clone()).await;
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
        assert!(projection.read().get("g").is_none());
        assert!(projection.read().get("p").is_some());
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
        assert!(projection.read().get("b").is_none());
    }
}
