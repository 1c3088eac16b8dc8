//! `misskey`: notes on a Misskey server — and its forks Sharkey, Firefish,
//! Iceshrimp and CherryPick, which keep its API
//! (<https://misskey-hub.net/en/docs/for-developers/api/>) — with an access
//! token (Settings → API → Generate access token, with the permissions
//! "Read account", "Compose or delete notes" and "Access your Drive files").
//!
//! Every call is a `POST` with a JSON body carrying the token as `i`.
//! Connecting reads the account (`/api/i`) and the server's own note length
//! (`/api/meta` → `maxNoteTextLength`, as `maxLength`). Files go to the
//! account's Drive (`/api/drive/files/create`, the alt text as `comment`)
//! and are attached by id; thread items reply to the note before them
//! (`replyId`). Misskey drops no repeated note: an interrupted delivery is
//! not sent again. Reactions, renotes and replies come from `/api/notes/show`.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::{TargetGuard, server_base};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, PublishRequest,
    PublishedItem,
};

/// Uploads of large files get longer than the client's usual timeout.
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

pub struct Misskey {
    client: HttpClient,
    guard: TargetGuard,
}

impl Misskey {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Your server, e.g. https://misskey.io
    #[schemars(title = "Server")]
    instance_url: String,
    /// Settings → API → Generate access token (read account, compose notes, Drive).
    #[schemars(title = "Access token", extend("writeOnly" = true))]
    access_token: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("Misskey credentials need `instanceUrl` and `accessToken`"))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Visibility {
    Public,
    Home,
    Followers,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// public, home (not on the public timelines) or followers.
    visibility: Option<Visibility>,
    /// Content warning shown before the text.
    #[garde(length(chars, max = 100))]
    cw: Option<String>,
    /// Keep the note on this server (not federated).
    local_only: bool,
    /// Mark the attached files as sensitive.
    sensitive: bool,
}

/// Misskey's error body: `{"error": {"message", "code", "id", "kind"}}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = value["error"]["code"].as_str().unwrap_or_default();
    let said = value["error"]["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = if code.is_empty() {
        format!("Misskey answered {}: {said}", status.as_u16())
    } else {
        format!("Misskey answered {} {code}: {said}", status.as_u16())
    };
    match code {
        "AUTHENTICATION_FAILED" | "CREDENTIAL_REQUIRED" | "YOUR_ACCOUNT_SUSPENDED" | "PERMISSION_DENIED" => {
            ProviderError::new(
                ErrorClass::Revoked,
                format!("{shown} — the token was revoked or lacks a permission; reconnect"),
            )
        }
        "RATE_LIMIT_EXCEEDED" => ProviderError::new(ErrorClass::Retryable { after: wait }, shown),
        _ if status == StatusCode::UNAUTHORIZED => {
            ProviderError::new(ErrorClass::Revoked, format!("{shown} — the token was refused; reconnect"))
        }
        _ if status == StatusCode::BAD_REQUEST => ProviderError::invalid(shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

impl Misskey {
    /// `POST {base}/api/{endpoint}` with the token as `i`.
    async fn call(&self, base: &str, endpoint: &str, token: &str, mut body: Value) -> Result<Value, ProviderError> {
        body["i"] = json!(token);
        let request = self.client.inner().post(format!("{base}/api/{endpoint}")).json(&body);
        Self::answer(self.client.send(request).await?).await
    }

    async fn answer(response: reqwest::Response) -> Result<Value, ProviderError> {
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(
                ErrorClass::Unknown,
                format!("Misskey answered with something else than JSON: {}", excerpt(&text)),
            )
        })
    }

    async fn upload(
        &self,
        base: &str,
        token: &str,
        index: usize,
        media: &Attachment,
        sensitive: bool,
    ) -> Result<String, ProviderError> {
        let part = media
            .part()
            .file_name(media.file_name(index))
            .mime_str(&media.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not a file type Misskey takes", media.mime)))?;
        let mut form = reqwest::multipart::Form::new().text("i", token.to_string()).part("file", part);
        if let Some(alt) = media.alt_text.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            form = form.text("comment", alt.to_string());
        }
        if sensitive {
            form = form.text("isSensitive", "true");
        }
        let request =
            self.client.inner().post(format!("{base}/api/drive/files/create")).timeout(UPLOAD_TIMEOUT).multipart(form);
        let file = Self::answer(self.client.send(request).await?).await.map_err(ProviderError::before_publishing)?;
        file["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Misskey did not return the file id"))
    }
}

#[async_trait]
impl Provider for Misskey {
    fn id(&self) -> &'static str {
        "misskey"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("misskey")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Misskey")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Misskey")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.instance_url)?;
        let token = creds.access_token.trim();
        if token.is_empty() {
            return Err(ProviderError::invalid("the access token is empty"));
        }
        let me = self.call(&base, "i", token, json!({})).await?;
        let id = me["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Misskey did not say which account this is"))?;
        let host = base.split("://").nth(1).unwrap_or(&base).to_string();
        let username = format!("{}@{host}", me["username"].as_str().unwrap_or(id));
        Ok(ConnectedAccount {
            account_id: format!("{id}@{host}"),
            display_name: me["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: me["avatarUrl"].as_str().filter(|u| u.starts_with("http")).map(str::to_string),
            credentials: json!({ "instanceUrl": base, "accessToken": token }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    /// The server's own note length (`maxNoteTextLength`), as `maxLength`.
    async fn discovered_settings(&self, value: &Value) -> Value {
        let Ok(creds) = credentials(value) else { return Value::Null };
        let Ok(base) = server_base(&self.guard, &creds.instance_url) else { return Value::Null };
        let request = self.client.inner().post(format!("{base}/api/meta")).json(&json!({"detail": false}));
        let Ok(response) = self.client.send(request).await else { return Value::Null };
        match Self::answer(response).await.ok().and_then(|meta| meta["maxNoteTextLength"].as_u64()) {
            Some(limit) if limit > 0 => json!({ "maxLength": limit }),
            _ => Value::Null,
        }
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let base = server_base(&self.guard, &creds.instance_url)?;
        let settings: Settings = declared::read("Misskey", &request.settings).map_err(ProviderError::invalid)?;
        let token = creds.access_token.trim();
        let mut file_ids = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            file_ids.push(self.upload(&base, token, index, media, settings.sensitive).await?);
        }
        let mut body = json!({ "text": request.content });
        if !file_ids.is_empty() {
            body["fileIds"] = json!(file_ids);
        }
        if request.content.trim().is_empty() {
            body["text"] = Value::Null;
        }
        if let Some(parent) = &request.reply_to {
            body["replyId"] = json!(parent.id);
        }
        if let Some(visibility) = settings.visibility {
            body["visibility"] = json!(visibility);
        }
        if let Some(cw) = settings.cw.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            body["cw"] = json!(cw);
        }
        if settings.local_only {
            body["localOnly"] = json!(true);
        }
        let created = self.call(&base, "notes/create", token, body).await?;
        let id = created["createdNote"]["id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Misskey did not return the note id"))?;
        Ok(PublishedItem { id: id.to_string(), url: Some(format!("{base}/notes/{id}")) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.instance_url)?;
        let note = self.call(&base, "notes/show", creds.access_token.trim(), json!({ "noteId": item.id })).await?;
        let reactions: i64 =
            note["reactions"].as_object().map_or(0, |all| all.values().filter_map(Value::as_i64).sum());
        Ok(Metrics::from([
            ("likes".to_string(), reactions),
            ("reposts".to_string(), note["renoteCount"].as_i64().unwrap_or(0)),
            ("replies".to_string(), note["repliesCount"].as_i64().unwrap_or(0)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_errors_are_classified() {
        let error =
            |code: &str| json!({"error": {"message": "m", "code": code, "id": "x", "kind": "client"}}).to_string();
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &error("AUTHENTICATION_FAILED")).class,
            ErrorClass::Revoked
        );
        assert_eq!(classify(StatusCode::FORBIDDEN, None, &error("PERMISSION_DENIED")).class, ErrorClass::Revoked);
        let wait = Some(std::time::Duration::from_secs(9));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, wait, &error("RATE_LIMIT_EXCEEDED")).class,
            ErrorClass::Retryable { after: wait }
        );
        let bad = classify(StatusCode::BAD_REQUEST, None, &error("INVALID_PARAM"));
        assert_eq!((bad.class, bad.message.as_str()), (ErrorClass::Invalid, "Misskey answered 400 INVALID_PARAM: m"));
        assert_eq!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, None, &error("INTERNAL_ERROR")).class,
            ErrorClass::Retryable { after: None }
        );
    }
}
