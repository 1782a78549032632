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
use crate::TraceContext;

/// Route label for requests no route matched (so unknown paths cannot blow up the
/// label set).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Wrap it inside `envelope_middleware` (so the request id exists).
pub async fn telemetry_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let trace = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::from_traceparent)
        .unwrap_or_else(TraceContext::new_root);
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
        request_id = %request_id,
        trace_id = %trace.trace_id,
        span_id = %trace.span_id,
        method = %method,
        route = %route,
    );
    req.extensions_mut().insert(trace);

    let result = next.call(req).instrument(span.clone()).await;
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
