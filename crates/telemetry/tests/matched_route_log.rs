//! The access log of requests served by a catch-all handler (as the gateway's proxy
//! is): the template the handler names with `set_matched_route`, `unmatched` when it
//! names none, and never the path.
//!
//! Its own test binary: tracing caches each callsite's interest process-wide, so a test
//! running at the same time without a subscriber could switch the request span off here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::middleware::from_fn;
use actix_web::{test, web, App};
use crossbar_telemetry::telemetry_middleware;

mod common;
use common::{catch_all, TEMPLATE};

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn the_access_log_names_the_matched_template_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = test::init_service(
        App::new()
            .wrap(from_fn(telemetry_middleware))
            .default_service(web::to(catch_all)),
    )
    .await;
    for path in ["/v2/accounts/a1/things/t1", "/v2/elsewhere/x1"] {
        test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("status=")).collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert_eq!(lines[0].matches("route=").count(), 1, "{}", lines[0]);
    assert!(
        lines[0].contains(&format!("route={TEMPLATE}")),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(&format!("otel.name=GET {TEMPLATE}")),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1].matches("route=").count(), 1, "{}", lines[1]);
    assert!(lines[1].contains("route=unmatched"), "{}", lines[1]);
    assert!(!logs.contains("a1/") && !logs.contains("x1"), "{logs}");
}
