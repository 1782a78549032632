//! Stand-in replicas and gateway settings the gateway's tests share.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use crossbar_gateway::proxy::{GatewaySettings, DRAINING_HEADER};

/// A stand-in replica on `listener`: its OpenAPI document names `templates` (each
/// with a GET); it answers every other request with its `name`, and with the draining
/// header when `draining`.
pub fn stand_in(
    listener: TcpListener,
    templates: &'static [&'static str],
    name: &'static str,
    draining: bool,
) {
    let server = HttpServer::new(move || {
        App::new()
            .route(
                "/v2/openapi.json",
                web::get().to(move || async move {
                    let paths: serde_json::Map<String, serde_json::Value> = templates
                        .iter()
                        .map(|t| (t.to_string(), serde_json::json!({"get": {}})))
                        .collect();
                    HttpResponse::Ok().json(serde_json::json!({"openapi": "3.1.0", "paths": paths}))
                }),
            )
            .default_service(web::to(move || async move {
                let mut answer = HttpResponse::Ok();
                if draining {
                    answer.insert_header((DRAINING_HEADER, "1"));
                }
                answer.json(serde_json::json!({"status": "success", "data": {"replica": name}}))
            }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
}

/// [`stand_in`] on a free loopback port; its base URL.
pub fn stand_in_url(
    templates: &'static [&'static str],
    name: &'static str,
    draining: bool,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    stand_in(listener, templates, name, draining);
    url
}

/// The gateway's settings for these upstreams (1 MiB bodies, 5 s per attempt).
pub fn settings(upstreams: BTreeMap<String, Vec<String>>) -> GatewaySettings {
    GatewaySettings {
        upstreams,
        body_limit_bytes: 1024 * 1024,
        upstream_timeout: Duration::from_secs(5),
        cors_allowed_origins: vec![],
    }
}
