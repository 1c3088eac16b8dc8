//! `/approvals`: the posts waiting for approval, each with a preview per
//! platform as it will be published, and one-click approve or reject (with
//! a note). Someone who cannot publish sees their own requests' state.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::agency::previews::Verdict;
use herald_app::posts::{ApproveInput, ListPostsQuery, RejectInput};
use herald_core::platform::{count_length, rules_for};
use serde::Deserialize;

use crate::UiState;
use crate::brand;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiId, UiResult};
use crate::fmt;
use crate::pages::see_other;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/approvals", get(page))
        .route("/approvals/approve-all", post(approve_all))
        .route("/approvals/{id}/approve", post(approve))
        .route("/approvals/{id}/reject", post(reject))
}

/// The post as one platform will show it.
pub struct Preview {
    pub platform_name: &'static str,
    pub account: String,
    pub mark: String,
    pub text: String,
    pub thread: Vec<String>,
    /// "123 / 500", red past the limit.
    pub length: String,
    pub too_long: bool,
}

pub struct Request {
    pub id: String,
    pub excerpt: String,
    pub requested_by: String,
    pub requested_at: String,
    pub note: String,
    pub when: String,
    pub media: usize,
    pub previews: Vec<Preview>,
    /// "Acme asked for changes on …": approval waits for an edit.
    pub changes_requested: Option<String>,
    /// "Acme approved the preview on …".
    pub client_approved: Option<String>,
    /// `(author, verdict, text)` of the comments, oldest first.
    pub comments: Vec<(String, &'static str, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/approvals.html")]
struct ApprovalsPage {
    c: Chrome,
    requests: Vec<Request>,
    can_approve: bool,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    errors: FieldErrors,
) -> UiResult<ApprovalsPage> {
    let query = ListPostsQuery { approval: Some("REQUESTED".into()), limit: Some(100), ..Default::default() };
    let page = state.app.list_posts(&viewer.caller, query).await?;
    let ids: Vec<uuid::Uuid> = page.posts.iter().map(|p| p.id).collect();
    let mut comments = state.app.comments_of(&viewer.caller, &ids).await?;
    let members = state.app.workspace_people(&viewer.caller).await?;
    let name_of = |id: uuid::Uuid| {
        members
            .iter()
            .find(|(member, _)| *member == id)
            .map_or_else(|| "a former member".to_string(), |(_, n)| n.clone())
    };
    let requests = page
        .posts
        .into_iter()
        // Oldest request first: the queue is worked through in order.
        .rev()
        .filter_map(|post| {
            let approval = post.approval.clone()?;
            let client = approval.client_verdict.clone();
            let verdict_on = |verdict: Verdict| {
                client
                    .as_ref()
                    .filter(|c| c.verdict == verdict)
                    .map(|c| format!("{} on {}", c.by, fmt::local(c.at, viewer.tz)))
            };
            let changes_requested = verdict_on(Verdict::RequestChanges);
            let client_approved = verdict_on(Verdict::Approve);
            let comments = comments
                .remove(&post.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    let verdict = match c.verdict {
                        Verdict::Approve => "approved",
                        Verdict::RequestChanges => "asked for changes",
                        Verdict::Comment => "",
                    };
                    (c.author, verdict, c.body)
                })
                .collect();
            let previews = post
                .targets
                .iter()
                .map(|t| {
                    let rules = rules_for(&t.platform);
                    let text = t.content.clone().unwrap_or_else(|| post.content.clone());
                    let max = herald_core::platform::account_max_length(&t.settings)
                        .or(rules.map(|r| r.max_length))
                        .unwrap_or(0);
                    let length = rules.map_or_else(|| text.chars().count(), |r| count_length(&text, r.counting));
                    Preview {
                        platform_name: rules.map_or("Unknown", |r| r.name),
                        account: t.integration_name.clone(),
                        mark: brand::mark(&t.platform),
                        thread: post.thread.iter().map(|item| item.content.clone()).collect(),
                        length: format!("{length} / {max}"),
                        too_long: max > 0 && length > max,
                        text,
                    }
                })
                .collect();
            Some(Request {
                id: post.id.to_string(),
                excerpt: herald_core::notice::excerpt(&post.content),
                requested_by: name_of(approval.requested_by),
                requested_at: fmt::local(approval.requested_at, viewer.tz),
                note: approval.note.unwrap_or_default(),
                when: if approval.wants_now {
                    "as soon as approved".to_string()
                } else {
                    post.scheduled_for.map_or_else(
                        || "the next free posting slot".to_string(),
                        |at| format!("{} (or the next free slot if that has passed)", fmt::local(at, viewer.tz)),
                    )
                },
                media: post.media_ids.len() + post.media_urls.len(),
                previews,
                changes_requested,
                client_approved,
                comments,
            })
        })
        .collect();
    Ok(ApprovalsPage {
        c: Chrome::new(viewer, "approvals", "Approvals").with_notice(notice),
        requests,
        can_approve: viewer.caller.role.can_publish(),
        errors,
    })
}

async fn page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<PageQuery>) -> UiResult<ApprovalsPage> {
    render(&state, &viewer, q.notice.as_deref(), FieldErrors::default()).await
}

async fn failed(state: &UiState, viewer: &Viewer, error: herald_app::AppError) -> UiResult<Response> {
    use axum::response::IntoResponse;
    let errors = FieldErrors::from_app(error)?;
    let page = render(state, viewer, None, errors).await?;
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn approve(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.approve_post(&viewer.caller, id, ApproveInput::default()).await {
        Ok(_) => Ok(see_other("/approvals?notice=approved")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}

async fn approve_all(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    for (_, raw) in pairs.iter().filter(|(k, _)| k == "post") {
        let Ok(id) = uuid::Uuid::parse_str(raw) else { continue };
        if let Err(error) = state.app.approve_post(&viewer.caller, id, ApproveInput::default()).await {
            return failed(&state, &viewer, error).await;
        }
    }
    Ok(see_other("/approvals?notice=approved-all"))
}

#[derive(Debug, Deserialize)]
struct RejectForm {
    note: String,
}

async fn reject(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<RejectForm>,
) -> UiResult<Response> {
    match state.app.reject_post(&viewer.caller, id, RejectInput { note: form.note }).await {
        Ok(_) => Ok(see_other("/approvals?notice=rejected")),
        Err(error) => failed(&state, &viewer, error).await,
    }
}
