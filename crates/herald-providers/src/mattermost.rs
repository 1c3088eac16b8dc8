//! `mattermost`: posts to a Mattermost channel, through an incoming webhook
//! (<https://developers.mattermost.com/integrate/webhooks/incoming/>) or as
//! a user with a personal access token and the REST API
//! (<https://api.mattermost.com/#tag/posts>).
//!
//! One credential says which: the `url` is either the hook
//! (`https://chat.example.com/hooks/<id>`) or the channel as the browser
//! shows it (`https://chat.example.com/<team>/channels/<name>`), and a
//! channel URL takes an `accessToken`. Mattermost may be served under a
//! path (`https://example.com/chat/…`): everything before `/hooks/` or
//! `/<team>/channels/` is the server.
//!
//! With the REST API, thread items reply in the root post's thread
//! (`root_id`: Mattermost threads are flat), files are uploaded
//! (`POST /api/v4/files`) and each post gets its permalink
//! (`<server>/<team>/pl/<id>`) and reply/reaction counts. A webhook answers
//! a plain `ok` and nothing to reply to: thread items follow as messages, in
//! order, the idempotency key stands in as the id, and it cannot carry files.
//! Neither way drops a repeated message, so an interrupted delivery is not
//! sent again.

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
use crate::net::{TargetGuard, url_fingerprint};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, PublishRequest, PublishedItem,
};

pub struct Mattermost {
    client: HttpClient,
    guard: TargetGuard,
}

impl Mattermost {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for.
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// An incoming webhook (Integrations → Incoming Webhooks → Add:
    /// https://chat.example.com/hooks/…), or the channel's address as your
    /// browser shows it (https://chat.example.com/team/channels/town-square)
    /// together with an access token.
    #[schemars(title = "Webhook or channel URL", url, extend("writeOnly" = true))]
    url: String,
    /// For a channel URL: Profile → Security → Personal Access Tokens
    /// (the account must be a member of the channel).
    #[schemars(title = "Personal access token", extend("writeOnly" = true))]
    access_token: Option<String>,
    /// The channel's id, learnt when connecting: publishing needs no lookup.
    #[serde(default)]
    #[schemars(skip)]
    channel_id: Option<String>,
}

/// Where a connected account posts. No `Debug`: a hook URL is a secret.
enum Target {
    Hook { url: url::Url },
    Channel { server: String, team: String, channel: String, token: String, channel_id: Option<String> },
}

fn target(value: &Value, guard: &TargetGuard) -> Result<Target, ProviderError> {
    let given: Credentials = serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::invalid(
            "Mattermost credentials need `url` (a webhook or channel URL) and, for a channel, `accessToken`",
        )
    })?;
    let raw = given.url.trim();
    let url = guard.check_url(raw).map_err(|e| ProviderError::invalid(e.replace(raw, "the URL")))?;
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    let server_of = |prefix: &[&str]| {
        let mut server = url.clone();
        server.set_path(&prefix.join("/"));
        server.set_query(None);
        server.set_fragment(None);
        server.as_str().trim_end_matches('/').to_string()
    };
    let shape = "`url` must be an incoming webhook (…/hooks/<id>) or a channel (…/<team>/channels/<name>)";
    if let Some(at) = segments.iter().position(|s| *s == "hooks") {
        if segments.len() != at + 2 {
            return Err(ProviderError::invalid(shape));
        }
        let mut hook = url.clone();
        hook.set_query(None);
        hook.set_fragment(None);
        return Ok(Target::Hook { url: hook });
    }
    let Some(at) = segments.iter().position(|s| *s == "channels").filter(|at| *at >= 1 && segments.len() == at + 2)
    else {
        return Err(ProviderError::invalid(shape));
    };
    let token = given.access_token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return Err(ProviderError::invalid(
            "a channel URL needs `accessToken` (Profile → Security → Personal Access Tokens); or give an incoming webhook URL",
        ));
    }
    Ok(Target::Channel {
        server: server_of(&segments[..at - 1]),
        team: segments[at - 1].to_string(),
        channel: segments[at + 1].to_string(),
        token: token.to_string(),
        channel_id: given.channel_id.filter(|id| !id.is_empty()),
    })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Webhooks only: post as this name (when the server lets integrations
    /// override names).
    #[garde(length(chars, max = 64))]
    username: Option<String>,
    /// Webhooks only: the picture shown beside the message (an image URL).
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    icon_url: Option<String>,
    /// Webhooks only: another channel of the hook's team (its name, e.g.
    /// `town-square`), when the hook is not locked to its channel.
    #[garde(pattern(r"^[a-z0-9_\-.@]{1,64}$"))]
    channel: Option<String>,
}

/// Mattermost's error body: `{"id": "…app_error", "message": "…", "status_code": …}`.
fn said(body: &str) -> (String, String) {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let id = value["id"].as_str().unwrap_or_default().to_string();
    let message = value["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    (id, message)
}

fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let (id, message) = said(body);
    let shown = format!("Mattermost answered {}: {message}", status.as_u16());
    let reconnect = |why: &str| ProviderError::new(ErrorClass::Revoked, format!("{shown} — {why}"));
    match status.as_u16() {
        // A webhook deleted (or never made) and incoming webhooks turned off.
        400 if id == "web.incoming_webhook.invalid.app_error" => reconnect("this webhook no longer exists; reconnect"),
        501 => reconnect("the server has incoming webhooks turned off; reconnect with a channel URL and a token"),
        404 if id.contains("incoming") || id.contains("webhook") => {
            reconnect("this webhook no longer exists; reconnect")
        }
        // A token has no refresh: refused means revoked or expired for good.
        401 => reconnect("the access token was revoked or has expired; reconnect with a new one"),
        403 => reconnect("the account may no longer post in this channel; reconnect"),
        413 => ProviderError::invalid(shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

/// The JSON answer, or the error it stands for.
async fn json_or_error(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let wait = retry_after(response.headers(), Utc::now());
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(classify(status, wait, &text));
    }
    serde_json::from_str(&text).map_err(|_| {
        ProviderError::new(
            ErrorClass::Unknown,
            format!("Mattermost answered with something else than JSON: {}", excerpt(&text)),
        )
    })
}

fn string(value: &Value, field: &str) -> Result<String, ProviderError> {
    value[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, format!("Mattermost's answer has no `{field}`")))
}

impl Mattermost {
    fn api(&self, server: &str, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{server}/api/v4{path}")).bearer_auth(token)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        json_or_error(self.client.send(request).await?).await
    }

    /// The channel's id, once the account is known to be a member of it.
    async fn channel(&self, server: &str, team: &str, name: &str, token: &str) -> Result<Value, ProviderError> {
        let get = reqwest::Method::GET;
        let channel = self
            .call(self.api(server, token, get.clone(), &format!("/teams/name/{team}/channels/name/{name}")))
            .await?;
        let id = string(&channel, "id")?;
        let member = self.client.send(self.api(server, token, get, &format!("/channels/{id}/members/me"))).await?;
        if member.status() == StatusCode::NOT_FOUND {
            return Err(ProviderError::invalid(format!(
                "the account is not a member of ~{name}: join the channel, then connect it"
            )));
        }
        json_or_error(member).await?;
        Ok(channel)
    }

    async fn post_to_hook(
        &self,
        url: url::Url,
        body: &Value,
    ) -> Result<(StatusCode, String, Option<std::time::Duration>), ProviderError> {
        let response = self.client.send(self.client.inner().post(url).json(body)).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        Ok((status, response.text().await.unwrap_or_default(), wait))
    }

    async fn upload(
        &self,
        server: &str,
        token: &str,
        channel_id: &str,
        request: &PublishRequest,
    ) -> Result<Vec<String>, ProviderError> {
        let mut ids = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            let part =
                media.part().file_name(media.file_name(index)).mime_str(&media.mime).map_err(|_| {
                    ProviderError::invalid(format!("`{}` is not a file type Mattermost takes", media.mime))
                })?;
            let form = reqwest::multipart::Form::new().text("channel_id", channel_id.to_string()).part("files", part);
            let upload = self.api(server, token, reqwest::Method::POST, "/files").multipart(form);
            let answer = self.call(upload).await.map_err(ProviderError::before_publishing)?;
            let id = answer["file_infos"][0]["id"]
                .as_str()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Mattermost did not return the file id"))?;
            ids.push(id.to_string());
        }
        Ok(ids)
    }
}

#[async_trait]
impl Provider for Mattermost {
    fn id(&self) -> &'static str {
        "mattermost"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("mattermost")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Mattermost")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Mattermost")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        match target(value, &self.guard)? {
            Target::Hook { url } => {
                self.guard.check_resolved(&url).await.map_err(ProviderError::invalid)?;
                // An empty message is refused for lack of text by a live
                // hook — nothing is posted — and as "invalid" by a dead one.
                let (status, body, wait) = self.post_to_hook(url.clone(), &json!({})).await?;
                let (id, _) = said(&body);
                let alive = status.is_success() || id == "web.incoming_webhook.text.app_error";
                if !alive {
                    return Err(classify(status, wait, &body));
                }
                let host = url.host_str().unwrap_or("mattermost").to_string();
                Ok(ConnectedAccount {
                    account_id: url_fingerprint(&url),
                    username: host.clone(),
                    display_name: format!("Mattermost webhook {host}"),
                    avatar_url: None,
                    credentials: json!({ "url": url.as_str() }),
                    token_expires_at: None,
                    scopes: Vec::new(),
                    profile_pending: false,
                })
            }
            Target::Channel { server, team, channel, token, .. } => {
                let me = self.call(self.api(&server, &token, reqwest::Method::GET, "/users/me")).await?;
                let found = self.channel(&server, &team, &channel, &token).await?;
                let channel_id = string(&found, "id")?;
                let user = me["username"].as_str().unwrap_or("mattermost");
                let shown = found["display_name"].as_str().filter(|n| !n.is_empty()).unwrap_or(&channel);
                let host =
                    url::Url::parse(&server).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
                Ok(ConnectedAccount {
                    account_id: format!("{channel_id}@{host}"),
                    username: format!("{team}/{channel}"),
                    display_name: format!("{shown} ({user})"),
                    avatar_url: None,
                    credentials: json!({
                        "url": format!("{server}/{team}/channels/{channel}"),
                        "accessToken": token,
                        "channelId": channel_id,
                    }),
                    token_expires_at: None,
                    scopes: Vec::new(),
                    profile_pending: false,
                })
            }
        }
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let settings: Settings = declared::read("Mattermost", &request.settings).map_err(ProviderError::invalid)?;
        match target(&request.credentials, &self.guard)? {
            Target::Hook { url } => {
                if !request.media.is_empty() {
                    return Err(ProviderError::invalid(
                        "a Mattermost webhook cannot post files: connect the channel URL with an access token to post media",
                    ));
                }
                let mut body = json!({ "text": request.content });
                if let Some(name) = &settings.username {
                    body["username"] = json!(name);
                }
                if let Some(icon) = &settings.icon_url {
                    body["icon_url"] = json!(icon);
                }
                if let Some(channel) = &settings.channel {
                    body["channel"] = json!(channel);
                }
                let (status, text, wait) = self.post_to_hook(url, &body).await?;
                if !status.is_success() {
                    return Err(classify(status, wait, &text));
                }
                Ok(PublishedItem { id: request.idempotency_key.clone(), url: None }.into())
            }
            Target::Channel { server, team, channel, token, channel_id } => {
                let channel_id = match channel_id {
                    Some(id) => id,
                    None => {
                        let path = format!("/teams/name/{team}/channels/name/{channel}");
                        let found = self
                            .call(self.api(&server, &token, reqwest::Method::GET, &path))
                            .await
                            .map_err(ProviderError::before_publishing)?;
                        string(&found, "id")?
                    }
                };
                let file_ids = self.upload(&server, &token, &channel_id, request).await?;
                let mut body = json!({
                    "channel_id": channel_id,
                    "message": request.content,
                    "props": { "from_herald": request.idempotency_key },
                });
                if !file_ids.is_empty() {
                    body["file_ids"] = json!(file_ids);
                }
                if let Some(root) = &request.root {
                    body["root_id"] = json!(root.id);
                }
                let post = self.call(self.api(&server, &token, reqwest::Method::POST, "/posts").json(&body)).await?;
                let id = string(&post, "id")?;
                Ok(PublishedItem { url: Some(format!("{server}/{team}/pl/{id}")), id }.into())
            }
        }
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// Replies and reactions of a post made with a token; a webhook's
    /// messages cannot be looked up.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let Target::Channel { server, token, .. } = target(value, &self.guard)? else {
            return Ok(Metrics::new());
        };
        let post = self.call(self.api(&server, &token, reqwest::Method::GET, &format!("/posts/{}", item.id))).await?;
        let reactions = post["metadata"]["reactions"].as_array().map_or(0, Vec::len);
        Ok(Metrics::from([
            ("replies".to_string(), post["reply_count"].as_i64().unwrap_or(0)),
            ("reactions".to_string(), i64::try_from(reactions).unwrap_or(i64::MAX)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> TargetGuard {
        TargetGuard::new(true)
    }

    #[test]
    fn a_url_is_a_hook_or_a_channel_under_any_path() {
        let hook = target(&json!({"url": "https://chat.example.com/hooks/abc123?x=1"}), &open()).unwrap();
        assert!(matches!(hook, Target::Hook { ref url } if url.as_str() == "https://chat.example.com/hooks/abc123"));
        let channel = json!({"url": "https://example.com/chat/dev/channels/town-square", "accessToken": " tok "});
        match target(&channel, &open()).unwrap() {
            Target::Channel { server, team, channel, token, .. } => {
                assert_eq!(
                    (server.as_str(), team.as_str(), channel.as_str(), token.as_str()),
                    ("https://example.com/chat", "dev", "town-square", "tok")
                );
            }
            Target::Hook { .. } => panic!("a channel"),
        }
        let no_token = target(&json!({"url": "https://chat.example.com/dev/channels/x"}), &open()).err().unwrap();
        assert!(no_token.message.contains("accessToken"));
        for bad in
            ["https://chat.example.com/", "https://chat.example.com/hooks/", "https://chat.example.com/channels/x"]
        {
            assert!(target(&json!({"url": bad, "accessToken": "t"}), &open()).is_err(), "{bad}");
        }
        let private = target(&json!({"url": "http://127.0.0.1/hooks/secret"}), &TargetGuard::new(false)).err().unwrap();
        assert!(!private.message.contains("secret"), "{}", private.message);
    }

    #[test]
    fn documented_errors_are_classified() {
        let body = |id: &str| json!({"id": id, "message": "m", "status_code": 400}).to_string();
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, &body("web.incoming_webhook.invalid.app_error")).class,
            ErrorClass::Revoked
        );
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, &body("api.post.create_post.root_id.app_error")).class,
            ErrorClass::Invalid
        );
        assert_eq!(
            classify(StatusCode::NOT_IMPLEMENTED, None, &body("web.incoming_webhook.disabled.app_error")).class,
            ErrorClass::Revoked
        );
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &body("api.context.session_expired.app_error")).class,
            ErrorClass::Revoked
        );
        let wait = Some(std::time::Duration::from_secs(3));
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS, wait, "").class, ErrorClass::Retryable { after: wait });
        let shown = classify(StatusCode::FORBIDDEN, None, &json!({"id": "api.context.permissions.app_error", "message": "You do not have the appropriate permissions."}).to_string());
        assert!(
            shown.message.starts_with("Mattermost answered 403: You do not have the appropriate permissions."),
            "{}",
            shown.message
        );
    }

    #[test]
    fn settings_are_declared() {
        let provider = Mattermost::new(HttpClient::new(&crate::ProviderSettings::default()), false);
        assert!(provider.settings().problems(&json!({"username": "Herald", "channel": "off-topic"})).is_empty());
        let problems = provider.settings().problems(&json!({"channel": "Not A Channel", "iconUrl": "ftp://x"}));
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["channel", "iconUrl"]);
        assert_eq!(provider.credentials().schema()["required"], json!(["url"]));
    }
}
