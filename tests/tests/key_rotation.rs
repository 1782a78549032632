//! Signing-key rotation across processes, over real HTTP on one shared in-process bus:
//! the auth process (`auth` + `accounts`) rotates its key (what `crossbar keys rotate`
//! does, called as a library function), and then
//!
//! * the auth process signs with the new key and accepts its tokens;
//! * a process that loaded the keys before the rotation accepts them (the rotation
//!   event brought the key);
//! * a process whose bus lost the rotation event accepts them too (a token with an
//!   unknown `kid` makes it ask the auth service for the keys again);
//! * tokens signed with the old key keep working everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crossbar_e2e::{md5_credentials, TestServer, Via, ADMIN_PASSWORD, MASTER_NAME};
use crossbar_events::subjects::SIGNING_KEY_ROTATED_SUBJECT;
use crossbar_events::{Bus, BusError, Event, EventHandler, InProcessBus, RequestHandler};
use crossbar_gateway::{crossbar_app, Config, Node};
use serde_json::{json, Value};

/// A process's view of the shared bus that loses every rotation event (as a process
/// whose broadcast consumer was down would), and forwards everything else.
struct LosesRotations(Arc<dyn Bus>);

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// `Bus` is an `async_trait`; written out by hand here (this crate does not depend on
// `async-trait`).
impl Bus for LosesRotations {
    fn publish<'s, 'e, 'f>(&'s self, event: &'e Event) -> Boxed<'f, Result<(), BusError>>
    where
        's: 'f,
        'e: 'f,
        Self: 'f,
    {
        self.0.publish(event)
    }

    fn subscribe<'s, 'p, 'f>(
        &'s self,
        subject_prefix: &'p str,
        handler: Arc<dyn EventHandler>,
    ) -> Boxed<'f, ()>
    where
        's: 'f,
        'p: 'f,
        Self: 'f,
    {
        self.0.subscribe(subject_prefix, handler)
    }

    fn subscribe_broadcast<'s, 'p, 'f>(
        &'s self,
        subject_prefix: &'p str,
        handler: Arc<dyn EventHandler>,
    ) -> Boxed<'f, ()>
    where
        's: 'f,
        'p: 'f,
        Self: 'f,
    {
        if subject_prefix == SIGNING_KEY_ROTATED_SUBJECT {
            Box::pin(async {})
        } else {
            self.0.subscribe_broadcast(subject_prefix, handler)
        }
    }

    fn respond<'s, 'p, 'f>(
        &'s self,
        subject: &'p str,
        handler: Arc<dyn RequestHandler>,
    ) -> Boxed<'f, ()>
    where
        's: 'f,
        'p: 'f,
        Self: 'f,
    {
        self.0.respond(subject, handler)
    }

    fn request<'s, 'p, 'f>(
        &'s self,
        subject: &'p str,
        payload: Value,
        timeout: Duration,
    ) -> Boxed<'f, Result<Value, BusError>>
    where
        's: 'f,
        'p: 'f,
        Self: 'f,
    {
        self.0.request(subject, payload, timeout)
    }
}

/// The auth process: `auth` and `accounts` on `bus`, with its `Node` at hand (so the
/// test can rotate its key).
struct AuthProcess {
    api: Via,
    node: Node,
    handle: actix_web::dev::ServerHandle,
    _data: tempfile::TempDir,
}

impl AuthProcess {
    fn start(bus: Arc<dyn Bus>) -> Self {
        let data = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config {
            listen: format!("127.0.0.1:{port}"),
            data_dir: data.path().to_path_buf(),
            ..Config::default()
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let services = ["auth".to_string(), "accounts".to_string()];
                let node = Node::start_with_bus(&config, &services, bus)
                    .await
                    .expect("auth process starts");
                node.accounts
                    .as_ref()
                    .unwrap()
                    .bootstrap_master(
                        MASTER_NAME,
                        Some("master.e2e.test"),
                        "admin",
                        ADMIN_PASSWORD,
                    )
                    .await
                    .expect("bootstrap");
                let app_node = node.clone();
                let server = actix_web::HttpServer::new(move || crossbar_app!(app_node))
                    .workers(2)
                    .listen(listener)
                    .unwrap()
                    .run();
                tx.send((server.handle(), node)).unwrap();
                server.await.unwrap();
            });
        });
        let (handle, node) = rx.recv_timeout(Duration::from_secs(60)).expect("started");
        Self {
            api: Via {
                base: format!("http://127.0.0.1:{port}"),
            },
            node,
            handle,
            _data: data,
        }
    }

    /// Logs the master admin in; the token.
    fn login(&self) -> String {
        let answer = self.api.call(
            "PUT",
            "/v2/user_auth",
            None,
            Some(json!({"data": {"credentials": md5_credentials("admin", ADMIN_PASSWORD), "account_name": MASTER_NAME}})),
        );
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer.body["auth_token"].as_str().unwrap().to_string()
    }

    fn master_id(&self, token: &str) -> String {
        let answer = self.api.call("GET", "/v2/token_auth", Some(token), None);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["data"]["account_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `crossbar keys rotate`, as a library call on this process's auth service.
    fn rotate(&self) -> (String, bool) {
        let auth = self.node.auth.clone().unwrap();
        let rotation = actix_web::rt::System::new()
            .block_on(async move { auth.rotate_signing_key().await })
            .unwrap();
        (rotation.kid, rotation.published)
    }
}

impl Drop for AuthProcess {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
    }
}

/// The `kid` in a JWT's header (base64url, decoded by hand: no base64 crate here).
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in header.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {header}"),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

#[test]
fn a_rotated_key_is_accepted_by_every_process_without_restarts() {
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::new());
    let auth = AuthProcess::start(bus.clone());
    // Both load the keys before the rotation; the second never hears of it.
    let hears = TestServer::start_hosting(Some(&["callflows"]), Some(bus.clone()));
    let deaf = TestServer::start_hosting(
        Some(&["office_hours"]),
        Some(Arc::new(LosesRotations(bus.clone()))),
    );

    let old = auth.login();
    let master = auth.master_id(&old);
    let old_kid = kid_of(&old);
    let callflows = format!("/v2/accounts/{master}/callflows");
    let rules = format!("/v2/accounts/{master}/temporal_rules");
    let status = |server: &TestServer, path: &str, token: &str| {
        server.call("GET", path, Some(token), None).status
    };
    assert_eq!(status(&hears, &callflows, &old), 200);
    assert_eq!(status(&deaf, &rules, &old), 200);

    let (kid, published) = auth.rotate();
    assert!(published);
    assert_ne!(kid, old_kid);

    // (a) the auth process signs with the new key and accepts its tokens
    let new = auth.login();
    assert_eq!(kid_of(&new), kid);
    assert_eq!(
        auth.api
            .call("GET", "/v2/token_auth", Some(&new), None)
            .status,
        200
    );
    let account = auth
        .api
        .call("GET", &format!("/v2/accounts/{master}"), Some(&new), None);
    assert_eq!(account.status, 200, "{:?}", account.body);
    let keys = auth.api.call("GET", "/v2/auth/keys", None, None);
    assert_eq!(keys.status, 200);
    let kids: Vec<&str> = keys.body["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![kid.as_str(), old_kid.as_str()], "newest first");

    // (b) a process that loaded the keys before the rotation: the event brought it
    let answer = hears.call("GET", &callflows, Some(&new), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    // ... and one that lost the event: the unknown kid made it reload
    let answer = deaf.call("GET", &rules, Some(&new), None);
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    // old tokens keep verifying everywhere
    assert_eq!(
        auth.api
            .call("GET", "/v2/token_auth", Some(&old), None)
            .status,
        200
    );
    assert_eq!(status(&hears, &callflows, &old), 200);
    assert_eq!(status(&deaf, &rules, &old), 200);

    // a key nobody has is still refused (after its reload, without another one)
    let forged = format!(
        "{}.{}",
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6Im5vYm9keSJ9",
        new.split_once('.').unwrap().1
    );
    assert_eq!(kid_of(&forged), "nobody");
    assert_eq!(status(&deaf, &rules, &forged), 401);
    assert_eq!(status(&hears, &callflows, &forged), 401);
}
