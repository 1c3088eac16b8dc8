//! The composer: `/posts/new` and `/posts/{id}/edit`. One text for every
//! selected account, per-account overrides, a thread, media, a time in the
//! viewer's zone; draft, schedule or publish now. Without JavaScript the
//! form posts here and comes back with the errors beside their fields; with
//! it, `composer.js` adds live counters, previews and validation.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use herald_app::media::{MAX_MEDIA_BYTES, MediaView};
use herald_app::posts::{CreatePostInput, OverrideInput, ThreadItemInput, UpdatePostInput};
use herald_app::views::{IntegrationView, PostView};
use herald_core::platform::PLATFORMS;
use herald_core::post::CreatedVia;
use serde::Deserialize;
use uuid::Uuid;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiResult};
use crate::fmt;
use crate::pages::see_other;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    // The form carries a file when it is sent without JavaScript.
    let upload_limit = DefaultBodyLimit::max(MAX_MEDIA_BYTES + 256 * 1024);
    Router::new()
        .route("/posts/new", get(new_page).post(submit_new).layer(upload_limit))
        .route("/posts/{id}/edit", get(edit_page).post(submit_edit).layer(upload_limit))
}

/// The composer's fields, sent url-encoded or (with a file chosen, without
/// JavaScript) as multipart.
struct ComposerForm {
    pairs: Vec<(String, String)>,
    file: Option<Bytes>,
}

impl<S: Send + Sync> FromRequest<S> for ComposerForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(Self { pairs, file: None });
        }
        let mut form = Multipart::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let mut pairs = Vec::new();
        let mut file = None;
        let too_large = |_| UiError::TooLarge.into_response();
        while let Some(field) = form.next_field().await.map_err(too_large)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "media_file" {
                let bytes = field.bytes().await.map_err(too_large)?;
                // An empty file input still sends a part.
                file = Some(bytes).filter(|b| !b.is_empty());
            } else {
                pairs.push((name, field.text().await.map_err(too_large)?));
            }
        }
        Ok(Self { pairs, file })
    }
}

/// What the form holds, parsed from its fields (or from a stored post).
#[derive(Debug, Default, Clone)]
struct Draft {
    content: String,
    platforms: Vec<Uuid>,
    overrides: BTreeMap<Uuid, String>,
    thread: Vec<String>,
    media: Vec<Uuid>,
    /// `datetime-local` value in the viewer's zone.
    scheduled_for: String,
    tags: String,
    action: String,
    media_from_url: String,
    media_alt: String,
}

impl Draft {
    /// Reads the raw field list: repeated names (`platforms`, `thread`,
    /// `media`) and per-account names (`override.<id>`) need the pairs.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut draft = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "content" => draft.content = value,
                "platforms" => draft.platforms.extend(Uuid::parse_str(&value).ok()),
                "thread" => draft.thread.push(value),
                "media" => draft.media.extend(Uuid::parse_str(&value).ok()),
                "scheduled_for" => draft.scheduled_for = value,
                "tags" => draft.tags = value,
                "action" => draft.action = value,
                "media_from_url" => draft.media_from_url = value,
                "media_alt" => draft.media_alt = value,
                other => {
                    if let Some(id) = other.strip_prefix("override.").and_then(|id| Uuid::parse_str(id).ok())
                        && !value.trim().is_empty()
                    {
                        draft.overrides.insert(id, value);
                    }
                }
            }
        }
        // An emptied thread box removes its item (the no-script way to delete one).
        draft.thread.retain(|item| !item.trim().is_empty());
        draft.media.dedup();
        draft
    }

    fn from_post(post: &PostView, tz: chrono_tz::Tz) -> Self {
        Self {
            content: post.content.clone(),
            platforms: post.platforms.clone(),
            overrides: post
                .targets
                .iter()
                .filter(|t| t.status != "CANCELLED")
                .filter_map(|t| t.content.clone().map(|c| (t.integration_id, c)))
                .collect(),
            thread: post.thread.iter().map(|t| t.content.clone()).collect(),
            media: post.media_ids.clone(),
            scheduled_for: post.scheduled_for.map(|at| fmt::input_value(at, tz)).unwrap_or_default(),
            tags: post.tags.join(", "),
            ..Self::default()
        }
    }

    fn tags(&self) -> Vec<String> {
        self.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
    }

    fn overrides(&self) -> BTreeMap<String, OverrideInput> {
        self.overrides
            .iter()
            .filter(|(id, _)| self.platforms.contains(id))
            .map(|(id, text)| (id.to_string(), OverrideInput { content: Some(text.clone()), settings: None }))
            .collect()
    }

    fn thread(&self) -> Vec<ThreadItemInput> {
        self.thread.iter().map(|content| ThreadItemInput { content: content.clone(), ..Default::default() }).collect()
    }

    /// Status and time the chosen button asks for; `Err` holds a field error.
    fn mode(&self, tz: chrono_tz::Tz) -> Result<(&'static str, Option<String>), (String, String)> {
        let at = match self.scheduled_for.trim() {
            "" => None,
            raw => Some(fmt::parse_local(raw, tz).ok_or_else(|| {
                ("scheduledFor".to_string(), format!("`{raw}` is not a time that exists in {}", tz.name()))
            })?),
        };
        match self.action.as_str() {
            "draft" => Ok(("DRAFT", at.map(|at| at.to_rfc3339()))),
            "now" => Ok(("NOW", None)),
            _ => match at {
                Some(at) => Ok(("SCHEDULED", Some(at.to_rfc3339()))),
                None => Err(("scheduledFor".into(), "pick a date and time to schedule the post".into())),
            },
        }
    }
}

pub struct AccountOption {
    pub id: String,
    pub name: String,
    pub platform: String,
    pub platform_name: &'static str,
    /// The account's handle and avatar, for the previews.
    pub handle: String,
    pub avatar_url: String,
    pub checked: bool,
    pub active: bool,
    pub override_text: String,
    pub max_length: usize,
}

pub struct ThreadSlot {
    pub index: usize,
    pub text: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/composer.html")]
struct ComposerPage {
    c: Chrome,
    heading: &'static str,
    action_url: String,
    accounts: Vec<AccountOption>,
    content: String,
    thread: Vec<ThreadSlot>,
    media: Vec<MediaView>,
    scheduled_for: String,
    tags: String,
    errors: FieldErrors,
    /// Per-account counts from the last check (no-script users).
    reports: Vec<String>,
    rules_json: String,
    media_from_url: String,
}

impl ComposerPage {
    fn error_for(&self, prefix: &str) -> Vec<&str> {
        self.errors.under(prefix)
    }
}

/// The platform rules as JSON for the live counters (also `GET /api/platforms`).
fn rules_json() -> String {
    serde_json::to_string(PLATFORMS).unwrap_or_else(|_| "[]".into())
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    post_id: Option<Uuid>,
    draft: &Draft,
    errors: FieldErrors,
    reports: Vec<String>,
) -> UiResult<ComposerPage> {
    let integrations: Vec<IntegrationView> = state.app.list_integrations(&viewer.caller).await?;
    let media = state.app.media_by_ids(&viewer.caller, &draft.media).await?;
    let accounts = integrations
        .iter()
        .filter(|i| i.status != "DISABLED" || draft.platforms.contains(&i.id))
        .map(|i| {
            let rules = herald_core::platform::rules_for(&i.platform);
            AccountOption {
                id: i.id.to_string(),
                name: i.name.clone(),
                platform: i.platform.clone(),
                platform_name: rules.map_or("Unknown", |r| r.name),
                handle: i.platform_username.clone(),
                avatar_url: i.avatar_url.clone().unwrap_or_default(),
                checked: draft.platforms.contains(&i.id),
                active: i.is_active,
                override_text: draft.overrides.get(&i.id).cloned().unwrap_or_default(),
                max_length: rules.map_or(0, |r| r.max_length),
            }
        })
        .collect();
    let mut thread: Vec<ThreadSlot> = draft
        .thread
        .iter()
        .enumerate()
        .map(|(index, text)| ThreadSlot {
            index,
            text: text.clone(),
            error: errors.under(&format!("thread[{index}]")).first().map(|e| (*e).to_string()),
        })
        .collect();
    // One empty box: without script, that is how an item is added.
    thread.push(ThreadSlot { index: thread.len(), text: String::new(), error: None });
    let (heading, action_url, title) = match post_id {
        Some(id) => ("Edit post", format!("/posts/{id}/edit"), "Edit post"),
        None => ("New post", "/posts/new".to_string(), "New post"),
    };
    Ok(ComposerPage {
        c: Chrome::new(viewer, "compose", title),
        heading,
        action_url,
        accounts,
        content: draft.content.clone(),
        thread,
        media,
        scheduled_for: draft.scheduled_for.clone(),
        tags: draft.tags.clone(),
        errors,
        reports,
        rules_json: rules_json(),
        media_from_url: draft.media_from_url.clone(),
    })
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    /// Duplicate this post (a failed one, to send again).
    from: Option<Uuid>,
    /// Prefilled time (`datetime-local`, from a calendar slot).
    at: Option<String>,
    integration: Option<Uuid>,
}

async fn new_page(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(query): Query<NewQuery>,
) -> UiResult<ComposerPage> {
    let mut draft = match query.from {
        Some(id) => {
            let mut draft = Draft::from_post(&state.app.get_post(&viewer.caller, id).await?, viewer.tz);
            draft.scheduled_for.clear();
            draft
        }
        None => Draft::default(),
    };
    if let Some(at) = query.at.filter(|at| fmt::parse_local(at, viewer.tz).is_some()) {
        draft.scheduled_for = at;
    }
    if let Some(id) = query.integration {
        draft.platforms.push(id);
    }
    if draft.platforms.is_empty() {
        // With one account, there is nothing to choose.
        let integrations = state.app.list_integrations(&viewer.caller).await?;
        if let [only] = integrations.as_slice() {
            draft.platforms.push(only.id);
        }
    }
    render(&state, &viewer, None, &draft, FieldErrors::default(), Vec::new()).await
}

async fn edit_page(State(state): State<UiState>, viewer: Viewer, Path(id): Path<Uuid>) -> UiResult<Response> {
    let post = state.app.get_post(&viewer.caller, id).await?;
    if !matches!(post.status.as_str(), "DRAFT" | "SCHEDULED") {
        // Published or failed posts are history: start a copy instead.
        return Ok(see_other(&format!("/posts/new?from={id}")));
    }
    let draft = Draft::from_post(&post, viewer.tz);
    Ok(render(&state, &viewer, Some(id), &draft, FieldErrors::default(), Vec::new()).await?.into_response())
}

async fn submit_new(State(state): State<UiState>, viewer: Viewer, form: ComposerForm) -> UiResult<Response> {
    submit(&state, &viewer, None, Draft::from_pairs(form.pairs), form.file).await
}

async fn submit_edit(
    State(state): State<UiState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    form: ComposerForm,
) -> UiResult<Response> {
    submit(&state, &viewer, Some(id), Draft::from_pairs(form.pairs), form.file).await
}

fn create_input(draft: &Draft, status: &str, at: Option<String>) -> CreatePostInput {
    CreatePostInput {
        content: draft.content.clone(),
        platforms: draft.platforms.clone(),
        scheduled_for: at,
        status: Some(status.into()),
        media_ids: draft.media.clone(),
        thread: draft.thread(),
        overrides: draft.overrides(),
        tags: draft.tags(),
        ..Default::default()
    }
}

async fn submit(
    state: &UiState,
    viewer: &Viewer,
    post_id: Option<Uuid>,
    mut draft: Draft,
    file: Option<Bytes>,
) -> UiResult<Response> {
    let rerender = |errors: FieldErrors, reports: Vec<String>, draft: Draft| async move {
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = render(state, viewer, post_id, &draft, errors, reports).await?;
        Ok::<Response, UiError>((status, page).into_response())
    };
    // A file chosen without JavaScript is stored first, whatever the button.
    if let Some(bytes) = file {
        let alt = Some(draft.media_alt.trim().to_string()).filter(|a| !a.is_empty());
        match state.app.upload_media(&viewer.caller, bytes, alt).await {
            Ok(media) => {
                draft.media.push(media.id);
                draft.media_alt.clear();
                if draft.action == "attach" && draft.media_from_url.trim().is_empty() {
                    return rerender(FieldErrors::default(), Vec::new(), draft).await;
                }
            }
            Err(error) => {
                let mut errors = FieldErrors::from_app(error)?;
                errors.fields.iter_mut().for_each(|(field, _)| *field = "media".into());
                return rerender(errors, Vec::new(), draft).await;
            }
        }
    }
    match draft.action.as_str() {
        "attach" => {
            let url = draft.media_from_url.trim().to_string();
            let alt = Some(draft.media_alt.trim().to_string()).filter(|a| !a.is_empty());
            let errors = match state.app.upload_media_from_url(&viewer.caller, &url, alt).await {
                Ok(media) => {
                    draft.media.push(media.id);
                    draft.media_from_url.clear();
                    FieldErrors::default()
                }
                Err(error) => {
                    let mut errors = FieldErrors::from_app(error)?;
                    errors.fields.iter_mut().for_each(|(field, _)| *field = "media".into());
                    errors
                }
            };
            return rerender(errors, Vec::new(), draft).await;
        }
        "remove_media" => {
            draft.media.clear();
            return rerender(FieldErrors::default(), Vec::new(), draft).await;
        }
        "next_slot" => {
            let errors = match draft.platforms.first() {
                Some(id) => match state.app.next_slot(&viewer.caller, *id).await {
                    Ok(slot) => {
                        draft.scheduled_for = fmt::input_value(slot.slot, viewer.tz);
                        FieldErrors::default()
                    }
                    Err(error) => FieldErrors::from_app(error)?,
                },
                None => FieldErrors {
                    fields: vec![("scheduledFor".into(), "choose an account first: slots belong to accounts".into())],
                    general: None,
                },
            };
            return rerender(errors, Vec::new(), draft).await;
        }
        _ => {}
    }
    let (status, at) = match draft.mode(viewer.tz) {
        Ok(mode) => mode,
        Err(field_error) => {
            return rerender(FieldErrors { fields: vec![field_error], general: None }, Vec::new(), draft).await;
        }
    };
    let input = create_input(&draft, status, at.clone());
    if draft.action == "check" {
        let report = state.app.validate_post(&viewer.caller, input).await?;
        let reports = report
            .targets
            .iter()
            .map(|t| format!("{}: {} of {} characters", t.platform, t.length, t.max_length))
            .collect();
        let errors = FieldErrors {
            fields: report
                .errors
                .into_iter()
                .chain(report.targets.into_iter().flat_map(|t| t.errors))
                .map(|e| (e.field, e.message))
                .collect(),
            general: None,
        };
        return rerender(errors, reports, draft).await;
    }
    let saved = match post_id {
        None => state.app.create_post(&viewer.caller, input, CreatedVia::Ui).await,
        Some(id) => {
            let update = UpdatePostInput {
                content: Some(input.content),
                platforms: Some(input.platforms),
                scheduled_for: Some(at),
                status: Some(status.into()),
                media_urls: Some(Vec::new()),
                media_ids: Some(input.media_ids),
                thread: Some(input.thread),
                overrides: Some(input.overrides),
                tags: Some(input.tags),
            };
            state.app.update_post(&viewer.caller, id, update).await
        }
    };
    match saved {
        Ok(post) => {
            let notice = match status {
                "DRAFT" => "draft",
                "NOW" => "publishing",
                _ => "scheduled",
            };
            Ok(see_other(&format!("/posts?notice={notice}&highlight={}", post.id)))
        }
        Err(error) => rerender(FieldErrors::from_app(error)?, Vec::new(), draft).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_become_a_draft() {
        let id = Uuid::new_v4();
        let pairs = vec![
            ("content".to_string(), "hello".to_string()),
            ("platforms".into(), id.to_string()),
            ("platforms".into(), "not-an-id".into()),
            ("thread".into(), "second".into()),
            ("thread".into(), "  ".into()),
            (format!("override.{id}"), "short".into()),
            ("action".into(), "schedule".into()),
            ("scheduled_for".into(), "2030-01-02T09:00".into()),
        ];
        let draft = Draft::from_pairs(pairs);
        assert_eq!(draft.platforms, vec![id]);
        assert_eq!(draft.thread, vec!["second".to_string()]);
        assert_eq!(draft.overrides()[&id.to_string()].content.as_deref(), Some("short"));
        let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let (status, at) = draft.mode(tz).unwrap();
        assert_eq!(status, "SCHEDULED");
        assert_eq!(at.as_deref(), Some("2030-01-02T08:00:00+00:00"));
    }

    #[test]
    fn scheduling_needs_a_time_and_drafts_do_not() {
        let tz = chrono_tz::Tz::UTC;
        let schedule = Draft { action: "schedule".into(), ..Draft::default() };
        assert_eq!(schedule.mode(tz).unwrap_err().0, "scheduledFor");
        let draft = Draft { action: "draft".into(), ..Draft::default() };
        assert_eq!(draft.mode(tz).unwrap(), ("DRAFT", None));
        let now = Draft { action: "now".into(), scheduled_for: "2030-01-01T00:00".into(), ..Draft::default() };
        assert_eq!(now.mode(tz).unwrap(), ("NOW", None));
    }
}
