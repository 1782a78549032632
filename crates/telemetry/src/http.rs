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
use actix_web::{HttpMessage, HttpRequest};
use crossbar_envelope::RequestId;
use tracing::{Instrument, Span};

use crate::metrics::{HTTP_DURATION, HTTP_REQUESTS};

/// Route label for requests no route matched (so unknown paths cannot blow up the
/// label set).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route template a catch-all handler matched by itself (the gateway's proxy
/// matches `/v2` paths against the templates of the services' OpenAPI documents),
/// set with [`set_matched_route`]. Only used when actix matched no route pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedRoute(pub String);

/// The request's span, so a handler can name the route it matched (see
/// [`set_matched_route`]).
#[derive(Clone)]
struct RequestSpan(Span);

/// Names the route template a catch-all handler matched: the request's span, access
/// log line and metrics then carry `template` instead of [`UNMATCHED_ROUTE`].
/// `template` must come from a fixed set of templates (`/v2/accounts/{account_id}`),
/// never be a request path: labels must not carry ids. Does nothing for requests
/// that matched an actix route pattern (that pattern is their route).
pub fn set_matched_route(req: &HttpRequest, template: &str) {
    if req.match_pattern().is_some() {
        return;
    }
    let span = req.extensions().get::<RequestSpan>().cloned();
    req.extensions_mut()
        .insert(MatchedRoute(template.to_string()));
    if let Some(RequestSpan(span)) = span {
        record_route(&span, req.method().as_str(), template);
    }
}

fn record_route(span: &Span, method: &str, route: &str) {
    span.record("route", tracing::field::display(route));
    span.record(
        "otel.name",
        tracing::field::display(format_args!("{method} {route}")),
    );
}

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
    // Recorded rather than set here: a catch-all handler names its route later
    // (`set_matched_route`), and each field is recorded exactly once.
    let pattern = req.match_pattern();
    let span = tracing::info_span!(
        "request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        method = %method,
        route = tracing::field::Empty,
    );
    if let Some(pattern) = &pattern {
        record_route(&span, &method, pattern);
    } else {
        req.extensions_mut().insert(RequestSpan(span.clone()));
    }
    let trace = crate::trace::attach(&span, traceparent.as_deref());
    req.extensions_mut().insert(trace.clone());

    let result = crate::trace::scope(trace, next.call(req).instrument(span.clone())).await;
    let route = match pattern {
        Some(pattern) => pattern,
        None => {
            let matched = result.as_ref().ok().and_then(|response| {
                let mut extensions = response.request().extensions_mut();
                // The span ends with this middleware, not with the request object.
                extensions.remove::<RequestSpan>();
                extensions.get::<MatchedRoute>().map(|m| m.0.clone())
            });
            matched.unwrap_or_else(|| {
                record_route(&span, &method, UNMATCHED_ROUTE);
                UNMATCHED_ROUTE.to_string()
            })
        }
    };
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
