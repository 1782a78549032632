//! What an operator sees: `/metrics` after traffic (request, pool, bus, outbox, login
//! series; no ids in labels), `/readyz` per dependency, trace context handling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{create_account, create_device, try_login};
use crossbar_e2e::TestServer;
use serde_json::json;

fn scrape(server: &TestServer) -> String {
    let answer = server.call("GET", "/metrics", None, None);
    assert_eq!(answer.status, 200);
    assert!(answer
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    answer.body.as_str().unwrap().to_string()
}

/// The value of the first series line that starts with `prefix` and contains every
/// one of `labels`.
fn series(text: &str, prefix: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_cover_requests_pools_bus_outbox_and_logins_without_ids() {
    crossbar_e2e::skip_in_cluster!("reads one process's /metrics (the gateway has its own)");
    let server = TestServer::start();
    let sd = server.admin_token();
    let account = create_account(&server, &sd, &server.master_id, "Metered Co");
    let device = create_device(&server, &sd, &account, json!({"name": "Desk"}));
    let read = server.call(
        "GET",
        &format!("/v2/accounts/{account}/devices/{device}"),
        Some(&sd),
        None,
    );
    assert_eq!(read.status, 200);
    let missing = server.call("GET", "/v2/no/such/path", Some(&sd), None);
    assert_eq!(missing.status, 404);
    // Six wrong passwords for one selector: failures, then the throttle.
    for _ in 0..6 {
        let failed = try_login(&server, "Metered Co", "nobody", "wrong-password");
        assert!(
            failed.status == 401 || failed.status == 429,
            "{:?}",
            failed.body
        );
    }

    let text = scrape(&server);
    let device_route = r#"route="/v2/accounts/{account_id}/devices/{id}""#;
    assert!(
        series(
            &text,
            "http_requests_total{",
            &[r#"method="GET""#, device_route, r#"status="200""#]
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
    assert!(
        series(
            &text,
            "http_requests_total{",
            &[r#"route="unmatched""#, r#"status="404""#]
        )
        .unwrap()
            >= 1.0
    );
    assert!(
        series(
            &text,
            "http_request_duration_seconds_bucket{",
            &[device_route, r#"le="+Inf""#]
        )
        .unwrap()
            >= 1.0
    );
    assert!(series(
        &text,
        "http_request_duration_seconds_count{",
        &[device_route]
    )
    .is_some());
    assert!(series(
        &text,
        "db_pool_connections{",
        &[r#"service="accounts""#, r#"state="idle""#]
    )
    .is_some());
    assert!(series(
        &text,
        "db_pool_connections{",
        &[r#"service="office_hours""#, r#"state="in_use""#]
    )
    .is_some());
    assert!(
        series(
            &text,
            "bus_events_published_total{",
            &[r#"subject="crossbar.accounts.device.created""#]
        )
        .unwrap()
            >= 1.0
    );
    assert!(series(&text, "bus_events_consumed_total{", &[r#"outcome="ok""#]).unwrap() >= 1.0);
    assert_eq!(
        series(&text, "outbox_backlog{", &[r#"service="accounts""#]),
        Some(0.0)
    );
    assert!(series(&text, "bus_consumer_lag{", &[]).is_some());
    assert!(
        series(
            &text,
            "auth_login_failures_total{",
            &[r#"method="user_auth""#]
        )
        .unwrap()
            >= 5.0
    );
    assert!(series(&text, "auth_login_throttled_total", &[]).unwrap() >= 1.0);

    // No account, device or user ids, and no tokens, in any label.
    for secret in [&account, &device, &server.master_id, &sd] {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} leaked into /metrics"
        );
    }
}

#[test]
fn readiness_reports_every_database_and_the_bus() {
    crossbar_e2e::skip_in_cluster!("reads one process's /readyz (the gateway reports replicas)");
    let server = TestServer::start();
    let ready = server.call("GET", "/readyz", None, None);
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    for service in ["accounts", "auth", "office_hours", "numbers", "callflows"] {
        assert_eq!(
            ready.body["checks"][format!("database.{service}")],
            "ok",
            "{:?}",
            ready.body
        );
    }
    assert!(ready.body["checks"]["bus"]
        .as_str()
        .unwrap()
        .starts_with("ok"));
    let alive = server.call("GET", "/healthz", None, None);
    assert_eq!(alive.status, 200);
}

#[test]
fn a_callers_request_id_is_kept_and_bad_trace_context_is_ignored() {
    let server = TestServer::start();
    let sd = server.admin_token();
    let answer = server.call_with(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        None,
        &[
            ("X-Request-ID", "req-1234"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ],
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["request_id"], "req-1234");
    let garbage = server.call_with(
        "GET",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        None,
        &[("traceparent", "not-a-trace")],
    );
    assert_eq!(garbage.status, 200);
}
