//! `/p/{token}`: a post's public preview page, for an agency's client. No
//! sign-in: the unguessable token is the key, and the page shows that one
//! post — as each of its platforms will (drawn by `preview.js`, with a
//! plain-text version for browsers without JavaScript) — its comments,
//! and a form to comment, approve, or ask for changes. The form works
//! without JavaScript; `POST /p/{token}/comments` takes JSON too.
//!
//! Everything a visitor writes is text: askama escapes it, and the
//! previews' script escapes whatever it draws.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use herald_app::AppError;
use herald_app::agency::previews::{CommentInput, CommentView, PreviewPage as Preview, Verdict};
use serde::Deserialize;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::csrf::CsrfToken;
use crate::error::UiResult;
use crate::pages::see_other;

pub fn routes() -> Router<UiState> {
    Router::new().route("/p/{token}", get(page)).route("/p/{token}/comments", post(comment))
}

/// One platform's look, with its plain-text fallback.
pub struct PreviewBlock {
    pub platform_name: String,
    pub account: String,
    pub text: String,
    pub replies: Vec<String>,
    /// What `preview.js` draws from (HTML-escaped in the attribute).
    pub data: String,
}

pub struct CommentRow {
    pub author: String,
    pub from_preview: bool,
    pub body: String,
    pub verdict: &'static str,
    pub at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/preview.html")]
struct PreviewPage {
    c: Chrome,
    token: String,
    state: &'static str,
    scheduled_for: String,
    expires_at: String,
    blocks: Vec<PreviewBlock>,
    comments: Vec<CommentRow>,
    /// The client's verdict, in words.
    verdict: Option<String>,
    thanks: bool,
    errors: FieldErrors,
    name: String,
    body: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/preview_gone.html")]
struct GonePage {
    c: Chrome,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    thanks: Option<String>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Comment => "",
        Verdict::Approve => "approved",
        Verdict::RequestChanges => "asked for changes",
    }
}

fn comment_row(c: CommentView) -> CommentRow {
    CommentRow {
        author: c.author,
        from_preview: c.from_preview,
        body: c.body,
        verdict: verdict_label(c.verdict),
        at: when(c.created_at),
    }
}

fn render(
    preview: Preview,
    csrf: String,
    token: String,
    thanks: bool,
    errors: FieldErrors,
    given: (String, String),
) -> PreviewPage {
    let blocks = preview
        .previews
        .iter()
        .map(|p| PreviewBlock {
            platform_name: p.platform_name.clone(),
            account: p.account.name.clone(),
            text: p.text.clone(),
            replies: p.replies.iter().map(|r| r.text.clone()).collect(),
            data: serde_json::to_string(p).unwrap_or_default(),
        })
        .collect();
    PreviewPage {
        c: Chrome::anonymous(csrf, "Post preview"),
        token,
        state: preview.state,
        scheduled_for: preview.scheduled_for.map(when).unwrap_or_default(),
        expires_at: when(preview.expires_at),
        blocks,
        comments: preview.comments.into_iter().map(comment_row).collect(),
        verdict: preview.client_verdict.map(|v| format!("{} {} on {}.", v.by, verdict_label(v.verdict), when(v.at))),
        thanks,
        errors,
        name: given.0,
        body: given.1,
    }
}

fn gone(csrf: String) -> Response {
    (StatusCode::NOT_FOUND, GonePage { c: Chrome::anonymous(csrf, "Preview unavailable") }).into_response()
}

async fn page(
    State(state): State<UiState>,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
    CsrfToken(csrf): CsrfToken,
) -> UiResult<Response> {
    match state.app.preview_page(&token).await {
        Ok(preview) => Ok(no_store(
            render(preview, csrf, token, q.thanks.is_some(), FieldErrors::default(), Default::default())
                .into_response(),
        )),
        Err(AppError::NotFound(_)) => Ok(gone(csrf)),
        Err(other) => Err(other.into()),
    }
}

/// The page is the client's view of a draft: never cached by a proxy.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    response
}

#[derive(Debug, Default)]
struct CommentForm {
    name: String,
    body: String,
    verdict: String,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

/// A comment from the form (then back to the page) or as JSON
/// (`{name, body, verdict}` → 201 with the comment).
async fn comment(
    State(state): State<UiState>,
    Path(token): Path<String>,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> UiResult<Response> {
    if is_json(&headers) {
        let input: CommentInput = match serde_json::from_slice(&body) {
            Ok(input) => input,
            Err(error) => {
                return Ok(json_error(AppError::from(herald_core::ValidationError::new(
                    "body",
                    format!("invalid JSON: {error}"),
                ))));
            }
        };
        return Ok(match state.app.comment_on_preview(&token, input).await {
            Ok(comment) => (StatusCode::CREATED, Json(comment)).into_response(),
            Err(error) => json_error(error),
        });
    }
    let mut form = CommentForm::default();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "name" => form.name = value.into_owned(),
            "body" => form.body = value.into_owned(),
            "verdict" => form.verdict = value.into_owned(),
            _ => {}
        }
    }
    let verdict = match form.verdict.as_str() {
        "APPROVE" => Verdict::Approve,
        "REQUEST_CHANGES" => Verdict::RequestChanges,
        _ => Verdict::Comment,
    };
    let input = CommentInput { name: Some(form.name.clone()), body: form.body.clone(), verdict: Some(verdict) };
    match state.app.comment_on_preview(&token, input).await {
        Ok(_) => Ok(see_other(&format!("/p/{token}?thanks=1#comments"))),
        Err(AppError::NotFound(_)) => Ok(gone(csrf)),
        Err(error) => {
            let status = status_of(&error);
            let errors = FieldErrors::from_app(error)?;
            let preview = match state.app.preview_page(&token).await {
                Ok(preview) => preview,
                Err(AppError::NotFound(_)) => return Ok(gone(csrf)),
                Err(other) => return Err(other.into()),
            };
            let page = render(preview, csrf, token, false, errors, (form.name, form.body));
            Ok(no_store((status, page).into_response()))
        }
    }
}

fn status_of(error: &AppError) -> StatusCode {
    StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The API's JSON error format, for JSON clients of the public page.
fn json_error(error: AppError) -> Response {
    let status = status_of(&error);
    let details = match &error {
        AppError::Validation { errors, .. } => serde_json::json!({ "errors": errors }),
        _ => serde_json::json!({}),
    };
    let message = match &error {
        AppError::Internal(source) => {
            tracing::error!(error = %source, "internal error on a preview page");
            "something went wrong on our side".to_string()
        }
        AppError::NotFound(_) => "this preview link does not exist, expired, or was revoked".to_string(),
        other => other.to_string(),
    };
    let mut response = (
        status,
        Json(serde_json::json!({"error": {
            "code": error.code(),
            "message": message,
            "details": details,
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "requestId": herald_app::request_id::current(),
        }})),
    )
        .into_response();
    if let AppError::RateLimited { retry_after, .. } = error
        && let Ok(value) = header::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
