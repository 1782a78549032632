//! Log set-up: human-readable text, or one JSON object per line (`log_format = "json"`)
//! carrying the fields of the current request span (request id, trace id, route).

/// Installs the global subscriber (`RUST_LOG` overrides the default filter). Safe to
/// call more than once (later calls do nothing).
pub fn init(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Installs a JSON subscriber appending to `path` at `filter` (used by the test
/// harness, so a whole test run's logs can be checked for leaked credentials).
pub fn init_json_file(path: &std::path::Path, filter: &str) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::sync::Mutex::new(file))
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .try_init();
    Ok(())
}
