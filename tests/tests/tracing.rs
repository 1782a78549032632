//! One trace per request, across the HTTP span and the consumers of the events the
//! request caused, exported through OpenTelemetry (the SDK's in-memory exporter).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbar_e2e::TestServer;
use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn spans_of(exporter: &InMemorySpanExporter, trace: TraceId) -> Vec<SpanData> {
    exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect()
}

#[test]
fn a_request_and_the_consumers_of_its_events_share_one_trace() {
    crossbar_e2e::skip_in_cluster!("collects spans with an in-process exporter");
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    crossbar_e2e::install_test_tracing(provider.clone());
    let server = TestServer::start();
    let sd = server.admin_token();

    // The caller's trace is continued: the account update is published as an event,
    // which the office-hours time-zone projection consumes.
    let answer = server.call_with(
        "PATCH",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {"timezone": "Europe/London"}})),
        &[(
            "traceparent",
            &format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"),
        )],
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    provider.force_flush().unwrap();

    let trace = TraceId::from_hex(CALLER_TRACE).unwrap();
    let spans = spans_of(&exporter, trace);
    let request = spans
        .iter()
        .find(|s| s.name == "PATCH /v2/accounts/{account_id}")
        .unwrap_or_else(|| {
            panic!(
                "no request span in {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(request.span_kind, SpanKind::Server);
    assert_eq!(
        request.parent_span_id,
        SpanId::from_hex(CALLER_SPAN).unwrap()
    );
    let consumers: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "consume crossbar.accounts.account.updated")
        .collect();
    assert!(
        !consumers.is_empty(),
        "no consumer span in the caller's trace"
    );
    for consumer in &consumers {
        assert_eq!(consumer.span_kind, SpanKind::Consumer);
        assert_eq!(
            consumer.parent_span_id,
            request.span_context.span_id(),
            "the consumer hangs under the request that caused the event"
        );
    }

    // Without a caller trace, a new one is started and still spans the consumers.
    let before: std::collections::HashSet<TraceId> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.span_context.trace_id())
        .collect();
    let created = server.call(
        "PUT",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {"name": "Traced Sub"}})),
    );
    assert_eq!(created.status, 201);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let request = spans
        .iter()
        .find(|s| {
            s.name == "PUT /v2/accounts/{account_id}"
                && !before.contains(&s.span_context.trace_id())
        })
        .expect("request span of the account creation");
    let trace = request.span_context.trace_id();
    assert!(spans.iter().any(|s| s.span_context.trace_id() == trace
        && s.name == "consume crossbar.accounts.account.created"
        && s.parent_span_id == request.span_context.span_id()));

    // Through the gateway: caller → gateway span → service span → consumer span, all in
    // the caller's trace.
    let gateway = crossbar_e2e::GatewayServer::start(
        std::collections::BTreeMap::from([("all".to_string(), vec![server.base.clone()])]),
        1 << 20,
    );
    const GATEWAY_TRACE: &str = "5cf92f3577b34da6a3ce929d0e0e4747";
    let answer = server.via(&gateway.base).call_with(
        "PATCH",
        &format!("/v2/accounts/{}", server.master_id),
        Some(&sd),
        Some(json!({"data": {"timezone": "Europe/Paris"}})),
        &[(
            "traceparent",
            &format!("00-{GATEWAY_TRACE}-{CALLER_SPAN}-01"),
        )],
    );
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    provider.force_flush().unwrap();
    let spans = spans_of(&exporter, TraceId::from_hex(GATEWAY_TRACE).unwrap());
    let caller = SpanId::from_hex(CALLER_SPAN).unwrap();
    let at_gateway = spans
        .iter()
        .find(|s| s.parent_span_id == caller && s.span_kind == SpanKind::Server)
        .expect("the gateway's span continues the caller's trace");
    let at_service = spans
        .iter()
        .find(|s| s.name == "PATCH /v2/accounts/{account_id}")
        .expect("the service's span is in the same trace");
    assert_eq!(at_service.parent_span_id, at_gateway.span_context.span_id());
    assert!(spans
        .iter()
        .any(|s| s.name == "consume crossbar.accounts.account.updated"
            && s.parent_span_id == at_service.span_context.span_id()));
}
