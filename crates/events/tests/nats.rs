//! The NATS JetStream bus against a real `nats-server` (one per test, on a free port,
//! with its own store directory). Without the binary these tests fail, unless
//! `CROSSBAR_SKIP_NATS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crossbar_events::nats::{NatsBus, NatsOptions, DEAD_LETTER_SUBJECT_PREFIX};
use crossbar_events::{Bus, BusError, Event, EventHandler, Outbox, RequestHandler};
use futures_util::StreamExt;
use serde_json::{json, Value};

// ---------------------------------------------------------------- nats-server

/// `CROSSBAR_NATS_SERVER` if set, else `nats-server` on PATH or in /usr/sbin.
fn nats_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CROSSBAR_NATS_SERVER") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// A private nats-server with JetStream; stopped (by its own pid) when dropped.
struct NatsServer {
    binary: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    /// `None` when the binary is missing and `CROSSBAR_SKIP_NATS=1`.
    fn start() -> Option<Self> {
        let Some(binary) = nats_binary() else {
            if std::env::var("CROSSBAR_SKIP_NATS").as_deref() == Ok("1") {
                eprintln!("nats-server not found; skipped (CROSSBAR_SKIP_NATS=1)");
                return None;
            }
            panic!(
                "nats-server not found on PATH nor in /usr/sbin: install it \
                 (apt-get install nats-server), or set CROSSBAR_SKIP_NATS=1 to skip these tests"
            );
        };
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut server = Self {
            binary,
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        server.run();
        Some(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.dir.path().join("store"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGTERM to its pid, then waits for it).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts the server again on the same port and store directory.
    fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn options(service: &str) -> NatsOptions {
    let mut options = NatsOptions::new(service);
    options.retry_backoff = vec![Duration::from_millis(100), Duration::from_millis(200)];
    options.max_deliver = 3;
    options.publish_timeout = Duration::from_secs(1);
    options
}

async fn connect(server: &NatsServer, options: NatsOptions) -> NatsBus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match NatsBus::connect(&server.url(), options.clone()).await {
            Ok(bus) => return bus,
            Err(error) if Instant::now() < deadline => {
                eprintln!("connect: {error}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("connect: {error}"),
        }
    }
}

async fn raw_client(server: &NatsServer) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap())
}

// ---------------------------------------------------------------- handlers

/// What the handlers saw: (replica, event id, subject) in order.
#[derive(Default)]
struct Log(Mutex<Vec<(usize, String, String)>>);

impl Log {
    fn record(&self, replica: usize, event: &Event) {
        self.0
            .lock()
            .unwrap()
            .push((replica, event.id.clone(), event.subject.clone()));
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (_, id, _) in self.0.lock().unwrap().iter() {
            *counts.entry(id.clone()).or_insert(0) += 1;
        }
        counts
    }
    fn by_replica(&self) -> HashMap<usize, usize> {
        let mut counts = HashMap::new();
        for (replica, _, _) in self.0.lock().unwrap().iter() {
            *counts.entry(*replica).or_insert(0) += 1;
        }
        counts
    }
    fn subjects(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, s)| s.clone())
            .collect()
    }
}

/// Records every event; fails every delivery of an event whose doc has `"poison": true`.
struct Recorder {
    replica: usize,
    log: Arc<Log>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        self.log.record(self.replica, event);
        if event.doc.get("poison") == Some(&Value::Bool(true)) {
            return Err("poisoned event refused".to_string());
        }
        Ok(())
    }
}

/// Another handler type (so another durable consumer).
struct Auditor {
    log: Arc<Log>,
}

#[async_trait]
impl EventHandler for Auditor {
    async fn handle(&self, event: &Event) -> Result<(), String> {
        self.log.record(0, event);
        Ok(())
    }
}

fn recorder(replica: usize, log: &Arc<Log>) -> Arc<Recorder> {
    Arc::new(Recorder {
        replica,
        log: log.clone(),
    })
}

async fn eventually(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(subject: &str, n: usize) -> Event {
    Event::new(subject)
        .account("a".repeat(32), vec!["a".repeat(32)])
        .resource(format!("r{n}"))
        .doc(json!({ "n": n }))
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn durable_consumer_receives_events_by_prefix_or_exact_subject() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bus = connect(&server, options("svc")).await;
    // Published before anyone subscribes: a durable consumer still gets them.
    let mut early = Vec::new();
    for n in 0..5 {
        let mut e = event("crossbar.accounts.account.created", n);
        e.traceparent = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string());
        bus.publish(&e).await.unwrap();
        early.push(e);
    }
    let accounts = Arc::new(Log::default());
    let revoked = Arc::new(Log::default());
    bus.subscribe("crossbar.accounts.account.", recorder(0, &accounts))
        .await;
    bus.subscribe(
        "crossbar.auth.token.revoked",
        Arc::new(Auditor {
            log: revoked.clone(),
        }),
    )
    .await;
    let started = Instant::now();
    for n in 5..10 {
        bus.publish(&event("crossbar.accounts.account.updated", n))
            .await
            .unwrap();
    }
    bus.publish(&event("crossbar.auth.token.revoked", 99))
        .await
        .unwrap();
    bus.publish(&event("crossbar.auth.token.created", 98))
        .await
        .unwrap();
    bus.publish(&event("crossbar.accountsx.thing.updated", 97))
        .await
        .unwrap();
    eventually("10 account events", Duration::from_secs(10), || {
        accounts.len() == 10
    })
    .await;
    eventually("the revocation", Duration::from_secs(10), || {
        revoked.len() == 1
    })
    .await;
    eprintln!("delivered 10 + 1 events in {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(accounts.len(), 10, "nothing else matched the prefix");
    assert!(accounts
        .subjects()
        .iter()
        .all(|s| s.starts_with("crossbar.accounts.account.")));
    assert_eq!(revoked.subjects(), vec!["crossbar.auth.token.revoked"]);
    // Events before a subscriber are delivered in order.
    let seen: Vec<String> = accounts
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.1.clone())
        .collect();
    let early_ids: Vec<String> = early.iter().map(|e| e.id.clone()).collect();
    assert_eq!(seen[..5], early_ids[..]);

    // On the wire: `events.<subject>`, Nats-Msg-Id = event id, traceparent header.
    let js = raw_client(&server).await;
    let stream = js.get_stream("CROSSBAR_EVENTS").await.unwrap();
    let stored = stream.get_raw_message(1).await.unwrap();
    assert_eq!(
        stored.subject.as_str(),
        "events.crossbar.accounts.account.created"
    );
    assert_eq!(
        stored.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
        Some(early[0].id.as_str())
    );
    assert_eq!(
        stored.headers.get("traceparent").map(|v| v.as_str()),
        early[0].traceparent.as_deref()
    );
    // The durable consumers are named after the service and the handler type.
    let mut names = Vec::new();
    let mut list = stream.consumer_names();
    while let Some(name) = list.next().await {
        names.push(name.unwrap());
    }
    names.sort();
    eprintln!("consumers: {names:?}");
    assert_eq!(names.len(), 2);
    assert!(names
        .iter()
        .any(|n| n.starts_with("svc__nats__Recorder__events_crossbar_accounts_account__")));
    assert!(names.iter().any(|n| n.starts_with("svc__nats__Auditor__")));
}

#[tokio::test]
async fn the_same_event_twice_is_stored_and_handled_once() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bus = connect(&server, options("svc")).await;
    let log = Arc::new(Log::default());
    bus.subscribe("crossbar.test.", recorder(0, &log)).await;
    let once = event("crossbar.test.thing.created", 1);
    bus.publish(&once).await.unwrap();
    // The relay publishing the same outbox row again (e.g. after a lost ack).
    bus.publish(&once).await.unwrap();
    bus.publish(&once).await.unwrap();
    let other = event("crossbar.test.thing.created", 2);
    bus.publish(&other).await.unwrap();
    eventually("both events", Duration::from_secs(10), || log.len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = log.counts();
    assert_eq!(counts.get(&once.id), Some(&1));
    assert_eq!(counts.get(&other.id), Some(&1));
    let js = raw_client(&server).await;
    let mut stream = js.get_stream("CROSSBAR_EVENTS").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 2);
}

#[tokio::test]
async fn replicas_of_a_service_share_its_durable_consumer() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let replica_a = connect(&server, options("numbers")).await;
    let replica_b = connect(&server, options("numbers")).await;
    let log = Arc::new(Log::default());
    replica_a
        .subscribe("crossbar.callflows.callflow.", recorder(1, &log))
        .await;
    replica_b
        .subscribe("crossbar.callflows.callflow.", recorder(2, &log))
        .await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for n in 0..60 {
        let e = event("crossbar.callflows.callflow.created", n);
        ids.push(e.id.clone());
        // Both replicas publish (as both relay their outboxes).
        let publisher = if n % 2 == 0 { &replica_a } else { &replica_b };
        publisher.publish(&e).await.unwrap();
    }
    eventually("60 events", Duration::from_secs(15), || log.len() >= 60).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = log.counts();
    assert_eq!(log.len(), 60, "no event handled twice");
    for id in &ids {
        assert_eq!(counts.get(id), Some(&1), "event {id} handled once");
    }
    eprintln!(
        "60 events over 2 replicas in {elapsed:?}, per replica: {:?}",
        log.by_replica()
    );
}

#[tokio::test]
async fn different_handlers_each_get_every_event() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bus = connect(&server, options("callflows")).await;
    let other_service = connect(&server, options("numbers")).await;
    let recorded = Arc::new(Log::default());
    let audited = Arc::new(Log::default());
    let numbers = Arc::new(Log::default());
    bus.subscribe("crossbar.accounts.account.", recorder(0, &recorded))
        .await;
    bus.subscribe(
        "crossbar.accounts.account.",
        Arc::new(Auditor {
            log: audited.clone(),
        }),
    )
    .await;
    // The same handler type in another service: its own durable consumer.
    other_service
        .subscribe("crossbar.accounts.account.", recorder(0, &numbers))
        .await;
    for n in 0..20 {
        bus.publish(&event("crossbar.accounts.account.deleted", n))
            .await
            .unwrap();
    }
    for log in [&recorded, &audited, &numbers] {
        eventually("20 events", Duration::from_secs(10), || log.len() >= 20).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for log in [&recorded, &audited, &numbers] {
        assert_eq!(log.len(), 20);
        assert_eq!(log.counts().len(), 20);
    }
}

#[tokio::test]
async fn broadcast_reaches_every_replica_of_every_service() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let processes = [
        connect(&server, options("auth")).await,
        connect(&server, options("auth")).await,
        connect(&server, options("numbers")).await,
    ];
    let logs: Vec<Arc<Log>> = (0..3).map(|_| Arc::new(Log::default())).collect();
    for (n, bus) in processes.iter().enumerate() {
        bus.subscribe_broadcast("crossbar.auth.token.revoked", recorder(n, &logs[n]))
            .await;
    }
    let started = Instant::now();
    for n in 0..10 {
        processes[0]
            .publish(&event("crossbar.auth.token.revoked", n))
            .await
            .unwrap();
    }
    for log in &logs {
        eventually("10 revocations", Duration::from_secs(10), || {
            log.len() >= 10
        })
        .await;
    }
    eprintln!(
        "10 revocations reached 3 processes in {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    for log in &logs {
        assert_eq!(log.len(), 10);
    }
    // One (ephemeral) consumer per process.
    let js = raw_client(&server).await;
    let stream = js.get_stream("CROSSBAR_EVENTS").await.unwrap();
    let count = |stream: async_nats::jetstream::stream::Stream| async move {
        let mut names = stream.consumer_names();
        let mut n = 0;
        while let Some(name) = names.next().await {
            name.unwrap();
            n += 1;
        }
        n
    };
    assert_eq!(count(stream.clone()).await, 3);
}

#[tokio::test]
async fn a_failing_event_is_dead_lettered_and_does_not_block_the_others() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bus = connect(&server, options("office_hours")).await;
    let log = Arc::new(Log::default());
    bus.subscribe("crossbar.test.", recorder(0, &log)).await;
    let started = Instant::now();
    let good_first = event("crossbar.test.thing.created", 0);
    bus.publish(&good_first).await.unwrap();
    let poison = event("crossbar.test.thing.updated", 1).doc(json!({"poison": true}));
    bus.publish(&poison).await.unwrap();
    let mut good = vec![good_first.id.clone()];
    for n in 2..12 {
        let e = event("crossbar.test.thing.created", n);
        good.push(e.id.clone());
        bus.publish(&e).await.unwrap();
    }
    eventually("the good events", Duration::from_secs(10), || {
        let counts = log.counts();
        good.iter().all(|id| counts.contains_key(id))
    })
    .await;
    let good_done = started.elapsed();
    // max_deliver 3 (backoff 100 ms, 200 ms).
    eventually(
        "3 attempts of the bad event",
        Duration::from_secs(10),
        || log.counts().get(&poison.id) == Some(&3),
    )
    .await;
    let js = raw_client(&server).await;
    let dead_stream = js.get_stream("CROSSBAR_DEADLETTER").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let dead = loop {
        if let Ok(message) = dead_stream.get_raw_message(1).await {
            break message;
        }
        assert!(Instant::now() < deadline, "nothing dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "11 good events handled in {good_done:?}; bad one dead-lettered after 3 attempts in {:?}",
        started.elapsed()
    );
    assert_eq!(
        dead.subject.as_str(),
        format!("{DEAD_LETTER_SUBJECT_PREFIX}crossbar.test.thing.updated")
    );
    let body: Value = serde_json::from_slice(&dead.payload).unwrap();
    assert_eq!(body["event"]["id"], json!(poison.id));
    assert_eq!(body["error"], json!("poisoned event refused"));
    assert_eq!(body["deliveries"], json!(3));
    assert_eq!(
        dead.headers.get("Crossbar-Error").map(|v| v.as_str()),
        Some("poisoned event refused")
    );
    // Terminated: not delivered again, and each good event exactly once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = log.counts();
    assert_eq!(counts.get(&poison.id), Some(&3));
    assert!(good.iter().all(|id| counts.get(id) == Some(&1)));
    let mut dead_stream = dead_stream;
    assert_eq!(dead_stream.info().await.unwrap().state.messages, 1);
}

#[tokio::test]
async fn a_lost_stream_is_created_again_on_publish() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bus = connect(&server, options("svc")).await;
    let js = raw_client(&server).await;
    js.delete_stream("CROSSBAR_EVENTS").await.unwrap();
    let e = event("crossbar.test.thing.created", 1);
    bus.publish(&e).await.unwrap();
    let mut stream = js.get_stream("CROSSBAR_EVENTS").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 1);
    // ...and a consumer created afterwards gets the event.
    let log = Arc::new(Log::default());
    bus.subscribe("crossbar.test.", recorder(0, &log)).await;
    eventually("the event", Duration::from_secs(10), || log.len() == 1).await;
}

struct Echo {
    answered: Arc<Mutex<Vec<usize>>>,
    replica: usize,
}

#[async_trait]
impl RequestHandler for Echo {
    async fn answer(&self, payload: Value) -> Result<Value, String> {
        self.answered.lock().unwrap().push(self.replica);
        if payload.get("fail").is_some() {
            return Err("refused: no such thing".to_string());
        }
        if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Ok(json!({ "echo": payload }))
    }
}

#[tokio::test]
async fn request_reply_answers_refuses_times_out_and_reports_missing_responders() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let asker = connect(&server, options("callflows")).await;
    let replica_a = connect(&server, options("accounts")).await;
    let replica_b = connect(&server, options("accounts")).await;
    let answered = Arc::new(Mutex::new(Vec::new()));
    for (n, bus) in [&replica_a, &replica_b].into_iter().enumerate() {
        bus.respond(
            "crossbar.rpc.accounts.documents.get",
            Arc::new(Echo {
                answered: answered.clone(),
                replica: n,
            }),
        )
        .await;
    }
    let subject = "crossbar.rpc.accounts.documents.get";
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    for n in 0..40 {
        let answer = asker
            .request(subject, json!({ "n": n }), timeout)
            .await
            .unwrap();
        assert_eq!(answer, json!({ "echo": { "n": n } }));
    }
    let per_request = started.elapsed() / 40;
    {
        let answered = answered.lock().unwrap();
        assert_eq!(answered.len(), 40, "each question answered by one replica");
        eprintln!(
            "40 questions, {per_request:?} each; replica 0 answered {}, replica 1 {}",
            answered.iter().filter(|r| **r == 0).count(),
            answered.iter().filter(|r| **r == 1).count()
        );
    }
    let refused = asker
        .request(subject, json!({ "fail": true }), timeout)
        .await;
    assert!(
        matches!(&refused, Err(BusError::Failed { message, .. }) if message == "refused: no such thing"),
        "{refused:?}"
    );
    let started = Instant::now();
    // A long timeout, so that an answer well before it shows the server said at once
    // that nobody listens (the bound is loose: CI machines are busy).
    let missing = asker
        .request(
            "crossbar.rpc.nobody.here",
            json!({}),
            Duration::from_secs(20),
        )
        .await;
    assert!(
        matches!(missing, Err(BusError::NoResponder(_))),
        "{missing:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no responders is known at once"
    );
    let started = Instant::now();
    let slow = asker
        .request(
            subject,
            json!({ "sleep_ms": 8000 }),
            Duration::from_millis(300),
        )
        .await;
    assert!(matches!(slow, Err(BusError::Timeout(_))), "{slow:?}");
    // Gave up at the timeout, not when the answer came (bound loose for busy machines).
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(5));
    // In-process answers are unchanged by the NATS ones: a 5-token subject works too.
    replica_a
        .respond(
            "crossbar.rpc.callflows.lookup",
            Arc::new(Echo {
                answered: answered.clone(),
                replica: 9,
            }),
        )
        .await;
    let answer = asker
        .request("crossbar.rpc.callflows.lookup", json!("x"), timeout)
        .await
        .unwrap();
    assert_eq!(answer, json!({ "echo": "x" }));
}

#[tokio::test]
async fn outage_publish_is_unavailable_and_the_outbox_delivers_after_restart() {
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = sea_orm::Database::connect(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("outbox.sqlite").display()
    ))
    .await
    .unwrap();
    {
        use sea_orm_migration::MigrationTrait;
        crossbar_events::OutboxMigration
            .up(&sea_orm_migration::SchemaManager::new(&db))
            .await
            .unwrap();
    }
    let bus: Arc<NatsBus> = Arc::new(connect(&server, options("numbers")).await);
    let log = Arc::new(Log::default());
    bus.subscribe("crossbar.numbers.", recorder(0, &log)).await;
    let everyone = Arc::new(Log::default());
    bus.subscribe_broadcast("crossbar.numbers.", recorder(1, &everyone))
        .await;
    let outbox = Outbox::new(db.clone(), bus.clone());

    let before = event("crossbar.numbers.number.created", 1);
    crossbar_events::outbox::append(&db, &before).await.unwrap();
    assert_eq!(outbox.flush().await.unwrap(), 1);
    eventually("the first event", Duration::from_secs(10), || {
        log.len() == 1 && everyone.len() == 1
    })
    .await;

    server.stop();
    let started = Instant::now();
    let direct = bus
        .publish(&event("crossbar.numbers.number.updated", 2))
        .await;
    assert!(
        matches!(direct, Err(BusError::Unavailable(_))),
        "{direct:?}"
    );
    eprintln!(
        "publish with NATS down: Unavailable after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(bus.ready().await.is_err());
    // A write while NATS is down: committed with its event in the outbox, which stays.
    let during = event("crossbar.numbers.number.updated", 3);
    crossbar_events::outbox::append(&db, &during).await.unwrap();
    assert_eq!(outbox.flush().await.unwrap(), 0);
    assert_eq!(outbox.backlog().await.unwrap(), 1);

    let down_for = Instant::now();
    // Down longer than the pull subscriptions' heartbeats (3 s): they are recreated.
    tokio::time::sleep(Duration::from_secs(7)).await;
    server.restart();
    let restarted = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Err(error) = bus.ready().await {
        if Instant::now() > deadline {
            let log =
                std::fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "bus not ready after restart: {error} ({:?})\n{log}",
                bus.connection_state()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "NATS down for {:?}; bus ready {:?} after the restart",
        down_for.elapsed(),
        restarted.elapsed()
    );
    // The relay's next round.
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox.backlog().await.unwrap() > 0 {
        outbox.flush().await.unwrap();
        assert!(Instant::now() < deadline, "outbox not drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = event("crossbar.numbers.number.deleted", 4);
    bus.publish(&after).await.unwrap();
    let recovered = Instant::now();
    eventually(
        "the events published around the outage",
        Duration::from_secs(30),
        || {
            let counts = log.counts();
            let broadcast = everyone.counts();
            counts.contains_key(&during.id)
                && counts.contains_key(&after.id)
                && broadcast.contains_key(&during.id)
                && broadcast.contains_key(&after.id)
        },
    )
    .await;
    eprintln!(
        "durable consumer caught up {:?} after the restart",
        recovered.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = log.counts();
    assert_eq!(counts.get(&before.id), Some(&1));
    assert_eq!(counts.get(&during.id), Some(&1));
    assert_eq!(counts.get(&after.id), Some(&1));
    // The broadcast consumer (in memory on the server, so lost with it) was recreated
    // after the last event it had handled.
    assert_eq!(everyone.len(), 3, "{:?}", everyone.counts());
}

#[tokio::test]
async fn in_process_bus_broadcast_is_subscribe() {
    // The trait's default: unchanged behaviour for the embedded mode.
    let bus = crossbar_events::InProcessBus::new();
    let log = Arc::new(Log::default());
    bus.subscribe_broadcast("crossbar.auth.token.revoked", recorder(0, &log))
        .await;
    bus.publish(&event("crossbar.auth.token.revoked", 1))
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert!(bus.ready().await.is_ok());
    let handler: Arc<dyn EventHandler> = recorder(0, &log);
    assert_eq!(
        handler.handler_name(),
        "nats::Recorder",
        "the concrete type, not `dyn EventHandler`"
    );
}

/// Holds every event until released (a consumer that has fallen behind).
struct Gate {
    open: Arc<tokio::sync::Notify>,
    handled: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait]
impl EventHandler for Gate {
    async fn handle(&self, _event: &Event) -> Result<(), String> {
        self.open.notified().await;
        self.handled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn consumer_lag_counts_what_a_consumer_has_not_handled_yet() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let bus = connect(&server, options("laggy")).await;
    let open = Arc::new(tokio::sync::Notify::new());
    let handled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    bus.subscribe(
        "crossbar.lag.",
        Arc::new(Gate {
            open: open.clone(),
            handled: handled.clone(),
        }),
    )
    .await;
    for n in 0..6 {
        bus.publish(&event("crossbar.lag.thing.created", n))
            .await
            .unwrap();
    }
    let total = |lags: Vec<(String, u64)>| lags.iter().map(|(_, lag)| *lag).sum::<u64>();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lags = bus.consumer_lag().await;
        assert_eq!(lags.len(), 1, "{lags:?}");
        assert!(lags[0].0.starts_with("laggy__"), "{lags:?}");
        if total(lags) == 6 {
            break;
        }
        assert!(Instant::now() < deadline, "lag never reached 6");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Released one at a time, the consumer catches up and the lag falls to 0.
    let deadline = Instant::now() + Duration::from_secs(20);
    while handled.load(std::sync::atomic::Ordering::SeqCst) < 6
        || total(bus.consumer_lag().await) > 0
    {
        open.notify_one();
        assert!(Instant::now() < deadline, "the consumer never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
