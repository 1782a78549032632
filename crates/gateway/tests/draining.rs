//! A replica that answers with the draining header (it got SIGTERM, see `shutdown.rs`)
//! gets no new request from the gateway while another replica can serve, and clients
//! never see the header.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::time::Duration;

use actix_web::{test, web, App, HttpResponse, HttpServer};
use crossbar_gateway::gateway_app;
use crossbar_gateway::proxy::{Gateway, GatewaySettings, DRAINING_HEADER};

/// A stand-in replica: documents one route, answers with its name (and, when
/// `draining`, the draining header).
fn replica(name: &'static str, draining: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .route(
                "/v2/openapi.json",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({
                        "openapi": "3.1.0",
                        "paths": {"/v2/accounts/{account_id}": {"get": {}}}
                    }))
                }),
            )
            .default_service(web::to(move || async move {
                let mut answer = HttpResponse::Ok();
                if draining {
                    answer.insert_header((DRAINING_HEADER, "1"));
                }
                answer.json(serde_json::json!({"data": {"replica": name}}))
            }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    url
}

#[actix_web::test]
async fn a_draining_replica_is_passed_over_and_the_header_stays_inside() {
    let gateway = Gateway::new(GatewaySettings {
        upstreams: BTreeMap::from([(
            "accounts".to_string(),
            vec![replica("draining", true), replica("serving", false)],
        )]),
        body_limit_bytes: 1024 * 1024,
        upstream_timeout: Duration::from_secs(5),
        cors_allowed_origins: vec![],
    });
    let unreachable = gateway.refresh_routes(&awc::Client::default()).await;
    assert!(unreachable.is_empty(), "{unreachable:?}");
    let app = test::init_service(gateway_app!(gateway)).await;

    let mut by_replica: HashMap<String, usize> = HashMap::new();
    for i in 0..10 {
        let request = test::TestRequest::get()
            .uri(&format!("/v2/accounts/acct{i:04}"))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key(DRAINING_HEADER));
        let body: serde_json::Value = test::read_body_json(response).await;
        let replica = body["data"]["replica"].as_str().unwrap().to_string();
        *by_replica.entry(replica).or_default() += 1;
    }
    // Round-robin would give each 5; the draining one answers at most the request that
    // told the gateway it is draining.
    assert!(
        by_replica.get("draining").copied().unwrap_or(0) <= 1,
        "{by_replica:?}"
    );
    assert!(
        by_replica.get("serving").copied().unwrap_or(0) >= 9,
        "{by_replica:?}"
    );
}
