//! `pinterest`: Pins through API v5, connected by Pinterest's OAuth 2.0
//! (`PINTEREST_CLIENT_ID`/`_SECRET`; no PKCE, the client by HTTP Basic,
//! scopes comma-separated).
//!
//! A Pin is one image on one board: the board is a per-post setting, offered
//! from the account's boards (`GET /v5/boards`, read when connecting) and
//! taken by default when the account has only one. The image goes as base64
//! — Pinterest need not reach Herald — unless it already has a public https
//! URL Pinterest can fetch. Access tokens live 30 days and refresh tokens a
//! year; Pinterest's errors are `{"code", "message"}`.

use async_trait::async_trait;
use base64::Engine as _;
use chrono::{Duration as Days, Utc};
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Refreshed,
};

/// Pinterest separates scopes with commas, so they go as one.
const SCOPES: &[&str] = &["boards:read,pins:read,pins:write,user_accounts:read"];
/// Boards read at most, 100 a page: enough for any person's account.
const MAX_BOARD_PAGES: usize = 10;

pub struct Pinterest {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
}

impl Pinterest {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "PINTEREST_CLIENT_ID", "PINTEREST_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("pinterest", "https://www.pinterest.com/oauth/"),
                token: settings.platform_url("pinterest", "https://api.pinterest.com/v5/oauth/token"),
                revoke: None,
            };
            CodeFlow::new(client.clone(), app, endpoints, "Pinterest").without_pkce()
        });
        Self { api: settings.platform_url("pinterest", "https://api.pinterest.com"), client, flow }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("Pinterest is not configured: set PINTEREST_CLIENT_ID"))
    }

    fn request(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{}/v5{path}", self.api)).bearer_auth(token)
    }

    async fn get(&self, path: &str, token: &str) -> Result<Value, ProviderError> {
        answer(self.client.send(self.request(reqwest::Method::GET, path, token)).await?).await
    }

    /// The account's boards, following `bookmark` pages.
    async fn boards(&self, token: &str) -> Result<Vec<Board>, ProviderError> {
        let mut boards = Vec::new();
        let mut bookmark: Option<String> = None;
        for _ in 0..MAX_BOARD_PAGES {
            let path = match &bookmark {
                Some(mark) => format!("/boards?page_size=100&bookmark={}", encode(mark)),
                None => "/boards?page_size=100".to_string(),
            };
            let page = self.get(&path, token).await?;
            for item in page["items"].as_array().into_iter().flatten() {
                if let (Some(id), Some(name)) = (item["id"].as_str(), item["name"].as_str()) {
                    boards.push(Board { id: id.to_string(), name: name.to_string() });
                }
            }
            bookmark = page["bookmark"].as_str().filter(|mark| !mark.is_empty()).map(str::to_string);
            if bookmark.is_none() {
                break;
            }
        }
        Ok(boards)
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    username: String,
    /// The account's boards when it was connected: the choices of `boardId`.
    #[serde(default)]
    boards: Vec<Board>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(
            ErrorClass::Revoked,
            "the stored Pinterest credentials are incomplete; reconnect the account",
        )
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Board {
    id: String,
    name: String,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// The board to pin to (its id); the account's only board otherwise.
    #[garde(pattern(r"^[0-9]{1,32}$"))]
    #[schemars(regex(pattern = r"^[0-9]{1,32}$"))]
    board_id: Option<String>,
    /// The Pin's title (up to 100 characters).
    #[garde(length(chars, min = 1, max = 100))]
    title: Option<String>,
    /// Where the Pin leads when clicked.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    link: Option<String>,
}

/// Pinterest's words in an error body (`message`), or the body.
fn said(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_default();
    value["message"].as_str().map_or_else(|| excerpt(body), str::to_string)
}

/// 401 is an expired or revoked token (refresh, else reconnect); 403 an
/// action this account or app may not take (a board of someone else, a
/// trial app writing Pins) — not a revoked grant; 404 a board that is gone.
fn error_from(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    let said = said(body);
    match status.as_u16() {
        401 => ProviderError::new(ErrorClass::AuthExpired, format!("Pinterest refused the access token: {said}")),
        403 => ProviderError::invalid(format!("Pinterest does not allow this: {said}")),
        400 | 404 | 409 => ProviderError::invalid(format!("Pinterest refused the Pin: {said}")),
        _ => ProviderError::new(
            classify_status(status, retry_after(headers, Utc::now())),
            format!("Pinterest answered {status}: {said}"),
        ),
    }
}

async fn answer(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Where Pinterest gets the image: its public https URL when it has one
/// Pinterest can reach, else the bytes (PNG and JPEG only).
async fn media_source(media: &Attachment) -> Result<Value, ProviderError> {
    if !matches!(media.mime.as_str(), "image/png" | "image/jpeg") {
        return Err(ProviderError::invalid(format!("Pinterest takes PNG or JPEG images, not {}", media.mime)));
    }
    if crate::is_public_https(&media.url) {
        return Ok(json!({ "source_type": "image_url", "url": media.url }));
    }
    if matches!(media.body, crate::MediaBody::None) {
        return Err(ProviderError::invalid("the image could not be read for Pinterest"));
    }
    let data = base64::engine::general_purpose::STANDARD.encode(media.bytes().await?);
    Ok(json!({ "source_type": "image_base64", "content_type": media.mime, "data": data }))
}

/// The Pin's title: the setting, else the post's first line (100 characters).
fn title_of(settings: &Settings, content: &str) -> Option<String> {
    settings.title.clone().or_else(|| {
        let first = content.lines().map(str::trim).find(|line| !line.is_empty())?;
        Some(first.chars().take(100).collect())
    })
}

/// The board: the setting, else the account's only board.
fn board_of(settings: &Settings, boards: &[Board]) -> Result<String, ProviderError> {
    if let Some(board) = &settings.board_id {
        return Ok(board.clone());
    }
    match boards {
        [only] => Ok(only.id.clone()),
        [] => Err(ProviderError::invalid(
            "choose the board: set `boardId` in this account's post settings (the account had no boards when connected)",
        )),
        many => {
            let names: Vec<String> = many.iter().take(10).map(|b| format!("{} ({})", b.name, b.id)).collect();
            Err(ProviderError::invalid(format!(
                "choose the board: set `boardId` in this account's post settings — {}",
                names.join(", ")
            )))
        }
    }
}

#[async_trait]
impl OAuthConnect for Pinterest {
    fn app_env(&self) -> &'static [&'static str] {
        &["PINTEREST_CLIENT_ID", "PINTEREST_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let me = self.get("/user_account", &tokens.access_token).await?;
        let Some(username) = me["username"].as_str().filter(|n| !n.is_empty()) else {
            return Err(ProviderError::new(ErrorClass::Unknown, "Pinterest did not say which account this is"));
        };
        let display_name =
            me["business_name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(username).to_string();
        // The boards only help choose one: an account whose boards cannot be
        // read is connected all the same.
        let boards = self.boards(&tokens.access_token).await.unwrap_or_default();
        let stored = Credentials { tokens: tokens.clone(), username: username.to_string(), boards };
        Ok(vec![ConnectedAccount {
            account_id: me["id"].as_str().unwrap_or(username).to_string(),
            username: username.to_string(),
            display_name,
            avatar_url: me["profile_image"].as_str().map(str::to_string),
            credentials: serde_json::to_value(&stored).unwrap_or_default(),
            token_expires_at: tokens.expires_at,
            scopes: tokens.scopes,
            profile_pending: false,
        }])
    }
}

#[async_trait]
impl Provider for Pinterest {
    fn id(&self) -> &'static str {
        "pinterest"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("pinterest")
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("Pinterest")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Pinterest")
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("Pinterest is connected by signing in: GET /api/auth/pinterest"))
    }

    /// The account's boards, offered as the `boardId` choices.
    async fn discovered_settings(&self, value: &Value) -> Value {
        let Ok(creds) = credentials(value) else { return Value::Null };
        let choices: Vec<Value> = creds.boards.iter().map(|b| json!({"value": b.id, "label": b.name})).collect();
        json!({ "choices": { "boardId": choices } })
    }

    fn tools(&self) -> &'static [crate::Tool] {
        &[crate::Tool {
            method: "getBoards",
            description: "The account's boards (as when it was connected): use an id as the board",
            data: &[],
        }]
    }

    async fn run_tool(&self, value: &Value, method: &str, _data: &Value) -> Result<Value, ProviderError> {
        if method != "getBoards" {
            return Err(ProviderError::invalid(format!("`{method}` is not a tool of Pinterest")));
        }
        let creds = credentials(value)?;
        Ok(Value::Array(creds.boards.iter().map(|b| json!({"id": b.id, "name": b.name})).collect()))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Pinterest", &request.settings).map_err(ProviderError::invalid)?;
        let board = board_of(&settings, &creds.boards)?;
        let image = request.media.first().ok_or_else(|| ProviderError::invalid("a Pin needs an image"))?;
        let mut body = json!({
            "board_id": board,
            "description": request.content,
            "media_source": media_source(image).await?,
        });
        if let Some(title) = title_of(&settings, &request.content) {
            body["title"] = json!(title);
        }
        if let Some(link) = &settings.link {
            body["link"] = json!(link);
        }
        if let Some(alt) = image.alt_text.as_deref().filter(|alt| !alt.is_empty()) {
            body["alt_text"] = json!(alt.chars().take(500).collect::<String>());
        }
        let post = self.request(reqwest::Method::POST, "/pins", &creds.tokens.access_token).json(&body);
        let pin = answer(self.client.send(post).await?).await?;
        let id = pin["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Pinterest did not return the Pin id"))?;
        Ok(PublishedItem { id: id.to_string(), url: Some(format!("https://www.pinterest.com/pin/{id}/")) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// The last 90 days' totals of `GET /v5/pins/{id}/analytics`.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let today = Utc::now().date_naive();
        let path = format!(
            "/pins/{}/analytics?start_date={}&end_date={today}&metric_types=IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK",
            item.id,
            today - Days::days(89),
        );
        let analytics = self.get(&path, &creds.tokens.access_token).await?;
        let summary = &analytics["all"]["summary_metrics"];
        let count = |name: &str| summary[name].as_f64().map_or(0, |n| n.round() as i64);
        Ok(Metrics::from([
            ("impressions".to_string(), count("IMPRESSION")),
            ("saves".to_string(), count("SAVE")),
            ("clicks".to_string(), count("PIN_CLICK")),
            ("outboundClicks".to_string(), count("OUTBOUND_CLICK")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(url: &str, mime: &str) -> Attachment {
        Attachment {
            url: url.into(),
            mime: mime.into(),
            alt_text: None,
            ..Attachment::loaded(bytes::Bytes::from_static(b"\x89PNG"))
        }
    }

    #[tokio::test]
    async fn an_image_goes_by_url_only_where_pinterest_can_fetch_it() {
        let public = media_source(&image("https://herald.example.com/uploads/a.png", "image/png")).await.unwrap();
        assert_eq!(public["source_type"], "image_url");
        for local in
            ["http://herald.example.com/uploads/a.png", "https://127.0.0.1/uploads/a.png", "https://localhost/a.png"]
        {
            let sent = media_source(&image(local, "image/png")).await.unwrap();
            assert_eq!(sent["source_type"], "image_base64", "{local}");
            assert_eq!(sent["data"], "iVBORw==");
        }
        assert!(media_source(&image("https://a.example/x.gif", "image/gif")).await.is_err());
    }

    #[test]
    fn the_board_is_the_setting_or_the_only_one() {
        let board = |id: &str, name: &str| Board { id: id.into(), name: name.into() };
        let one = [board("11", "Recipes")];
        assert_eq!(board_of(&Settings::default(), &one).unwrap(), "11");
        let two = [board("11", "Recipes"), board("12", "Garden")];
        let error = board_of(&Settings::default(), &two).unwrap_err();
        assert!(error.message.contains("Garden (12)"), "{}", error.message);
        let chosen = Settings { board_id: Some("12".into()), ..Settings::default() };
        assert_eq!(board_of(&chosen, &two).unwrap(), "12");
    }
}
