//! Domain events: the typed [`Event`], the [`Bus`] every service publishes to and
//! consumes from, an in-process bus, and the transactional outbox.

pub mod outbox;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;

pub use outbox::{Outbox, OutboxMigration};

/// One change in one service, as it travels on the bus.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Unique id, also the de-duplication key on the wire.
    pub id: String,
    /// `crossbar.<service>.<resource>.<action>`.
    pub subject: String,
    /// Gregorian seconds.
    pub occurred_at: i64,
    pub account_id: Option<String>,
    /// The account's ancestors, root first (so consumers can scope without a lookup).
    #[serde(default)]
    pub account_tree: Vec<String>,
    pub resource_id: Option<String>,
    /// The public document (never credentials).
    #[serde(default)]
    pub doc: Value,
}

impl Event {
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            id: crossbar_envelope::ids::new_id(),
            subject: subject.into(),
            occurred_at: crossbar_envelope::time::now_gregorian(),
            account_id: None,
            account_tree: Vec::new(),
            resource_id: None,
            doc: Value::Null,
        }
    }

    pub fn account(mut self, account_id: impl Into<String>, tree: Vec<String>) -> Self {
        self.account_id = Some(account_id.into());
        self.account_tree = tree;
        self
    }

    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    pub fn doc(mut self, doc: Value) -> Self {
        self.doc = doc;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// A consumer of events. Handlers must be idempotent: an event may arrive twice.
#[async_trait]
pub trait EventHandler: Send + Sync {
    async fn handle(&self, event: &Event) -> Result<(), String>;
}

/// Where events are published and from where consumers receive them.
#[async_trait]
pub trait Bus: Send + Sync {
    async fn publish(&self, event: &Event) -> Result<(), BusError>;
    /// Registers `handler` for every subject that starts with `subject_prefix`.
    async fn subscribe(&self, subject_prefix: &str, handler: Arc<dyn EventHandler>);
}

/// The bus of the embedded mode: delivery is a direct call, in order, before
/// `publish` returns, so a revocation is in force when its request answers.
#[derive(Default)]
pub struct InProcessBus {
    subscribers: RwLock<Vec<(String, Arc<dyn EventHandler>)>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let subscribers = self.subscribers.read().await;
        for (prefix, handler) in subscribers.iter() {
            if event.subject.starts_with(prefix.as_str()) {
                if let Err(error) = handler.handle(event).await {
                    tracing::warn!(subject = %event.subject, event_id = %event.id, %error, "event handler failed");
                }
            }
        }
        Ok(())
    }

    async fn subscribe(&self, subject_prefix: &str, handler: Arc<dyn EventHandler>) {
        self.subscribers
            .write()
            .await
            .push((subject_prefix.to_string(), handler));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);

    #[async_trait]
    impl EventHandler for Counter {
        async fn handle(&self, _event: &Event) -> Result<(), String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn delivers_by_prefix() {
        let bus = InProcessBus::new();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        bus.subscribe("crossbar.auth.", counter.clone()).await;
        bus.publish(&Event::new("crossbar.auth.token.revoked"))
            .await
            .unwrap();
        bus.publish(&Event::new("crossbar.accounts.account.created"))
            .await
            .unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }
}
