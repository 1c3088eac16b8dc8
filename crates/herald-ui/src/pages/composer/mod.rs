//! The composer: `/posts/new` and `/posts/{id}/edit`. One text for every
//! selected account, per-account text and platform settings, a thread whose
//! replies carry their own media, alt text on every file, a time in the
//! viewer's zone; draft, schedule or publish now. Without JavaScript the
//! form posts here and comes back with the errors beside their fields; with
//! it, `composer.js` adds live counters, previews, uploads and validation.

mod files;
mod form;
mod settings;

use herald_app::ai::{SuggestAction, SuggestInput};
use herald_core::integration::IntegrationStatus;
use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use herald_app::media::{MAX_BUFFERED_BYTES, MediaView};
use herald_app::posts::{SubmitInput, UpdatePostInput};
use herald_app::views::IntegrationView;
use herald_core::platform::PLATFORMS;
use herald_core::post::{ApprovalState, CreatedVia, PostStatus, PublishMode};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use self::files::{errors_at, merge, save_alt_texts, store_files};
use self::form::{ComposerForm, Draft};
use self::settings::{SettingField, SettingsDraft};
use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiId, UiResult};
use crate::fmt;
use crate::pages::see_other;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    // The form carries a file when it is sent without JavaScript.
    let upload_limit = DefaultBodyLimit::max(MAX_BUFFERED_BYTES + 256 * 1024);
    Router::new()
        .route("/posts/new", get(new_page).post(submit_new).layer(upload_limit))
        .route("/posts/{id}/edit", get(edit_page).post(submit_edit).layer(upload_limit))
}

/// The workspace's accounts and each one's settings schema, read once per request.
struct Accounts {
    integrations: Vec<IntegrationView>,
    schemas: BTreeMap<Uuid, Value>,
}

impl Accounts {
    async fn load(state: &UiState, viewer: &Viewer) -> UiResult<Self> {
        let integrations = state.app.list_integrations(&viewer.caller).await?;
        let by_platform: BTreeMap<&str, Value> =
            state.app.platforms().into_iter().map(|p| (p.id, p.settings_schema)).collect();
        let schemas = integrations
            .iter()
            .filter_map(|i| {
                let schema = by_platform.get(i.platform.as_str())?;
                Some((i.id, settings::with_account_choices(schema.clone(), &i.settings)))
            })
            .collect();
        Ok(Self { integrations, schemas })
    }

    /// The settings schema of an integration; an empty one when unknown
    /// (its stored settings are then kept as they are).
    fn schema(&self, id: Uuid) -> Value {
        self.schemas.get(&id).cloned().unwrap_or_else(|| serde_json::json!({}))
    }
}

pub struct AccountOption {
    pub id: String,
    pub name: String,
    pub platform: String,
    pub platform_name: &'static str,
    /// For previews: `@handle` and picture of the account.
    pub handle: String,
    pub avatar_url: String,
    pub checked: bool,
    pub active: bool,
    pub override_text: String,
    pub max_length: usize,
    pub settings: Vec<SettingField>,
    /// Stored settings the form has no input for (JSON), sent back unchanged.
    pub settings_extra: String,
}

/// An attached file with its alt text input.
pub struct Thumb {
    pub id: String,
    pub url: String,
    pub mime: String,
    pub is_image: bool,
    /// "image" or "video", for labels.
    pub kind: &'static str,
    /// As typed (after a failed submit) or as stored.
    pub alt: String,
    /// 1-based place among its item's files, for labels.
    pub position: usize,
}

pub struct ReplySlot {
    pub index: usize,
    pub text: String,
    pub media: Vec<Thumb>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/composer.html")]
struct ComposerPage {
    c: Chrome,
    /// Scheduling and publishing are offered; otherwise "Submit for approval".
    can_publish: bool,
    /// Where the post stands in the approval workflow, with the last note.
    approval: Option<(&'static str, String)>,
    heading: &'static str,
    action_url: String,
    accounts: Vec<AccountOption>,
    content: String,
    thread: Vec<ReplySlot>,
    media: Vec<Thumb>,
    scheduled_for: String,
    tags: String,
    repeat_rule: String,
    repeat_count: String,
    evergreen_days: String,
    /// (id, name) of the signatures to insert.
    signatures: Vec<(String, String)>,
    /// (name, colour) of the workspace's tags, offered beside the tags field.
    known_tags: Vec<(String, String)>,
    /// (id, name) of the sets and customers a new post can start from.
    sets: Vec<(String, String)>,
    customers: Vec<(String, String)>,
    /// AI writing help is configured: its buttons show.
    ai_enabled: bool,
    ai_language: String,
    ai_suggestions: Vec<form::AiSuggestion>,
    errors: FieldErrors,
    /// Every `data-errors` box of the page: an error shows in the one whose
    /// key is the longest prefix of its field (as `composer.js` does).
    boxes: Vec<String>,
    /// Per-account counts from the last check (no-script users).
    reports: Vec<String>,
    rules_json: String,
    media_from_url: String,
    media_alt: String,
    accept: &'static str,
}

/// File types the upload inputs offer (the server checks the bytes anyway).
const ACCEPT: &str = "image/png,image/jpeg,image/gif,image/webp,video/mp4,video/quicktime,video/webm";

impl ComposerPage {
    /// Errors for the box `key`; those matching no box go to `content`.
    fn error_for(&self, key: &str) -> Vec<&str> {
        self.errors
            .fields
            .iter()
            .filter(|(field, _)| {
                let best = self.boxes.iter().filter(|b| field.starts_with(b.as_str())).max_by_key(|b| b.len());
                best.map_or("content", String::as_str) == key
            })
            .map(|(_, message)| message.as_str())
            .collect()
    }
}

/// The platform rules as JSON for the live counters (also `GET /api/platforms`).
fn rules_json() -> String {
    serde_json::to_string(PLATFORMS).unwrap_or_else(|_| "[]".into())
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    accounts: &Accounts,
    post_id: Option<Uuid>,
    draft: &Draft,
    errors: FieldErrors,
    reports: Vec<String>,
) -> UiResult<ComposerPage> {
    let found = state.app.media_by_ids(&viewer.caller, &draft.media_ids()).await?;
    let thumbs = |ids: &[Uuid]| -> Vec<Thumb> {
        ids.iter()
            .filter_map(|id| found.iter().find(|m| m.id == *id))
            .enumerate()
            .map(|(i, m)| thumb(m, i + 1, draft.alt_texts.get(&m.id)))
            .collect()
    };
    let mut boxes: Vec<String> =
        ["platforms", "content", "thread", "media", "scheduledFor", "tags", "recurrence", "evergreen", "ai"]
            .map(String::from)
            .to_vec();
    let options: Vec<AccountOption> = accounts
        .integrations
        .iter()
        .filter(|i| i.status != IntegrationStatus::Disabled || draft.platforms.contains(&i.id))
        .map(|i| {
            let rules = herald_core::platform::rules_for(&i.platform);
            let schema = accounts.schema(i.id);
            let form = draft
                .settings
                .get(&i.id)
                .cloned()
                .unwrap_or_else(|| SettingsDraft::from_settings(&schema, &serde_json::json!({})));
            let fields = settings::fields(&schema, &form);
            boxes.push(format!("overrides.{}", i.id));
            boxes.extend(fields.iter().map(|f| format!("overrides.{}.settings.{}", i.id, f.name)));
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
                settings: fields,
                settings_extra: form.extra_json(),
            }
        })
        .collect();
    let mut thread: Vec<ReplySlot> = draft
        .thread
        .iter()
        .enumerate()
        .map(|(index, reply)| ReplySlot { index, text: reply.text.clone(), media: thumbs(&reply.media) })
        .collect();
    // One empty box: without script, that is how an item is added.
    thread.push(ReplySlot { index: thread.len(), text: String::new(), media: Vec::new() });
    for slot in &thread {
        boxes.push(format!("thread[{}]", slot.index));
        boxes.push(format!("thread[{}].mediaIds", slot.index));
    }
    let media = thumbs(&draft.media);
    boxes.extend(found.iter().map(|m| format!("media_alt.{}", m.id)));
    let approval = match post_id {
        Some(id) => state.app.get_post(&viewer.caller, id).await?.approval.map(|a| {
            let state = match a.state {
                ApprovalState::Requested => "Waiting for approval",
                ApprovalState::Approved => "Approved",
                ApprovalState::Rejected => "Sent back",
            };
            (state, a.note.unwrap_or_default())
        }),
        None => None,
    };
    let (heading, action_url, title) = match post_id {
        Some(id) => ("Edit post", format!("/posts/{id}/edit"), "Edit post"),
        None => ("New post", "/posts/new".to_string(), "New post"),
    };
    let signatures =
        state.app.list_signatures(&viewer.caller).await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    // A new post may start from a set or from a customer's accounts.
    let (sets, customers) = if post_id.is_none() {
        let sets = state.app.list_sets(&viewer.caller).await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
        let customers =
            state.app.list_customers(&viewer.caller).await?.into_iter().map(|c| (c.id.to_string(), c.name)).collect();
        (sets, customers)
    } else {
        (Vec::new(), Vec::new())
    };
    let known_tags = state.app.list_tags(&viewer.caller).await?.into_iter().map(|t| (t.name, t.color)).collect();
    Ok(ComposerPage {
        known_tags,
        signatures,
        sets,
        customers,
        c: Chrome::new(viewer, "compose", title),
        heading,
        action_url,
        accounts: options,
        content: draft.content.clone(),
        thread,
        media,
        scheduled_for: draft.scheduled_for.clone(),
        tags: draft.tags.clone(),
        repeat_rule: draft.repeat_rule.clone(),
        repeat_count: draft.repeat_count.clone(),
        evergreen_days: draft.evergreen_days.clone(),
        ai_enabled: state.app.ai_enabled(),
        ai_language: draft.ai_language.clone(),
        ai_suggestions: draft.ai_suggestions.clone(),
        errors,
        boxes,
        reports,
        rules_json: rules_json(),
        media_from_url: draft.media_from_url.clone(),
        media_alt: draft.media_alt.clone(),
        accept: ACCEPT,
        can_publish: viewer.caller.role.can_publish(),
        approval,
    })
}

fn thumb(media: &MediaView, position: usize, typed: Option<&String>) -> Thumb {
    let is_image = media.mime.starts_with("image/");
    Thumb {
        id: media.id.to_string(),
        url: media.url.clone(),
        mime: media.mime.clone(),
        is_image,
        kind: if is_image { "image" } else { "video" },
        alt: typed.cloned().or_else(|| media.alt_text.clone()).unwrap_or_default(),
        position,
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    /// Duplicate this post (a failed one, to send again).
    from: Option<Uuid>,
    /// Prefilled time (`datetime-local`, from a calendar slot).
    at: Option<String>,
    integration: Option<Uuid>,
    /// Start from a saved set: its accounts and their settings.
    set: Option<Uuid>,
    /// Start with every account of this customer.
    customer: Option<Uuid>,
}

async fn new_page(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(query): Query<NewQuery>,
) -> UiResult<ComposerPage> {
    let accounts = Accounts::load(&state, &viewer).await?;
    let mut draft = match query.from {
        Some(id) => {
            let post = state.app.get_post(&viewer.caller, id).await?;
            let mut draft = Draft::from_post(&post, viewer.tz, |id| accounts.schema(id));
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
    if let Some(set) = query.set
        && let Some(set) = state.app.list_sets(&viewer.caller).await?.into_iter().find(|s| s.id == set)
    {
        for id in &set.integration_ids {
            if !draft.platforms.contains(id) {
                draft.platforms.push(*id);
            }
            if let Some(settings) = set.settings.get(id.to_string()) {
                draft.settings.insert(*id, SettingsDraft::from_settings(&accounts.schema(*id), settings));
            }
        }
    }
    if let Some(customer) = query.customer {
        for account in state.app.list_integrations_of(&viewer.caller, Some(customer)).await? {
            if !draft.platforms.contains(&account.id) {
                draft.platforms.push(account.id);
            }
        }
    }
    // A new post starts with the signature meant for new posts, below room
    // for the text.
    if query.from.is_none()
        && let Some(signature) = state.app.default_signature(&viewer.caller).await?
    {
        draft.content = format!("\n\n{}", signature.content);
    }
    if draft.platforms.is_empty()
        && let [only] = accounts.integrations.as_slice()
    {
        // With one account, there is nothing to choose.
        draft.platforms.push(only.id);
    }
    render(&state, &viewer, &accounts, None, &draft, FieldErrors::default(), Vec::new()).await
}

async fn edit_page(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    let post = state.app.get_post(&viewer.caller, id).await?;
    if !matches!(post.status, PostStatus::Draft | PostStatus::Scheduled) {
        // Published or failed posts are history: start a copy instead.
        return Ok(see_other(&format!("/posts/new?from={id}")));
    }
    let accounts = Accounts::load(&state, &viewer).await?;
    let draft = Draft::from_post(&post, viewer.tz, |id| accounts.schema(id));
    let page = render(&state, &viewer, &accounts, Some(id), &draft, FieldErrors::default(), Vec::new()).await?;
    Ok(page.into_response())
}

async fn submit_new(State(state): State<UiState>, viewer: Viewer, form: ComposerForm) -> UiResult<Response> {
    submit(&state, &viewer, None, form).await
}

async fn submit_edit(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    form: ComposerForm,
) -> UiResult<Response> {
    submit(&state, &viewer, Some(id), form).await
}

/// Asks the model for one suggestion per selected account; its errors
/// show in the writing-help box.
async fn ask_model(state: &UiState, viewer: &Viewer, draft: &mut Draft, action: &str) -> UiResult<FieldErrors> {
    let action = match action {
        "shorten" => SuggestAction::Shorten,
        "hashtags" => SuggestAction::Hashtags,
        "translate" => SuggestAction::Translate,
        _ => SuggestAction::Rewrite,
    };
    let input = SuggestInput {
        content: draft.content.clone(),
        platforms: draft.platforms.clone(),
        action,
        language: Some(draft.ai_language.clone()).filter(|l| !l.trim().is_empty()),
    };
    match state.app.suggest(&viewer.caller, input).await {
        Ok(answer) => {
            draft.ai_suggestions = answer
                .suggestions
                .into_iter()
                .map(|s| form::AiSuggestion {
                    integration_id: s.integration_id,
                    platform: herald_core::platform::rules_for(&s.platform)
                        .map_or(s.platform.clone(), |r| r.name.to_string()),
                    problem: s.errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "),
                    content: s.content,
                    valid: s.valid,
                })
                .collect();
            Ok(FieldErrors::default())
        }
        Err(error) => Ok(errors_at("ai", error)?),
    }
}

async fn submit(state: &UiState, viewer: &Viewer, post_id: Option<Uuid>, form: ComposerForm) -> UiResult<Response> {
    let accounts = Accounts::load(state, viewer).await?;
    let (mut draft, files) = Draft::from_parts(form.parts);
    let rerender = |errors: FieldErrors, reports: Vec<String>, draft: Draft| {
        let accounts = &accounts;
        async move {
            let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            let page = render(state, viewer, accounts, post_id, &draft, errors, reports).await?;
            Ok::<Response, UiError>((status, page).into_response())
        }
    };
    let uploaded = !files.is_empty();
    let mut errors = save_alt_texts(state, viewer, &draft).await?;
    merge(&mut errors, store_files(state, viewer, &mut draft, files).await?);
    if !errors.is_empty() {
        return rerender(errors, Vec::new(), draft).await;
    }
    match draft.action.as_str() {
        "attach" => {
            let url = draft.media_from_url.trim().to_string();
            if url.is_empty() {
                if !uploaded {
                    errors.fields.push(("media".into(), "choose a file or enter its URL first".into()));
                }
                return rerender(errors, Vec::new(), draft).await;
            }
            let alt = Some(draft.media_alt.trim().to_string()).filter(|a| !a.is_empty());
            match state.app.upload_media_from_url(&viewer.caller, &url, alt).await {
                Ok(media) => {
                    draft.media.push(media.id);
                    draft.media_from_url.clear();
                    draft.media_alt.clear();
                }
                Err(error) => errors = errors_at("media", error)?,
            }
            return rerender(errors, Vec::new(), draft).await;
        }
        // A reply's "Upload": its file was stored above.
        "upload" => return rerender(errors, Vec::new(), draft).await,
        "remove_media" => {
            draft.media.clear();
            return rerender(errors, Vec::new(), draft).await;
        }
        action if action.starts_with("signature:") => {
            let chosen = Uuid::parse_str(&action["signature:".len()..]).ok();
            let signatures = state.app.list_signatures(&viewer.caller).await?;
            if let Some(signature) = signatures.into_iter().find(|s| Some(s.id) == chosen) {
                let text = draft.content.trim_end().to_string();
                draft.content =
                    if text.is_empty() { signature.content } else { format!("{text}\n\n{}", signature.content) };
            }
            return rerender(errors, Vec::new(), draft).await;
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
        action @ ("ai_rewrite" | "ai_shorten" | "ai_hashtags" | "ai_translate") => {
            let kind = action["ai_".len()..].to_string();
            let errors = ask_model(state, viewer, &mut draft, &kind).await?;
            return rerender(errors, Vec::new(), draft).await;
        }
        action => {
            if let Some(id) = action.strip_prefix("remove:").and_then(|id| Uuid::parse_str(id).ok()) {
                draft.remove_media(id);
                return rerender(errors, Vec::new(), draft).await;
            }
            if let Some(id) = action.strip_prefix("ai_use:").and_then(|id| Uuid::parse_str(id).ok()) {
                draft.use_suggestion(id);
                return rerender(errors, Vec::new(), draft).await;
            }
        }
    }
    let (status, at) = match draft.mode(viewer.tz) {
        Ok(mode) => mode,
        Err(field_error) => {
            return rerender(FieldErrors { fields: vec![field_error], general: None }, Vec::new(), draft).await;
        }
    };
    let mut input = draft.input(status, at.clone(), |id| accounts.schema(id));
    if draft.action == "queue" {
        input.status = Some("QUEUE".into());
        input.scheduled_for = None;
    }
    if draft.action == "check" {
        let report = state.app.validate_post(&viewer.caller, input).await?;
        let reports = report
            .targets
            .iter()
            .map(|t| format!("{}: {} of {} characters", t.platform, t.length, t.max_length))
            .chain(report.targets.iter().flat_map(|t| t.warnings.iter().map(move |w| format!("{}: {w}", t.platform))))
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
                status: Some(status.as_str().into()),
                media_urls: Some(Vec::new()),
                media_ids: Some(input.media_ids),
                thread: Some(input.thread),
                overrides: Some(input.overrides),
                tags: Some(input.tags),
                recurrence: Some(input.recurrence),
                evergreen: Some(input.evergreen),
            };
            state.app.update_post(&viewer.caller, id, update).await
        }
    };
    match saved {
        Ok(post) if draft.action == "submit" => {
            match state.app.submit_post(&viewer.caller, post.id, SubmitInput::default()).await {
                Ok(_) => Ok(see_other(&format!("/posts?notice=submitted&highlight={}", post.id))),
                Err(error) => rerender(FieldErrors::from_app(error)?, Vec::new(), draft).await,
            }
        }
        Ok(post) if draft.action == "queue" => Ok(see_other(&format!("/posts?notice=queued&highlight={}", post.id))),
        Ok(post) => {
            let notice = match status {
                PublishMode::Draft => "draft",
                PublishMode::Now => "publishing",
                PublishMode::Scheduled => "scheduled",
            };
            Ok(see_other(&format!("/posts?notice={notice}&highlight={}", post.id)))
        }
        Err(error) => rerender(FieldErrors::from_app(error)?, Vec::new(), draft).await,
    }
}
