//! Who owns a DID, as the callflows service needs it ("may the caller route this
//! number"): a projection of the numbers service's number events, kept by every
//! replica (broadcast), with a question to the numbers service for the numbers it has
//! not heard of ([`NUMBER_OWNERS_SUBJECT`]). So a callflow write needs no round trip
//! for known numbers, and keeps working while NATS or the numbers service is away;
//! an entry older than the max age is asked again but still served when nobody
//! answers. A number nobody answers for and nobody has heard of is an error (503), not
//! a guess.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crossbar_crud::rpc::bus_error;
use crossbar_envelope::ApiError;
use crossbar_events::projection::{Known, ProjectionMap};
use crossbar_events::subjects::{NUMBER_EVENTS_PREFIX, NUMBER_OWNERS_SUBJECT};
use crossbar_events::{Bus, Event, EventHandler, DEFAULT_REQUEST_TIMEOUT};
use serde_json::{json, Value};

/// How long an entry is trusted without being asked again.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// More numbers than this and the projection starts over (a bound on memory).
pub const MAX_NUMBERS: usize = 1_000_000;

/// What is known of numbers' owners (`None`: the number exists, assigned to nobody).
pub struct NumberOwners {
    bus: Arc<dyn Bus>,
    numbers: ProjectionMap<Option<String>>,
}

impl NumberOwners {
    pub fn new(bus: Arc<dyn Bus>, max_age: Duration) -> Self {
        Self {
            bus,
            numbers: ProjectionMap::new(max_age, MAX_NUMBERS),
        }
    }

    /// A projection subscribed to number events on `bus` (every replica).
    pub async fn start(bus: Arc<dyn Bus>, max_age: Duration) -> Arc<Self> {
        let owners = Arc::new(Self::new(bus.clone(), max_age));
        bus.subscribe_broadcast(NUMBER_EVENTS_PREFIX, owners.clone())
            .await;
        owners
    }

    /// How many numbers the projection holds.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether the projection holds no number.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The account each of `dids` (E.164) is assigned to; numbers that exist unassigned
    /// or that the numbers service does not know are absent.
    pub async fn owners(&self, dids: &[String]) -> Result<HashMap<String, String>, ApiError> {
        let mut owners = HashMap::new();
        let mut stale: HashMap<String, Option<String>> = HashMap::new();
        let mut ask: Vec<String> = Vec::new();
        for did in dids {
            match self.numbers.get(did) {
                Known::Fresh(assigned_to) => {
                    if let Some(owner) = assigned_to {
                        owners.insert(did.clone(), owner);
                    }
                }
                Known::Stale(assigned_to) => {
                    stale.insert(did.clone(), assigned_to);
                    ask.push(did.clone());
                }
                Known::Unknown => ask.push(did.clone()),
            }
        }
        if ask.is_empty() {
            return Ok(owners);
        }
        let answer = match self
            .bus
            .request(
                NUMBER_OWNERS_SUBJECT,
                json!({ "numbers": ask }),
                DEFAULT_REQUEST_TIMEOUT,
            )
            .await
        {
            Ok(answer) => answer,
            // Every number asked about is known, only old: serve what is known.
            Err(error) if stale.len() == ask.len() => {
                tracing::warn!(%error, "numbers service unreachable; serving the projected owners");
                owners.extend(
                    stale
                        .into_iter()
                        .filter_map(|(did, owner)| owner.map(|owner| (did, owner))),
                );
                return Ok(owners);
            }
            Err(error) => return Err(bus_error(error)),
        };
        for did in &ask {
            match answer.get("numbers").and_then(|n| n.get(did)) {
                Some(known) => {
                    let assigned_to = known
                        .get("assigned_to")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    self.numbers.insert(did, assigned_to.clone());
                    if let Some(owner) = assigned_to {
                        owners.insert(did.clone(), owner);
                    }
                }
                // Unknown to the numbers service: not remembered (it may be added later).
                None => self.numbers.remove(did),
            }
        }
        Ok(owners)
    }
}

#[async_trait]
impl EventHandler for NumberOwners {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(number) = event.resource_id.as_deref() else {
            return Ok(());
        };
        if event.subject.ends_with(".deleted") || !event.doc.is_object() {
            self.numbers.remove(number);
        } else {
            // Idempotent: the document carries the number's whole current state.
            let assigned_to = event
                .doc
                .get("assigned_to")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.numbers.insert(number, assigned_to);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use crossbar_events::{InProcessBus, RequestHandler};

    use super::*;

    /// The numbers service as the projection sees it: counts questions, can go away.
    #[derive(Default)]
    struct FakeNumbers {
        questions: AtomicUsize,
        down: AtomicBool,
    }

    #[async_trait]
    impl RequestHandler for FakeNumbers {
        async fn answer(&self, payload: Value) -> Result<Value, String> {
            self.questions.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err("numbers service away".into());
            }
            let mut out = serde_json::Map::new();
            for n in payload["numbers"].as_array().unwrap() {
                match n.as_str().unwrap() {
                    "+14155550100" => {
                        out.insert(n.as_str().unwrap().into(), json!({"assigned_to": "acme"}))
                    }
                    "+14155550101" => {
                        out.insert(n.as_str().unwrap().into(), json!({"assigned_to": null}))
                    }
                    _ => None,
                };
            }
            Ok(json!({ "numbers": out }))
        }
    }

    fn number_event(action: &str, number: &str, assigned_to: Option<&str>) -> Event {
        Event::new(format!("{NUMBER_EVENTS_PREFIX}{action}"))
            .resource(number.to_string())
            .doc(json!({"id": number, "assigned_to": assigned_to, "state": "in_service"}))
    }

    async fn setup(max_age: Duration) -> (Arc<InProcessBus>, Arc<FakeNumbers>, Arc<NumberOwners>) {
        let bus = Arc::new(InProcessBus::new());
        let fake = Arc::new(FakeNumbers::default());
        bus.respond(NUMBER_OWNERS_SUBJECT, fake.clone()).await;
        let owners = NumberOwners::start(bus.clone(), max_age).await;
        (bus, fake, owners)
    }

    fn dids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn known_numbers_are_answered_without_a_question() {
        let (_bus, fake, owners) = setup(DEFAULT_MAX_AGE).await;
        let asked = dids(&["+14155550100", "+14155550101", "+14155550199"]);
        let first = owners.owners(&asked).await.unwrap();
        assert_eq!(
            first,
            HashMap::from([("+14155550100".to_string(), "acme".to_string())])
        );
        assert_eq!(fake.questions.load(Ordering::SeqCst), 1);
        // The two known numbers now come from the projection; the unknown one is asked.
        let again = owners.owners(&asked[..2]).await.unwrap();
        assert_eq!(again, first);
        assert_eq!(fake.questions.load(Ordering::SeqCst), 1);
        owners.owners(&asked[2..]).await.unwrap();
        assert_eq!(fake.questions.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn events_move_numbers_between_owners() {
        let (bus, fake, owners) = setup(DEFAULT_MAX_AGE).await;
        let did = dids(&["+15555550123"]);
        bus.publish(&number_event("created", &did[0], Some("a")))
            .await
            .unwrap();
        assert_eq!(owners.owners(&did).await.unwrap()[&did[0]], "a");
        bus.publish(&number_event("state_changed", &did[0], Some("b")))
            .await
            .unwrap();
        assert_eq!(owners.owners(&did).await.unwrap()[&did[0]], "b");
        bus.publish(&number_event("state_changed", &did[0], None))
            .await
            .unwrap();
        assert!(owners.owners(&did).await.unwrap().is_empty());
        assert_eq!(fake.questions.load(Ordering::SeqCst), 0);
        bus.publish(&number_event("deleted", &did[0], Some("b")))
            .await
            .unwrap();
        assert!(owners.is_empty());
    }

    #[tokio::test]
    async fn old_entries_are_served_only_when_nobody_answers() {
        let (bus, fake, owners) = setup(Duration::ZERO).await;
        let known = dids(&["+15555550123"]);
        bus.publish(&number_event("created", &known[0], Some("a")))
            .await
            .unwrap();
        fake.down.store(true, Ordering::SeqCst);
        assert_eq!(owners.owners(&known).await.unwrap()[&known[0]], "a");
        // One number nobody has heard of: the whole question fails (503), no guess.
        let mixed = dids(&["+15555550123", "+15555550999"]);
        assert!(owners.owners(&mixed).await.is_err());
        assert_eq!(fake.questions.load(Ordering::SeqCst), 2);
    }
}
