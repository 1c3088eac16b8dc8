//! `ghost`: posts on a Ghost site through its Admin API
//! (<https://ghost.org/docs/admin-api/>), with the Admin API key of a custom
//! integration (Settings → Integrations → Add custom integration).
//!
//! The key is `{id}:{secret}`: each request carries a short-lived JWT
//! (HS256 with the hex-decoded secret, `kid` the id, audience `/admin/`,
//! five minutes) as `Authorization: Ghost <token>`, with
//! `Accept-Version: v5.0`. A post's title is the `title` setting or its first
//! line; the rest is Markdown, sent as HTML (`?source=html`, raw HTML shown
//! as text). Images are uploaded (`/images/upload/`): the first is the
//! feature image, the others follow the text. With `newsletter`, a
//! published post is also emailed to the members (`email_segment`).
//! Ghost drops no repeated request: an interrupted delivery is not sent again.

use async_trait::async_trait;
use base64::Engine as _;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::article::{escape_html, markdown_html, split_title};
use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::TargetGuard;
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem,
};

const ACCEPT_VERSION: &str = "v5.0";
const TOKEN_SECONDS: i64 = 300;

pub struct Ghost {
    client: HttpClient,
    guard: TargetGuard,
}

impl Ghost {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// The integration's "API URL" (your site, e.g. https://blog.example.com).
    #[schemars(title = "API URL")]
    api_url: String,
    /// Settings → Integrations → Add custom integration → Admin API key (id:secret).
    #[schemars(title = "Admin API key", extend("writeOnly" = true))]
    admin_api_key: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("Ghost credentials need `apiUrl` and `adminApiKey`"))
}

/// The site's base (scheme, host, port and path, for Ghost under a subdirectory).
fn api_base(guard: &TargetGuard, raw: &str) -> Result<String, ProviderError> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("https://{raw}") };
    let mut url = guard.check_url(&with_scheme).map_err(ProviderError::invalid)?;
    url.set_query(None);
    url.set_fragment(None);
    let base = url.as_str().trim_end_matches('/').trim_end_matches("/ghost").to_string();
    Ok(base)
}

/// `Ghost <jwt>` for an Admin API key `{id}:{hex secret}`.
fn authorization(key: &str, now: i64) -> Result<String, ProviderError> {
    let shape = || ProviderError::invalid("`adminApiKey` must be the Admin API key as Ghost shows it: <id>:<secret>");
    let (id, secret) = key.trim().split_once(':').ok_or_else(shape)?;
    let secret = hex::decode(secret).map_err(|_| shape())?;
    if id.is_empty() || secret.is_empty() {
        return Err(shape());
    }
    let encode = |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let header = encode(&json!({"alg": "HS256", "typ": "JWT", "kid": id}));
    let claims = encode(&json!({"iat": now, "exp": now + TOKEN_SECONDS, "aud": "/admin/"}));
    let signing = format!("{header}.{claims}");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).map_err(|_| shape())?;
    mac.update(signing.as_bytes());
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("Ghost {signing}.{signature}"))
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Status {
    #[default]
    Published,
    Draft,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Visibility {
    Public,
    Members,
    Paid,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The post's title (the post's first line otherwise).
    #[garde(length(chars, max = 255))]
    title: Option<String>,
    /// Tags by name.
    #[garde(length(max = 10), inner(length(chars, min = 1, max = 191)))]
    tags: Vec<String>,
    /// published (the default) or draft.
    status: Status,
    /// Who may read it: public, members or paid (the site's default otherwise).
    visibility: Option<Visibility>,
    /// A short summary shown in lists and previews.
    #[garde(length(chars, max = 300))]
    excerpt: Option<String>,
    /// Also email the post to the members with this newsletter (its slug).
    #[garde(pattern(r"^[a-z0-9-]{1,191}$"))]
    newsletter: Option<String>,
    /// Feature the post on the site.
    featured: bool,
}

/// Ghost's error body: `{"errors": [{"message", "context", "type"}]}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let error = &value["errors"][0];
    let kind = error["type"].as_str().unwrap_or_default();
    let said = match (error["message"].as_str(), error["context"].as_str()) {
        (Some(message), Some(context)) if !context.is_empty() => format!("{message} {context}"),
        (Some(message), _) => message.to_string(),
        _ => excerpt(body),
    };
    let shown = format!("Ghost answered {}: {said}", status.as_u16());
    match (status.as_u16(), kind) {
        (401 | 403, _) | (_, "UnauthorizedError" | "NoPermissionError") => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the Admin API key was refused (the integration removed?); reconnect"),
        ),
        (_, "ValidationError") | (422, _) => ProviderError::invalid(shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

impl Ghost {
    fn request(
        &self,
        base: &str,
        key: &str,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        Ok(self
            .client
            .inner()
            .request(method, format!("{base}/ghost/api/admin{path}"))
            .header("authorization", authorization(key, Utc::now().timestamp())?)
            .header("accept-version", ACCEPT_VERSION))
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(
                ErrorClass::Unknown,
                format!("Ghost answered with something else than JSON: {}", excerpt(&text)),
            )
        })
    }

    async fn upload(&self, base: &str, key: &str, index: usize, media: &Attachment) -> Result<String, ProviderError> {
        let part = media
            .part()
            .file_name(media.file_name(index))
            .mime_str(&media.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not an image Ghost takes", media.mime)))?;
        let form = reqwest::multipart::Form::new().part("file", part).text("purpose", "image");
        let request = self.request(base, key, reqwest::Method::POST, "/images/upload/")?.multipart(form);
        let uploaded = self.call(request).await.map_err(ProviderError::before_publishing)?;
        uploaded["images"][0]["url"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Ghost did not return the image URL"))
    }
}

#[async_trait]
impl Provider for Ghost {
    fn id(&self) -> &'static str {
        "ghost"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("ghost")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Ghost")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Ghost")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let base = api_base(&self.guard, &creds.api_url)?;
        let key = creds.admin_api_key.trim();
        // The site endpoint says what the site is; reading posts proves the key.
        let site = self.call(self.request(&base, key, reqwest::Method::GET, "/site/")?).await?;
        self.call(self.request(&base, key, reqwest::Method::GET, "/posts/?limit=1&fields=id")?).await?;
        let site = &site["site"];
        let url = site["url"].as_str().unwrap_or(&base).trim_end_matches('/').to_string();
        let host =
            url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| url.clone());
        let key_id = key.split(':').next().unwrap_or_default();
        Ok(ConnectedAccount {
            account_id: format!("{host}/{key_id}"),
            username: host.clone(),
            display_name: site["title"].as_str().filter(|t| !t.trim().is_empty()).unwrap_or(&host).to_string(),
            avatar_url: site["icon"].as_str().filter(|u| u.starts_with("http")).map(str::to_string),
            credentials: json!({ "apiUrl": base, "adminApiKey": key }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let base = api_base(&self.guard, &creds.api_url)?;
        let key = creds.admin_api_key.trim();
        let settings: Settings = declared::read("Ghost", &request.settings).map_err(ProviderError::invalid)?;
        let article = split_title(&request.content, settings.title.as_deref());
        if article.title.is_empty() {
            return Err(ProviderError::invalid("a Ghost post needs a title (the `title` setting or the first line)"));
        }
        let mut images = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            images.push((self.upload(&base, key, index, media).await?, media.alt_text.clone()));
        }
        let mut html = markdown_html(&article.body);
        for (url, alt) in images.iter().skip(1) {
            let alt = escape_html(alt.as_deref().unwrap_or_default());
            html.push_str(&format!("\n<figure><img src=\"{}\" alt=\"{alt}\"></figure>", escape_html(url)));
        }
        let mut post = json!({ "title": article.title, "html": html, "status": settings.status });
        if let Some((url, alt)) = images.first() {
            post["feature_image"] = json!(url);
            if let Some(alt) = alt.as_deref().filter(|a| !a.trim().is_empty()) {
                post["feature_image_alt"] = json!(alt);
            }
        }
        if !settings.tags.is_empty() {
            post["tags"] = json!(settings.tags);
        }
        if let Some(visibility) = settings.visibility {
            post["visibility"] = json!(visibility);
        }
        if let Some(excerpt) = &settings.excerpt {
            post["custom_excerpt"] = json!(excerpt);
        }
        if settings.featured {
            post["featured"] = json!(true);
        }
        let mut path = "/posts/?source=html".to_string();
        if let (Some(newsletter), Status::Published) = (&settings.newsletter, settings.status) {
            path.push_str(&format!("&newsletter={newsletter}&email_segment=all"));
        }
        let created = self
            .call(self.request(&base, key, reqwest::Method::POST, &path)?.json(&json!({ "posts": [post] })))
            .await?;
        let post = &created["posts"][0];
        let id = post["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Ghost did not return the post id"))?;
        Ok(PublishedItem { id: id.to_string(), url: post["url"].as_str().map(str::to_string) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "6489a1f2b3c4d5e6f7a8b9c0:3b1e5d4a2c6f8e0d9b7a5c3e1f2d4b6a8c0e2f4a6b8d0c2e4f6a8b0d2c4e6f8a";

    #[test]
    fn the_admin_token_is_a_jwt_ghost_accepts() {
        let header = authorization(KEY, 1_700_000_000).unwrap();
        let token = header.strip_prefix("Ghost ").unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| -> Value {
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        assert_eq!(decode(parts[0]), json!({"alg": "HS256", "typ": "JWT", "kid": "6489a1f2b3c4d5e6f7a8b9c0"}));
        assert_eq!(decode(parts[1]), json!({"iat": 1_700_000_000, "exp": 1_700_000_300, "aud": "/admin/"}));
        let secret = hex::decode(KEY.split(':').nth(1).unwrap()).unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_eq!(parts[2], base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        for bad in ["nocolon", "id:not-hex", ":abcd"] {
            assert!(authorization(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn site_addresses_keep_their_path() {
        let guard = TargetGuard::new(false);
        assert_eq!(api_base(&guard, "blog.example.com").unwrap(), "https://blog.example.com");
        assert_eq!(api_base(&guard, "https://example.com/blog/ghost/").unwrap(), "https://example.com/blog");
        assert!(api_base(&guard, "http://10.0.0.2").is_err());
    }

    #[test]
    fn documented_errors_are_classified() {
        let error = |kind: &str, message: &str| {
            json!({"errors": [{"message": message, "context": null, "type": kind}]}).to_string()
        };
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &error("UnauthorizedError", "Invalid token: invalid signature"))
                .class,
            ErrorClass::Revoked
        );
        let invalid = classify(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            &error("ValidationError", "Validation error, cannot save post."),
        );
        assert_eq!(
            (invalid.class, invalid.message.as_str()),
            (ErrorClass::Invalid, "Ghost answered 422: Validation error, cannot save post.")
        );
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, None, &error("TooManyRequestsError", "slow down")).class,
            ErrorClass::Retryable { after: None }
        );
    }
}
