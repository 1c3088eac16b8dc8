//! `/feeds`: RSS/Atom feeds posted automatically — each with its accounts,
//! template, mode, when it was last polled and its last error in plain
//! sight; add, poll now, delete. Works without JavaScript.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::feeds::CreateFeedInput;
use herald_core::feed_template::DEFAULT_TEMPLATE;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiId, UiResult};
use crate::fmt;
use crate::pages::{Notice, see_other};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/feeds", get(page).post(create))
        .route("/feeds/{id}/poll", post(poll))
        .route("/feeds/{id}/delete", post(delete))
}

pub struct FeedRow {
    pub id: String,
    pub url: String,
    pub accounts: String,
    pub template: String,
    pub mode: String,
    pub every: i32,
    pub last_polled: String,
    pub next_poll: String,
    pub last_error: String,
    pub items_posted: i32,
    pub primed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/feeds.html")]
struct FeedsPage {
    c: Chrome,
    feeds: Vec<FeedRow>,
    /// (id, label) of the accounts a feed can post to.
    accounts: Vec<(String, String)>,
    default_template: &'static str,
    /// What "Poll now" found, in words.
    report: Option<String>,
    errors: FieldErrors,
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    report: Option<String>,
    errors: FieldErrors,
) -> UiResult<FeedsPage> {
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let name_of = |id: uuid::Uuid| {
        integrations
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| "a disconnected account".to_string(), |i| format!("{} ({})", i.name, i.platform))
    };
    let feeds = state
        .app
        .list_feeds(&viewer.caller)
        .await?
        .into_iter()
        .map(|f| FeedRow {
            id: f.id.to_string(),
            url: f.url,
            accounts: f.platforms.iter().map(|id| name_of(*id)).collect::<Vec<_>>().join(", "),
            template: f.template,
            mode: match f.mode.as_str() {
                "DRAFT" => "as drafts".into(),
                "NOW" => "published at once".into(),
                _ => "into the queue".into(),
            },
            every: f.poll_minutes,
            last_polled: f.last_polled_at.map(|t| fmt::local(t, viewer.tz)).unwrap_or_else(|| "not yet".into()),
            next_poll: fmt::local(f.next_poll_at, viewer.tz),
            last_error: f.last_error.unwrap_or_default(),
            items_posted: f.items_posted,
            primed: f.primed,
        })
        .collect();
    Ok(FeedsPage {
        c: Chrome::new(viewer, "feeds", "Feeds").with_notice(notice),
        feeds,
        accounts: integrations.iter().map(|i| (i.id.to_string(), format!("{} ({})", i.name, i.platform))).collect(),
        default_template: DEFAULT_TEMPLATE,
        report,
        errors,
    })
}

async fn page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<Notice>) -> UiResult<FeedsPage> {
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
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string());
    let input = CreateFeedInput {
        url: field("url").unwrap_or_default(),
        platforms: pairs.iter().filter(|(k, _)| k == "platforms").filter_map(|(_, v)| v.parse().ok()).collect(),
        template: field("template").filter(|t| !t.is_empty()),
        mode: field("mode"),
        // Not a number: 0, which validation reports on its field.
        poll_minutes: field("poll_minutes").filter(|m| !m.is_empty()).map(|m| m.parse().unwrap_or(0)),
    };
    match state.app.create_feed(&viewer.caller, input).await {
        Ok(_) => Ok(see_other("/feeds?notice=saved")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}

async fn poll(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.poll_feed_now(&viewer.caller, id).await {
        Ok(report) => {
            let words = match (report.outcome.as_str(), report.error) {
                (_, Some(error)) => format!("The feed could not be read: {error}"),
                ("NOT_MODIFIED", _) => "The feed has not changed since the last poll.".to_string(),
                ("PRIMED", _) => format!(
                    "First poll: the {} items already in the feed are marked as seen; new ones will be posted.",
                    report.items_in_feed
                ),
                _ => format!(
                    "{} items in the feed, {} new: {}",
                    report.items_in_feed,
                    report.new_items.len(),
                    report.new_items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>().join(", ")
                ),
            };
            Ok(render(&state, &viewer, None, Some(words), FieldErrors::default()).await?.into_response())
        }
        Err(error) => failed(&state, &viewer, error).await,
    }
}

async fn delete(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.delete_feed(&viewer.caller, id).await {
        Ok(()) => Ok(see_other("/feeds?notice=deleted")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}
