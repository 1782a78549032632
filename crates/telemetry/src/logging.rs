//! Log and trace set-up: human-readable text or one JSON object per line
//! (`log_format = "json"`) carrying the fields of the current request span (request
//! id, trace id, route), plus OpenTelemetry export of spans when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The default filter: our info, dependencies' warnings.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,actix_server=warn";

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber for a server process (`RUST_LOG` overrides the
/// default filter; spans exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set). Safe to call more than once (later calls do nothing).
pub fn init(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    install(
        BoxMakeWriter::new(std::io::stderr),
        format == "json",
        filter,
        provider_from_env("crossbar"),
    );
}

/// Installs a JSON subscriber appending to `path` at `filter` (used by the test
/// harness, so a whole test run's logs can be checked for leaked credentials), with
/// spans sent to `provider` when one is given.
pub fn init_json_file(
    path: Option<&Path>,
    filter: &str,
    provider: Option<SdkTracerProvider>,
) -> std::io::Result<()> {
    let writer = match path {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            BoxMakeWriter::new(Mutex::new(file))
        }
        None => BoxMakeWriter::new(std::io::sink),
    };
    install(writer, true, EnvFilter::new(filter), provider);
    Ok(())
}

/// Flushes and stops span export (call before the process exits).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(error) = provider.shutdown() {
            eprintln!("crossbar: flushing traces failed: {error}");
        }
    }
}

fn provider_from_env(service: &str) -> Option<SdkTracerProvider> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|endpoint| !endpoint.trim().is_empty())?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("crossbar: OTLP exporter not started: {error}");
            return None;
        }
    };
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(service.to_string())
                    .build(),
            )
            .build(),
    )
}

fn install(
    writer: BoxMakeWriter,
    json: bool,
    filter: EnvFilter,
    provider: Option<SdkTracerProvider>,
) {
    let format: Box<dyn Layer<Registry> + Send + Sync> = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_writer(writer).boxed()
    };
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("crossbar")));
    let installed = tracing_subscriber::registry()
        .with(format)
        .with(otel)
        .with(filter)
        .try_init()
        .is_ok();
    if installed {
        if let Some(provider) = provider {
            crate::trace::set_enabled();
            let _ = PROVIDER.set(provider);
        }
    }
}
