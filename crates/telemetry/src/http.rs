//! The per-request middleware: trace context, a span carrying the request id and
//! trace id (so every log line of the request has them), the access log line, and
//! the request metrics.
//!
//! Only the route *template* is logged and used as a label, never the path or the
//! query string: paths carry ids and even tokens (`/v2/user_auth/{token}`), query
//! strings may carry `auth_token`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use crossbar_envelope::RequestId;
use tracing::Instrument;

use crate::metrics::{HTTP_DURATION, HTTP_REQUESTS};

/// Route label for requests no route matched (so unknown paths cannot blow up the
/// label set).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Wrap it inside `envelope_middleware` (so the request id exists).
pub async fn telemetry_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let method = req.method().as_str().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        method = %method,
        route = %route,
    );
    let trace = crate::trace::attach(&span, traceparent.as_deref());
    req.extensions_mut().insert(trace.clone());

    let result = crate::trace::scope(trace, next.call(req).instrument(span.clone())).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    ::metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed);
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = (elapsed * 1000.0 * 1000.0).round() / 1000.0,
            "request"
        )
    });
    result
}
