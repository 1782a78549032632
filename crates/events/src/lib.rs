//! Domain events: the typed [`Event`], the [`Bus`] every service publishes to and
//! consumes from, an in-process bus, the NATS JetStream bus ([`nats`]), and the
//! transactional outbox. The subjects services use to talk to each other are in
//! [`subjects`].

pub mod nats;
pub mod outbox;
pub mod projection;
pub mod subjects;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;

pub use nats::{NatsBus, NatsOptions};
pub use outbox::{Outbox, OutboxMigration};

use subjects::ACCOUNT_DELETED_SUBJECT;

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
    /// W3C `traceparent` of the request that caused the event, so its consumers join
    /// the same trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
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
            traceparent: crossbar_telemetry::trace::current_traceparent(),
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

    /// The account this event deletes, when it is [`ACCOUNT_DELETED_SUBJECT`].
    pub fn deleted_account(&self) -> Option<&str> {
        (self.subject == ACCOUNT_DELETED_SUBJECT)
            .then_some(self.account_id.as_deref())
            .flatten()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// Nobody answers questions on this subject (the owning service is not running).
    #[error("no responder for {0}")]
    NoResponder(String),
    /// The responder took longer than the caller's deadline.
    #[error("request on {0} timed out")]
    Timeout(String),
    /// The responder answered with an error.
    #[error("{subject}: {message}")]
    Failed { subject: String, message: String },
}

/// How long a cross-service question may take before the caller gives up.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Answers questions asked on one subject (request-reply). Must not mutate state that
/// is not idempotent: a question may be asked twice after a timeout.
#[async_trait]
pub trait RequestHandler: Send + Sync {
    async fn answer(&self, payload: Value) -> Result<Value, String>;
}

/// The text field `key` of a question, or the refusal every responder gives when it
/// is missing (`"<key> is required"`).
pub fn required_str<'a>(payload: &'a Value, key: &str) -> Result<&'a str, String> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{key} is required"))
}

/// A consumer of events. Handlers must be idempotent: an event may arrive twice.
#[async_trait]
pub trait EventHandler: Send + Sync {
    async fn handle(&self, event: &Event) -> Result<(), String>;

    /// The handler's concrete type name; the NATS bus names its durable consumer
    /// after it (replicas of a service share it). `type_name_of_val` on the
    /// `dyn EventHandler` would only give the trait's name.
    fn handler_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// Where events are published and from where consumers receive them.
#[async_trait]
pub trait Bus: Send + Sync {
    async fn publish(&self, event: &Event) -> Result<(), BusError>;
    /// Registers `handler` for every subject that starts with `subject_prefix` (a
    /// prefix ending in `.`, or one exact subject). On NATS the subscription is a
    /// durable consumer shared by the replicas of the service: each event is handled
    /// once per service.
    async fn subscribe(&self, subject_prefix: &str, handler: Arc<dyn EventHandler>);
    /// Like [`Bus::subscribe`], but every process receives every event (every replica
    /// of every service): for state each process keeps in memory, like the token
    /// deny-list. In process, the same as `subscribe`.
    async fn subscribe_broadcast(&self, subject_prefix: &str, handler: Arc<dyn EventHandler>) {
        self.subscribe(subject_prefix, handler).await;
    }
    /// Registers the one handler answering questions on exactly `subject`
    /// (replicas of a service share the subject; one of them answers each question).
    async fn respond(&self, subject: &str, handler: Arc<dyn RequestHandler>);
    /// Asks a question and waits for its answer, at most `timeout`.
    async fn request(
        &self,
        subject: &str,
        payload: Value,
        timeout: std::time::Duration,
    ) -> Result<Value, BusError>;
    /// Whether the bus can be used now (for `/readyz`); the in-process bus always can.
    async fn ready(&self) -> Result<(), BusError> {
        Ok(())
    }
    /// Events published but not yet handled, per consumer of this process (for the
    /// `bus_consumer_lag` gauge). In-process delivery is synchronous: nothing waits.
    async fn consumer_lag(&self) -> Vec<(String, u64)> {
        vec![("in_process".to_string(), 0)]
    }
}

/// `bus_events_published_total{subject}` (the names are also in `crossbar-telemetry`).
pub const METRIC_PUBLISHED: &str = "bus_events_published_total";
/// `bus_events_consumed_total{subject, outcome}`.
pub const METRIC_CONSUMED: &str = "bus_events_consumed_total";
/// `bus_requests_total{subject, outcome}`.
pub const METRIC_REQUESTS: &str = "bus_requests_total";

/// Counts one request-reply question by outcome.
pub fn count_request(subject: &str, result: &Result<Value, BusError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(BusError::NoResponder(_)) => "no_responder",
        Err(BusError::Timeout(_)) => "timeout",
        Err(BusError::Unavailable(_)) => "unavailable",
        Err(BusError::Failed { .. }) => "error",
    };
    metrics::counter!(METRIC_REQUESTS, "subject" => subject.to_string(), "outcome" => outcome)
        .increment(1);
}

/// The bus of the embedded mode: delivery is a direct call, in order, before
/// `publish` returns, so a revocation is in force when its request answers.
#[derive(Default)]
pub struct InProcessBus {
    subscribers: RwLock<Vec<(String, Arc<dyn EventHandler>)>>,
    responders: RwLock<std::collections::HashMap<String, Arc<dyn RequestHandler>>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        metrics::counter!(METRIC_PUBLISHED, "subject" => event.subject.clone()).increment(1);
        let subscribers = self.subscribers.read().await;
        for (prefix, handler) in subscribers.iter() {
            if event.subject.starts_with(prefix.as_str()) {
                let (span, context) = crossbar_telemetry::trace::consumer_span(
                    &event.subject,
                    event.traceparent.as_deref(),
                );
                let handled = crossbar_telemetry::trace::scope(
                    context,
                    tracing::Instrument::instrument(handler.handle(event), span),
                )
                .await;
                let outcome = match handled {
                    Ok(()) => "ok",
                    Err(error) => {
                        tracing::warn!(subject = %event.subject, event_id = %event.id, %error, "event handler failed");
                        "error"
                    }
                };
                metrics::counter!(METRIC_CONSUMED, "subject" => event.subject.clone(), "outcome" => outcome)
                    .increment(1);
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

    async fn respond(&self, subject: &str, handler: Arc<dyn RequestHandler>) {
        self.responders
            .write()
            .await
            .insert(subject.to_string(), handler);
    }

    async fn request(
        &self,
        subject: &str,
        payload: Value,
        timeout: std::time::Duration,
    ) -> Result<Value, BusError> {
        let handler = self.responders.read().await.get(subject).cloned();
        let Some(handler) = handler else {
            let missing = Err(BusError::NoResponder(subject.to_string()));
            count_request(subject, &missing);
            return missing;
        };
        let result = match tokio::time::timeout(timeout, handler.answer(payload)).await {
            Err(_) => Err(BusError::Timeout(subject.to_string())),
            Ok(Err(message)) => Err(BusError::Failed {
                subject: subject.to_string(),
                message,
            }),
            Ok(Ok(answer)) => Ok(answer),
        };
        count_request(subject, &result);
        result
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

    struct Echo;

    #[async_trait]
    impl RequestHandler for Echo {
        async fn answer(&self, payload: Value) -> Result<Value, String> {
            if payload.get("fail").is_some() {
                return Err("refused".into());
            }
            Ok(serde_json::json!({"echo": payload}))
        }
    }

    #[test]
    fn required_str_names_the_missing_field() {
        let payload = serde_json::json!({"account_id": "a", "n": 1});
        assert_eq!(required_str(&payload, "account_id"), Ok("a"));
        assert_eq!(
            required_str(&payload, "n"),
            Err("n is required".to_string())
        );
        assert_eq!(
            required_str(&payload, "x"),
            Err("x is required".to_string())
        );
    }

    #[tokio::test]
    async fn request_reply_answers_refuses_and_reports_missing_responders() {
        let bus = InProcessBus::new();
        bus.respond("crossbar.rpc.test.echo", Arc::new(Echo)).await;
        let answer = bus
            .request(
                "crossbar.rpc.test.echo",
                serde_json::json!({"a": 1}),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(answer, serde_json::json!({"echo": {"a": 1}}));
        let failed = bus
            .request(
                "crossbar.rpc.test.echo",
                serde_json::json!({"fail": true}),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await;
        assert!(matches!(failed, Err(BusError::Failed { .. })));
        let missing = bus
            .request(
                "crossbar.rpc.test.nobody",
                Value::Null,
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await;
        assert!(matches!(missing, Err(BusError::NoResponder(_))));
    }
}
