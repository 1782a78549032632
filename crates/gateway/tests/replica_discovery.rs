//! The gateway balances requests over every address an upstream's name resolves to
//! (a Kubernetes headless Service: one address per ready pod), and stops sending to an
//! address that leaves the resolution. Two real upstreams on 127.0.0.1:P and
//! 127.0.0.2:P (both loopback on Linux) stand for two pods behind one name; a fake
//! resolver plays DNS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};

use actix_web::test;
use crossbar_gateway::discovery::Resolve;
use crossbar_gateway::gateway_app;
use crossbar_gateway::proxy::Gateway;

mod common;
use common::{settings, stand_in};

const NAME: &str = "crossbar-accounts-pods";

/// DNS as the test sets it: `NAME` → the addresses in the mutex (`None`: a failure).
#[derive(Default)]
struct FakeDns(Mutex<Option<Vec<IpAddr>>>);

impl FakeDns {
    fn answer(&self, addresses: Option<&[&str]>) {
        *self.0.lock().unwrap() =
            addresses.map(|a| a.iter().map(|ip| ip.parse().unwrap()).collect());
    }
}

#[async_trait::async_trait]
impl Resolve for FakeDns {
    async fn lookup(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        match &*self.0.lock().unwrap() {
            Some(addresses) if host == NAME => Ok(addresses.clone()),
            _ => Err(std::io::Error::other(
                "failed to lookup address information",
            )),
        }
    }
}

/// A stand-in replica on `listener`: documents one route, answers with its own name.
fn replica(listener: TcpListener, name: &'static str) {
    stand_in(listener, &["/v2/accounts/{account_id}"], name, false);
}

/// Two listeners on the same port, one on 127.0.0.1 and one on 127.0.0.2.
fn two_loopback_listeners() -> (TcpListener, TcpListener, u16) {
    for _ in 0..20 {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if let Ok(second) = TcpListener::bind(("127.0.0.2", port)) {
            return (first, second, port);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

#[actix_web::test]
async fn requests_are_spread_over_every_resolved_address() {
    let (a, b, port) = two_loopback_listeners();
    replica(a, "a");
    replica(b, "b");
    let dns = Arc::new(FakeDns::default());
    dns.answer(Some(&["127.0.0.1", "127.0.0.2"]));
    let gateway = Gateway::with_resolver(
        settings(BTreeMap::from([(
            "accounts".to_string(),
            vec![format!("http://{NAME}:{port}")],
        )])),
        dns.clone(),
    );
    // Before the first resolution: the URL as configured.
    assert_eq!(
        *gateway.replicas("accounts"),
        [format!("http://{NAME}:{port}")]
    );
    gateway.refresh_replicas().await;
    assert_eq!(
        *gateway.replicas("accounts"),
        [
            format!("http://127.0.0.1:{port}"),
            format!("http://127.0.0.2:{port}")
        ]
    );
    // The routes are learned through the resolved replicas (the name itself does not
    // resolve outside the fake).
    let unreachable = gateway.refresh_routes(&awc::Client::default()).await;
    assert!(unreachable.is_empty(), "{unreachable:?}");
    let app = test::init_service(gateway_app!(gateway)).await;

    let served = async |n: usize| {
        let mut by_replica: HashMap<String, usize> = HashMap::new();
        for i in 0..n {
            let request = test::TestRequest::get()
                .uri(&format!("/v2/accounts/acct{i:04}"))
                .to_request();
            let body: serde_json::Value = test::call_and_read_body_json(&app, request).await;
            let replica = body["data"]["replica"]
                .as_str()
                .expect("a replica answered");
            *by_replica.entry(replica.to_string()).or_default() += 1;
        }
        by_replica
    };

    // Per request, not per connection: both replicas, evenly.
    let by_replica = served(10).await;
    assert_eq!(by_replica.get("a"), Some(&5), "{by_replica:?}");
    assert_eq!(by_replica.get("b"), Some(&5), "{by_replica:?}");

    // 127.0.0.2 leaves the resolution (its pod is draining or gone): it gets nothing more,
    // although it still answers.
    dns.answer(Some(&["127.0.0.1"]));
    gateway.refresh_replicas().await;
    let by_replica = served(6).await;
    assert_eq!(by_replica.get("a"), Some(&6), "{by_replica:?}");
    assert_eq!(by_replica.get("b"), None, "{by_replica:?}");

    // DNS fails, then answers nothing: the last known set is kept.
    for answer in [None, Some(&[][..])] {
        dns.answer(answer);
        gateway.refresh_replicas().await;
        assert_eq!(
            *gateway.replicas("accounts"),
            [format!("http://127.0.0.1:{port}")]
        );
    }
    assert_eq!(served(2).await.get("a"), Some(&2));

    // It comes back: both again.
    dns.answer(Some(&["127.0.0.2", "127.0.0.1"]));
    gateway.refresh_replicas().await;
    let by_replica = served(4).await;
    assert_eq!(by_replica.get("a"), Some(&2), "{by_replica:?}");
    assert_eq!(by_replica.get("b"), Some(&2), "{by_replica:?}");
}
