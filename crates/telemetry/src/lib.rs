//! What an operator sees of a running process: Prometheus metrics, the per-request
//! span and access log (request id, W3C trace id, route template, status, duration),
//! and log set-up. Shared by every service and the gateway.

pub mod http;
pub mod logging;
pub mod metrics;
pub mod trace;
pub mod trace_context;

pub use http::telemetry_middleware;
pub use trace_context::TraceContext;
