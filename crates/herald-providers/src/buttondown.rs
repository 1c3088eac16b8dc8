//! `buttondown`: newsletter emails sent through Buttondown's API
//! (<https://docs.buttondown.com/api-introduction>) with an API key
//! (Settings → API), `Authorization: Token <key>`.
//!
//! A post is one email: the subject is the `subject` setting or the post's
//! first line, the rest its Markdown body. Images are uploaded
//! (`POST /v1/images`) and placed after the text. `status: about_to_send`
//! sends it at once (the default); `draft` leaves it in Buttondown for a
//! last look. Opens and clicks come from the email's analytics. An email
//! is sent to every subscriber: an interrupted delivery is never sent again.

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
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings, PublishRequest,
    PublishedItem,
};

pub const DEFAULT_API_BASE: &str = "https://api.buttondown.com";

pub struct Buttondown {
    client: HttpClient,
    api: String,
}

impl Buttondown {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self { client, api: settings.api_base("buttondown", DEFAULT_API_BASE) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Buttondown → Settings → API → API key.
    #[schemars(title = "API key", extend("writeOnly" = true))]
    api_key: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| ProviderError::invalid("Buttondown credentials need `apiKey`"))
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Status {
    // Sent to the subscribers now.
    #[default]
    AboutToSend,
    // Kept as a draft in Buttondown.
    Draft,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum EmailType {
    Public,
    Private,
    Premium,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The email's subject (the post's first line otherwise).
    #[garde(length(chars, max = 200))]
    subject: Option<String>,
    /// about_to_send (the default) sends it; draft keeps it in Buttondown.
    status: Status,
    /// Who gets it and whether it shows in the archive: public (the
    /// newsletter's default), private or premium.
    email_type: Option<EmailType>,
}

/// Buttondown's error body: `{"code": "…", "detail": "…"}` (or field errors).
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let said = value["detail"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = format!("Buttondown answered {}: {said}", status.as_u16());
    match status.as_u16() {
        401 | 403 => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the API key was refused; reconnect with a current one"),
        ),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

impl Buttondown {
    fn request(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, format!("{}/v1{path}", self.api))
            .header("authorization", format!("Token {}", key.trim()))
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
                format!("Buttondown answered with something else than JSON: {}", excerpt(&text)),
            )
        })
    }
}

#[async_trait]
impl Provider for Buttondown {
    fn id(&self) -> &'static str {
        "buttondown"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("buttondown")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Buttondown")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Buttondown")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let newsletters = self.call(self.request(reqwest::Method::GET, "/newsletters", &creds.api_key)).await?;
        let newsletter = newsletters["results"]
            .as_array()
            .and_then(|all| all.first())
            .ok_or_else(|| ProviderError::invalid("this Buttondown key has no newsletter"))?;
        let id = newsletter["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Buttondown did not return the newsletter id"))?;
        let username = newsletter["username"].as_str().unwrap_or(id).to_string();
        Ok(ConnectedAccount {
            account_id: id.to_string(),
            display_name: newsletter["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: None,
            credentials: json!({ "apiKey": creds.api_key.trim() }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Buttondown", &request.settings).map_err(ProviderError::invalid)?;
        let email = split_title(&request.content, settings.subject.as_deref());
        if email.title.is_empty() {
            return Err(ProviderError::invalid("an email needs a subject (the `subject` setting or the first line)"));
        }
        let mut body = email.body.clone();
        for (index, media) in request.media.iter().enumerate() {
            let part =
                media.part().file_name(media.file_name(index)).mime_str(&media.mime).map_err(|_| {
                    ProviderError::invalid(format!("`{}` is not an image Buttondown takes", media.mime))
                })?;
            let form = reqwest::multipart::Form::new().part("image", part);
            let image = self
                .call(self.request(reqwest::Method::POST, "/images", &creds.api_key).multipart(form))
                .await
                .map_err(ProviderError::before_publishing)?;
            let url = image["image"]
                .as_str()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Buttondown did not return the image URL"))?;
            let alt = media.alt_text.as_deref().unwrap_or_default().replace(['[', ']'], "");
            body.push_str(&format!("\n\n![{alt}]({url})"));
        }
        let mut payload = json!({ "subject": email.title, "body": body.trim(), "status": settings.status });
        if let Some(kind) = settings.email_type {
            payload["email_type"] = json!(kind);
        }
        let sent = self.call(self.request(reqwest::Method::POST, "/emails", &creds.api_key).json(&payload)).await?;
        let id = sent["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Buttondown did not return the email id"))?;
        Ok(PublishedItem { id: id.to_string(), url: sent["absolute_url"].as_str().map(str::to_string) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let path = format!("/emails/{}/analytics", item.id);
        let analytics = self.call(self.request(reqwest::Method::GET, &path, &creds.api_key)).await?;
        let mut metrics = Metrics::new();
        for (field, name) in [
            ("recipients", "recipients"),
            ("opens", "opens"),
            ("clicks", "clicks"),
            ("unsubscriptions", "unsubscriptions"),
        ] {
            if let Some(count) = analytics[field].as_i64() {
                metrics.insert(name.to_string(), count);
            }
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_errors_are_classified() {
        let refused = classify(StatusCode::UNAUTHORIZED, None, r#"{"detail": "Invalid token."}"#);
        assert_eq!(
            (refused.class, refused.message.starts_with("Buttondown answered 401: Invalid token.")),
            (ErrorClass::Revoked, true)
        );
        let invalid =
            classify(StatusCode::BAD_REQUEST, None, r#"{"code": "subject_invalid", "detail": "Subject is required."}"#);
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS, None, "").class, ErrorClass::Retryable { after: None });
    }

    #[test]
    fn settings_serialise_as_buttondown_reads_them() {
        assert_eq!(json!(Status::AboutToSend), json!("about_to_send"));
        let read: Settings = declared::read("Buttondown", &json!({"status": "draft", "emailType": "premium"})).unwrap();
        assert_eq!((json!(read.status), json!(read.email_type)), (json!("draft"), json!("premium")));
    }
}
