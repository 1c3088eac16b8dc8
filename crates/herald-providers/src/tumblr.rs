//! `tumblr`: posts in the Neue Post Format to a blog, connected by Tumblr's
//! OAuth 2.0 (`TUMBLR_CLIENT_ID`/`_SECRET`; no PKCE, the client in the form
//! body; scope `offline_access` for a refresh token).
//!
//! One sign-in may offer several blogs; each is an account of its own, and
//! one is chosen per sign-in: access tokens live 42 minutes and refreshing
//! spends the refresh token, so two integrations sharing one grant would
//! spend each other's. A post is NPF text blocks (one per paragraph) and
//! image blocks whose files go in the same multipart request.

use async_trait::async_trait;
use chrono::Utc;
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

const SCOPES: &[&str] = &["basic", "write", "offline_access"];

pub struct Tumblr {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
}

impl Tumblr {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "TUMBLR_CLIENT_ID", "TUMBLR_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("tumblr", "https://www.tumblr.com/oauth2/authorize"),
                token: settings.platform_url("tumblr", "https://api.tumblr.com/v2/oauth2/token"),
                revoke: None,
            };
            CodeFlow::new(client.clone(), app, endpoints, "Tumblr").without_pkce().credentials_in_body()
        });
        Self { api: settings.platform_url("tumblr", "https://api.tumblr.com"), client, flow }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("Tumblr is not configured: set TUMBLR_CLIENT_ID"))
    }

    fn request(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{}/v2{path}", self.api)).bearer_auth(token)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// The blog's name (its identifier in paths, `{name}.tumblr.com`).
    blog: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored Tumblr credentials are incomplete; reconnect the account")
    })
}

/// Who sees the post; `queue` puts it in the blog's queue, published on
/// Tumblr's own schedule.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum PostState {
    #[default]
    Published,
    Queue,
    Draft,
    Private,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// Tags, without `#`.
    #[garde(length(max = 30), inner(length(chars, min = 1, max = 140)))]
    tags: Vec<String>,
    #[garde(skip)]
    state: Option<PostState>,
    /// Where the post's content came from.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    source_url: Option<String>,
}

/// Tumblr's words in an error body (`errors[0].detail`, `meta.msg`), or the body.
fn said(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_default();
    value["errors"][0]["detail"]
        .as_str()
        .or(value["errors"][0]["title"].as_str())
        .or(value["meta"]["msg"].as_str())
        .map_or_else(|| excerpt(body), str::to_string)
}

/// 401 is an expired or revoked token; 403 a blog this account may not
/// post to — not a revoked grant; 400 refused content.
fn error_from(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    let said = said(body);
    match status.as_u16() {
        401 => ProviderError::new(ErrorClass::AuthExpired, format!("Tumblr refused the access token: {said}")),
        403 => ProviderError::invalid(format!("Tumblr does not allow this: {said}")),
        400 | 404 => ProviderError::invalid(format!("Tumblr refused the post: {said}")),
        _ => ProviderError::new(
            classify_status(status, retry_after(headers, Utc::now())),
            format!("Tumblr answered {status}: {said}"),
        ),
    }
}

/// The `response` of a successful answer.
async fn answer(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text));
    }
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(value["response"].clone())
}

/// The NPF body: a text block per paragraph, then an image block per file
/// (each naming its multipart part).
fn npf_body(content: &str, media: &[Attachment], settings: &Settings) -> Value {
    let mut blocks: Vec<Value> = content
        .split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| json!({ "type": "text", "text": paragraph }))
        .collect();
    for (index, file) in media.iter().enumerate() {
        let mut block =
            json!({ "type": "image", "media": [{ "type": file.mime, "identifier": format!("media{index}") }] });
        if let Some(alt) = file.alt_text.as_deref().filter(|alt| !alt.is_empty()) {
            block["alt_text"] = json!(alt);
        }
        blocks.push(block);
    }
    let mut body = json!({ "content": blocks, "state": settings.state.unwrap_or_default() });
    if !settings.tags.is_empty() {
        body["tags"] = json!(settings.tags.join(","));
    }
    if let Some(source) = &settings.source_url {
        body["source_url"] = json!(source);
    }
    body
}

#[async_trait]
impl OAuthConnect for Tumblr {
    fn app_env(&self) -> &'static [&'static str] {
        &["TUMBLR_CLIENT_ID", "TUMBLR_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    fn one_account_per_sign_in(&self) -> bool {
        true
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[])
    }

    /// Every blog of the account, to choose from.
    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let info =
            answer(self.client.send(self.request(reqwest::Method::GET, "/user/info", &tokens.access_token)).await?)
                .await?;
        let mut accounts = Vec::new();
        for blog in info["user"]["blogs"].as_array().into_iter().flatten() {
            let Some(name) = blog["name"].as_str().filter(|n| !n.is_empty()) else { continue };
            let title = blog["title"].as_str().filter(|t| !t.trim().is_empty()).unwrap_or(name);
            let stored = Credentials { tokens: tokens.clone(), blog: name.to_string() };
            accounts.push(ConnectedAccount {
                account_id: blog["uuid"].as_str().unwrap_or(name).to_string(),
                username: name.to_string(),
                display_name: title.to_string(),
                avatar_url: blog["avatar"][0]["url"].as_str().map(str::to_string),
                credentials: serde_json::to_value(&stored).unwrap_or_default(),
                token_expires_at: tokens.expires_at,
                scopes: tokens.scopes.clone(),
                profile_pending: false,
            });
        }
        if accounts.is_empty() {
            return Err(ProviderError::invalid("this Tumblr account has no blog to post to"));
        }
        Ok(accounts)
    }
}

#[async_trait]
impl Provider for Tumblr {
    fn id(&self) -> &'static str {
        "tumblr"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("tumblr")
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("Tumblr")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Tumblr")
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("Tumblr is connected by signing in: GET /api/auth/tumblr"))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Tumblr", &request.settings).map_err(ProviderError::invalid)?;
        let body = npf_body(&request.content, &request.media, &settings);
        let path = format!("/blog/{}/posts", creds.blog);
        let post = self.request(reqwest::Method::POST, &path, &creds.tokens.access_token);
        let post = if request.media.is_empty() {
            post.json(&body)
        } else {
            let json = reqwest::multipart::Part::text(body.to_string())
                .mime_str("application/json")
                .map_err(|_| ProviderError::new(ErrorClass::Unknown, "the post could not be encoded"))?;
            let mut form = reqwest::multipart::Form::new().part("json", json);
            for (index, file) in request.media.iter().enumerate() {
                let part =
                    file.part().file_name(file.file_name(index)).mime_str(&file.mime).map_err(|_| {
                        ProviderError::invalid(format!("`{}` is not a media type Tumblr takes", file.mime))
                    })?;
                form = form.part(format!("media{index}"), part);
            }
            post.multipart(form)
        };
        let created = answer(self.client.send(post).await?).await?;
        let id = created["id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| created["id"].as_u64().map(|n| n.to_string()))
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Tumblr did not return the post id"))?;
        let url = Some(format!("https://www.tumblr.com/{}/{id}", creds.blog));
        Ok(PublishedItem { id, url }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// Notes (likes, reblogs and replies together) of the post.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let path = format!("/blog/{}/posts?id={}&npf=true", creds.blog, item.id);
        let found =
            answer(self.client.send(self.request(reqwest::Method::GET, &path, &creds.tokens.access_token)).await?)
                .await?;
        let notes = found["posts"][0]["note_count"].as_i64().unwrap_or(0);
        Ok(Metrics::from([("notes".to_string(), notes)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_is_a_text_block_per_paragraph_then_its_images() {
        let image = Attachment {
            url: "http://localhost/uploads/a.png".into(),
            mime: "image/png".into(),
            alt_text: Some("A heron".into()),
            ..crate::Attachment::loaded(bytes::Bytes::from_static(b"png"))
        };
        let settings = Settings { tags: vec!["birds".into(), "rust".into()], ..Settings::default() };
        let body = npf_body("Spring\n\nThe herons are back.\n", &[image], &settings);
        assert_eq!(body["content"][0], json!({"type": "text", "text": "Spring"}));
        assert_eq!(body["content"][1]["text"], "The herons are back.");
        assert_eq!(body["content"][2]["media"][0], json!({"type": "image/png", "identifier": "media0"}));
        assert_eq!(body["content"][2]["alt_text"], "A heron");
        assert_eq!(body["state"], "published");
        assert_eq!(body["tags"], "birds,rust");
    }

    #[test]
    fn tumblr_errors_are_read_from_their_envelope() {
        let body = r#"{"meta":{"status":400,"msg":"Bad Request"},"response":[],"errors":[{"title":"Bad Request","code":8001,"detail":"Posting failed"}]}"#;
        let error = error_from(StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
        assert_eq!(error.class, ErrorClass::Invalid);
        assert!(error.message.contains("Posting failed"));
        assert_eq!(error_from(StatusCode::UNAUTHORIZED, &HeaderMap::new(), "{}").class, ErrorClass::AuthExpired);
    }
}
