//! The [`Bus`] of the distributed mode, on NATS JetStream (async-nats).
//!
//! * Events go to JetStream on `events.<event subject>` (stream [`NatsOptions::stream`],
//!   subjects `events.>`, file storage), with the event id as `Nats-Msg-Id`, so a
//!   relay that publishes the same outbox row twice stores it once (within the
//!   duplicate window). `publish` waits for the stream's ack; any failure is
//!   [`BusError::Unavailable`], so the outbox keeps the row and retries.
//! * [`Bus::subscribe`] is a durable pull consumer shared by every replica of the
//!   same service: its name is made of the process's service label, the handler's
//!   type and the filter, so each event is handled once per service. Explicit acks;
//!   a failed event is NAKed with a backoff, and after [`NatsOptions::max_deliver`]
//!   attempts it is published to `deadletter.<subject>` (stream
//!   [`NatsOptions::dead_letter_stream`]) and terminated, so the others keep flowing.
//! * [`Bus::subscribe_broadcast`] is an ephemeral consumer of this process: every
//!   replica of every service receives every message (token revocations).
//! * Request-reply is core NATS: responders are a queue group named after the subject
//!   (one replica answers each question), answers are `{"ok": ...}` or `{"error": ...}`.
//! * The event's `traceparent` travels as a NATS header too, so consumers and
//!   responders join the producer's trace.
//!
//! Consumers run in spawned tasks that recreate their pull subscription after a NATS
//! outage; the client reconnects on its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream, AckKind};
use async_nats::HeaderMap;
use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::Value;

use crate::{
    count_request, Bus, BusError, Event, EventHandler, RequestHandler, METRIC_CONSUMED,
    METRIC_PUBLISHED,
};

/// Events are published on `events.<event subject>`, apart from request-reply subjects.
pub const EVENTS_SUBJECT_PREFIX: &str = "events.";
/// Events given up on are published on `deadletter.<event subject>`.
pub const DEAD_LETTER_SUBJECT_PREFIX: &str = "deadletter.";
/// Header carrying the W3C trace context.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// Headers of a dead-lettered message.
pub const ERROR_HEADER: &str = "Crossbar-Error";
pub const CONSUMER_HEADER: &str = "Crossbar-Consumer";
pub const DELIVERIES_HEADER: &str = "Crossbar-Deliveries";

/// How the NATS bus is set up. `service` is required; the rest have defaults.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// The process's service label (e.g. `numbers`, or `embedded`): replicas with the
    /// same label share their durable consumers.
    pub service: String,
    /// Stream holding the events (`events.>`).
    pub stream: String,
    /// Stream holding dead-lettered events (`deadletter.>`).
    pub dead_letter_stream: String,
    /// Deliveries of one event before it is dead-lettered.
    pub max_deliver: u32,
    /// Redelivery delay after the n-th failed delivery (the last one repeats).
    pub retry_backoff: Vec<Duration>,
    /// How long a delivery may stay unacknowledged (the handler keeps it alive
    /// with progress acks while it runs).
    pub ack_wait: Duration,
    /// How long `publish` waits for the stream's ack.
    pub publish_timeout: Duration,
    /// Window in which a repeated `Nats-Msg-Id` is dropped.
    pub duplicate_window: Duration,
    /// How long events are kept in the stream.
    pub max_age: Duration,
    /// How long dead-lettered events are kept.
    pub dead_letter_max_age: Duration,
    /// Replicas of the streams (3 on a JetStream cluster).
    pub replicas: usize,
}

impl NatsOptions {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            stream: "CROSSBAR_EVENTS".to_string(),
            dead_letter_stream: "CROSSBAR_DEADLETTER".to_string(),
            max_deliver: 5,
            retry_backoff: vec![
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(30),
            ],
            ack_wait: Duration::from_secs(30),
            publish_timeout: Duration::from_secs(5),
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(7 * 24 * 3600),
            dead_letter_max_age: Duration::from_secs(30 * 24 * 3600),
            replicas: 1,
        }
    }
}

/// The NATS subject an event is published on.
pub fn event_subject(subject: &str) -> String {
    format!("{EVENTS_SUBJECT_PREFIX}{subject}")
}

/// The JetStream filter of a subscription: a prefix ending in `.` covers every
/// subject below it, anything else is one exact subject.
pub fn filter_subject(subject_prefix: &str) -> String {
    if subject_prefix.is_empty() {
        format!("{EVENTS_SUBJECT_PREFIX}>")
    } else if subject_prefix.ends_with('.') {
        format!("{EVENTS_SUBJECT_PREFIX}{subject_prefix}>")
    } else {
        event_subject(subject_prefix)
    }
}

/// The durable consumer name of (service, handler type, filter): only characters
/// NATS allows in a consumer name, at most 200 of them (a hash keeps long ones apart).
pub fn durable_name(service: &str, handler: &str, filter: &str) -> String {
    let raw = format!("{service}__{handler}__{filter}");
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        };
        name.push(c);
    }
    if name.len() > 200 {
        name.truncate(183);
        name.push_str(&format!("_{:016x}", fnv1a(raw.as_bytes())));
    }
    name
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn unavailable(error: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(error.to_string())
}

struct Inner {
    client: async_nats::Client,
    js: jetstream::Context,
    options: NatsOptions,
}

impl Inner {
    fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Creates the event and dead-letter streams, or brings their configuration up
    /// to date.
    async fn ensure_streams(&self) -> Result<(), BusError> {
        let options = &self.options;
        self.js
            .create_or_update_stream(stream::Config {
                name: options.stream.clone(),
                description: Some("crossbar domain events".to_string()),
                subjects: vec![format!("{EVENTS_SUBJECT_PREFIX}>")],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: options.duplicate_window,
                max_age: options.max_age,
                num_replicas: options.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("stream {}: {e}", options.stream)))?;
        self.js
            .create_or_update_stream(stream::Config {
                name: options.dead_letter_stream.clone(),
                description: Some("crossbar events whose consumers gave up".to_string()),
                subjects: vec![format!("{DEAD_LETTER_SUBJECT_PREFIX}>")],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: options.duplicate_window,
                max_age: options.dead_letter_max_age,
                num_replicas: options.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("stream {}: {e}", options.dead_letter_stream)))?;
        Ok(())
    }

    /// Publishes to JetStream and waits for the ack. A missing stream (a server that
    /// lost its store) is created again, once.
    async fn js_publish(
        &self,
        subject: String,
        message_id: &str,
        headers: HeaderMap,
        payload: Vec<u8>,
    ) -> Result<jetstream::publish::PublishAck, BusError> {
        if !self.connected() {
            return Err(unavailable("not connected to NATS"));
        }
        let first = self
            .try_publish(
                subject.clone(),
                message_id,
                headers.clone(),
                payload.clone(),
            )
            .await;
        match first {
            Err(error)
                if matches!(
                    error.kind(),
                    jetstream::context::PublishErrorKind::StreamNotFound
                ) =>
            {
                tracing::warn!(%subject, "no stream for the subject; creating the streams again");
                self.ensure_streams().await?;
                self.try_publish(subject, message_id, headers, payload)
                    .await
                    .map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    async fn try_publish(
        &self,
        subject: String,
        message_id: &str,
        headers: HeaderMap,
        payload: Vec<u8>,
    ) -> Result<jetstream::publish::PublishAck, jetstream::context::PublishError> {
        let message = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .headers(headers)
            .message_id(message_id);
        self.js.send_publish(subject, message).await?.await
    }

    async fn publish_event(&self, event: &Event) -> Result<(), BusError> {
        let payload = serde_json::to_vec(event).map_err(unavailable)?;
        let mut headers = HeaderMap::new();
        if let Some(traceparent) = event.traceparent.as_deref() {
            headers.insert(TRACEPARENT_HEADER, traceparent);
        }
        let ack = self
            .js_publish(event_subject(&event.subject), &event.id, headers, payload)
            .await?;
        if ack.duplicate {
            tracing::debug!(event_id = %event.id, "event already in the stream");
        }
        Ok(())
    }
}

/// How one subscription's consumer is named and where it starts.
#[derive(Clone)]
struct ConsumerSpec {
    name: String,
    filter: String,
    /// Durable (shared by replicas, kept by the server) or this process's own.
    durable: bool,
}

impl ConsumerSpec {
    fn config(
        &self,
        options: &NatsOptions,
        deliver: consumer::DeliverPolicy,
    ) -> consumer::pull::Config {
        consumer::pull::Config {
            durable_name: self.durable.then(|| self.name.clone()),
            name: Some(self.name.clone()),
            description: Some(format!("crossbar {} ({})", options.service, self.filter)),
            filter_subject: self.filter.clone(),
            deliver_policy: deliver,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            // Unlimited on the server: this process dead-letters after `max_deliver`
            // (and keeps retrying while the dead-letter publish itself fails).
            max_deliver: -1,
            max_ack_pending: 1000,
            inactive_threshold: if self.durable {
                Duration::ZERO
            } else {
                Duration::from_secs(300)
            },
            num_replicas: if self.durable { options.replicas } else { 1 },
            memory_storage: !self.durable,
            ..Default::default()
        }
    }
}

/// The NATS JetStream bus. Cheap to share behind an `Arc<dyn Bus>`; dropping it stops
/// its consumers and responders.
pub struct NatsBus {
    inner: Arc<Inner>,
    durables: Mutex<HashMap<String, usize>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl NatsBus {
    /// Connects to `url` (one server, or several separated by commas), and creates or
    /// updates the streams.
    pub async fn connect(url: &str, options: NatsOptions) -> Result<Self, BusError> {
        let servers = url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unavailable(format!("NATS url {url}: {e}")))?;
        let client = async_nats::ConnectOptions::new()
            .name(format!("crossbar-{}", options.service))
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(250 * attempts.min(8) as u64)
            })
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    async_nats::Event::Disconnected => tracing::warn!("NATS disconnected"),
                    other => tracing::info!(event = %other, "NATS"),
                }
            })
            .connect(servers)
            .await
            .map_err(|e| unavailable(format!("NATS connect: {e}")))?;
        let js = jetstream::context::ContextBuilder::new()
            .timeout(options.publish_timeout)
            .build(client.clone());
        let inner = Arc::new(Inner {
            client,
            js,
            options,
        });
        inner.ensure_streams().await?;
        Ok(Self {
            inner,
            durables: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// The underlying client's state (`Connected`, `Disconnected`, `Pending`).
    pub fn connection_state(&self) -> async_nats::connection::State {
        self.inner.client.connection_state()
    }

    /// A round trip to JetStream (account info), at most 2 s: what `/readyz` asks.
    pub async fn ping(&self) -> Result<(), BusError> {
        if !self.inner.connected() {
            return Err(unavailable("not connected to NATS"));
        }
        // The raw account-info request: any answer without an error will do (its
        // shape differs between server versions).
        let asked = self
            .inner
            .client
            .send_request(
                "$JS.API.INFO",
                async_nats::Request::new().timeout(Some(Duration::from_secs(2))),
            )
            .await
            .map_err(|e| unavailable(format!("JetStream: {e}")))?;
        let answer: Value = serde_json::from_slice(&asked.payload)
            .map_err(|e| unavailable(format!("JetStream: {e}")))?;
        match answer.get("error") {
            None => Ok(()),
            Some(error) => Err(unavailable(format!("JetStream: {error}"))),
        }
    }

    /// The options this bus runs with.
    pub fn options(&self) -> &NatsOptions {
        &self.inner.options
    }

    /// Every durable consumer this process subscribed.
    fn durable_names(&self) -> Vec<String> {
        let durables = self
            .durables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        durables
            .iter()
            .flat_map(|(base, count)| {
                (1..=*count).map(move |n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
            })
            .collect()
    }

    /// The durable name for a handler in this process: the same on every replica,
    /// with `-2`, `-3`... when one process subscribes the same handler type to the
    /// same filter more than once.
    fn next_durable(&self, base: String) -> String {
        let mut durables = self
            .durables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = durables.entry(base.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            base
        } else {
            format!("{base}-{count}")
        }
    }

    fn keep(&self, task: tokio::task::JoinHandle<()>) {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task.abort_handle());
    }

    async fn start_consumer(&self, spec: ConsumerSpec, handler: Arc<dyn EventHandler>) {
        let inner = self.inner.clone();
        // A broadcast consumer starts after the last event in the stream now, so that
        // what is published once `subscribe_broadcast` returns is received.
        let start = if spec.durable {
            consumer::DeliverPolicy::All
        } else {
            match inner.js.get_stream(&inner.options.stream).await {
                Ok(stream) => consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: stream.cached_info().state.last_sequence + 1,
                },
                Err(_) => consumer::DeliverPolicy::New,
            }
        };
        // Created here when possible, so the subscription is in place when this returns;
        // otherwise the task keeps trying.
        let first = create_consumer(&inner, &spec, start).await;
        if let Err(error) = &first {
            tracing::warn!(consumer = %spec.name, %error, "consumer not created yet; retrying in the background");
        }
        let task = tokio::spawn(run_consumer(inner, spec, handler, start, first.ok()));
        self.keep(task);
    }
}

impl Drop for NatsBus {
    fn drop(&mut self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

async fn create_consumer(
    inner: &Inner,
    spec: &ConsumerSpec,
    deliver: consumer::DeliverPolicy,
) -> Result<consumer::PullConsumer, BusError> {
    let stream = inner
        .js
        .get_stream_no_info(&inner.options.stream)
        .await
        .map_err(unavailable)?;
    let config = spec.config(&inner.options, deliver);
    match stream
        .get_or_create_consumer(&spec.name, config.clone())
        .await
    {
        Ok(consumer) => Ok(consumer),
        Err(error) => {
            // The stream itself may be missing (a server that lost its store).
            if inner.ensure_streams().await.is_ok() {
                if let Ok(consumer) = stream.get_or_create_consumer(&spec.name, config).await {
                    return Ok(consumer);
                }
            }
            Err(unavailable(format!("consumer {}: {error}", spec.name)))
        }
    }
}

/// The pull loop of one subscription; survives NATS outages by recreating its pull
/// subscription (and, for a broadcast consumer the server dropped, the consumer,
/// starting after the last event it handled).
async fn run_consumer(
    inner: Arc<Inner>,
    spec: ConsumerSpec,
    handler: Arc<dyn EventHandler>,
    start: consumer::DeliverPolicy,
    mut current: Option<consumer::PullConsumer>,
) {
    let mut last_sequence: Option<u64> = None;
    let mut failures: u32 = 0;
    loop {
        let consumer = match current.take() {
            Some(consumer) => consumer,
            None => {
                let deliver = match (spec.durable, last_sequence) {
                    (false, Some(sequence)) => consumer::DeliverPolicy::ByStartSequence {
                        start_sequence: sequence + 1,
                    },
                    _ => start,
                };
                match create_consumer(&inner, &spec, deliver).await {
                    Ok(consumer) => consumer,
                    Err(error) => {
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(20) {
                            tracing::warn!(consumer = %spec.name, %error, "consumer unavailable");
                        }
                        tokio::time::sleep(retry_pause(failures)).await;
                        continue;
                    }
                }
            }
        };
        let messages = consumer
            .stream()
            .max_messages_per_batch(64)
            .expires(Duration::from_secs(10))
            .heartbeat(Duration::from_secs(3))
            .messages()
            .await;
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(error) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(20) {
                    tracing::warn!(consumer = %spec.name, %error, "pull subscription failed");
                }
                tokio::time::sleep(retry_pause(failures)).await;
                continue;
            }
        };
        while let Some(next) = messages.next().await {
            match next {
                Ok(message) => {
                    failures = 0;
                    if let Some(sequence) = deliver(&inner, &spec, handler.as_ref(), message).await
                    {
                        last_sequence = Some(sequence);
                    }
                }
                Err(error) => {
                    use consumer::pull::MessagesErrorKind as Kind;
                    match error.kind() {
                        Kind::MissingHeartbeat
                        | Kind::ConsumerDeleted
                        | Kind::NoResponders
                        | Kind::PushBasedConsumer
                        | Kind::RequestLimitExceeded => {
                            tracing::warn!(consumer = %spec.name, %error, "pull subscription lost; recreating");
                            break;
                        }
                        _ => {
                            tracing::debug!(consumer = %spec.name, %error, "pull subscription error");
                        }
                    }
                }
            }
        }
        failures += 1;
        tokio::time::sleep(retry_pause(failures)).await;
    }
}

fn retry_pause(failures: u32) -> Duration {
    Duration::from_millis(200 * u64::from(failures.clamp(1, 10)))
}

/// Handles one delivery; returns its stream sequence once it is settled (acked or
/// dead-lettered).
async fn deliver(
    inner: &Inner,
    spec: &ConsumerSpec,
    handler: &dyn EventHandler,
    message: jetstream::Message,
) -> Option<u64> {
    let (sequence, delivered) = match message.info() {
        Ok(info) => (info.stream_sequence, info.delivered.max(1) as u32),
        Err(error) => {
            tracing::warn!(consumer = %spec.name, %error, "delivery without metadata");
            (0, 1)
        }
    };
    let event: Event = match serde_json::from_slice(&message.payload) {
        Ok(event) => event,
        Err(error) => {
            let subject = message
                .subject
                .strip_prefix(EVENTS_SUBJECT_PREFIX)
                .unwrap_or(&message.subject)
                .to_string();
            let reason = format!("unreadable event: {error}");
            let raw = String::from_utf8_lossy(&message.payload).into_owned();
            return settle_failure(
                inner,
                spec,
                &message,
                DeadLetter {
                    subject: &subject,
                    event_id: &format!("seq-{sequence}"),
                    event: Value::String(raw),
                    error: &reason,
                    deliveries: delivered,
                    sequence,
                },
                true,
            )
            .await
            .then_some(sequence);
        }
    };
    let traceparent = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get(TRACEPARENT_HEADER))
        .map(|value| value.as_str().to_string())
        .or_else(|| event.traceparent.clone());
    let (span, context) =
        crossbar_telemetry::trace::consumer_span(&event.subject, traceparent.as_deref());
    let handled = crossbar_telemetry::trace::scope(
        context,
        tracing::Instrument::instrument(
            with_progress(&message, inner.options.ack_wait, handler.handle(&event)),
            span,
        ),
    )
    .await;
    match handled {
        Ok(()) => {
            metrics::counter!(METRIC_CONSUMED, "subject" => event.subject.clone(), "outcome" => "ok")
                .increment(1);
            if let Err(error) = message.ack().await {
                tracing::warn!(consumer = %spec.name, event_id = %event.id, %error, "ack failed; the event will be redelivered");
            }
            Some(sequence)
        }
        Err(error) => {
            tracing::warn!(consumer = %spec.name, subject = %event.subject, event_id = %event.id, attempt = delivered, %error, "event handler failed");
            let give_up = delivered >= inner.options.max_deliver.max(1);
            let doc = serde_json::to_value(&event).unwrap_or(Value::Null);
            settle_failure(
                inner,
                spec,
                &message,
                DeadLetter {
                    subject: &event.subject,
                    event_id: &event.id,
                    event: doc,
                    error: &error,
                    deliveries: delivered,
                    sequence,
                },
                give_up,
            )
            .await
            .then_some(sequence)
        }
    }
}

/// Runs the handler, telling the server every `ack_wait / 3` that it is still at it.
async fn with_progress<F: std::future::Future<Output = Result<(), String>>>(
    message: &jetstream::Message,
    ack_wait: Duration,
    handling: F,
) -> Result<(), String> {
    let every = (ack_wait / 3).max(Duration::from_millis(500));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tokio::pin!(handling);
    loop {
        tokio::select! {
            result = &mut handling => return result,
            _ = ticker.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}

struct DeadLetter<'a> {
    subject: &'a str,
    event_id: &'a str,
    event: Value,
    error: &'a str,
    deliveries: u32,
    sequence: u64,
}

/// After a failed delivery: NAK with the backoff, or (when `give_up`) publish to the
/// dead-letter subject and terminate. Returns whether the delivery is settled.
async fn settle_failure(
    inner: &Inner,
    spec: &ConsumerSpec,
    message: &jetstream::Message,
    dead: DeadLetter<'_>,
    give_up: bool,
) -> bool {
    let subject = dead.subject.to_string();
    if give_up {
        let body = serde_json::json!({
            "event": dead.event,
            "error": dead.error,
            "consumer": spec.name,
            "service": inner.options.service,
            "deliveries": dead.deliveries,
            "stream_sequence": dead.sequence,
        });
        let mut headers = HeaderMap::new();
        headers.insert(ERROR_HEADER, single_line(dead.error).as_str());
        headers.insert(CONSUMER_HEADER, spec.name.as_str());
        headers.insert(DELIVERIES_HEADER, dead.deliveries.to_string().as_str());
        let payload = serde_json::to_vec(&body).unwrap_or_default();
        let published = inner
            .js_publish(
                format!("{DEAD_LETTER_SUBJECT_PREFIX}{subject}"),
                &format!("{}:{}", dead.event_id, spec.name),
                headers,
                payload,
            )
            .await;
        match published {
            Ok(_) => {
                tracing::error!(consumer = %spec.name, %subject, event_id = %dead.event_id, deliveries = dead.deliveries, error = %dead.error, "event dead-lettered");
                metrics::counter!(METRIC_CONSUMED, "subject" => subject, "outcome" => "dead_letter")
                    .increment(1);
                if let Err(error) = message.ack_with(AckKind::Term).await {
                    tracing::warn!(consumer = %spec.name, %error, "terminating a dead-lettered event failed");
                }
                return true;
            }
            Err(error) => {
                tracing::warn!(consumer = %spec.name, %error, "dead-letter publish failed; retrying the event");
            }
        }
    } else {
        metrics::counter!(METRIC_CONSUMED, "subject" => subject, "outcome" => "error").increment(1);
    }
    let backoff = &inner.options.retry_backoff;
    let delay = backoff
        .get((dead.deliveries as usize).saturating_sub(1))
        .or(backoff.last())
        .copied();
    if let Err(error) = message.ack_with(AckKind::Nak(delay)).await {
        tracing::warn!(consumer = %spec.name, %error, "NAK failed; the event will be redelivered after ack_wait");
    }
    false
}

fn single_line(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(512)
        .collect();
    line
}

/// Waits until the server has processed what this client sent before (a request
/// nobody answers comes back as "no responders" only after that), so a subscription
/// is in place when `respond` returns.
async fn round_trip(client: &async_nats::Client) {
    let probe = format!("_CROSSBAR.SYNC.{}", crossbar_envelope::ids::new_id());
    let _ = client
        .send_request(
            probe,
            async_nats::Request::new().timeout(Some(Duration::from_secs(2))),
        )
        .await;
}

/// Core NATS request-reply: the answer's wire shape.
fn encode_answer(answer: Result<Value, String>) -> Vec<u8> {
    let body = match answer {
        Ok(value) => serde_json::json!({ "ok": value }),
        Err(message) => serde_json::json!({ "error": message }),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

fn decode_answer(subject: &str, payload: &[u8]) -> Result<Value, BusError> {
    let failed = |message: String| BusError::Failed {
        subject: subject.to_string(),
        message,
    };
    let mut body: Value =
        serde_json::from_slice(payload).map_err(|e| failed(format!("unreadable answer: {e}")))?;
    if let Some(message) = body.get("error") {
        let message = message
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| message.to_string());
        return Err(failed(message));
    }
    match body.get_mut("ok") {
        Some(value) => Ok(value.take()),
        None => Err(failed("answer without ok or error".to_string())),
    }
}

async fn answer_one(
    client: async_nats::Client,
    subject: String,
    handler: Arc<dyn RequestHandler>,
    message: async_nats::Message,
) {
    let Some(reply) = message.reply.clone() else {
        return;
    };
    let answer = match serde_json::from_slice::<Value>(&message.payload) {
        Ok(payload) => {
            let traceparent = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(TRACEPARENT_HEADER))
                .map(|value| value.as_str().to_string());
            let (span, context) =
                crossbar_telemetry::trace::consumer_span(&subject, traceparent.as_deref());
            crossbar_telemetry::trace::scope(
                context,
                tracing::Instrument::instrument(handler.answer(payload), span),
            )
            .await
        }
        Err(error) => Err(format!("unreadable question: {error}")),
    };
    if let Err(error) = client.publish(reply, encode_answer(answer).into()).await {
        tracing::warn!(%subject, %error, "reply not sent");
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        self.inner.publish_event(event).await?;
        metrics::counter!(METRIC_PUBLISHED, "subject" => event.subject.clone()).increment(1);
        Ok(())
    }

    async fn subscribe(&self, subject_prefix: &str, handler: Arc<dyn EventHandler>) {
        let filter = filter_subject(subject_prefix);
        let base = durable_name(&self.inner.options.service, handler.handler_name(), &filter);
        let spec = ConsumerSpec {
            name: self.next_durable(base),
            filter,
            durable: true,
        };
        self.start_consumer(spec, handler).await;
    }

    async fn subscribe_broadcast(&self, subject_prefix: &str, handler: Arc<dyn EventHandler>) {
        let filter = filter_subject(subject_prefix);
        let spec = ConsumerSpec {
            name: format!(
                "{}_{}",
                durable_name(&self.inner.options.service, "broadcast", ""),
                crossbar_envelope::ids::new_id()
            ),
            filter,
            durable: false,
        };
        self.start_consumer(spec, handler).await;
    }

    async fn respond(&self, subject: &str, handler: Arc<dyn RequestHandler>) {
        let client = self.inner.client.clone();
        let subject = subject.to_string();
        // Subscribed here when possible, so the responder answers once this returns.
        let first = client
            .queue_subscribe(subject.clone(), subject.clone())
            .await;
        match &first {
            Ok(_) => round_trip(&client).await,
            Err(error) => {
                tracing::warn!(%subject, %error, "responder not subscribed yet; retrying")
            }
        }
        let mut first = first.ok();
        let task = tokio::spawn(async move {
            let limit = Arc::new(tokio::sync::Semaphore::new(256));
            let mut failures: u32 = 0;
            loop {
                let subscriber = match first.take() {
                    Some(subscriber) => subscriber,
                    None => match client
                        .queue_subscribe(subject.clone(), subject.clone())
                        .await
                    {
                        Ok(subscriber) => subscriber,
                        Err(error) => {
                            failures += 1;
                            if failures == 1 || failures.is_multiple_of(20) {
                                tracing::warn!(%subject, %error, "responder subscription failed");
                            }
                            tokio::time::sleep(retry_pause(failures)).await;
                            continue;
                        }
                    },
                };
                failures = 0;
                let mut subscriber = subscriber;
                while let Some(message) = subscriber.next().await {
                    let Ok(permit) = limit.clone().acquire_owned().await else {
                        return;
                    };
                    let client = client.clone();
                    let subject = subject.clone();
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        answer_one(client, subject, handler, message).await;
                        drop(permit);
                    });
                }
                tokio::time::sleep(retry_pause(1)).await;
            }
        });
        self.keep(task);
    }

    async fn request(
        &self,
        subject: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, BusError> {
        let result = self.ask(subject, payload, timeout).await;
        count_request(subject, &result);
        result
    }

    async fn ready(&self) -> Result<(), BusError> {
        self.ping().await
    }

    async fn consumer_lag(&self) -> Vec<(String, u64)> {
        let Ok(stream) = self
            .inner
            .js
            .get_stream_no_info(&self.inner.options.stream)
            .await
        else {
            return Vec::new();
        };
        let mut lags = Vec::new();
        for name in self.durable_names() {
            if let Ok(info) = stream.consumer_info(&name).await {
                lags.push((name, info.num_pending + info.num_ack_pending as u64));
            }
        }
        lags
    }
}

impl NatsBus {
    async fn ask(
        &self,
        subject: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, BusError> {
        if !self.inner.connected() {
            return Err(unavailable("not connected to NATS"));
        }
        let body = serde_json::to_vec(&payload).map_err(unavailable)?;
        let mut headers = HeaderMap::new();
        if let Some(traceparent) = crossbar_telemetry::trace::current_traceparent() {
            headers.insert(TRACEPARENT_HEADER, traceparent.as_str());
        }
        let request = async_nats::Request::new()
            .payload(body.into())
            .headers(headers)
            .timeout(Some(timeout));
        match self
            .inner
            .client
            .send_request(subject.to_string(), request)
            .await
        {
            Ok(message) => decode_answer(subject, &message.payload),
            Err(error) => Err(match error.kind() {
                async_nats::RequestErrorKind::NoResponders => {
                    BusError::NoResponder(subject.to_string())
                }
                async_nats::RequestErrorKind::TimedOut => BusError::Timeout(subject.to_string()),
                _ => unavailable(format!("{subject}: {error}")),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_names() {
        assert_eq!(
            filter_subject("crossbar.accounts.account."),
            "events.crossbar.accounts.account.>"
        );
        assert_eq!(
            filter_subject("crossbar.auth.token.revoked"),
            "events.crossbar.auth.token.revoked"
        );
        let name = durable_name(
            "numbers",
            "crossbar_numbers::events::CallflowUsage",
            "events.crossbar.callflows.callflow.>",
        );
        assert_eq!(
            name,
            "numbers__crossbar_numbers__events__CallflowUsage__events_crossbar_callflows_callflow__"
        );
        let long = durable_name("s", &"x".repeat(300), "f");
        assert_eq!(long.len(), 200);
        assert_ne!(long, durable_name("s", &"x".repeat(301), "f"));
    }

    #[test]
    fn answers_round_trip() {
        let ok = encode_answer(Ok(serde_json::json!({"a": 1})));
        assert_eq!(
            decode_answer("s", &ok).unwrap(),
            serde_json::json!({"a": 1})
        );
        let refused = encode_answer(Err("no".into()));
        assert!(matches!(
            decode_answer("s", &refused),
            Err(BusError::Failed { message, .. }) if message == "no"
        ));
    }
}
