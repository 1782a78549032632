//! The gateway's request metrics name the route template the proxy matched (learned
//! from the services' OpenAPI documents), not `unmatched`, and never the path's ids.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use actix_web::test;
use crossbar_gateway::gateway_app;
use crossbar_gateway::proxy::Gateway;

mod common;
use common::{settings, stand_in_url};

const DEVICE: &str = "/v2/accounts/{account_id}/devices/{device_id}";

fn counter<'a>(rendered: &'a str, route: &str, status: u16) -> Option<&'a str> {
    let wanted =
        format!("http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}}");
    rendered.lines().find(|l| l.starts_with(&wanted))
}

#[actix_web::test]
async fn forwarded_requests_are_labelled_with_the_matched_template() {
    crossbar_telemetry::metrics::install().expect("recorder");
    let base = stand_in_url(&[DEVICE, "/v2/openapi.json"], "only", false);
    let gateway = Gateway::new(settings(BTreeMap::from([(
        "accounts".to_string(),
        vec![base],
    )])));
    let unreachable = gateway.refresh_routes(&awc::Client::default()).await;
    assert!(unreachable.is_empty(), "{unreachable:?}");
    let app = test::init_service(gateway_app!(gateway)).await;

    for (path, status) in [
        ("/v2/accounts/acct00112233/devices/dev00112233", 200),
        ("/v2/accounts/acct44556677/devices/dev44556677", 200),
        ("/v2/nowhere/acct8899", 404),
    ] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    let metrics =
        test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let rendered = String::from_utf8(test::read_body(metrics).await.to_vec()).unwrap();

    let forwarded = counter(&rendered, DEVICE, 200).expect(&rendered);
    assert!(forwarded.ends_with(" 2"), "{forwarded}");
    assert!(counter(&rendered, "unmatched", 404).is_some(), "{rendered}");
    assert!(counter(&rendered, "unmatched", 200).is_none(), "{rendered}");
    for id in ["acct0011", "dev0011", "acct4455", "acct8899"] {
        assert!(!rendered.contains(id), "an id became a label: {id}");
    }
}
