//! End-to-end harness: a real crossbar server (all services, real HTTP) on a free
//! loopback port, on SQLite or, when `CROSSBAR_TEST_DATABASE_URL` names a
//! PostgreSQL server, on a fresh PostgreSQL database of its own.
//!
//! Cluster mode: with `CROSSBAR_E2E_CLUSTER` set to the state file of
//! `deploy/local/cluster.sh` (or to a gateway URL), `TestServer::start()` returns a
//! handle on that running cluster instead (base = the gateway; the master account and
//! its admin from the cluster, which must use `MASTER_NAME` / `admin` /
//! `ADMIN_PASSWORD`). `ask` then goes over the cluster's NATS (state file only). Tests
//! that need an empty system or the process itself call `skip_in_cluster!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use crossbar_gateway::{crossbar_app, Config, Node};
use md5::{Digest, Md5};
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "e2e-admin-secret";
pub const MASTER_NAME: &str = "E2E Master";

/// A running server; stops when dropped.
pub struct TestServer {
    pub base: String,
    pub master_id: String,
    /// The node's bus (to ask the services request-reply questions directly).
    pub bus: std::sync::Arc<dyn crossbar_events::Bus>,
    handle: Option<actix_web::dev::ServerHandle>,
    _data: tempfile::TempDir,
    /// Cluster mode: this handle's tag on account names and realms (see `Tagger`).
    tag: Option<Tagger>,
}

/// On a shared cluster, account names and realms are unique system-wide (as in
/// Kazoo), so tests that each create "Parent A" would collide. Each cluster handle
/// tags the names and realms it sends (`"Parent A"` → `"Parent A ~t1a2b3"`,
/// `"acme.example.com"` → `"t1a2b3.acme.example.com"`) and untags what it receives, so
/// the tests read as on a fresh server. The master's own name is never tagged.
#[derive(Clone)]
struct Tagger {
    tag: String,
}

impl Tagger {
    fn new() -> Self {
        Self {
            tag: format!("t{}", hex::encode(rand::random::<[u8; 3]>())),
        }
    }

    fn name(&self, name: &str) -> String {
        if name.trim().eq_ignore_ascii_case(MASTER_NAME) || name.is_empty() {
            name.to_string()
        } else {
            format!("{name} ~{}", self.tag)
        }
    }

    fn realm(&self, realm: &str) -> String {
        if realm.is_empty() || realm.eq_ignore_ascii_case("master.e2e.test") {
            realm.to_string()
        } else {
            format!("{}.{realm}", self.tag)
        }
    }

    /// Tags the account names and realms of a request body.
    fn outgoing(&self, method: &str, path: &str, mut body: Value) -> Value {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let account_doc = segments.len() <= 3
            && segments.first() == Some(&"v2")
            && segments.get(1) == Some(&"accounts")
            && method != "GET";
        let login = matches!(path, "/v2/user_auth" | "/v2/api_auth");
        if let Some(data) = body.get_mut("data").and_then(Value::as_object_mut) {
            if account_doc {
                if let Some(Value::String(name)) = data.get_mut("name") {
                    *name = self.name(name);
                }
                if let Some(Value::String(realm)) = data.get_mut("realm") {
                    *realm = self.realm(realm);
                }
            }
            if login {
                if let Some(Value::String(name)) = data.get_mut("account_name") {
                    *name = self.name(name);
                }
                if let Some(Value::String(realm)) = data.get_mut("account_realm") {
                    *realm = self.realm(realm);
                }
            }
        }
        body
    }

    /// Removes the tag from every string of an answer.
    fn incoming(&self, value: &mut Value) {
        match value {
            Value::String(text) if text.contains(&self.tag) => {
                *text = text
                    .replace(&format!(" ~{}", self.tag), "")
                    .replace(&format!("{}.", self.tag), "");
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.incoming(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.incoming(v)),
            _ => {}
        }
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn fresh_postgres_url(base: &str) -> String {
    let name = format!("crossbar_e2e_{}", hex::encode(rand::random::<[u8; 6]>()));
    let rt = actix_web::rt::Runtime::new().unwrap();
    rt.block_on(async {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(base)
            .await
            .expect("connect to test PostgreSQL");
        db.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    });
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

static LOGGING: std::sync::Once = std::sync::Once::new();

const TEST_LOG_FILTER: &str =
    "debug,ureq=warn,rustls=warn,sqlx=warn,sea_orm=warn,actix_server=warn";

/// With `CROSSBAR_TEST_LOG=FILE`, every server of this test binary logs (JSON, debug
/// level for crossbar) to FILE, so a whole run can be checked for leaked secrets.
fn init_test_logging() {
    LOGGING.call_once(|| install_logging(None));
}

/// Sends every span of this test binary to `provider` (call before the first
/// `TestServer::start`; one provider per test binary).
pub fn install_test_tracing(provider: opentelemetry_sdk::trace::SdkTracerProvider) {
    LOGGING.call_once(|| install_logging(Some(provider)));
}

fn install_logging(provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>) {
    let path = std::env::var_os("CROSSBAR_TEST_LOG").filter(|p| !p.is_empty());
    if path.is_none() && provider.is_none() {
        return;
    }
    crossbar_telemetry::logging::init_json_file(
        path.as_deref().map(std::path::Path::new),
        TEST_LOG_FILTER,
        provider,
    )
    .expect("test log file");
}

/// The cluster named by `CROSSBAR_E2E_CLUSTER`, if any.
pub fn cluster_target() -> Option<String> {
    std::env::var("CROSSBAR_E2E_CLUSTER")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// True when the tests run against a running cluster (`CROSSBAR_E2E_CLUSTER`).
pub fn cluster_mode() -> bool {
    cluster_target().is_some()
}

/// Records that a test skipped itself in cluster mode (stderr, and a line in
/// `CROSSBAR_E2E_SKIP_LOG` when set, which `deploy/local/e2e.sh` counts).
pub fn note_skip(test: &str, reason: &str) {
    eprintln!("SKIPPED in cluster mode: {test}: {reason}");
    if let Some(path) = std::env::var_os("CROSSBAR_E2E_SKIP_LOG").filter(|p| !p.is_empty()) {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{test}\t{reason}");
        }
    }
}

/// Returns early from a test in cluster mode, saying why:
/// `skip_in_cluster!("counts every account of the system");`
#[macro_export]
macro_rules! skip_in_cluster {
    ($reason:expr) => {
        if $crate::cluster_mode() {
            $crate::note_skip(module_path!(), $reason);
            return;
        }
    };
}

/// `KEY='value'` lines of a cluster state file.
fn read_state_file(path: &str) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("CROSSBAR_E2E_CLUSTER={path}: {e}"));
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// One NATS connection per test binary to the cluster's bus, kept on a runtime of its own.
fn cluster_bus(nats_url: &str) -> std::sync::Arc<dyn crossbar_events::Bus> {
    static BUS: std::sync::OnceLock<std::sync::Arc<dyn crossbar_events::Bus>> =
        std::sync::OnceLock::new();
    BUS.get_or_init(|| {
        let url = nats_url.to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let bus = crossbar_events::NatsBus::connect(
                    &url,
                    crossbar_events::NatsOptions::new("e2e-harness"),
                )
                .await
                .expect("connect to the cluster's NATS");
                let bus: std::sync::Arc<dyn crossbar_events::Bus> = std::sync::Arc::new(bus);
                tx.send(bus).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("cluster NATS connection")
    })
    .clone()
}

impl TestServer {
    /// Every service, embedded (its own in-process bus); in cluster mode, the cluster.
    pub fn start() -> Self {
        match cluster_target() {
            Some(target) => Self::attach(&target),
            None => Self::start_hosting(None, None),
        }
    }

    /// A handle on a running cluster: `target` is its state file or its gateway URL.
    fn attach(target: &str) -> Self {
        let (base, bus) = if target.starts_with("http://") || target.starts_with("https://") {
            let bus: std::sync::Arc<dyn crossbar_events::Bus> =
                std::sync::Arc::new(crossbar_events::InProcessBus::new());
            (target.trim_end_matches('/').to_string(), bus)
        } else {
            let state = read_state_file(target);
            let get = |key: &str| {
                state
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| panic!("{target} has no {key}"))
            };
            assert!(
                get("MASTER_NAME") == MASTER_NAME
                    && get("MASTER_USERNAME") == "admin"
                    && get("MASTER_PASSWORD") == ADMIN_PASSWORD,
                "the cluster's master login must be {MASTER_NAME:?} / admin / ADMIN_PASSWORD \
                 (deploy/local/e2e.sh starts it so)"
            );
            (get("GATEWAY_URL"), cluster_bus(&get("NATS_URL")))
        };
        let mut server = Self {
            base,
            master_id: String::new(),
            bus,
            handle: None,
            _data: tempfile::tempdir().unwrap(),
            tag: Some(Tagger::new()),
        };
        let (_, data) = server.login(MASTER_NAME, "admin", ADMIN_PASSWORD);
        server.master_id = data["account_id"].as_str().unwrap().to_string();
        server
    }

    /// A process hosting only `services` (all when `None`) on `bus` (a fresh
    /// in-process bus when `None`): several of them on one shared bus make the
    /// distributed topology in one test process. The master account is bootstrapped
    /// by the process hosting the accounts service (`master_id` is empty elsewhere).
    pub fn start_hosting(
        services: Option<&[&str]>,
        bus: Option<std::sync::Arc<dyn crossbar_events::Bus>>,
    ) -> Self {
        init_test_logging();
        let services: Vec<String> = services
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| {
                crossbar_gateway::ALL_SERVICES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            });
        let data = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let database_url = std::env::var("CROSSBAR_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|u| fresh_postgres_url(&u));
        let config = Config {
            listen: format!("127.0.0.1:{port}"),
            data_dir: data.path().to_path_buf(),
            database_url,
            ..Config::default()
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let bus = bus
                    .unwrap_or_else(|| std::sync::Arc::new(crossbar_events::InProcessBus::new()));
                let node = Node::start_with_bus(&config, &services, bus)
                    .await
                    .expect("node starts");
                let master_id = match &node.accounts {
                    Some(accounts) => {
                        accounts
                            .bootstrap_master(
                                MASTER_NAME,
                                Some("master.e2e.test"),
                                "admin",
                                ADMIN_PASSWORD,
                            )
                            .await
                            .expect("bootstrap")
                            .account_id
                    }
                    None => String::new(),
                };
                let app_node = node.clone();
                let server = actix_web::HttpServer::new(move || crossbar_app!(app_node))
                    .workers(2)
                    .listen(listener)
                    .unwrap()
                    .run();
                tx.send((server.handle(), master_id, node.bus.clone()))
                    .unwrap();
                server.await.unwrap();
            });
        });
        let (handle, master_id, bus) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server started");
        Self {
            base: format!("http://127.0.0.1:{port}"),
            master_id,
            bus,
            handle: Some(handle),
            _data: data,
            tag: None,
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, path, token, body, &[])
    }

    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        match &self.tag {
            None => request(&self.base, method, path, token, body, headers),
            Some(tagger) => {
                let body = body.map(|b| tagger.outgoing(method, path, b));
                let mut answer = request(&self.base, method, path, token, body, headers);
                tagger.incoming(&mut answer.body);
                answer
            }
        }
    }

    /// Asks a request-reply question on the node's bus (as another service would).
    pub fn ask(&self, subject: &str, payload: Value) -> Result<Value, String> {
        let rt = actix_web::rt::Runtime::new().unwrap();
        rt.block_on(
            self.bus
                .request(subject, payload, crossbar_events::DEFAULT_REQUEST_TIMEOUT),
        )
        .map(|mut answer| {
            if let Some(tagger) = &self.tag {
                tagger.incoming(&mut answer);
            }
            answer
        })
        .map_err(|e| e.to_string())
    }

    /// Logs in by account name with md5 credentials; returns (token, login data).
    pub fn login(&self, account_name: &str, username: &str, password: &str) -> (String, Value) {
        let answer = self.call(
            "PUT",
            "/v2/user_auth",
            None,
            Some(json!({"data": {"credentials": md5_credentials(username, password), "account_name": account_name}})),
        );
        assert_eq!(answer.status, 201, "login failed: {:?}", answer.body);
        (
            answer.body["auth_token"].as_str().unwrap().to_string(),
            answer.body["data"].clone(),
        )
    }

    pub fn admin_token(&self) -> String {
        self.login(MASTER_NAME, "admin", ADMIN_PASSWORD).0
    }

    /// Creates a sub-account under `parent` with an admin user; returns (account id, token).
    pub fn account_with_admin(&self, token: &str, parent: &str, name: &str) -> (String, String) {
        let created = self.call(
            "PUT",
            &format!("/v2/accounts/{parent}"),
            Some(token),
            Some(json!({"data": {"name": name}})),
        );
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap().to_string();
        let user = self.call(
            "PUT",
            &format!("/v2/accounts/{id}/users"),
            Some(token),
            Some(json!({"data": {"first_name": "Ad", "last_name": "Min", "username": "admin", "password": "pw-123456", "priv_level": "admin"}})),
        );
        assert_eq!(user.status, 201, "{:?}", user.body);
        let (tok, _) = self.login(name, "admin", "pw-123456");
        (id, tok)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let rt = actix_web::rt::Runtime::new().unwrap();
            rt.block_on(handle.stop(false));
        }
    }
}

pub fn md5_credentials(username: &str, password: &str) -> String {
    hex::encode(Md5::digest(format!(
        "{}:{}",
        username.to_lowercase(),
        password
    )))
}

/// Asserts the fixed parts of Kazoo's error envelope.
pub fn assert_error(answer: &Answer, status: u16, message: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "error");
    assert_eq!(answer.body["error"], status.to_string());
    assert_eq!(answer.body["message"], message, "{:?}", answer.body);
    assert!(answer.body["request_id"].is_string());
    assert_eq!(
        answer.header("x-request-id"),
        answer.body["request_id"].as_str()
    );
}

fn request(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut req = agent.request(method, &format!("{base}{path}"));
    if let Some(token) = token {
        req = req.set("X-Auth-Token", token);
    }
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(body) => req
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|name| {
            let value = response.header(&name).unwrap_or_default().to_string();
            (name, value)
        })
        .collect();
    let text = response.into_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        body,
        headers,
    }
}

/// A running `crossbar gateway` in front of the given replicas; stops when dropped.
pub struct GatewayServer {
    pub base: String,
    handle: Option<actix_web::dev::ServerHandle>,
}

impl GatewayServer {
    /// Starts a gateway for `upstreams` (service → replica base URLs) with the given
    /// body limit, and waits until it has learned every service's routes.
    pub fn start(
        upstreams: std::collections::BTreeMap<String, Vec<String>>,
        body_limit_bytes: usize,
    ) -> Self {
        init_test_logging();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let settings = crossbar_gateway::proxy::GatewaySettings {
            upstreams,
            body_limit_bytes,
            upstream_timeout: Duration::from_secs(10),
            cors_allowed_origins: vec!["*".into()],
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let gateway = crossbar_gateway::proxy::Gateway::new(settings);
                crossbar_gateway::proxy::spawn_route_refresher(gateway.clone());
                let server =
                    actix_web::HttpServer::new(move || crossbar_gateway::gateway_app!(gateway))
                        .workers(2)
                        .listen(listener)
                        .unwrap()
                        .run();
                tx.send(server.handle()).unwrap();
                server.await.unwrap();
            });
        });
        let handle = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("gateway started");
        let gateway = Self {
            base: format!("http://127.0.0.1:{port}"),
            handle: Some(handle),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = ureq::get(&format!("{}/v2/openapi.json", gateway.base))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|doc| doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
            if ready {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gateway never learned its routes"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        gateway
    }
}

impl Drop for GatewayServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let rt = actix_web::rt::Runtime::new().unwrap();
            rt.block_on(handle.stop(false));
        }
    }
}

impl TestServer {
    /// The same server seen through `base` (e.g. a gateway in front of it).
    pub fn via(&self, base: &str) -> Via {
        Via {
            base: base.to_string(),
        }
    }

    /// Stops the server now (a replica going away). Not in cluster mode.
    pub fn stop(&mut self) {
        assert!(
            !cluster_mode(),
            "stop() on a cluster: skip_in_cluster! first"
        );
        if let Some(handle) = self.handle.take() {
            let rt = actix_web::rt::Runtime::new().unwrap();
            rt.block_on(handle.stop(false));
        }
    }
}

/// Calls made to another base URL (e.g. a gateway in front of the server).
pub struct Via {
    pub base: String,
}

impl Via {
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        request(&self.base, method, path, token, body, headers)
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, path, token, body, &[])
    }
}

/// Phone numbers of one test, so tests that import and move numbers can share one
/// system (the cluster run: one number inventory for every test).
///
/// A test gets an exchange `NXX` and a thousands digit `D`, and with them the thousand
/// NANP numbers `NPA-NXX-Dlll` of every area code `NPA`, plus one London number. The
/// pair (`NXX`, `D`) is unique in the test binary (a counter) and, from a random start,
/// unlikely to be another binary's; exchange 555 (the fixed numbers of the other test
/// files) is never handed out. The numbers are valid for the `phonenumber` crate when
/// `NPA` is a real area code (US for 212, 312, 415, 646...).
#[derive(Debug, Clone)]
pub struct TestNumbers {
    key: u32,
}

/// Exchanges 200..=999 without 555, times ten thousands digits.
const NUMBER_KEYS: u32 = 799 * 10;

impl TestNumbers {
    /// Numbers no other `TestNumbers` of this test binary hands out.
    pub fn fresh() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let start = *START.get_or_init(|| rand::random::<u32>() % NUMBER_KEYS);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(n < NUMBER_KEYS, "out of test number blocks");
        Self {
            key: (start + n) % NUMBER_KEYS,
        }
    }

    fn exchange(&self) -> u32 {
        let nxx = 200 + self.key / 10;
        if nxx >= 555 {
            nxx + 1
        } else {
            nxx
        }
    }

    fn thousands(&self) -> u32 {
        self.key % 10
    }

    /// The four digits after the area code of every NANP number of this test (the
    /// exchange and the thousands digit, `"2341"`): `format!("415{block}100")` is its
    /// line 100 in area 415.
    pub fn block(&self) -> String {
        format!("{:03}{}", self.exchange(), self.thousands())
    }

    /// The seven leading digits of this test's numbers in area `npa` (`"4152341"`).
    pub fn prefix(&self, npa: u16) -> String {
        format!("{npa}{}", self.block())
    }

    /// The `npa_nxx` of this test's numbers in area `npa` (`"415234"`).
    pub fn npa_nxx(&self, npa: u16) -> String {
        format!("{npa}{:03}", self.exchange())
    }

    /// Ten NANP digits: area `npa`, line `line` (0..=999) of this test's thousand
    /// (`national(415, 100)` = `"4152341100"`).
    pub fn national(&self, npa: u16, line: u16) -> String {
        assert!(line < 1000, "line {line} is not in a thousand");
        format!("{}{line:03}", self.prefix(npa))
    }

    /// The same number in E.164 (`"+14152341100"`).
    pub fn e164(&self, npa: u16, line: u16) -> String {
        format!("+1{}", self.national(npa, line))
    }

    /// The same number in the national format of the `phonenumber` crate
    /// (`"(415) 234-1100"`).
    pub fn formatted(&self, npa: u16, line: u16) -> String {
        let ten = self.national(npa, line);
        format!("({}) {}-{}", &ten[..3], &ten[3..6], &ten[6..])
    }

    /// This test's London number, `+44 20 7kkk k000` (`k`: four digits of its own).
    pub fn london(&self) -> String {
        format!("+44{}000", self.london_prefix())
    }

    /// The national digits of the London number before its last three (`"207kkkk"`).
    pub fn london_prefix(&self) -> String {
        format!("207{:04}", self.key)
    }
}
