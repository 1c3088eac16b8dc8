//! `vk`: wall posts on VK (VKontakte) through the API
//! (<https://dev.vk.com/en/method/wall.post>), connected by VK's
//! authorization-code flow (`oauth.vk.com`, `VK_CLIENT_ID`/`VK_CLIENT_SECRET`;
//! scopes `wall,photos,groups,offline`: the `offline` token does not expire).
//!
//! Signing in offers the user's own wall and every community they manage
//! (`groups.get?filter=admin,editor`); each becomes an account. Photos go
//! through the wall upload (`photos.getWallUploadServer`, the upload, then
//! `photos.saveWallPhoto`) and are attached as `photo{owner}_{id}`. Every
//! post and comment carries a `guid` from the item, which VK uses to refuse
//! sending the same one twice within an hour: a resend after a lost answer
//! is safe. Thread items become comments on the post, each replying to the
//! one before. VK answers errors with `200` and `{"error": {"error_code",
//! "error_msg"}}`; likes, reposts, comments and views come from
//! `wall.getById`.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::declared::{self, Declaration};
use crate::http::excerpt;
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Recovery,
};

/// VK takes its scopes comma-separated, so they go as one.
const SCOPES: &[&str] = &["wall,photos,groups,offline"];
const API_VERSION: &str = "5.199";
/// Communities offered at most when signing in.
const MAX_COMMUNITIES: u32 = 100;

pub struct Vk {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
}

impl Vk {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "VK_CLIENT_ID", "VK_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("vk", "https://oauth.vk.com/authorize"),
                token: settings.platform_url("vk", "https://oauth.vk.com/access_token"),
                revoke: None,
            };
            CodeFlow::new(client.clone(), app, endpoints, "VK").without_pkce().credentials_in_body()
        });
        Self { api: settings.platform_url("vk", "https://api.vk.com"), client, flow }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow
            .as_ref()
            .ok_or_else(|| ProviderError::invalid("VK is not configured: set VK_CLIENT_ID and VK_CLIENT_SECRET"))
    }
}

/// What is stored: the token and the wall posted to.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// The wall's owner: the user's id, or minus the community's id.
    owner_id: i64,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored VK credentials are incomplete; reconnect the account")
    })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Only friends see it (a user's own wall).
    friends_only: bool,
    /// A community post signed with the author's name.
    signed: bool,
    /// Mark the post as an advertisement.
    mark_as_ads: bool,
    /// Turn comments off.
    close_comments: bool,
}

/// VK's error, found in a `200` answer.
fn classify(error: &Value) -> ProviderError {
    let code = error["error_code"].as_i64().unwrap_or(0);
    let said = error["error_msg"].as_str().unwrap_or("no message");
    let shown = format!("VK answered error {code}: {said}");
    match code {
        // Authorization failed, access denied, no permission, posting forbidden.
        5 | 7 | 15 | 27 | 28 | 200 | 203 | 210 | 214 => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — reconnect the account (or check its rights in the community)"),
        ),
        // Too many requests per second, flood control, rate limit, internal error.
        6 | 9 | 29 => {
            ProviderError::new(ErrorClass::Retryable { after: Some(std::time::Duration::from_secs(60)) }, shown)
        }
        1 | 10 => ProviderError::new(ErrorClass::Retryable { after: None }, shown),
        _ => ProviderError::invalid(shown),
    }
}

impl Vk {
    /// Calls an API method with the token (form-encoded, as VK documents).
    async fn call(&self, method: &str, token: &str, params: &[(&str, String)]) -> Result<Value, ProviderError> {
        let mut form: Vec<(&str, String)> = params.to_vec();
        form.push(("access_token", token.to_string()));
        form.push(("v", API_VERSION.to_string()));
        let request = self.client.inner().post(format!("{}/method/{method}", self.api)).form(&form);
        let response = self.client.send(request).await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if value["error"].is_object() {
            return Err(classify(&value["error"]));
        }
        if !status.is_success() || value["response"].is_null() {
            return Err(ProviderError::new(
                crate::classify_status(status, None),
                format!("VK answered {}: {}", status.as_u16(), excerpt(&text)),
            ));
        }
        Ok(value["response"].clone())
    }

    /// Uploads a photo for the wall of `owner_id`; answers `photo{owner}_{id}`.
    async fn photo(
        &self,
        token: &str,
        owner_id: i64,
        index: usize,
        media: &Attachment,
    ) -> Result<String, ProviderError> {
        let group: Vec<(&str, String)> =
            if owner_id < 0 { vec![("group_id", (-owner_id).to_string())] } else { Vec::new() };
        let server =
            self.call("photos.getWallUploadServer", token, &group).await.map_err(ProviderError::before_publishing)?;
        let upload_url = server["upload_url"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "VK gave no upload address"))?;
        let part = media
            .part()
            .file_name(media.file_name(index))
            .mime_str(&media.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not a photo VK takes", media.mime)))?;
        let request =
            self.client.inner().post(upload_url).multipart(reqwest::multipart::Form::new().part("photo", part));
        let response = self.client.send(request).await.map_err(ProviderError::before_publishing)?;
        let uploaded: Value = response.json().await.unwrap_or(Value::Null);
        if uploaded["photo"].as_str().is_none_or(|p| p.is_empty() || p == "[]") {
            return Err(ProviderError::invalid("VK refused the photo upload"));
        }
        let mut save = vec![
            ("server", uploaded["server"].to_string()),
            ("photo", uploaded["photo"].as_str().unwrap_or_default().to_string()),
            ("hash", uploaded["hash"].as_str().unwrap_or_default().to_string()),
        ];
        save.extend(group);
        if let Some(alt) = media.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            save.push(("caption", alt.to_string()));
        }
        let saved = self.call("photos.saveWallPhoto", token, &save).await.map_err(ProviderError::before_publishing)?;
        let photo = &saved[0];
        match (photo["owner_id"].as_i64(), photo["id"].as_i64()) {
            (Some(owner), Some(id)) => Ok(format!("photo{owner}_{id}")),
            _ => Err(ProviderError::new(ErrorClass::Unknown, "VK saved the photo without its id")),
        }
    }
}

/// `{owner}_{post}` of a published item's id.
fn post_of(item: &PublishedItem) -> Option<(i64, i64)> {
    let (owner, post) = item.id.split_once('_')?;
    Some((owner.parse().ok()?, post.parse().ok()?))
}

#[async_trait]
impl OAuthConnect for Vk {
    fn app_env(&self) -> &'static [&'static str] {
        &["VK_CLIENT_ID", "VK_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[("v", API_VERSION), ("display", "page")])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let mut tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        // An `offline` token comes with `expires_in: 0`: it does not expire.
        if tokens.expires_at.is_some_and(|at| at <= Utc::now() + chrono::Duration::seconds(60)) {
            tokens.expires_at = None;
        }
        let token = tokens.access_token.clone();
        let users = self.call("users.get", &token, &[("fields", "photo_100,screen_name".into())]).await?;
        let user = &users[0];
        let user_id = user["id"]
            .as_i64()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "VK did not say who signed in"))?;
        let name = format!(
            "{} {}",
            user["first_name"].as_str().unwrap_or_default(),
            user["last_name"].as_str().unwrap_or_default()
        );
        let account =
            |owner_id: i64, username: String, display_name: String, avatar: Option<String>| ConnectedAccount {
                account_id: owner_id.to_string(),
                username,
                display_name,
                avatar_url: avatar,
                credentials: serde_json::to_value(Credentials { tokens: tokens.clone(), owner_id }).unwrap_or_default(),
                token_expires_at: tokens.expires_at,
                scopes: vec!["wall".into(), "photos".into(), "groups".into(), "offline".into()],
                profile_pending: false,
            };
        let mut accounts = vec![account(
            user_id,
            user["screen_name"].as_str().map_or_else(|| format!("id{user_id}"), str::to_string),
            name.trim().to_string(),
            user["photo_100"].as_str().map(str::to_string),
        )];
        let params = [
            ("filter", "admin,editor".to_string()),
            ("extended", "1".to_string()),
            ("count", MAX_COMMUNITIES.to_string()),
        ];
        // Communities are offered where VK lists them; a refusal leaves the wall.
        if let Ok(groups) = self.call("groups.get", &token, &params).await {
            for group in groups["items"].as_array().into_iter().flatten() {
                let Some(id) = group["id"].as_i64() else { continue };
                accounts.push(account(
                    -id,
                    group["screen_name"].as_str().map_or_else(|| format!("club{id}"), str::to_string),
                    group["name"].as_str().unwrap_or("VK community").to_string(),
                    group["photo_100"].as_str().map(str::to_string),
                ));
            }
        }
        Ok(accounts)
    }
}

#[async_trait]
impl Provider for Vk {
    fn id(&self) -> &'static str {
        "vk"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("vk")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("VK")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("VK")
    }

    async fn connect(&self, _value: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("VK accounts are connected by signing in with VK (GET /api/auth/vk)"))
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("VK", &request.settings).map_err(ProviderError::invalid)?;
        let token = creds.tokens.access_token.as_str();
        let owner = creds.owner_id;
        let mut attachments = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            attachments.push(self.photo(token, owner, index, media).await?);
        }
        let guid = request.idempotency_key.clone();
        if let Some(root) = &request.root {
            let (_, post_id) =
                post_of(root).ok_or_else(|| ProviderError::invalid("the post this replies to has no VK id"))?;
            let mut params = vec![
                ("owner_id", owner.to_string()),
                ("post_id", post_id.to_string()),
                ("message", request.content.clone()),
                ("guid", guid),
            ];
            if owner < 0 {
                params.push(("from_group", (-owner).to_string()));
            }
            if let Some(previous) = request.reply_to.as_ref().filter(|previous| previous.id != root.id)
                && let Some((_, comment)) = previous.id.split_once("_c")
            {
                params.push(("reply_to_comment", comment.to_string()));
            }
            if !attachments.is_empty() {
                params.push(("attachments", attachments.join(",")));
            }
            let answer = self.call("wall.createComment", token, &params).await?;
            let comment = answer["comment_id"]
                .as_i64()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "VK did not return the comment id"))?;
            let url = format!("https://vk.com/wall{owner}_{post_id}?reply={comment}");
            return Ok(PublishedItem { id: format!("{owner}_{post_id}_c{comment}"), url: Some(url) }.into());
        }
        let mut params = vec![("owner_id", owner.to_string()), ("message", request.content.clone()), ("guid", guid)];
        if !attachments.is_empty() {
            params.push(("attachments", attachments.join(",")));
        }
        if owner < 0 {
            params.push(("from_group", "1".into()));
        }
        for (name, on) in [
            ("friends_only", settings.friends_only),
            ("signed", settings.signed),
            ("mark_as_ads", settings.mark_as_ads),
            ("close_comments", settings.close_comments),
        ] {
            if on {
                params.push((name, "1".into()));
            }
        }
        let answer = self.call("wall.post", token, &params).await?;
        let post_id = answer["post_id"]
            .as_i64()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "VK did not return the post id"))?;
        Ok(PublishedItem {
            id: format!("{owner}_{post_id}"),
            url: Some(format!("https://vk.com/wall{owner}_{post_id}")),
        }
        .into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let (owner, post) = post_of(item).ok_or_else(|| ProviderError::invalid("not a VK post id"))?;
        let answer =
            self.call("wall.getById", &creds.tokens.access_token, &[("posts", format!("{owner}_{post}"))]).await?;
        // API 5.199 answers `{items: […]}`; older versions a bare list.
        let post = if answer["items"].is_array() { answer["items"][0].clone() } else { answer[0].clone() };
        let count = |field: &str| post[field]["count"].as_i64().unwrap_or(0);
        Ok(Metrics::from([
            ("likes".to_string(), count("likes")),
            ("reposts".to_string(), count("reposts")),
            ("replies".to_string(), count("comments")),
            ("views".to_string(), count("views")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn documented_errors_are_classified() {
        let error = |code: i64| json!({"error_code": code, "error_msg": "m"});
        assert_eq!(classify(&error(5)).class, ErrorClass::Revoked);
        assert_eq!(classify(&error(214)).class, ErrorClass::Revoked);
        assert!(matches!(classify(&error(9)).class, ErrorClass::Retryable { after: Some(_) }));
        assert_eq!(classify(&error(10)).class, ErrorClass::Retryable { after: None });
        let invalid = classify(&error(100));
        assert_eq!((invalid.class, invalid.message.as_str()), (ErrorClass::Invalid, "VK answered error 100: m"));
    }

    #[test]
    fn item_ids_name_the_wall_and_post() {
        assert_eq!(post_of(&PublishedItem { id: "-42_7".into(), url: None }), Some((-42, 7)));
        assert_eq!(post_of(&PublishedItem { id: "15_3_c9".into(), url: None }), None);
    }
}
