//! The route label of requests served by a catch-all handler (as the gateway's proxy
//! is): the template the handler names with `set_matched_route`, `unmatched` when it
//! names none, and never the path. (The access log: `matched_route_log.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::middleware::from_fn;
use actix_web::{test, web, App, HttpRequest, HttpResponse};
use crossbar_telemetry::http::{set_matched_route, UNMATCHED_ROUTE};
use crossbar_telemetry::telemetry_middleware;

mod common;
use common::{catch_all, TEMPLATE};

/// An actix route whose pattern wins even if its handler names another template.
async fn known(req: HttpRequest) -> HttpResponse {
    set_matched_route(&req, "/v2/ignored");
    HttpResponse::Ok().finish()
}

fn line_of<'a>(rendered: &'a str, method: &str, route: &str, status: u16) -> Option<&'a str> {
    let wanted =
        format!("http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}");
    rendered.lines().find(|l| l.starts_with(&wanted))
}

#[actix_web::test]
async fn catch_all_requests_carry_the_template_they_matched() {
    crossbar_telemetry::metrics::install().expect("recorder");
    let app = test::init_service(
        App::new()
            .wrap(from_fn(telemetry_middleware))
            .route("/v2/known/{id}", web::get().to(known))
            .default_service(web::to(catch_all)),
    )
    .await;
    for path in [
        "/v2/accounts/acc0123456789/things/thing0123456789",
        "/v2/accounts/acc9876543210/things/thing9876543210",
        "/v2/no/such/path/secret0123",
        "/v2/known/known0123456789",
    ] {
        test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
    }

    let rendered = crossbar_telemetry::metrics::render();
    let templated = line_of(&rendered, "GET", TEMPLATE, 200).expect(&rendered);
    assert!(templated.ends_with(" 2"), "{templated}");
    assert!(line_of(&rendered, "GET", UNMATCHED_ROUTE, 404).is_some());
    assert!(line_of(&rendered, "GET", "/v2/known/{id}", 200).is_some());
    assert!(!rendered.contains("/v2/ignored"));
    assert!(rendered.contains(&format!(
        "http_request_duration_seconds_count{{method=\"GET\",route=\"{TEMPLATE}\"}} 2"
    )));
    for id in ["acc0123", "thing0123", "secret0123", "known0123"] {
        assert!(!rendered.contains(id), "an id became a label: {id}");
    }
}
