//! `devto`: articles on DEV (dev.to) through the Forem API v1.
//!
//! Every request carries the account's key in the `api-key` header and
//! `Accept: application/vnd.forem.api-v1+json` (without it Forem answers with
//! the deprecated v0 API). An article needs a title: `settings.title`, or the
//! post's first line (the rest is the Markdown body). DEV has no threads and
//! takes images by URL only (the cover, `main_image`), so no bytes are
//! uploaded. Errors come as `{"error": "...", "status": N}`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::article::{is_http_url, split_title};
use crate::declared::{self, Declaration};
use crate::http::{excerpt, retry_after};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, ProviderSettings, PublishRequest,
    PublishedItem, RateBudget,
};

pub const DEFAULT_API_BASE: &str = "https://dev.to";
const ACCEPT: &str = "application/vnd.forem.api-v1+json";
/// Forem's limits on an article.
const MAX_TAGS: usize = 4;
const MAX_TAG_LEN: usize = 30;
const MAX_TITLE_CHARS: usize = 128;

pub struct Devto {
    client: HttpClient,
    api: String,
}

impl Devto {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self { client, api: settings.api_base("devto", DEFAULT_API_BASE) }
    }

    fn request(&self, method: reqwest::Method, path: &str, api_key: &str) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, format!("{}{path}", self.api))
            .header("api-key", api_key)
            .header("accept", ACCEPT)
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Generate one under Settings → Extensions → DEV Community API Keys.
    #[schemars(title = "API key", length(min = 1), extend("writeOnly" = true))]
    api_key: String,
}

fn api_key(credentials: &Value) -> Result<String, ProviderError> {
    let given: Option<Credentials> = serde_json::from_value(credentials.clone()).ok();
    let key = given.map(|c| c.api_key.trim().to_string()).filter(|key| !key.is_empty());
    key.ok_or_else(|| {
        ProviderError::invalid("DEV credentials need `apiKey` (create one at https://dev.to/settings/extensions)")
    })
}

/// Turns a DEV error answer into an error class and the platform's message.
fn error_from(status: StatusCode, after: Option<Duration>, body: &str) -> ProviderError {
    let said = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| excerpt(body));
    let said = if said.is_empty() { status.to_string() } else { said };
    match status.as_u16() {
        401 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "DEV refused the API key ({said}); create a new key at https://dev.to/settings/extensions and reconnect"
            ),
        ),
        403 => ProviderError::new(ErrorClass::Revoked, format!("DEV refused access for this account: {said}")),
        429 => ProviderError::new(ErrorClass::Retryable { after }, format!("DEV rate limit: {said}")),
        500..=599 => ProviderError::new(ErrorClass::Retryable { after }, format!("DEV answered {status}: {said}")),
        400..=499 => ProviderError::invalid(format!("DEV refused the article: {said}")),
        _ => ProviderError::new(ErrorClass::Unknown, format!("DEV answered {status}: {said}")),
    }
}

/// DEV tags are lowercase alphanumerics: `#Rust-Lang` becomes `rustlang`.
fn normalise_tag(tag: &str) -> String {
    tag.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// Article title; defaults to the post's first line (the rest is the body).
    #[garde(custom(title_length))]
    #[schemars(length(max = MAX_TITLE_CHARS))]
    title: Option<String>,
    /// Defaults to the post's tags, cleaned up and cut to four.
    #[garde(custom(dev_tags))]
    #[schemars(length(max = MAX_TAGS), inner(regex(pattern = r"^#?[A-Za-z0-9]+$"), length(max = MAX_TAG_LEN)))]
    tags: Option<Vec<String>>,
    /// false saves a draft on DEV.
    #[garde(skip)]
    #[schemars(extend("default" = true))]
    published: Option<bool>,
    #[garde(skip)]
    series: Option<String>,
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    canonical_url: Option<String>,
    #[garde(skip)]
    description: Option<String>,
    /// Cover image URL; defaults to the post's first image.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    main_image: Option<String>,
    /// The numeric id of a DEV organization to publish under.
    #[garde(skip)]
    organization_id: Option<i64>,
}

fn title_length(title: &Option<String>, _: &()) -> garde::Result {
    match title {
        Some(title) if title.chars().count() > MAX_TITLE_CHARS => {
            Err(garde::Error::new(format!("DEV titles are at most {MAX_TITLE_CHARS} characters")))
        }
        _ => Ok(()),
    }
}

/// DEV's own rules for tags, in its words.
fn dev_tags(tags: &Option<Vec<String>>, _: &()) -> garde::Result {
    let Some(tags) = tags else { return Ok(()) };
    let mut problems = Vec::new();
    if tags.len() > MAX_TAGS {
        problems.push(format!("DEV takes at most {MAX_TAGS} tags, got {}", tags.len()));
    }
    for tag in tags {
        let name = tag.trim_start_matches('#');
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(format!("DEV tags are letters and digits only: {tag:?}"));
        } else if name.len() > MAX_TAG_LEN {
            problems.push(format!("DEV tags are at most {MAX_TAG_LEN} characters: {tag:?}"));
        }
    }
    declared::all(problems)
}

/// `settings.tags` as given, else the post's tags cleaned up and cut to DEV's four.
fn tags_for(settings: &Settings, post_tags: &[String]) -> Vec<String> {
    let given: Option<Vec<String>> =
        settings.tags.as_ref().map(|tags| tags.iter().map(|t| normalise_tag(t.trim_start_matches('#'))).collect());
    let mut tags = Vec::new();
    for tag in given.unwrap_or_else(|| post_tags.iter().map(|t| normalise_tag(t)).collect()) {
        if !tag.is_empty() && tag.len() <= MAX_TAG_LEN && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.truncate(MAX_TAGS);
    tags
}

/// A non-empty text setting, trimmed.
fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The `article` object of `POST /api/articles`.
fn build_article(
    content: &str,
    settings: &Settings,
    post_tags: &[String],
    media: &[Attachment],
    media_urls: &[String],
) -> Result<Value, ProviderError> {
    let article = split_title(content, settings.title.as_deref());
    if article.title.is_empty() {
        return Err(ProviderError::invalid(
            "a DEV article needs a title: set settings.title or start the post with a title line",
        ));
    }
    let title: String = article.title.chars().take(MAX_TITLE_CHARS).collect();
    let mut out = Map::new();
    out.insert("title".into(), json!(title));
    out.insert("body_markdown".into(), json!(article.body));
    out.insert("published".into(), json!(settings.published.unwrap_or(true)));
    out.insert("tags".into(), json!(tags_for(settings, post_tags)));
    for (value, field) in [
        (&settings.series, "series"),
        (&settings.canonical_url, "canonical_url"),
        (&settings.description, "description"),
    ] {
        if let Some(value) = text(value) {
            out.insert(field.into(), json!(value));
        }
    }
    // The cover: chosen explicitly, or the post's first image (DEV fetches it by URL).
    let cover = text(&settings.main_image)
        .or_else(|| media.iter().find(|m| m.is_image()).map(|m| m.url.clone()))
        .or_else(|| media_urls.first().cloned());
    if let Some(cover) = cover {
        out.insert("main_image".into(), json!(cover));
    }
    if let Some(organization) = settings.organization_id {
        out.insert("organization_id".into(), json!(organization));
    }
    Ok(Value::Object(out))
}

#[async_trait]
impl Provider for Devto {
    fn id(&self) -> &'static str {
        "devto"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("devto")
    }

    fn max_concurrency(&self) -> usize {
        2
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("DEV")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("DEV")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn rate_budget(&self) -> Option<RateBudget> {
        // Forem limits article creation to about 10 per 30 seconds per user.
        Some(RateBudget { max: 10, window: Duration::from_secs(30) })
    }

    async fn connect(&self, credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        let key = api_key(credentials)?;
        let response = self.client.send(self.request(reqwest::Method::GET, "/api/users/me", &key)).await?;
        let status = response.status();
        let after = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(error_from(status, after, &text));
        }
        let me: Value = serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(ErrorClass::Unknown, "DEV answered /api/users/me with something else than JSON")
        })?;
        let id = match &me["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => return Err(ProviderError::new(ErrorClass::Unknown, "DEV did not say which user the key belongs to")),
        };
        let username = me["username"].as_str().unwrap_or_default().to_string();
        Ok(ConnectedAccount {
            account_id: id,
            display_name: me["name"].as_str().filter(|n| !n.is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: me["profile_image"].as_str().filter(|u| is_http_url(u)).map(str::to_string),
            credentials: json!({ "apiKey": key }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        if request.item_index > 0 {
            return Err(ProviderError::invalid("DEV articles have no threads"));
        }
        let key = api_key(&request.credentials)?;
        let settings: Settings = declared::read("DEV", &request.settings).map_err(ProviderError::invalid)?;
        let article = build_article(&request.content, &settings, &request.tags, &request.media, &request.media_urls)?;
        let response = self
            .client
            .send(self.request(reqwest::Method::POST, "/api/articles", &key).json(&json!({ "article": article })))
            .await?;
        let status = response.status();
        let after = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(error_from(status, after, &text));
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = match &answer["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => {
                return Err(ProviderError::new(
                    ErrorClass::Unknown,
                    format!("DEV accepted the article but did not answer with its id: {}", excerpt(&text)),
                ));
            }
        };
        Ok(PublishedItem { id, url: answer["url"].as_str().map(str::to_string) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(value: Value) -> Settings {
        declared::read("DEV", &value).unwrap()
    }

    fn image(url: &str) -> Attachment {
        Attachment {
            url: url.into(),
            mime: "image/png".into(),
            alt_text: None,
            ..crate::Attachment::loaded(bytes::Bytes::new())
        }
    }

    #[test]
    fn articles_take_the_first_line_as_title_and_the_settings() {
        let article = build_article("# Hello DEV\n\nBody **bold**", &Settings::default(), &[], &[], &[]).unwrap();
        assert_eq!(
            article,
            json!({"title": "Hello DEV", "body_markdown": "Body **bold**", "published": true, "tags": []})
        );
        let given = settings(json!({
            "title": "Given", "tags": ["#Rust", "webdev"], "published": false, "series": "Herald",
            "canonicalUrl": "https://blog.example/a", "description": "d", "organizationId": 42
        }));
        let tags = ["ignored".to_string()];
        let article = build_article("Line\nmore", &given, &tags, &[image("https://h.example/u/a.png")], &[]).unwrap();
        assert_eq!(
            article,
            json!({
                "title": "Given", "body_markdown": "Line\nmore", "published": false, "tags": ["rust", "webdev"],
                "series": "Herald", "canonical_url": "https://blog.example/a", "description": "d",
                "main_image": "https://h.example/u/a.png", "organization_id": 42
            })
        );
        let with_cover =
            build_article("T", &settings(json!({"mainImage": "https://c.example/x.png"})), &[], &[], &[]).unwrap();
        assert_eq!(with_cover["main_image"], "https://c.example/x.png");
        let from_urls =
            build_article("T", &Settings::default(), &[], &[], &["https://h.example/u/b.jpg".into()]).unwrap();
        assert_eq!(from_urls["main_image"], "https://h.example/u/b.jpg");
        assert_eq!(build_article("  \n ", &Settings::default(), &[], &[], &[]).unwrap_err().class, ErrorClass::Invalid);
        let long = "x".repeat(200);
        assert_eq!(
            build_article(&long, &Settings::default(), &[], &[], &[]).unwrap()["title"].as_str().unwrap().len(),
            128
        );
    }

    #[test]
    fn post_tags_are_normalised_and_cut_to_four() {
        let tags: Vec<String> = ["Rust-Lang", "#Web Dev", "rustlang", "", "a", "b", "c"].map(String::from).to_vec();
        assert_eq!(tags_for(&Settings::default(), &tags), ["rustlang", "webdev", "a", "b"]);
    }

    #[test]
    fn settings_are_checked() {
        let dev = Devto::new(HttpClient::new(&ProviderSettings::default()), &ProviderSettings::default());
        assert!(dev.settings().problems(&json!({"tags": ["rust", "#webdev"], "published": false})).is_empty());
        let problems = dev.settings().problems(&json!({
            "tags": ["a", "b", "c", "d", "e-f"], "published": "yes", "mainImage": "nope", "organizationId": "x",
            "colour": "red", "title": "t".repeat(129)
        }));
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["colour", "mainImage", "organizationId", "published", "tags", "tags", "title"]);
        assert!(problems[4].1.contains("at most 4 tags"));
        assert!(problems[5].1.contains("e-f"));
        assert_eq!(dev.settings().problems(&json!({"tags": "rust"}))[0].1, "must be a list");
    }

    #[test]
    fn errors_are_classified_with_the_platform_message() {
        let revoked = error_from(StatusCode::UNAUTHORIZED, None, r#"{"error":"unauthorized","status":401}"#);
        assert_eq!(revoked.class, ErrorClass::Revoked);
        assert!(revoked.message.contains("unauthorized"));
        let invalid =
            error_from(StatusCode::UNPROCESSABLE_ENTITY, None, r#"{"error":"Title can't be blank","status":422}"#);
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert_eq!(invalid.message, "DEV refused the article: Title can't be blank");
        let limited = error_from(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(30)), "{}");
        assert_eq!(limited.class, ErrorClass::Retryable { after: Some(Duration::from_secs(30)) });
        let down = error_from(StatusCode::BAD_GATEWAY, None, "<html>bad gateway</html>");
        assert_eq!(down.class, ErrorClass::Retryable { after: None });
    }
}
