//! The HTTP face of Herald: the REST API under `/api`, its OpenAPI
//! document and docs page. Handlers parse, call `herald-app`, and render.

pub mod client_ip;
mod cross_site;
pub mod error;
pub mod extract;
pub mod metrics;
mod middleware;
mod openapi;
mod rate_limit;
mod routes;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use state::{AppState, WebConfig};

use crate::error::{ApiError, code_for_status};
use crate::rate_limit::{Budgets, RateLimits};

/// The OpenAPI document of every API route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    finish(api_router().into_openapi())
}

fn finish(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    openapi::CommonErrors.modify(&mut spec);
    spec
}

fn api_router() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(routes::health::routes())
        .merge(routes::auth::routes())
        .merge(routes::api_keys::routes())
        .merge(routes::connected_apps::routes())
        .merge(routes::integrations::routes())
        .merge(routes::connections::routes())
        .merge(routes::posts::routes())
        .merge(routes::events::routes())
        .merge(routes::analytics::routes())
        .merge(routes::media::routes())
        .merge(routes::platforms::routes())
        .merge(routes::teams::routes())
        .merge(routes::activity::routes())
        .merge(routes::webhooks::routes())
        .merge(routes::feeds::routes())
        .merge(routes::transfer::routes())
        .merge(routes::ai::routes())
        .merge(routes::queue::routes())
        .merge(routes::agency::routes());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api", api)
        .nest("/public/v1", routes::postiz::routes())
}

/// The whole HTTP application. `extra` holds routes of other entry points
/// (the MCP server) that share the middleware stack.
pub fn router(state: AppState, extra: Router) -> Router {
    let (api, spec) = if state.config.serve_api {
        api_router().split_for_parts()
    } else {
        // A worker-only node answers health checks and nothing else.
        OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/api", routes::health::routes()).split_for_parts()
    };
    // Compact and at its exact size: the document stays in memory for the
    // server's life (pretty-printed in a grown buffer it took 536 KB).
    let mut spec_json = finish(spec).to_json().unwrap_or_else(|_| "{}".into());
    spec_json.shrink_to_fit();
    let spec_json = Arc::new(spec_json);
    let budgets = Budgets {
        api: state.config.rate_limit,
        create_post: state.config.rate_limit_posts,
        ui: state.config.rate_limit_ui,
    };
    let limits = Arc::new(RateLimits::new(budgets, state.config.trusted_proxies.clone(), state.app.clone()));
    spawn_limiter_cleanup(&limits);
    let trusted_origins = Arc::new(cross_site::TrustedOrigins::new(
        std::iter::once(state.config.main_url.as_str()).chain(state.config.cors_origins.iter().map(String::as_str)),
    ));

    let mut app = api
        .nest("/api", routes::docs::routes(spec_json))
        .merge(routes::uploads::routes())
        .merge(routes::channel_feeds::routes())
        .route("/metrics", axum::routing::get(metrics::render))
        .merge(extra.with_state(()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(limits, rate_limit::rate_limit))
        .layer(axum::middleware::from_fn(routes::postiz::postiz_error_fields))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(axum::middleware::from_fn_with_state(trusted_origins, cross_site::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(state.config.secure_cookies(), middleware::security_headers))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "something went wrong on our side")
                .into_response()
        }));
    if let Some(cors) = cors_layer(&state.config.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(axum::middleware::from_fn(middleware::request_id_and_log)).with_state(state)
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .allow_credentials(true)
            .max_age(Duration::from_secs(600)),
    )
}

fn spawn_limiter_cleanup(limits: &Arc<RateLimits>) {
    let weak = Arc::downgrade(limits);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match weak.upgrade() {
                Some(limits) => limits.forget_idle(),
                None => break,
            }
        }
    });
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    ApiError::new(status, code_for_status(status), format!("{method} is not allowed on {}", uri.path()))
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state, extra).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
