//! Distributed tracing: one trace per request, from the HTTP span through the events
//! it causes to their consumers.
//!
//! * Without OpenTelemetry, trace ids still exist: taken from an incoming `traceparent`
//!   or made up, logged with every line of the request, and carried by events.
//! * With `OTEL_EXPORTER_OTLP_ENDPOINT` set (or a provider given by a test), spans are
//!   exported over OTLP; the ids in logs and events are then the exported ones.
//!
//! The trace context of the request being served is kept in a task-local, so code that
//! creates events (far from HTTP) can stamp them with [`current_traceparent`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::TraceContext;

static OTEL_ENABLED: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// Marks spans as exported (set once the OpenTelemetry layer is installed).
pub(crate) fn set_enabled() {
    OTEL_ENABLED.store(true, Ordering::SeqCst);
}

/// Whether spans are exported through OpenTelemetry in this process.
pub fn enabled() -> bool {
    OTEL_ENABLED.load(Ordering::SeqCst)
}

/// The `traceparent` of the request (or consumed event) being handled, if any.
pub fn current_traceparent() -> Option<String> {
    CURRENT.try_with(TraceContext::traceparent).ok()
}

/// The trace context being handled, if any.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `future` with `context` as the current trace context.
pub async fn scope<F: std::future::Future>(context: TraceContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

struct Carrier<'a>(HashMap<&'a str, &'a str>);

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).copied()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().copied().collect()
    }
}

/// Attaches `span` to the trace named by `traceparent` (or starts a new one) and
/// returns the trace context the span now stands for.
pub fn attach(span: &Span, traceparent: Option<&str>) -> TraceContext {
    let incoming = traceparent.and_then(TraceContext::from_traceparent);
    let context = if enabled() {
        if let Some(value) = traceparent.filter(|_| incoming.is_some()) {
            let carrier = Carrier(HashMap::from([("traceparent", value)]));
            let parent = TraceContextPropagator::new().extract(&carrier);
            // Fails only when the span is disabled; then nothing is exported anyway.
            let _ = span.set_parent(parent);
        }
        let exported = span.context();
        let span_context = exported.span().span_context().clone();
        if span_context.is_valid() {
            TraceContext {
                trace_id: span_context.trace_id().to_string(),
                span_id: span_context.span_id().to_string(),
                parent_span_id: incoming.as_ref().map(|c| c.span_id_of_caller()),
                sampled: span_context.is_sampled(),
            }
        } else {
            incoming.unwrap_or_else(TraceContext::new_root)
        }
    } else {
        incoming.unwrap_or_else(TraceContext::new_root)
    };
    span.record("trace_id", context.trace_id.as_str());
    span.record("span_id", context.span_id.as_str());
    context
}

/// The span of one consumer handling one event, in the trace of the request that
/// caused the event.
pub fn consumer_span(subject: &str, traceparent: Option<&str>) -> (Span, TraceContext) {
    let span = tracing::info_span!(
        "consume",
        otel.name = %format!("consume {subject}"),
        otel.kind = "consumer",
        subject = %subject,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let context = attach(&span, traceparent);
    (span, context)
}
