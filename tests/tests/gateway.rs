//! `crossbar gateway` in front of service replicas: routing learned from the services'
//! OpenAPI documents, request id and body passed through, a refused replica retried,
//! Kazoo-shaped 404/413/503, CORS for browser clients, the merged OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;

use crossbar_e2e::{
    assert_error, md5_credentials, GatewayServer, TestServer, ADMIN_PASSWORD, MASTER_NAME,
};
use serde_json::json;

/// A URL nobody listens on (connections are refused).
fn dead_replica() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn upstreams(replicas: Vec<String>) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([("all".to_string(), replicas)])
}

#[test]
fn requests_flow_through_the_gateway_and_a_dead_replica_is_skipped() {
    let server = TestServer::start();
    let gateway = GatewayServer::start(
        upstreams(vec![dead_replica(), server.base.clone()]),
        1 << 20,
    );
    let via = server.via(&gateway.base);

    // Log in through the gateway (a PUT: retried only because nothing was sent).
    let mut logins = Vec::new();
    for _ in 0..4 {
        let login = via.call(
            "PUT",
            "/v2/user_auth",
            None,
            Some(json!({"data": {"credentials": md5_credentials("admin", ADMIN_PASSWORD), "account_name": MASTER_NAME}})),
        );
        assert_eq!(login.status, 201, "{:?}", login.body);
        logins.push(login.body["auth_token"].as_str().unwrap().to_string());
    }
    let token = &logins[0];
    for i in 0..6 {
        let request_id = format!("gw-test-{i}");
        let answer = via.call_with(
            "GET",
            &format!("/v2/accounts/{}", server.master_id),
            Some(token),
            None,
            &[("X-Request-ID", &request_id)],
        );
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body["data"]["id"], server.master_id.as_str());
        assert_eq!(answer.body["request_id"], request_id.as_str());
        assert_eq!(answer.header("x-request-id"), Some(request_id.as_str()));
    }
    // Writes and their errors come back exactly as the service answered them.
    let created = via.call(
        "PUT",
        &format!("/v2/accounts/{}/devices", server.master_id),
        Some(token),
        Some(json!({"data": {"name": "Gateway desk"}})),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let invalid = via.call(
        "PUT",
        &format!("/v2/accounts/{}/devices", server.master_id),
        Some(token),
        Some(json!({"data": {"name": 5}})),
    );
    assert_error(&invalid, 400, "validation error");
    let unauthorised = via.call(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        None,
        None,
    );
    assert_error(&unauthorised, 401, "invalid_credentials");

    // Unknown paths: Kazoo's 404, from the gateway itself.
    let unknown = via.call("GET", "/v2/no/such/thing", Some(token), None);
    assert_error(&unknown, 404, "not_found");

    // The merged OpenAPI document describes the services behind it.
    let doc = via.call("GET", "/v2/openapi.json", None, None);
    assert!(doc.body["paths"]["/v2/accounts/{account_id}/devices"].is_object());
}

#[test]
fn limits_cors_and_unavailable_services_answer_in_kazoos_shape() {
    crossbar_e2e::skip_in_cluster!("stops the server it runs against");
    let mut server = TestServer::start();
    let gateway = GatewayServer::start(upstreams(vec![server.base.clone()]), 1024);
    let via = server.via(&gateway.base);
    let token = server.admin_token();

    let big = "x".repeat(4096);
    let too_large = via.call(
        "PUT",
        &format!("/v2/accounts/{}/devices", server.master_id),
        Some(&token),
        Some(json!({"data": {"name": big}})),
    );
    assert_error(&too_large, 413, "file.maxSize");

    // A browser on another origin: the preflight is answered, and answers carry CORS.
    let preflight = via.call_with(
        "OPTIONS",
        &format!("/v2/accounts/{}", server.master_id),
        None,
        None,
        &[
            ("Origin", "https://ui.example.com"),
            ("Access-Control-Request-Method", "PATCH"),
            (
                "Access-Control-Request-Headers",
                "x-auth-token,content-type",
            ),
        ],
    );
    assert!(
        preflight.status == 200 || preflight.status == 204,
        "{preflight:?}"
    );
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let read = via.call_with(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        None,
        &[("Origin", "https://ui.example.com")],
    );
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), Some("*"));

    // The gateway's own endpoints refuse other methods like any path does.
    for path in ["/healthz", "/readyz", "/metrics", "/v2/openapi.json"] {
        let refused = via.call("POST", path, None, None);
        assert_error(&refused, 405, "invalid_method");
    }

    // Every replica gone: 503 in Kazoo's shape, for reads and writes.
    server.stop();
    let down = via.call(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&token),
        None,
    );
    assert_error(&down, 503, "service_unavailable");
    let down_write = via.call(
        "PUT",
        &format!("/v2/accounts/{}/devices", server.master_id),
        Some(&token),
        Some(json!({"data": {"name": "Nope"}})),
    );
    assert_error(&down_write, 503, "service_unavailable");
    let ready = via.call("GET", "/readyz", None, None);
    assert_eq!(ready.status, 503);
}
