//! A replica that answers with the draining header (it got SIGTERM, see `shutdown.rs`)
//! gets no new request from the gateway while another replica can serve, and clients
//! never see the header.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use actix_web::test;
use crossbar_gateway::gateway_app;
use crossbar_gateway::proxy::{Gateway, DRAINING_HEADER};

mod common;
use common::{settings, stand_in_url};

const ACCOUNT: &[&str] = &["/v2/accounts/{account_id}"];

#[actix_web::test]
async fn a_draining_replica_is_passed_over_and_the_header_stays_inside() {
    let gateway = Gateway::new(settings(BTreeMap::from([(
        "accounts".to_string(),
        vec![
            stand_in_url(ACCOUNT, "draining", true),
            stand_in_url(ACCOUNT, "serving", false),
        ],
    )])));
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
