//! `/queue`: each account's queue — its posting slots with the posts
//! waiting in them, in order; move a post up or down (or drag it), shuffle,
//! close the gaps, and edit the slots.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::posts::ReorderInput;
use serde::Deserialize;
use uuid::Uuid;

use crate::UiState;
use crate::brand;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiId, UiResult};
use crate::fmt;
use crate::pages::see_other;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/queue", get(page))
        .route("/queue/{id}/order", post(reorder))
        .route("/queue/{id}/shuffle", post(shuffle))
        .route("/queue/{id}/compact", post(compact))
}

pub struct AccountTab {
    pub id: String,
    pub name: String,
    pub mark: String,
    pub current: bool,
}

pub struct Slot {
    pub post_id: String,
    pub when: String,
    pub excerpt: String,
    /// The order with this post one place up / down (comma-separated ids).
    pub up: Option<String>,
    pub down: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/queue.html")]
struct QueuePage {
    c: Chrome,
    tabs: Vec<AccountTab>,
    current: Option<String>,
    account_name: String,
    posting_times: String,
    timezone: String,
    next_slot: String,
    slots: Vec<Slot>,
    order: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    notice: Option<String>,
    account: Option<Uuid>,
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    account: Option<Uuid>,
    notice: Option<&str>,
    errors: FieldErrors,
) -> UiResult<QueuePage> {
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let current = account.or_else(|| integrations.first().map(|i| i.id));
    let tabs = integrations
        .iter()
        .map(|i| AccountTab {
            id: i.id.to_string(),
            name: i.name.clone(),
            mark: brand::mark(&i.platform),
            current: Some(i.id) == current,
        })
        .collect();
    let mut page = QueuePage {
        c: Chrome::new(viewer, "queue", "Queue").with_notice(notice),
        tabs,
        current: current.map(|c| c.to_string()),
        account_name: String::new(),
        posting_times: String::new(),
        timezone: String::new(),
        next_slot: String::new(),
        slots: Vec::new(),
        order: String::new(),
        errors,
    };
    let Some(id) = current else { return Ok(page) };
    let queue = state.app.queue(&viewer.caller, id).await?;
    let ids: Vec<String> = queue.posts.iter().map(|p| p.post_id.to_string()).collect();
    let swapped = |i: usize, j: usize| {
        let mut order = ids.clone();
        order.swap(i, j);
        order.join(",")
    };
    page.account_name = integrations.iter().find(|i| i.id == id).map(|i| i.name.clone()).unwrap_or_default();
    page.posting_times = queue.posting_times.join(", ");
    page.timezone = queue.timezone.clone();
    page.next_slot = queue.next_slot.map(|at| fmt::local(at, viewer.tz)).unwrap_or_default();
    page.order = ids.join(",");
    page.slots = queue
        .posts
        .iter()
        .enumerate()
        .map(|(i, p)| Slot {
            post_id: p.post_id.to_string(),
            when: format!("{} ({})", p.local, queue.timezone),
            excerpt: herald_core::notice::excerpt(&p.content),
            up: (i > 0).then(|| swapped(i, i - 1)),
            down: (i + 1 < ids.len()).then(|| swapped(i, i + 1)),
        })
        .collect();
    Ok(page)
}

async fn page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<PageQuery>) -> UiResult<QueuePage> {
    render(&state, &viewer, q.account, q.notice.as_deref(), FieldErrors::default()).await
}

async fn failed(state: &UiState, viewer: &Viewer, id: Uuid, error: herald_app::AppError) -> UiResult<Response> {
    let errors = FieldErrors::from_app(error)?;
    let page = render(state, viewer, Some(id), None, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
struct OrderForm {
    order: String,
}

async fn reorder(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<OrderForm>,
) -> UiResult<Response> {
    let post_ids = form.order.split(',').filter_map(|s| Uuid::parse_str(s.trim()).ok()).collect();
    match state.app.reorder_queue(&viewer.caller, id, ReorderInput { post_ids }).await {
        Ok(_) => Ok(see_other(&format!("/queue?account={id}&notice=moved"))),
        Err(error) => failed(&state, &viewer, id, error).await,
    }
}

async fn shuffle(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.shuffle_queue(&viewer.caller, id).await {
        Ok(_) => Ok(see_other(&format!("/queue?account={id}&notice=shuffled"))),
        Err(error) => failed(&state, &viewer, id, error).await,
    }
}

async fn compact(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.compact_queue(&viewer.caller, id).await {
        Ok(_) => Ok(see_other(&format!("/queue?account={id}&notice=compacted"))),
        Err(error) => failed(&state, &viewer, id, error).await,
    }
}
