//! `/metrics` in the Prometheus text format, optionally behind a bearer
//! token. Counters and histograms are recorded where things happen (HTTP
//! middleware, engine); gauges that describe state are read at scrape time.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets in seconds: from a fast API read to a slow platform call.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Installs the process-wide recorder once; later calls reuse it.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    metrics::gauge!("herald_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// Who may scrape: with `HERALD_METRICS_TOKEN`, whoever sends it; without
/// one, anyone — but only when Herald listens on loopback, where only this
/// machine reaches it (DESIGN §4).
fn scrape_refusal(token: Option<&str>, loopback: bool, headers: &HeaderMap) -> Option<&'static str> {
    match token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(herald_core::api_key::bearer_token)
                .unwrap_or_default();
            let matches = herald_core::secret::constant_time_eq(given.as_bytes(), token.as_bytes());
            (!matches).then_some("send the metrics token as `Authorization: Bearer <HERALD_METRICS_TOKEN>`")
        }
        None if loopback => None,
        None => Some(
            "metrics are not public: set HERALD_METRICS_TOKEN and send it as a bearer token, or listen on a loopback address",
        ),
    }
}

pub(crate) async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = state.config.metrics_token.as_deref();
    if let Some(hint) = scrape_refusal(token, state.config.listens_on_loopback, &headers) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", hint).into_response();
    }
    let Some(handle) = install() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "INTERNAL", "metrics are not available in this process")
            .into_response();
    };
    let pool = state.app.database_pool();
    metrics::gauge!("herald_db_pool_connections").set(f64::from(pool.open));
    metrics::gauge!("herald_db_pool_idle_connections").set(pool.idle as f64);
    let health = state.app.health().await;
    if let Some(scheduler) = &health.scheduler {
        metrics::gauge!("herald_targets_due").set(scheduler.due as f64);
        metrics::gauge!("herald_queue_lag_seconds").set(scheduler.late_seconds as f64);
    }
    metrics::gauge!("herald_database_up").set(if health.is_ok() { 1.0 } else { 0.0 });
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scraping_needs_the_token_or_a_loopback_bind() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert!(scrape_refusal(Some("s3cret"), false, &with("Bearer s3cret")).is_none());
        assert!(scrape_refusal(Some("s3cret"), true, &with("Bearer s3cres")).is_some());
        assert!(scrape_refusal(Some("s3cret"), true, &HeaderMap::new()).is_some());
        assert!(scrape_refusal(None, true, &HeaderMap::new()).is_none());
        assert!(scrape_refusal(None, false, &HeaderMap::new()).unwrap().contains("HERALD_METRICS_TOKEN"));
    }
}
