//! Logs: human-readable text by default, one JSON object per line with
//! `HERALD_LOG_FORMAT=json`. `RUST_LOG` refines the levels.

use tracing_subscriber::EnvFilter;

pub fn init(format: &str, serving: bool) {
    // One-shot commands print their results on stdout; only warnings and
    // errors are logged unless asked otherwise.
    let default = if serving { "info,sqlx=warn,sea_orm=warn" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init();
    } else {
        builder.init();
    }
}
