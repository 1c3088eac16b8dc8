//! `medium`: stories on Medium through its API
//! (<https://github.com/Medium/medium-api-docs>) with an integration token
//! (Settings → Security and apps → Integration tokens).
//!
//! A story needs a title: the `title` setting, or the post's first line (the
//! rest is the Markdown body). Images are uploaded to Medium
//! (`POST /v1/images`) and placed after the text. A story goes to the
//! account (`/v1/users/{id}/posts`) or, with `publicationId`, to one of its
//! publications. Medium has no threads, no metrics in its API, and drops no
//! repeated request: an interrupted delivery is not sent again.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::article::split_title;
use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, ProviderSettings, PublishRequest, PublishedItem,
};

pub const DEFAULT_API_BASE: &str = "https://api.medium.com";
const MAX_TITLE_CHARS: usize = 100;

pub struct Medium {
    client: HttpClient,
    api: String,
}

impl Medium {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self { client, api: settings.api_base("medium", DEFAULT_API_BASE) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Medium → Settings → Security and apps → Integration tokens.
    #[schemars(title = "Integration token", extend("writeOnly" = true))]
    integration_token: String,
    /// The account's id, learnt when connecting.
    #[serde(default)]
    #[schemars(skip)]
    author_id: Option<String>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("Medium credentials need `integrationToken`"))
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum PublishStatus {
    #[default]
    Public,
    Unlisted,
    Draft,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The story's title (the post's first line otherwise).
    #[garde(length(chars, max = 100))]
    title: Option<String>,
    /// Up to 5 tags, each at most 25 characters.
    #[garde(length(max = 5), inner(length(chars, min = 1, max = 25)))]
    tags: Vec<String>,
    /// public (the default), unlisted, or draft (kept on Medium, unpublished).
    publish_status: PublishStatus,
    /// Where the story first appeared, if elsewhere.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    canonical_url: Option<String>,
    /// Publish in this publication of the account instead (its id).
    #[garde(pattern(r"^[0-9a-f]{6,}$"))]
    publication_id: Option<String>,
    /// Tell the account's followers (Medium's default: yes).
    notify_followers: Option<bool>,
}

/// Medium's error body: `{"errors": [{"message": "…", "code": 6003}]}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let said = value["errors"][0]["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = format!("Medium answered {}: {said}", status.as_u16());
    match status.as_u16() {
        401 => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the integration token was revoked; create a new one and reconnect"),
        ),
        // No right to publish in that publication: this story, not the account.
        403 => ProviderError::invalid(shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

impl Medium {
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request.header("accept", "application/json")).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if value["data"].is_null() {
            return Err(ProviderError::new(
                ErrorClass::Unknown,
                format!("Medium answered without data: {}", excerpt(&text)),
            ));
        }
        Ok(value["data"].clone())
    }

    fn request(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{}/v1{path}", self.api)).bearer_auth(token.trim())
    }
}

#[async_trait]
impl Provider for Medium {
    fn id(&self) -> &'static str {
        "medium"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("medium")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Medium")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Medium")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let me = self.call(self.request(reqwest::Method::GET, "/me", &creds.integration_token)).await?;
        let id = me["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Medium did not say who this is"))?;
        let username = me["username"].as_str().unwrap_or(id).to_string();
        Ok(ConnectedAccount {
            account_id: id.to_string(),
            display_name: me["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: me["imageUrl"].as_str().filter(|u| u.starts_with("https://")).map(str::to_string),
            credentials: json!({ "integrationToken": creds.integration_token.trim(), "authorId": id }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Medium", &request.settings).map_err(ProviderError::invalid)?;
        let article = split_title(&request.content, settings.title.as_deref());
        if article.title.is_empty() || article.title.chars().count() > MAX_TITLE_CHARS {
            return Err(ProviderError::invalid(format!(
                "a Medium story needs a title of 1 to {MAX_TITLE_CHARS} characters (the `title` setting or the first line)"
            )));
        }
        let token = creds.integration_token.as_str();
        let mut content = article.body.clone();
        for (index, media) in request.media.iter().enumerate() {
            let part = media
                .part()
                .file_name(media.file_name(index))
                .mime_str(&media.mime)
                .map_err(|_| ProviderError::invalid(format!("`{}` is not an image Medium takes", media.mime)))?;
            let form = reqwest::multipart::Form::new().part("image", part);
            let image = self
                .call(self.request(reqwest::Method::POST, "/images", token).multipart(form))
                .await
                .map_err(ProviderError::before_publishing)?;
            let url = image["url"]
                .as_str()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Medium did not return the image URL"))?;
            let alt = media.alt_text.as_deref().unwrap_or_default().replace(['[', ']'], "");
            content.push_str(&format!("\n\n![{alt}]({url})"));
        }
        let path = match (&settings.publication_id, &creds.author_id) {
            (Some(publication), _) => format!("/publications/{publication}/posts"),
            (None, Some(author)) => format!("/users/{author}/posts"),
            (None, None) => {
                return Err(ProviderError::new(ErrorClass::Revoked, "the Medium account's id is unknown; reconnect"));
            }
        };
        let mut body = json!({
            "title": article.title,
            "contentFormat": "markdown",
            "content": format!("# {}\n\n{}", article.title, content.trim()),
            "publishStatus": settings.publish_status,
        });
        if !settings.tags.is_empty() {
            body["tags"] = json!(settings.tags);
        }
        if let Some(canonical) = &settings.canonical_url {
            body["canonicalUrl"] = json!(canonical);
        }
        if let Some(notify) = settings.notify_followers {
            body["notifyFollowers"] = json!(notify);
        }
        let story = self.call(self.request(reqwest::Method::POST, &path, token).json(&body)).await?;
        let id = story["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Medium did not return the story id"))?;
        Ok(PublishedItem { id: id.to_string(), url: story["url"].as_str().map(str::to_string) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_errors_are_classified() {
        let error = |message: &str, code: u32| json!({"errors": [{"message": message, "code": code}]}).to_string();
        let revoked = classify(StatusCode::UNAUTHORIZED, None, &error("Token was invalid.", 6003));
        assert_eq!(revoked.class, ErrorClass::Revoked);
        assert!(revoked.message.starts_with("Medium answered 401: Token was invalid."));
        assert_eq!(
            classify(StatusCode::FORBIDDEN, None, &error("You are not allowed to publish to this publication.", 6027))
                .class,
            ErrorClass::Invalid
        );
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, &error("Invalid field: title", 6000)).class,
            ErrorClass::Invalid
        );
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS, None, "").class, ErrorClass::Retryable { after: None });
    }

    #[test]
    fn settings_are_declared() {
        let medium = Medium::new(HttpClient::new(&ProviderSettings::default()), &ProviderSettings::default());
        assert!(medium.settings().problems(&json!({"tags": ["rust"], "publishStatus": "draft"})).is_empty());
        let problems =
            medium.settings().problems(&json!({"tags": ["a", "b", "c", "d", "e", "f"], "publishStatus": "secret"}));
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["publishStatus", "tags"]);
    }
}
