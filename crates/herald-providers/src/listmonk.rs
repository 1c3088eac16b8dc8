//! `listmonk`: newsletter campaigns on a self-hosted listmonk
//! (<https://listmonk.app/docs/apis/apis/>), as an API user (Admin → Users →
//! API user, with campaign and media permissions) over HTTP Basic auth.
//!
//! A post is a campaign: created (`POST /api/campaigns`, Markdown body,
//! subject from the `subject` setting or the first line) and then started
//! (`PUT /api/campaigns/{id}/status` → `running`). The campaign's name
//! carries a marker of the item, and the two steps are kept apart so that
//! a campaign is created once and sent once: when starting it fails, the
//! engine keeps its id and only starts it later; after a crash, the
//! campaign is looked up by its marker before anything is created.
//! Images are uploaded to the media library (`POST /api/media`). Views,
//! clicks, sent and bounces come from the campaign.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::article::split_title;
use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::{TargetGuard, server_base};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Pending, Provider, ProviderError, PublishRequest, PublishedItem,
    Recovery, Step,
};

/// How long to wait before starting a created campaign again.
const START_AGAIN_AFTER: Duration = Duration::from_secs(30);

pub struct Listmonk {
    client: HttpClient,
    guard: TargetGuard,
}

impl Listmonk {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Your listmonk, e.g. https://lists.example.com
    #[schemars(title = "listmonk URL")]
    url: String,
    /// An API user (Admin → Users → New → type "API"), with permission to
    /// manage campaigns and media.
    #[schemars(title = "API user")]
    username: String,
    /// The API user's access token.
    #[schemars(title = "Access token", extend("writeOnly" = true))]
    token: String,
    /// The lists campaigns go to, by id, comma-separated (e.g. `1, 3`).
    #[schemars(title = "List ids")]
    lists: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("listmonk credentials need `url`, `username`, `token` and `lists`"))
}

/// `"1, 3"` → `[1, 3]`.
fn list_ids(raw: &str) -> Result<Vec<u64>, ProviderError> {
    let ids: Result<Vec<u64>, _> = raw.split([',', ' ']).filter(|s| !s.is_empty()).map(str::parse::<u64>).collect();
    match ids {
        Ok(ids) if !ids.is_empty() => Ok(ids),
        _ => Err(ProviderError::invalid("`lists` must be list ids separated by commas, e.g. `1, 3`")),
    }
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The email's subject (the post's first line otherwise).
    #[garde(length(chars, max = 500))]
    subject: Option<String>,
    /// Send to these lists instead of the account's.
    #[garde(length(max = 50))]
    list_ids: Vec<u64>,
    /// The campaign template to use (listmonk's default otherwise).
    template_id: Option<u64>,
    /// Create the campaign without starting it (to send from listmonk).
    draft: bool,
}

/// listmonk's error body: `{"message": "…"}`.
fn classify(status: StatusCode, wait: Option<Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let said = value["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = format!("listmonk answered {}: {said}", status.as_u16());
    match status.as_u16() {
        401 | 403 => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — the API user was refused or lacks a permission; reconnect"),
        ),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

/// The marker in a campaign's name that finds it again after a crash.
fn marker(key: &str) -> String {
    format!("herald-{}", hex::encode(&Sha256::digest(key.as_bytes())[..6]))
}

impl Listmonk {
    fn request(&self, creds: &Credentials, base: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, format!("{base}/api{path}"))
            .basic_auth(creds.username.trim(), Some(creds.token.trim()))
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(
                ErrorClass::Unknown,
                format!("listmonk answered with something else than JSON: {}", excerpt(&text)),
            )
        })?;
        Ok(value["data"].clone())
    }

    /// The campaign an interrupted delivery may have created, by its marker.
    async fn find(&self, creds: &Credentials, base: &str, marker: &str) -> Result<Option<Value>, ProviderError> {
        let request = self
            .request(creds, base, reqwest::Method::GET, "/campaigns")
            .query(&[("query", marker), ("per_page", "20")]);
        let found = self.call(request).await?;
        let mut results = found["results"].as_array().cloned().unwrap_or_default();
        results.retain(|campaign| campaign["name"].as_str().is_some_and(|name| name.contains(marker)));
        Ok(results.into_iter().next())
    }

    /// Starts a campaign unless it already runs (or ran).
    async fn start(&self, creds: &Credentials, base: &str, id: u64, status: &str) -> Result<(), ProviderError> {
        if matches!(status, "running" | "finished") {
            return Ok(());
        }
        let path = format!("/campaigns/{id}/status");
        self.call(self.request(creds, base, reqwest::Method::PUT, &path).json(&json!({"status": "running"}))).await?;
        Ok(())
    }
}

#[async_trait]
impl Provider for Listmonk {
    fn id(&self) -> &'static str {
        "listmonk"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("listmonk")
    }

    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("listmonk")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("listmonk")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.url)?;
        let wanted = list_ids(&creds.lists)?;
        let lists = self
            .call(self.request(&creds, &base, reqwest::Method::GET, "/lists").query(&[("per_page", "all")]))
            .await?;
        let known: Vec<&Value> = lists["results"].as_array().into_iter().flatten().collect();
        let mut names = Vec::new();
        for id in &wanted {
            let list = known.iter().find(|list| list["id"].as_u64() == Some(*id)).ok_or_else(|| {
                ProviderError::invalid(format!("listmonk has no list {id} (or the API user may not see it)"))
            })?;
            names.push(list["name"].as_str().unwrap_or_default().to_string());
        }
        let host = url::Url::parse(&base).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        let joined: Vec<String> = wanted.iter().map(u64::to_string).collect();
        Ok(ConnectedAccount {
            account_id: format!("{host}/{}", joined.join(",")),
            username: format!("{}@{host}", creds.username.trim()),
            display_name: format!("listmonk: {}", names.join(", ")),
            avatar_url: None,
            credentials: json!({
                "url": base,
                "username": creds.username.trim(),
                "token": creds.token.trim(),
                "lists": joined.join(", "),
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let base = server_base(&self.guard, &creds.url)?;
        let settings: Settings = declared::read("listmonk", &request.settings).map_err(ProviderError::invalid)?;
        let marker = marker(&request.idempotency_key);
        // A campaign made by an earlier call: its id kept by the engine, or
        // found by its marker after a crash.
        let mut existing: Option<(u64, String)> = request.pending.as_ref().and_then(|handle| {
            Some((handle["campaignId"].as_u64()?, handle["status"].as_str().unwrap_or("draft").to_string()))
        });
        if existing.is_none() && request.interrupted {
            existing = self.find(&creds, &base, &marker).await?.and_then(|found| {
                Some((found["id"].as_u64()?, found["status"].as_str().unwrap_or("draft").to_string()))
            });
        }
        let (id, status) = match existing {
            Some(found) => found,
            None => {
                let email = split_title(&request.content, settings.subject.as_deref());
                if email.title.is_empty() {
                    return Err(ProviderError::invalid(
                        "a campaign needs a subject (the `subject` setting or the first line)",
                    ));
                }
                let mut body = email.body.clone();
                for (index, media) in request.media.iter().enumerate() {
                    let part = media.part().file_name(media.file_name(index)).mime_str(&media.mime).map_err(|_| {
                        ProviderError::invalid(format!("`{}` is not a file listmonk takes", media.mime))
                    })?;
                    let form = reqwest::multipart::Form::new().part("file", part);
                    let uploaded = self
                        .call(self.request(&creds, &base, reqwest::Method::POST, "/media").multipart(form))
                        .await
                        .map_err(ProviderError::before_publishing)?;
                    let url = uploaded["url"].as_str().ok_or_else(|| {
                        ProviderError::new(ErrorClass::Unknown, "listmonk did not return the file's URL")
                    })?;
                    let alt = media.alt_text.as_deref().unwrap_or_default().replace(['[', ']'], "");
                    body.push_str(&format!("\n\n![{alt}]({url})"));
                }
                let lists =
                    if settings.list_ids.is_empty() { list_ids(&creds.lists)? } else { settings.list_ids.clone() };
                let mut campaign = json!({
                    "name": format!("{} [{marker}]", email.title.chars().take(100).collect::<String>()),
                    "subject": email.title,
                    "lists": lists,
                    "type": "regular",
                    "content_type": "markdown",
                    "body": if body.trim().is_empty() { email.title.clone() } else { body.trim().to_string() },
                    "messenger": "email",
                });
                if let Some(template) = settings.template_id {
                    campaign["template_id"] = json!(template);
                }
                let created =
                    self.call(self.request(&creds, &base, reqwest::Method::POST, "/campaigns").json(&campaign)).await?;
                let id = created["id"].as_u64().ok_or_else(|| {
                    ProviderError::new(ErrorClass::Unknown, "listmonk did not return the campaign id")
                })?;
                (id, created["status"].as_str().unwrap_or("draft").to_string())
            }
        };
        if !settings.draft {
            match self.start(&creds, &base, id, &status).await {
                Ok(()) => {}
                // Created but not started: keep its id, start it later.
                Err(error)
                    if matches!(
                        error.class,
                        ErrorClass::Retryable { .. } | ErrorClass::MaybeSent | ErrorClass::Unknown
                    ) =>
                {
                    return Ok(Step::Pending(Pending {
                        handle: json!({ "campaignId": id, "status": status }),
                        after: START_AGAIN_AFTER,
                        stage: format!("campaign created; starting it ({})", error.message),
                    }));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(PublishedItem { id: id.to_string(), url: Some(format!("{base}/admin/campaigns/{id}")) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.url)?;
        let campaign =
            self.call(self.request(&creds, &base, reqwest::Method::GET, &format!("/campaigns/{}", item.id))).await?;
        let count = |field: &str| campaign[field].as_i64().unwrap_or(0);
        Ok(Metrics::from([
            ("sent".to_string(), count("sent")),
            ("views".to_string(), count("views")),
            ("clicks".to_string(), count("clicks")),
            ("bounces".to_string(), count("bounces")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ids_are_read_from_text() {
        assert_eq!(list_ids("1, 3,7").unwrap(), [1, 3, 7]);
        assert!(list_ids("").is_err());
        assert!(list_ids("news").is_err());
    }

    #[test]
    fn markers_are_stable_per_item() {
        assert_eq!(marker("k-0"), marker("k-0"));
        assert_ne!(marker("k-0"), marker("k-1"));
    }

    #[test]
    fn documented_errors_are_classified() {
        assert_eq!(
            classify(StatusCode::FORBIDDEN, None, r#"{"message": "Permission denied"}"#).class,
            ErrorClass::Revoked
        );
        let invalid = classify(StatusCode::BAD_REQUEST, None, r#"{"message": "Invalid list IDs."}"#);
        assert_eq!(
            (invalid.class, invalid.message.as_str()),
            (ErrorClass::Invalid, "listmonk answered 400: Invalid list IDs.")
        );
        assert_eq!(classify(StatusCode::BAD_GATEWAY, None, "").class, ErrorClass::Retryable { after: None });
    }
}
