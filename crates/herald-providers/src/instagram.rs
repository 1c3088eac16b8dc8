//! `instagram` and `instagram-standalone`: professional Instagram accounts
//! through the Instagram Graph API's content publishing.
//!
//! - `instagram` signs in with Facebook Login (`FACEBOOK_APP_ID`/`_SECRET`)
//!   and offers every Instagram account linked to the user's Pages
//!   (`/me/accounts`); it posts with the Page's token, which does not expire.
//! - `instagram-standalone` signs in with Instagram Login
//!   (`INSTAGRAM_APP_ID`/`_SECRET`), no Facebook Page needed; its 60-day
//!   token is renewed with `ig_refresh_token`.
//!
//! A post is a container Instagram fetches the media for — an image, a reel
//! (every video), a story, or a carousel of up to 10 — published once its
//! `status_code` is `FINISHED` (`media_publish`); Herald stores the
//! container id while it waits ([`Step::Pending`]) and looks up a container
//! that says `PUBLISHED` among the account's recent media instead of
//! publishing again. Thread items become comments on the post. The account's
//! 24-hour publishing limit is read from `content_publishing_limit`: when
//! connecting, as the account's rate budget, and before each new container.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::meta::{
    self, ContainerHandle as Handle, ContainerStatus, GRAPH_VERSION, MetaToken, borrowed, stage, waiting,
};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Recovery, Refreshed, Step,
};

const PLATFORM: &str = "Instagram";
/// Recent media looked through for a post whose answer was lost.
const RECENT: &str = "25";
/// Pages read from `/me/accounts` at most (100 each).
const MAX_PAGES: usize = 5;

/// How the account signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// Facebook Login; the account is linked to a Facebook Page.
    Facebook,
    /// Instagram Login (Instagram API with Instagram Login).
    Instagram,
}

impl Login {
    fn id(self) -> &'static str {
        match self {
            Self::Facebook => "instagram",
            Self::Instagram => "instagram-standalone",
        }
    }
}

pub struct Instagram {
    client: HttpClient,
    login: Login,
    /// `https://graph.facebook.com/v20.0` or `https://graph.instagram.com/v20.0`.
    graph: String,
    /// Where the long-lived token endpoints are (versionless).
    token_host: String,
    /// Where the code is exchanged.
    token_url: String,
    flow: Option<(CodeFlow, App)>,
}

impl Instagram {
    pub fn new(client: HttpClient, settings: &ProviderSettings, login: Login) -> Self {
        let id = login.id();
        let (graph_host, authorize, token, env) = match login {
            Login::Facebook => (
                "https://graph.facebook.com",
                format!("https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"),
                format!("https://graph.facebook.com/{GRAPH_VERSION}/oauth/access_token"),
                ("FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"),
            ),
            Login::Instagram => (
                "https://graph.instagram.com",
                "https://www.instagram.com/oauth/authorize".to_string(),
                "https://api.instagram.com/oauth/access_token".to_string(),
                ("INSTAGRAM_APP_ID", "INSTAGRAM_APP_SECRET"),
            ),
        };
        let graph_host = settings.platform_url(id, graph_host);
        let token_url = settings.platform_url(id, &token);
        let flow = App::from_env(settings, env.0, env.1).map(|app| {
            let endpoints =
                Endpoints { authorize: settings.platform_url(id, &authorize), token: token_url.clone(), revoke: None };
            (CodeFlow::new(client.clone(), app.clone(), endpoints, PLATFORM).without_pkce(), app)
        });
        Self { client, login, graph: format!("{graph_host}/{GRAPH_VERSION}"), token_host: graph_host, token_url, flow }
    }

    fn flow(&self) -> Result<&(CodeFlow, App), ProviderError> {
        self.flow.as_ref().ok_or_else(|| {
            let env = match self.login {
                Login::Facebook => "FACEBOOK_APP_ID",
                Login::Instagram => "INSTAGRAM_APP_ID",
            };
            ProviderError::invalid(format!("Instagram is not configured: set {env}"))
        })
    }

    async fn get(&self, path: &str, token: &str, params: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let mut all = params.to_vec();
        all.push(("access_token", token));
        meta::get(&self.client, PLATFORM, &format!("{}/{path}", self.graph), &all).await
    }

    async fn post(&self, path: &str, token: &str, params: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let mut all = params.to_vec();
        all.push(("access_token", token));
        meta::post(&self.client, PLATFORM, &format!("{}/{path}", self.graph), &all).await
    }

    /// The account's 24-hour publishing limit: (used, allowed, window).
    async fn publishing_limit(&self, creds: &Credentials) -> Result<(u64, u64, u64), ProviderError> {
        let path = format!("{}/content_publishing_limit", creds.ig_user_id);
        let answer = self.get(&path, &creds.tokens.access_token, &[("fields", "config,quota_usage")]).await?;
        let entry = &answer["data"][0];
        let used = entry["quota_usage"].as_u64().unwrap_or(0);
        let total = entry["config"]["quota_total"].as_u64().unwrap_or(u64::MAX);
        let window = entry["config"]["quota_duration"].as_u64().unwrap_or(86_400);
        Ok((used, total, window))
    }

    /// The Instagram accounts of the user's Pages, each with its Page's token.
    async fn page_accounts(&self, user_token: &str) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let fields = "id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}";
        let mut accounts = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![("fields", fields), ("limit", "100")];
            if let Some(cursor) = &after {
                params.push(("after", cursor));
            }
            let page = self.get("me/accounts", user_token, &params).await?;
            for entry in page["data"].as_array().into_iter().flatten() {
                let ig = &entry["instagram_business_account"];
                let (Some(ig_id), Some(token)) = (ig["id"].as_str(), entry["access_token"].as_str()) else { continue };
                let username = ig["username"].as_str().unwrap_or(ig_id).to_string();
                let creds = Credentials {
                    tokens: Tokens {
                        access_token: token.to_string(),
                        refresh_token: None,
                        expires_at: None,
                        refresh_expires_at: None,
                        scopes: Vec::new(),
                    },
                    ig_user_id: ig_id.to_string(),
                    username: username.clone(),
                    page_id: entry["id"].as_str().map(str::to_string),
                    renews_itself: false,
                };
                accounts.push(self.account(creds, ig["name"].as_str(), ig["profile_picture_url"].as_str()));
            }
            after = page["paging"]["cursors"]["after"]
                .as_str()
                .filter(|_| page["paging"]["next"].is_string())
                .map(str::to_string);
            if after.is_none() {
                break;
            }
        }
        if accounts.is_empty() {
            return Err(ProviderError::invalid(
                "none of your Facebook Pages has an Instagram professional account linked: link one in the Page's settings, or connect with Instagram Login (instagram-standalone)",
            ));
        }
        Ok(accounts)
    }

    fn account(&self, creds: Credentials, name: Option<&str>, avatar: Option<&str>) -> ConnectedAccount {
        ConnectedAccount {
            account_id: creds.ig_user_id.clone(),
            username: creds.username.clone(),
            display_name: name.filter(|n| !n.trim().is_empty()).unwrap_or(&creds.username).to_string(),
            avatar_url: avatar.map(str::to_string),
            token_expires_at: creds.tokens.expires_at,
            scopes: scopes(self.login).split(',').map(str::to_string).collect(),
            credentials: serde_json::to_value(&creds).unwrap_or_default(),
            profile_pending: false,
        }
    }

    /// Creates the post's container(s), after checking the publishing limit.
    async fn create(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
        settings: &Settings,
    ) -> Result<Step, ProviderError> {
        let (used, total, _) = self.publishing_limit(creds).await?;
        if used >= total {
            return Err(ProviderError::new(
                ErrorClass::Retryable { after: Some(Duration::from_secs(60 * 60)) },
                format!("the account has used its {total} posts of the last 24 hours; Instagram takes more later"),
            ));
        }
        let token = &creds.tokens.access_token;
        let media = &request.media;
        let path = format!("{}/media", creds.ig_user_id);
        if media.is_empty() {
            return Err(ProviderError::invalid("an Instagram post needs an image or a video"));
        }
        if media.len() > 10 {
            return Err(ProviderError::invalid(format!(
                "Instagram takes at most 10 files per post, not {}",
                media.len()
            )));
        }
        if media.len() > 1 {
            if settings.post_type == PostType::Story {
                return Err(ProviderError::invalid("a story is one image or video"));
            }
            let mut children = Vec::with_capacity(media.len());
            for file in media {
                let mut params = media_params(file, PostType::Post, settings)?;
                params.push(("is_carousel_item", "true".into()));
                children.push(id_of(&self.post(&path, token, &borrowed(&params)).await?, "a carousel item")?);
            }
            let video = media.iter().any(Attachment::is_video);
            return Ok(waiting(Handle { children, video, ..Handle::default() }, "processing the media"));
        }
        let mut params = media_params(&media[0], settings.post_type, settings)?;
        if settings.post_type != PostType::Story && !request.content.trim().is_empty() {
            params.push(("caption", request.content.clone()));
        }
        let container = id_of(&self.post(&path, token, &borrowed(&params)).await?, "the container")?;
        let video = media[0].is_video();
        Ok(waiting(Handle { container: Some(container), video, ..Handle::default() }, stage(video)))
    }

    async fn resume(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
        settings: &Settings,
        mut handle: Handle,
    ) -> Result<Step, ProviderError> {
        let token = &creds.tokens.access_token;
        handle.polls += 1;
        let Some(container) = handle.container.clone() else {
            for child in &handle.children {
                match self.status(child, token).await? {
                    ContainerStatus::Finished => {}
                    ContainerStatus::InProgress => return Ok(waiting(handle, "processing the media")),
                    ContainerStatus::Error(said) => {
                        return Err(ProviderError::invalid(format!(
                            "Instagram could not use a file of the carousel: {said}"
                        )));
                    }
                    ContainerStatus::Expired | ContainerStatus::Published => {
                        return self.create(creds, request, settings).await;
                    }
                }
            }
            let mut params = vec![("media_type", "CAROUSEL".to_string()), ("children", handle.children.join(","))];
            if !request.content.trim().is_empty() {
                params.push(("caption", request.content.clone()));
            }
            let path = format!("{}/media", creds.ig_user_id);
            handle.container = Some(id_of(&self.post(&path, token, &borrowed(&params)).await?, "the carousel")?);
            return Ok(waiting(handle, "processing the carousel"));
        };
        match self.status(&container, token).await? {
            ContainerStatus::InProgress => Ok(waiting(handle.clone(), stage(handle.video))),
            ContainerStatus::Finished => self.publish_container(creds, &container).await,
            ContainerStatus::Published => self.find_published(creds, request).await,
            ContainerStatus::Error(said) => {
                Err(ProviderError::invalid(format!("Instagram could not process the post: {said}")))
            }
            ContainerStatus::Expired => self.create(creds, request, settings).await,
        }
    }

    async fn status(&self, container: &str, token: &str) -> Result<ContainerStatus, ProviderError> {
        let answer = self.get(container, token, &[("fields", "id,status_code,status")]).await?;
        Ok(ContainerStatus::of(answer["status_code"].as_str().unwrap_or_default(), answer["status"].as_str()))
    }

    async fn publish_container(&self, creds: &Credentials, container: &str) -> Result<Step, ProviderError> {
        let token = &creds.tokens.access_token;
        let published =
            self.post(&format!("{}/media_publish", creds.ig_user_id), token, &[("creation_id", container)]).await?;
        let id = id_of(&published, "the published post")?;
        let url = match self.get(&id, token, &[("fields", "permalink")]).await {
            Ok(answer) => answer["permalink"].as_str().map(str::to_string),
            Err(error) => {
                tracing::debug!(%error, "the Instagram permalink could not be read");
                None
            }
        };
        Ok(PublishedItem { id, url }.into())
    }

    /// The post of a container published while Herald did not hear the
    /// answer: the newest recent media with the post's caption.
    async fn find_published(&self, creds: &Credentials, request: &PublishRequest) -> Result<Step, ProviderError> {
        let path = format!("{}/media", creds.ig_user_id);
        let fields = "id,caption,permalink,timestamp";
        let recent = self.get(&path, &creds.tokens.access_token, &[("fields", fields), ("limit", RECENT)]).await?;
        let caption = request.content.trim();
        let found = recent["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|media| media["caption"].as_str().unwrap_or_default().trim() == caption);
        match found.and_then(|media| Some((media["id"].as_str()?, media["permalink"].as_str()))) {
            Some((id, url)) => Ok(PublishedItem { id: id.to_string(), url: url.map(str::to_string) }.into()),
            None => Err(ProviderError::new(
                ErrorClass::MaybeSent,
                "Instagram says the post was published, but it is not among the account's recent media",
            )),
        }
    }

    /// A thread item: a comment on the post. Comments are not processed,
    /// so a crash mid-call is looked up among the post's comments.
    async fn comment(&self, creds: &Credentials, request: &PublishRequest) -> Result<Step, ProviderError> {
        let Some(root) = &request.root else {
            return Err(ProviderError::invalid("a comment needs the post it belongs to"));
        };
        let token = &creds.tokens.access_token;
        if request.interrupted {
            let comments = self.get(&format!("{}/comments", root.id), token, &[("fields", "id,text")]).await?;
            let text = request.content.trim();
            if let Some(id) = comments["data"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["text"].as_str().unwrap_or_default().trim() == text)
                .and_then(|c| c["id"].as_str())
            {
                return Ok(PublishedItem { id: id.to_string(), url: None }.into());
            }
        }
        let answer = self.post(&format!("{}/comments", root.id), token, &[("message", &request.content)]).await?;
        Ok(PublishedItem { id: id_of(&answer, "the comment")?, url: None }.into())
    }
}

fn scopes(login: Login) -> &'static str {
    match login {
        Login::Facebook => {
            "instagram_basic,instagram_content_publish,instagram_manage_comments,instagram_manage_insights,pages_show_list,pages_read_engagement,business_management"
        }
        Login::Instagram => {
            "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_comments,instagram_business_manage_insights"
        }
    }
}

/// The container parameters of one file, which Instagram fetches by URL.
fn media_params(
    file: &Attachment,
    post_type: PostType,
    settings: &Settings,
) -> Result<Vec<(&'static str, String)>, ProviderError> {
    let mut params = Vec::new();
    match (file.is_video(), post_type) {
        (true, PostType::Story) => params.extend([("media_type", "STORIES".into()), ("video_url", file.url.clone())]),
        (false, PostType::Story) => params.extend([("media_type", "STORIES".into()), ("image_url", file.url.clone())]),
        (true, PostType::Reel | PostType::Post) => {
            // Instagram publishes every video as a reel; a carousel item is a VIDEO.
            params.extend([("media_type", "REELS".into()), ("video_url", file.url.clone())]);
            params.push(("share_to_feed", settings.share_to_feed.unwrap_or(true).to_string()));
        }
        (false, PostType::Reel) => return Err(ProviderError::invalid("a reel is a video")),
        (false, PostType::Post) => params.push(("image_url", file.url.clone())),
    }
    if file.is_image() && file.mime != "image/jpeg" {
        return Err(ProviderError::invalid(format!("Instagram takes JPEG images, not {}", file.mime)));
    }
    if let Some(alt) = file.alt_text.as_deref().filter(|alt| !alt.trim().is_empty() && file.is_image()) {
        params.push(("alt_text", alt.to_string()));
    }
    Ok(params)
}

fn id_of(answer: &Value, what: &str) -> Result<String, ProviderError> {
    match &answer["id"] {
        Value::String(id) if !id.is_empty() => Ok(id.clone()),
        Value::Number(id) => Ok(id.to_string()),
        _ => Err(ProviderError::new(ErrorClass::Unknown, format!("Instagram did not return the id of {what}"))),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// The Instagram professional account that posts.
    ig_user_id: String,
    username: String,
    /// Its Facebook Page (Facebook Login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_id: Option<String>,
    /// Instagram Login tokens renew themselves (see `oauth::access_ends_at`).
    #[serde(default)]
    renews_itself: bool,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(
            ErrorClass::Revoked,
            "the stored Instagram credentials are incomplete; reconnect the account",
        )
    })
}

/// What a post becomes: `post` (an image, a carousel, or a video as a
/// reel), `reel` (one video) or `story` (one image or video, no caption).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum PostType {
    // A feed post: an image, a carousel, or a video (as a reel).
    #[default]
    Post,
    // A reel (one video).
    Reel,
    // A story (one image or video; no caption).
    Story,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    #[garde(skip)]
    post_type: PostType,
    /// Whether a reel also shows in the feed (default true).
    #[garde(skip)]
    share_to_feed: Option<bool>,
}

#[async_trait]
impl OAuthConnect for Instagram {
    fn app_env(&self) -> &'static [&'static str] {
        match self.login {
            Login::Facebook => &["FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"],
            Login::Instagram => &["INSTAGRAM_APP_ID", "INSTAGRAM_APP_SECRET"],
        }
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.0.consent(&begin, &[scopes(self.login)], &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let (_, registered) = self.flow()?;
        let app = registered.client_id.as_str();
        let secret = registered.client_secret.as_deref().unwrap_or_default();
        match self.login {
            Login::Facebook => {
                let url = self.token_url.as_str();
                let params = [
                    ("client_id", app),
                    ("client_secret", secret),
                    ("redirect_uri", callback.redirect_uri),
                    ("code", callback.code),
                ];
                let short = MetaToken::from_answer(
                    PLATFORM,
                    &meta::get(&self.client, PLATFORM, url, &params).await?,
                    Utc::now(),
                )?;
                let exchange = [
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", app),
                    ("client_secret", secret),
                    ("fb_exchange_token", short.access_token.as_str()),
                ];
                let long = MetaToken::from_answer(
                    PLATFORM,
                    &meta::get(&self.client, PLATFORM, url, &exchange).await?,
                    Utc::now(),
                )?;
                self.page_accounts(&long.access_token).await
            }
            Login::Instagram => {
                let form = [
                    ("client_id", app),
                    ("client_secret", secret),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", callback.redirect_uri),
                    ("code", callback.code),
                ];
                let request = self.client.inner().post(&self.token_url).form(&form);
                let answer = meta::graph_answer(PLATFORM, self.client.send(request).await?).await?;
                // Newer answers wrap the token in `data`.
                let answer = if answer["data"].is_array() { answer["data"][0].clone() } else { answer };
                let short = MetaToken::from_answer(PLATFORM, &answer, Utc::now())?;
                let params = [
                    ("grant_type", "ig_exchange_token"),
                    ("client_secret", secret),
                    ("access_token", short.access_token.as_str()),
                ];
                let url = format!("{}/access_token", self.token_host);
                let long = MetaToken::from_answer(
                    PLATFORM,
                    &meta::get(&self.client, PLATFORM, &url, &params).await?,
                    Utc::now(),
                )?;
                let me = self
                    .get("me", &long.access_token, &[("fields", "user_id,username,name,profile_picture_url")])
                    .await?;
                let ig_user_id = match &me["user_id"] {
                    Value::String(id) => Some(id.clone()),
                    Value::Number(id) => Some(id.to_string()),
                    _ => me["id"].as_str().map(str::to_string).or(short.user_id),
                }
                .ok_or_else(|| {
                    ProviderError::new(ErrorClass::Unknown, "Instagram did not say which account this is")
                })?;
                let username = me["username"].as_str().unwrap_or(&ig_user_id).to_string();
                let creds = Credentials {
                    tokens: Tokens {
                        access_token: long.access_token,
                        refresh_token: None,
                        expires_at: long.expires_at,
                        refresh_expires_at: None,
                        scopes: Vec::new(),
                    },
                    ig_user_id,
                    username,
                    page_id: None,
                    renews_itself: true,
                };
                Ok(vec![self.account(creds, me["name"].as_str(), me["profile_picture_url"].as_str())])
            }
        }
    }
}

#[async_trait]
impl Provider for Instagram {
    fn id(&self) -> &'static str {
        self.login.id()
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of(self.login.id())
    }

    fn credentials(&self) -> Declaration {
        Declaration::none(PLATFORM)
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>(PLATFORM)
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    /// Instagram fetches media from Herald's URL.
    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    fn notice(&self) -> Option<&'static str> {
        Some(
            "Instagram fetches images and videos from this server's public address (MAIN_URL), which must be an https address it can reach; only professional (business or creator) accounts can publish.",
        )
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid(format!("Instagram is connected by signing in: GET /api/auth/{}", self.login.id())))
    }

    /// The account's publishing limit as its rate budget.
    async fn discovered_settings(&self, value: &Value) -> Value {
        let Ok(creds) = credentials(value) else { return Value::Null };
        match self.publishing_limit(&creds).await {
            Ok((_, total, window)) if total < u64::MAX => {
                json!({ "rateBudget": { "max": total, "windowSeconds": window } })
            }
            _ => Value::Null,
        }
    }

    /// `ig_refresh_token` for Instagram Login; a Page token never expires.
    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        let mut creds = credentials(value)?;
        if self.login == Login::Facebook {
            return Err(ProviderError::new(
                ErrorClass::Revoked,
                "Instagram refused the Page's token; reconnect the account",
            ));
        }
        let params = [("grant_type", "ig_refresh_token"), ("access_token", creds.tokens.access_token.as_str())];
        let url = format!("{}/refresh_access_token", self.token_host);
        let answer = meta::get(&self.client, PLATFORM, &url, &params).await.map_err(|error| match error.class {
            ErrorClass::AuthExpired => ProviderError::new(ErrorClass::Revoked, error.message),
            _ => error,
        })?;
        let fresh = MetaToken::from_answer(PLATFORM, &answer, Utc::now())?;
        creds.tokens.access_token = fresh.access_token;
        creds.tokens.expires_at = fresh.expires_at;
        Ok(Refreshed { expires_at: fresh.expires_at, credentials: serde_json::to_value(&creds).unwrap_or_default() })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read(PLATFORM, &request.settings).map_err(ProviderError::invalid)?;
        if request.item_index > 0 {
            return self.comment(&creds, request).await;
        }
        match &request.pending {
            Some(stored) => {
                let handle = Handle::deserialize(stored)
                    .map_err(|_| ProviderError::invalid("the stored Instagram container cannot be read"))?;
                self.resume(&creds, request, &settings, handle).await
            }
            // Publishing needs a stored container: without one, nothing went out.
            None => self.create(&creds, request, &settings).await,
        }
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let token = &creds.tokens.access_token;
        let answer = self
            .get(&format!("{}/insights", item.id), token, &[("metric", "reach,likes,comments,shares,saved,views")])
            .await?;
        let mut metrics = Metrics::new();
        for entry in answer["data"].as_array().into_iter().flatten() {
            let Some(name) = entry["name"].as_str() else { continue };
            let value = entry["values"][0]["value"].as_i64().or_else(|| entry["total_value"]["value"].as_i64());
            if let Some(value) = value {
                metrics.insert(name.to_string(), value);
            }
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(mime: &str) -> Attachment {
        Attachment {
            url: "https://herald.example/uploads/a".into(),
            mime: mime.into(),
            alt_text: Some("alt".into()),
            ..Attachment::loaded(bytes::Bytes::new())
        }
    }

    #[test]
    fn posts_become_the_containers_instagram_takes() {
        let settings = Settings::default();
        let image = media_params(&file("image/jpeg"), PostType::Post, &settings).unwrap();
        assert!(image.contains(&("image_url", "https://herald.example/uploads/a".into())));
        assert!(image.contains(&("alt_text", "alt".into())));
        let video = media_params(&file("video/mp4"), PostType::Post, &settings).unwrap();
        assert!(video.contains(&("media_type", "REELS".into())));
        assert!(video.contains(&("share_to_feed", "true".into())));
        let story = media_params(&file("image/jpeg"), PostType::Story, &settings).unwrap();
        assert!(story.contains(&("media_type", "STORIES".into())));
        assert!(media_params(&file("image/png"), PostType::Post, &settings).is_err());
        assert!(media_params(&file("image/jpeg"), PostType::Reel, &settings).is_err());
    }
}
