//! `dribbble`: shots on Dribbble through API v2
//! (<https://developer.dribbble.com/v2/shots/>), connected by Dribbble's
//! OAuth (`DRIBBBLE_CLIENT_ID`/`_SECRET`, scopes `public upload`; the upload
//! scope is granted to apps Dribbble approves, for accounts that may post).
//!
//! A shot is one image (PNG, JPEG or GIF, 400×300, 800×600 or 1600×1200,
//! at most 8 MB) with a title — the `title` setting or the post's first
//! line — and the rest as its description. Dribbble takes the upload with
//! `202 Accepted` and processes it; the shot's id is in `Location`. Tokens
//! do not expire. Dribbble drops no repeated upload: an interrupted delivery
//! is not sent again.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::article::split_title;
use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, ProviderSettings, PublishRequest, PublishedItem,
};

const SCOPES: &[&str] = &["public", "upload"];
const MAX_TAGS: usize = 12;

pub struct Dribbble {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
}

impl Dribbble {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "DRIBBBLE_CLIENT_ID", "DRIBBBLE_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("dribbble", "https://dribbble.com/oauth/authorize"),
                token: settings.platform_url("dribbble", "https://dribbble.com/oauth/token"),
                revoke: None,
            };
            CodeFlow::new(client.clone(), app, endpoints, "Dribbble").without_pkce().credentials_in_body()
        });
        Self { api: settings.platform_url("dribbble", "https://api.dribbble.com"), client, flow }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| {
            ProviderError::invalid("Dribbble is not configured: set DRIBBBLE_CLIENT_ID and DRIBBBLE_CLIENT_SECRET")
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored Dribbble credentials are incomplete; reconnect the account")
    })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The shot's title (the post's first line otherwise).
    #[garde(length(chars, max = 100))]
    title: Option<String>,
    /// Up to 12 tags.
    #[garde(length(max = 12), inner(length(chars, min = 1, max = 50)))]
    tags: Vec<String>,
    /// Keep the shot off the public feeds (Dribbble's "low profile").
    low_profile: bool,
    /// Post for this team of the account (its id).
    team_id: Option<u64>,
}

/// Dribbble's error body: `{"message": "…", "errors": [{"attribute", "message"}]}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut said = value["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let details: Vec<String> = value["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some(format!("{} {}", e["attribute"].as_str()?, e["message"].as_str()?)))
        .collect();
    if !details.is_empty() {
        said = format!("{said}: {}", details.join("; "));
    }
    let shown = format!("Dribbble answered {}: {said}", status.as_u16());
    match status.as_u16() {
        401 => ProviderError::new(ErrorClass::Revoked, format!("{shown} — the token was revoked; reconnect")),
        403 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "{shown} — the account or the app may not upload shots (Dribbble grants the upload scope); reconnect once it may"
            ),
        ),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

impl Dribbble {
    fn request(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{}/v2{path}", self.api)).bearer_auth(token)
    }
}

#[async_trait]
impl OAuthConnect for Dribbble {
    fn app_env(&self) -> &'static [&'static str] {
        &["DRIBBBLE_CLIENT_ID", "DRIBBBLE_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let response = self.client.send(self.request(reqwest::Method::GET, "/user", &tokens.access_token)).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        let user: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = user["id"]
            .as_u64()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Dribbble did not say who signed in"))?;
        let login = user["login"].as_str().unwrap_or_default().to_string();
        Ok(vec![ConnectedAccount {
            account_id: id.to_string(),
            display_name: user["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(&login).to_string(),
            username: login,
            avatar_url: user["avatar_url"].as_str().map(str::to_string),
            credentials: serde_json::to_value(Credentials { tokens: tokens.clone() }).unwrap_or_default(),
            token_expires_at: tokens.expires_at,
            scopes: tokens.scopes,
            profile_pending: false,
        }])
    }
}

#[async_trait]
impl Provider for Dribbble {
    fn id(&self) -> &'static str {
        "dribbble"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("dribbble")
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("Dribbble")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Dribbble")
    }

    async fn connect(&self, _value: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid(
            "Dribbble accounts are connected by signing in with Dribbble (GET /api/auth/dribbble)",
        ))
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Dribbble", &request.settings).map_err(ProviderError::invalid)?;
        let image = request.media.first().ok_or_else(|| ProviderError::invalid("a Dribbble shot needs an image"))?;
        let shot = split_title(&request.content, settings.title.as_deref());
        if shot.title.is_empty() {
            return Err(ProviderError::invalid("a shot needs a title (the `title` setting or the first line)"));
        }
        let part = image
            .part()
            .file_name(image.file_name(0))
            .mime_str(&image.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not an image Dribbble takes", image.mime)))?;
        let mut form = reqwest::multipart::Form::new().part("image", part).text("title", shot.title.clone());
        if !shot.body.is_empty() {
            form = form.text("description", shot.body.clone());
        }
        for tag in settings.tags.iter().take(MAX_TAGS) {
            form = form.text("tags[]", tag.clone());
        }
        if settings.low_profile {
            form = form.text("low_profile", "true");
        }
        if let Some(team) = settings.team_id {
            form = form.text("team_id", team.to_string());
        }
        let response = self
            .client
            .send(self.request(reqwest::Method::POST, "/shots", &creds.tokens.access_token).multipart(form))
            .await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let location =
            response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_string);
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        // `Location: https://api.dribbble.com/v2/shots/{id}`.
        let id = location
            .as_deref()
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|id| id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty())
            .ok_or_else(|| {
                ProviderError::new(ErrorClass::Unknown, "Dribbble took the shot without saying where it is")
            })?;
        Ok(PublishedItem { id: id.to_string(), url: Some(format!("https://dribbble.com/shots/{id}")) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_errors_are_classified() {
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, r#"{"message": "Bad credentials."}"#).class,
            ErrorClass::Revoked
        );
        assert_eq!(
            classify(StatusCode::FORBIDDEN, None, r#"{"message": "You don't have the upload scope."}"#).class,
            ErrorClass::Revoked
        );
        let body = r#"{"message": "Validation failed.", "errors": [{"attribute": "image", "message": "dimensions must be 400x300, 800x600 or 1600x1200"}]}"#;
        let invalid = classify(StatusCode::UNPROCESSABLE_ENTITY, None, body);
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert_eq!(
            invalid.message,
            "Dribbble answered 422: Validation failed.: image dimensions must be 400x300, 800x600 or 1600x1200"
        );
    }
}
