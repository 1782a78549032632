//! A replica that does not answer in time may still be acting on the request: the
//! gateway sends reads and creations (the creation id makes two attempts one document)
//! to another replica, but not updates, which would race their own first attempt —
//! those answer 504.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{test, web, App, HttpRequest, HttpResponse, HttpServer};
use crossbar_gateway::gateway_app;
use crossbar_gateway::proxy::Gateway;

mod common;
use common::settings;

type Seen = Arc<Mutex<HashMap<String, usize>>>;

/// A replica documenting a replayable PUT (a creation) and POST (an update) on one
/// path; it counts requests by method and, when `slow`, answers after 2 s.
fn replica(slow: bool, seen: Seen) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let seen = seen.clone();
        App::new()
            .route(
                "/v2/openapi.json",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({
                        "openapi": "3.1.0",
                        "paths": {"/v2/accounts/{account_id}/things": {
                            "get": {},
                            "put": {"x-crossbar-replayable": true},
                            "post": {"x-crossbar-replayable": true}
                        }}
                    }))
                }),
            )
            .default_service(web::to(move |req: HttpRequest| {
                let seen = seen.clone();
                async move {
                    *seen
                        .lock()
                        .unwrap()
                        .entry(req.method().to_string())
                        .or_default() += 1;
                    if slow {
                        actix_web::rt::time::sleep(Duration::from_secs(2)).await;
                    }
                    HttpResponse::Ok().json(serde_json::json!({"status": "success", "data": {}}))
                }
            }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    url
}

fn count(seen: &Seen, method: &str) -> usize {
    seen.lock().unwrap().get(method).copied().unwrap_or(0)
}

#[actix_web::test]
async fn after_a_timeout_reads_and_creations_go_again_updates_do_not() {
    let (slow_seen, fast_seen) = (Seen::default(), Seen::default());
    let mut settings = settings(BTreeMap::from([(
        "things".to_string(),
        vec![
            replica(true, slow_seen.clone()),
            replica(false, fast_seen.clone()),
        ],
    )]));
    settings.upstream_timeout = Duration::from_millis(300);
    let gateway = Gateway::new(settings);
    let unreachable = gateway.refresh_routes(&awc::Client::default()).await;
    assert!(unreachable.is_empty(), "{unreachable:?}");
    let app = test::init_service(gateway_app!(gateway)).await;
    let path = "/v2/accounts/acct0001/things";

    for method in ["GET", "PUT"] {
        for _ in 0..4 {
            let request = test::TestRequest::default()
                .method(method.parse().unwrap())
                .uri(path)
                .to_request();
            let status = test::call_service(&app, request).await.status();
            assert_eq!(status, 200, "{method}");
        }
        // Half went to the slow replica first, timed out, and went to the fast one.
        assert!(count(&slow_seen, method) >= 1, "{method}");
        assert_eq!(count(&fast_seen, method), 4, "{method}");
    }
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let request = test::TestRequest::post()
            .uri(path)
            .set_json(serde_json::json!({"data": {}}))
            .to_request();
        statuses.push(test::call_service(&app, request).await.status().as_u16());
    }
    let timed_out = statuses.iter().filter(|s| **s == 504).count();
    assert!(timed_out >= 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 504),
        "{statuses:?}"
    );
    // No POST that timed out was sent again.
    assert_eq!(count(&fast_seen, "POST"), 4 - timed_out, "{statuses:?}");
    assert_eq!(count(&slow_seen, "POST"), timed_out, "{statuses:?}");
}
