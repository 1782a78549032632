//! The process-wide Prometheus recorder and the names of the series we publish.
//!
//! Labels never carry account, user or other document ids: routes are templates
//! (`/v2/accounts/{account_id}/users/{id}`), subjects are `crossbar.<service>.<resource>.<action>`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// `http_requests_total{method, route, status}`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// `http_request_duration_seconds{method, route}` (histogram).
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// `db_pool_connections{service, state}` (gauge: `in_use`, `idle`).
pub const DB_POOL: &str = "db_pool_connections";
/// `bus_events_published_total{subject}`.
pub const BUS_PUBLISHED: &str = "bus_events_published_total";
/// `bus_events_consumed_total{subject, outcome}` (`ok`, `error`).
pub const BUS_CONSUMED: &str = "bus_events_consumed_total";
/// `bus_requests_total{subject, outcome}` (`ok`, `error`, `no_responder`, `timeout`).
pub const BUS_REQUESTS: &str = "bus_requests_total";
/// `outbox_backlog{service}` (gauge: events written but not yet published).
pub const OUTBOX_BACKLOG: &str = "outbox_backlog";
/// `bus_consumer_lag{consumer}` (gauge: events delivered to the bus but not yet handled).
pub const CONSUMER_LAG: &str = "bus_consumer_lag";
/// `auth_login_failures_total{method}`.
pub const LOGIN_FAILURES: &str = "auth_login_failures_total";
/// `auth_login_throttled_total`.
pub const LOGIN_THROTTLED: &str = "auth_login_throttled_total";

/// Latency buckets (seconds): 0.5 ms .. 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the global recorder (once per process; later calls reuse it). `None` if
/// another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_string()), &LATENCY_BUCKETS)
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// The Prometheus text exposition of every series so far.
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route template"
    );
    describe_gauge!(DB_POOL, "Database pool connections by service and state");
    describe_counter!(BUS_PUBLISHED, "Events published on the bus");
    describe_counter!(BUS_CONSUMED, "Events handled by consumers, by outcome");
    describe_counter!(BUS_REQUESTS, "Request-reply questions asked, by outcome");
    describe_gauge!(
        OUTBOX_BACKLOG,
        "Events written to a service's outbox, not yet published"
    );
    describe_gauge!(
        CONSUMER_LAG,
        "Events published but not yet handled, by consumer"
    );
    describe_counter!(LOGIN_FAILURES, "Failed logins by method");
    describe_counter!(LOGIN_THROTTLED, "Logins refused by the throttle");
}
