//! `/settings/webhooks`: outbound webhooks with their delivery log —
//! status codes, the start of each answer — and a redeliver button.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::webhooks::{CreateWebhookInput, UpdateWebhookInput};
use herald_core::event::EventKind;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiId, UiResult};
use crate::fmt;
use crate::pages::{Notice, see_other};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/webhooks", get(page).post(create))
        .route("/settings/webhooks/{id}/status", post(set_status))
        .route("/settings/webhooks/{id}/delete", post(delete))
        .route("/settings/webhooks/{id}/deliveries/{delivery}/redeliver", post(redeliver))
}

pub struct AttemptRow {
    pub at: String,
    pub outcome: String,
}

pub struct DeliveryRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub at: String,
    pub attempts: Vec<AttemptRow>,
}

pub struct HookRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub active: bool,
    pub failures: i32,
    pub disabled_reason: String,
    pub deliveries: Vec<DeliveryRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/webhooks.html")]
struct WebhooksPage {
    c: Chrome,
    hooks: Vec<HookRow>,
    kinds: Vec<&'static str>,
    new_secret: Option<String>,
    errors: FieldErrors,
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    new_secret: Option<String>,
    errors: FieldErrors,
) -> UiResult<WebhooksPage> {
    let mut hooks = Vec::new();
    for hook in state.app.list_webhooks(&viewer.caller).await? {
        let deliveries = state.app.webhook_deliveries(&viewer.caller, hook.id).await?;
        hooks.push(HookRow {
            id: hook.id.to_string(),
            url: hook.url,
            events: hook.events.join(", "),
            active: hook.active,
            failures: hook.consecutive_failures,
            disabled_reason: hook.disabled_reason.unwrap_or_default(),
            deliveries: deliveries
                .into_iter()
                .take(10)
                .map(|d| DeliveryRow {
                    id: d.id.to_string(),
                    kind: d.kind.replace('_', " "),
                    status: d.status,
                    at: fmt::local(d.created_at, viewer.tz),
                    attempts: d
                        .attempts_log
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| AttemptRow {
                            at: a["at"]
                                .as_str()
                                .and_then(|t| t.parse().ok())
                                .map(|t| fmt::local(t, viewer.tz))
                                .unwrap_or_default(),
                            outcome: match (a["status"].as_u64(), a["error"].as_str()) {
                                (Some(status), _) => {
                                    format!("{status} {}", a["response"].as_str().unwrap_or_default())
                                }
                                (None, Some(error)) => error.to_string(),
                                _ => String::new(),
                            },
                        })
                        .collect(),
                })
                .collect(),
        });
    }
    Ok(WebhooksPage {
        c: Chrome::new(viewer, "settings", "Webhooks").with_notice(notice),
        hooks,
        kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        new_secret,
        errors,
    })
}

async fn page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<Notice>) -> UiResult<WebhooksPage> {
    render(&state, &viewer, q.notice.as_deref(), None, FieldErrors::default()).await
}

async fn failed(state: &UiState, viewer: &Viewer, error: herald_app::AppError) -> UiResult<Response> {
    let errors = FieldErrors::from_app(error)?;
    let page = render(state, viewer, None, None, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn create(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let url = pairs.iter().find(|(k, _)| k == "url").map(|(_, v)| v.clone()).unwrap_or_default();
    let events: Vec<String> = pairs.iter().filter(|(k, _)| k == "events").map(|(_, v)| v.clone()).collect();
    let secret = pairs.iter().find(|(k, _)| k == "secret").map(|(_, v)| v.trim().to_string()).filter(|s| !s.is_empty());
    match state.app.create_webhook(&viewer.caller, CreateWebhookInput { url, events, secret }).await {
        // Rendered, not redirected: the secret is shown exactly once, here.
        Ok(created) => {
            Ok(render(&state, &viewer, None, Some(created.secret), FieldErrors::default()).await?.into_response())
        }
        Err(error) => failed(&state, &viewer, error).await,
    }
}

#[derive(Debug, serde::Deserialize)]
struct StatusForm {
    active: String,
}

async fn set_status(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<StatusForm>,
) -> UiResult<Response> {
    let input = UpdateWebhookInput { active: Some(form.active == "true"), ..Default::default() };
    match state.app.update_webhook(&viewer.caller, id, input).await {
        Ok(_) => Ok(see_other("/settings/webhooks?notice=saved")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}

async fn delete(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.delete_webhook(&viewer.caller, id).await {
        Ok(()) => Ok(see_other("/settings/webhooks?notice=deleted")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}

async fn redeliver(
    State(state): State<UiState>,
    viewer: Viewer,
    Path((id, delivery)): Path<(String, String)>,
) -> UiResult<Response> {
    let (Ok(id), Ok(delivery)) = (uuid::Uuid::parse_str(&id), uuid::Uuid::parse_str(&delivery)) else {
        return Err(UiError::NotFound);
    };
    match state.app.redeliver(&viewer.caller, id, delivery).await {
        Ok(_) => Ok(see_other("/settings/webhooks?notice=redelivering")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}
