//! `/integrations`: connected accounts with their status and posting
//! times, and connect forms built from each platform's credentials schema.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::integrations::{ConnectIntegrationInput, UpdateIntegrationInput};
use herald_app::platforms::PlatformView;
use herald_core::integration::{IntegrationStatus, IntegrationSwitch};
use herald_core::platform::AuthKind;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::UiState;
use crate::brand::{self, Group};
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiId, UiResult};
use crate::fmt;
use crate::pages::see_other;
use crate::pages::view::StatusLabel;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/integrations", get(page))
        .route("/integrations/{id}/avatar", get(avatar))
        .route("/integrations/connect", post(connect))
        .route("/integrations/{id}", post(update))
        .route("/integrations/{id}/status", post(set_status))
        .route("/integrations/{id}/delete", post(delete))
}

/// One input of a connect form, from a property of the credentials schema.
pub struct CredentialField {
    pub name: String,
    pub label: String,
    pub hint: String,
    pub input_type: &'static str,
    pub required: bool,
    pub value: String,
}

pub struct ConnectForm {
    pub platform: String,
    pub name: &'static str,
    pub fields: Vec<CredentialField>,
    pub errors: FieldErrors,
    pub open: bool,
}

/// A connect form sent: the platform, the display name given, and the
/// `cred.*` fields that were filled in.
pub struct SentCredentials {
    pub platform: String,
    pub name: Option<String>,
    pub credentials: Map<String, Value>,
}

impl SentCredentials {
    pub fn read(pairs: Vec<(String, String)>) -> Self {
        let mut sent = Self { platform: String::new(), name: None, credentials: Map::new() };
        for (key, value) in pairs {
            match key.as_str() {
                "platform" => sent.platform = value,
                "name" => sent.name = Some(value.trim().to_string()).filter(|n| !n.is_empty()),
                other => {
                    if let Some(field) = other.strip_prefix("cred.")
                        && !value.is_empty()
                    {
                        sent.credentials.insert(field.to_string(), Value::String(value));
                    }
                }
            }
        }
        sent
    }

    pub fn input(&self) -> ConnectIntegrationInput {
        ConnectIntegrationInput {
            platform: self.platform.clone(),
            credentials: Value::Object(self.credentials.clone()),
            name: self.name.clone(),
        }
    }
}

/// A platform's connect form; after a failed attempt on that platform, open,
/// with what was typed (secrets left out) and the errors.
pub fn connect_form(p: &PlatformView, failed: Option<&(SentCredentials, FieldErrors)>) -> ConnectForm {
    let mut fields = fields_from_schema(&p.credentials_schema);
    let (errors, open) = match failed {
        Some((sent, errors)) if sent.platform == p.id => {
            for field in &mut fields {
                if field.input_type != "password" {
                    field.value = sent.credentials.get(&field.name).and_then(Value::as_str).unwrap_or_default().into();
                }
            }
            (FieldErrors { fields: errors.fields.clone(), general: errors.general.clone() }, true)
        }
        _ => (FieldErrors::default(), false),
    };
    ConnectForm { platform: p.id.to_string(), name: p.name, fields, errors, open }
}

/// One platform in the "connect" list: by signing in, or with a form.
pub struct PlatformEntry {
    pub platform: String,
    pub name: &'static str,
    pub mark: String,
    /// Lower-case words the search box matches.
    pub search: String,
    pub oauth: Option<OAuthOption>,
    pub form: Option<ConnectForm>,
}

/// The platforms of one group, in catalog order.
pub struct PlatformGroup {
    pub label: &'static str,
    pub entries: Vec<PlatformEntry>,
}

/// A platform connected by signing in there (OAuth).
pub struct OAuthOption {
    pub platform: String,
    pub name: &'static str,
    pub configured: bool,
    /// What the operator sets, e.g. "X_CLIENT_ID and X_CLIENT_SECRET".
    pub app_env: String,
    pub callback_url: String,
    /// Connecting names a server first (Mastodon).
    pub instance_required: bool,
    pub notice: Option<&'static str>,
}

pub struct IntegrationRow {
    pub id: String,
    pub name: String,
    pub platform: String,
    pub platform_name: &'static str,
    pub mark: String,
    pub has_avatar: bool,
    /// "Access until …", "Renews itself", or empty when nothing expires.
    pub access: String,
    pub username: String,
    pub status: IntegrationStatus,
    pub status_label: &'static str,
    pub posting_times: String,
    pub timezone: String,
    /// Reconnecting means signing in at the platform again.
    pub by_oauth: bool,
    /// A feed channel's public addresses: (label, URL).
    pub feed_urls: Vec<(&'static str, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/integrations.html")]
struct IntegrationsPage {
    c: Chrome,
    integrations: Vec<IntegrationRow>,
    groups: Vec<PlatformGroup>,
    errors: FieldErrors,
}

/// Builds form fields from a JSON Schema's `properties`, in schema order.
pub fn fields_from_schema(schema: &Value) -> Vec<CredentialField> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
    properties
        .iter()
        .map(|(name, property)| {
            let text = |key: &str| property.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
            let secret = property.get("writeOnly").and_then(Value::as_bool).unwrap_or(false)
                || text("format") == "password"
                || ["password", "secret", "token", "key"].iter().any(|s| name.to_lowercase().contains(s));
            let input_type = if secret {
                "password"
            } else if text("format") == "uri" {
                "url"
            } else {
                "text"
            };
            let title = text("title");
            CredentialField {
                name: name.clone(),
                label: if title.is_empty() { name.clone() } else { title },
                hint: text("description"),
                input_type,
                required: required.contains(&name.as_str()),
                value: property.get("default").and_then(Value::as_str).unwrap_or_default().to_string(),
            }
        })
        .collect()
}

fn posting_times_text(times: &[u16]) -> String {
    times.iter().map(|m| format!("{:02}:{:02}", m / 60, m % 60)).collect::<Vec<_>>().join(", ")
}

/// "09:00, 13:30" → minutes after midnight; the bad entries are reported.
fn parse_times(raw: &str) -> Result<Vec<i64>, String> {
    raw.split([',', ' ', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (h, m) = t.split_once(':').ok_or_else(|| format!("`{t}` is not a time like 09:30"))?;
            match (h.parse::<i64>(), m.parse::<i64>()) {
                (Ok(h), Ok(m)) if (0..24).contains(&h) && (0..60).contains(&m) => Ok(h * 60 + m),
                _ => Err(format!("`{t}` is not a time like 09:30")),
            }
        })
        .collect()
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    failed: Option<(SentCredentials, FieldErrors)>,
    errors: FieldErrors,
) -> UiResult<IntegrationsPage> {
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let platforms = state.app.platforms();
    let oauth: Vec<OAuthOption> = platforms
        .iter()
        .filter(|p| p.available && p.callback_url.is_some())
        .map(|p| OAuthOption {
            platform: p.id.to_string(),
            name: p.name,
            configured: p.configured,
            app_env: p.app_env.join(" and "),
            callback_url: p.callback_url.clone().unwrap_or_default(),
            instance_required: p.instance_required,
            notice: p.notice,
        })
        .collect();
    let mut forms: Vec<ConnectForm> = platforms
        .iter()
        .filter(|p| p.available && p.configured && p.auth_kind == AuthKind::Credentials)
        .map(|p| connect_form(p, failed.as_ref()))
        .collect();
    let by_oauth: Vec<String> = oauth.iter().filter(|o| !o.instance_required).map(|o| o.platform.clone()).collect();
    let mut oauth = oauth;
    let mut groups: Vec<PlatformGroup> =
        Group::ALL.iter().map(|g| PlatformGroup { label: g.label(), entries: Vec::new() }).collect();
    for p in &platforms {
        let oauth_option = oauth.iter().position(|o| o.platform == p.id).map(|i| oauth.remove(i));
        let form = forms.iter().position(|f| f.platform == p.id).map(|i| forms.remove(i));
        if oauth_option.is_none() && form.is_none() {
            continue;
        }
        let index = Group::ALL.iter().position(|g| *g == brand::group(p.id)).unwrap_or(Group::ALL.len() - 1);
        groups[index].entries.push(PlatformEntry {
            platform: p.id.to_string(),
            name: p.name,
            mark: brand::mark(p.id),
            search: format!("{} {}", p.name.to_lowercase(), p.id),
            oauth: oauth_option,
            form,
        });
    }
    groups.retain(|g| !g.entries.is_empty());
    Ok(IntegrationsPage {
        c: Chrome::new(viewer, "integrations", "Accounts").with_notice(notice),
        integrations: integrations
            .iter()
            .map(|i| IntegrationRow {
                id: i.id.to_string(),
                name: i.name.clone(),
                platform: i.platform.clone(),
                platform_name: herald_core::platform::rules_for(&i.platform).map_or("Unknown", |r| r.name),
                mark: brand::mark(&i.platform),
                has_avatar: i.avatar_url.is_some(),
                access: match (i.access_ends_at, i.token_expires_at) {
                    (Some(ends), _) => format!("Access until {}: reconnect before then", fmt::local(ends, viewer.tz)),
                    (None, Some(_)) => "Signed in; Herald renews the access itself".to_string(),
                    (None, None) => String::new(),
                },
                username: i.platform_username.clone(),
                status: i.status,
                status_label: i.status.label(),
                posting_times: posting_times_text(&i.posting_times),
                timezone: i.timezone.clone(),
                by_oauth: by_oauth.contains(&i.platform),
                feed_urls: [("RSS", "rss"), ("Atom", "atom")]
                    .into_iter()
                    .filter_map(|(label, key)| Some((label, i.settings["feedUrls"][key].as_str()?.to_string())))
                    .collect(),
            })
            .collect(),
        groups,
        errors,
    })
}

/// The account's avatar, from Herald's own origin (the page loads no
/// image from elsewhere); 404 when there is none to show.
async fn avatar(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> Response {
    match state.app.integration_avatar(&viewer.caller, id).await {
        Some((bytes, mime)) => (
            [
                (axum::http::header::CONTENT_TYPE, mime),
                (axum::http::header::CACHE_CONTROL, "private, max-age=3600".to_string()),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    notice: Option<String>,
    /// Set by the OAuth callback: the integration it connected.
    connected: Option<String>,
    /// Set by the OAuth routes: why connecting failed.
    error: Option<String>,
}

async fn page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<PageQuery>) -> UiResult<IntegrationsPage> {
    let notice = if q.connected.is_some() { Some("connected") } else { q.notice.as_deref() };
    // The reason comes from a URL anyone can craft: it is shown as text
    // under a fixed heading, shortened, never as markup.
    let errors = match q.error {
        Some(reason) => {
            let reason: String = reason.chars().take(300).collect();
            FieldErrors::general(format!("Connecting the account failed: {reason}"))
        }
        None => FieldErrors::default(),
    };
    render(&state, &viewer, notice, None, errors).await
}

async fn connect(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let sent = SentCredentials::read(pairs);
    match state.app.connect_integration(&viewer.caller, sent.input()).await {
        Ok(_) => Ok(see_other("/integrations?notice=connected")),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            let page = render(&state, &viewer, None, Some((sent, errors)), FieldErrors::default()).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct UpdateForm {
    name: String,
    posting_times: String,
    timezone: String,
}

async fn update(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<UpdateForm>,
) -> UiResult<Response> {
    let times = match parse_times(&form.posting_times) {
        Ok(times) => times,
        Err(message) => {
            let errors = FieldErrors::general(format!("Posting times: {message}"));
            let page = render(&state, &viewer, None, None, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let input = UpdateIntegrationInput {
        name: Some(form.name),
        posting_times: Some(times),
        timezone: Some(form.timezone.trim().to_string()),
        ..Default::default()
    };
    match state.app.update_integration(&viewer.caller, id, input).await {
        Ok(_) => Ok(see_other("/integrations?notice=saved")),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            let page = render(&state, &viewer, None, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    status: String,
}

async fn set_status(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<StatusForm>,
) -> UiResult<Response> {
    let input = UpdateIntegrationInput { status: Some(form.status), ..Default::default() };
    match state.app.update_integration(&viewer.caller, id, input).await {
        Ok(_) => Ok(see_other("/integrations?notice=saved")),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            let page = render(&state, &viewer, None, None, errors).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
    }
}

async fn delete(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    state.app.delete_integration(&viewer.caller, id).await?;
    Ok(see_other("/integrations?notice=deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_properties_become_labelled_inputs() {
        let schema = serde_json::json!({
            "type": "object", "required": ["url"],
            "properties": {
                "url": { "type": "string", "format": "uri", "title": "Webhook URL", "description": "Where" },
                "secret": { "type": "string", "writeOnly": true },
                "chatId": { "type": "string" }
            }
        });
        let fields = fields_from_schema(&schema);
        let url = fields.iter().find(|f| f.name == "url").unwrap();
        assert_eq!((url.input_type, url.required, url.label.as_str()), ("url", true, "Webhook URL"));
        assert_eq!(fields.iter().find(|f| f.name == "secret").unwrap().input_type, "password");
        assert_eq!(fields.iter().find(|f| f.name == "chatId").unwrap().input_type, "text");
    }

    #[test]
    fn posting_times_read_as_clock_times() {
        assert_eq!(parse_times("09:00, 13:30").unwrap(), vec![540, 810]);
        assert_eq!(parse_times("").unwrap(), Vec::<i64>::new());
        assert!(parse_times("25:00").is_err());
        assert!(parse_times("9am").is_err());
        assert_eq!(posting_times_text(&[540, 810]), "09:00, 13:30");
    }
}
