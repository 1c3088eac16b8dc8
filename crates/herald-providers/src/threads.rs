//! `threads`: posts through the Threads API (graph.threads.net), connected
//! by Threads' OAuth (`THREADS_APP_ID`/`_SECRET`, scopes
//! `threads_basic,threads_content_publish`, no PKCE).
//!
//! A post is a media container — TEXT, IMAGE, VIDEO, or a CAROUSEL of item
//! containers — that Threads fetches the media for and processes; Herald
//! stores the container id ([`Step::Pending`]), asks its `status` until it
//! is `FINISHED`, then calls `threads_publish` once. Thread items are
//! replies (`reply_to_id`) to the item before. A container that says
//! `PUBLISHED` when Herald did not see the answer (a crash, a lost answer)
//! is looked up among the account's recent threads rather than published
//! again.
//!
//! Tokens: the code gives a 1-hour token, exchanged at once for a 60-day one
//! (`th_exchange_token`) and renewed before it ends (`th_refresh_token`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::declared::{self, Declaration};
use crate::meta::{self, ContainerHandle as Handle, ContainerStatus, MetaToken, borrowed, stage, waiting};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, RateBudget, Recovery, Refreshed, Step,
};

const PLATFORM: &str = "Threads";
/// The Graph version, pinned here only.
const VERSION: &str = "v1.0";
/// Threads separates scopes with commas, so they go as one.
const SCOPES: &[&str] = &["threads_basic,threads_content_publish,threads_manage_insights"];
/// Threads' own limit: 250 published posts per account in 24 hours.
const POSTS_PER_DAY: u32 = 250;
/// Recent threads looked through for one whose answer was lost.
const RECENT: &str = "25";

pub struct Threads {
    client: HttpClient,
    /// `https://graph.threads.net`, or its stand-in.
    graph: String,
    flow: Option<(CodeFlow, App)>,
}

impl Threads {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let graph = settings.platform_url("threads", "https://graph.threads.net");
        let flow = App::from_env(settings, "THREADS_APP_ID", "THREADS_APP_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("threads", "https://threads.net/oauth/authorize"),
                token: format!("{graph}/oauth/access_token"),
                revoke: None,
            };
            (CodeFlow::new(client.clone(), app.clone(), endpoints, PLATFORM).without_pkce(), app)
        });
        Self { client, graph, flow }
    }

    fn flow(&self) -> Result<&(CodeFlow, App), ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("Threads is not configured: set THREADS_APP_ID"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{VERSION}/{path}", self.graph)
    }

    async fn get(&self, path: &str, token: &str, params: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let mut all = params.to_vec();
        all.push(("access_token", token));
        meta::get(&self.client, PLATFORM, &self.url(path), &all).await
    }

    async fn post(&self, path: &str, token: &str, params: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let mut all = params.to_vec();
        all.push(("access_token", token));
        meta::post(&self.client, PLATFORM, &self.url(path), &all).await
    }

    /// A long-lived token for a short-lived one (`th_exchange_token`).
    async fn long_lived(&self, short: &str) -> Result<MetaToken, ProviderError> {
        let (_, app) = self.flow()?;
        let secret = app.client_secret.as_deref().unwrap_or_default();
        let params = [("grant_type", "th_exchange_token"), ("client_secret", secret), ("access_token", short)];
        let answer = meta::get(&self.client, PLATFORM, &format!("{}/access_token", self.graph), &params).await?;
        MetaToken::from_answer(PLATFORM, &answer, Utc::now())
    }

    /// Creates the item's container(s): one container, or the carousel's
    /// items (the carousel itself once they are processed).
    async fn create(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
        settings: &Settings,
    ) -> Result<Step, ProviderError> {
        let token = &creds.tokens.access_token;
        let media = &request.media;
        if media.len() > 20 {
            return Err(ProviderError::invalid(format!(
                "Threads takes at most 20 files per post, not {}",
                media.len()
            )));
        }
        if media.len() > 1 {
            let mut children = Vec::with_capacity(media.len());
            for file in media {
                let mut params = media_params(file)?;
                params.push(("is_carousel_item", "true".into()));
                let created = self.post(&format!("{}/threads", creds.user_id), token, &borrowed(&params)).await?;
                children.push(id_of(&created, "the carousel item")?);
            }
            let video = media.iter().any(Attachment::is_video);
            return Ok(waiting(Handle { children, video, ..Handle::default() }, "processing the media"));
        }
        let mut params = match media.first() {
            Some(file) => media_params(file)?,
            None => vec![("media_type", "TEXT".to_string())],
        };
        self.add_text(&mut params, request, settings);
        let created = self.post(&format!("{}/threads", creds.user_id), token, &borrowed(&params)).await?;
        let container = id_of(&created, "the container")?;
        let video = media.first().is_some_and(Attachment::is_video);
        Ok(waiting(Handle { container: Some(container), video, ..Handle::default() }, stage(video)))
    }

    fn add_text(&self, params: &mut Vec<(&'static str, String)>, request: &PublishRequest, settings: &Settings) {
        if !request.content.trim().is_empty() {
            params.push(("text", request.content.clone()));
        }
        if let Some(parent) = &request.reply_to {
            params.push(("reply_to_id", parent.id.clone()));
        }
        if let Some(control) = settings.reply_control {
            params.push(("reply_control", control.as_str().to_string()));
        }
    }

    /// Continues from a stored handle.
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
            // A carousel whose items are processing.
            for child in &handle.children {
                match self.status(child, token).await? {
                    ContainerStatus::Finished => {}
                    ContainerStatus::InProgress => return Ok(waiting(handle, "processing the media")),
                    ContainerStatus::Error(said) => {
                        return Err(ProviderError::invalid(format!(
                            "Threads could not use a file of the carousel: {said}"
                        )));
                    }
                    // Never published: the carousel starts over.
                    ContainerStatus::Expired | ContainerStatus::Published => {
                        return self.create(creds, request, settings).await;
                    }
                }
            }
            let mut params = vec![("media_type", "CAROUSEL".to_string()), ("children", handle.children.join(","))];
            self.add_text(&mut params, request, settings);
            let created = self.post(&format!("{}/threads", creds.user_id), token, &borrowed(&params)).await?;
            handle.container = Some(id_of(&created, "the carousel")?);
            return Ok(waiting(handle, "processing the carousel"));
        };
        match self.status(&container, token).await? {
            ContainerStatus::InProgress => Ok(waiting(handle.clone(), stage(handle.video))),
            ContainerStatus::Finished => self.publish_container(creds, &container).await,
            ContainerStatus::Published => self.find_published(creds, request).await,
            ContainerStatus::Error(said) => {
                Err(ProviderError::invalid(format!("Threads could not process the post: {said}")))
            }
            // Expired unpublished (24 hours): nothing is on Threads; start over.
            ContainerStatus::Expired => self.create(creds, request, settings).await,
        }
    }

    async fn status(&self, container: &str, token: &str) -> Result<ContainerStatus, ProviderError> {
        let answer = self.get(container, token, &[("fields", "id,status,error_message")]).await?;
        Ok(ContainerStatus::of(answer["status"].as_str().unwrap_or_default(), answer["error_message"].as_str()))
    }

    async fn publish_container(&self, creds: &Credentials, container: &str) -> Result<Step, ProviderError> {
        let token = &creds.tokens.access_token;
        let path = format!("{}/threads_publish", creds.user_id);
        let published = self.post(&path, token, &[("creation_id", container)]).await?;
        let id = id_of(&published, "the published post")?;
        // The link only decorates: a failed lookup leaves it out.
        let url = match self.get(&id, token, &[("fields", "permalink")]).await {
            Ok(answer) => answer["permalink"].as_str().map(str::to_string),
            Err(error) => {
                tracing::debug!(%error, "the Threads permalink could not be read");
                None
            }
        };
        Ok(PublishedItem { id, url }.into())
    }

    /// The post of a container that was published while Herald did not
    /// hear the answer: the newest of the account's recent threads with the
    /// item's text (and, for a reply, its parent).
    async fn find_published(&self, creds: &Credentials, request: &PublishRequest) -> Result<Step, ProviderError> {
        let token = &creds.tokens.access_token;
        let fields = "id,permalink,text,timestamp,is_reply,replied_to";
        let recent = if request.reply_to.is_some() {
            self.get("me/replies", token, &[("fields", fields), ("limit", RECENT)]).await?
        } else {
            self.get("me/threads", token, &[("fields", fields), ("limit", RECENT)]).await?
        };
        let text = request.content.trim();
        let found = recent["data"].as_array().into_iter().flatten().find(|post| {
            let same_text = post["text"].as_str().unwrap_or_default().trim() == text;
            let same_parent = match &request.reply_to {
                Some(parent) => post["replied_to"]["id"].as_str().is_none_or(|id| id == parent.id),
                None => true,
            };
            same_text && same_parent
        });
        match found.and_then(|post| Some((post["id"].as_str()?, post["permalink"].as_str()))) {
            Some((id, url)) => Ok(PublishedItem { id: id.to_string(), url: url.map(str::to_string) }.into()),
            None => Err(ProviderError::new(
                ErrorClass::MaybeSent,
                "Threads says the post was published, but it is not among the account's recent posts",
            )),
        }
    }
}

/// The container parameters of one file, fetched by Threads from its URL.
fn media_params(file: &Attachment) -> Result<Vec<(&'static str, String)>, ProviderError> {
    let mut params = if file.is_video() {
        vec![("media_type", "VIDEO".to_string()), ("video_url", file.url.clone())]
    } else if matches!(file.mime.as_str(), "image/jpeg" | "image/png") {
        vec![("media_type", "IMAGE".to_string()), ("image_url", file.url.clone())]
    } else {
        return Err(ProviderError::invalid(format!(
            "Threads takes JPEG and PNG images and MP4 or MOV videos, not {}",
            file.mime
        )));
    };
    if let Some(alt) = file.alt_text.as_deref().filter(|alt| !alt.trim().is_empty()) {
        params.push(("alt_text", alt.to_string()));
    }
    Ok(params)
}

fn id_of(answer: &Value, what: &str) -> Result<String, ProviderError> {
    match &answer["id"] {
        Value::String(id) if !id.is_empty() => Ok(id.clone()),
        Value::Number(id) => Ok(id.to_string()),
        _ => Err(ProviderError::new(ErrorClass::Unknown, format!("Threads did not return the id of {what}"))),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// The Threads user id that posts.
    user_id: String,
    username: String,
    /// Always true: the token renews itself (`th_refresh_token`), so the
    /// account's access has no end (see `oauth::access_ends_at`).
    #[serde(default)]
    renews_itself: bool,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored Threads credentials are incomplete; reconnect the account")
    })
}

/// Who may reply to a post.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ReplyControl {
    Everyone,
    AccountsYouFollow,
    MentionedOnly,
    ParentPostAuthorOnly,
    FollowersOnly,
}

impl ReplyControl {
    fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::AccountsYouFollow => "accounts_you_follow",
            Self::MentionedOnly => "mentioned_only",
            Self::ParentPostAuthorOnly => "parent_post_author_only",
            Self::FollowersOnly => "followers_only",
        }
    }
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// Who may reply (Threads' default: everyone).
    #[garde(skip)]
    reply_control: Option<ReplyControl>,
}

#[async_trait]
impl OAuthConnect for Threads {
    fn app_env(&self) -> &'static [&'static str] {
        &["THREADS_APP_ID", "THREADS_APP_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.0.consent(&begin, SCOPES, &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let (_, app) = self.flow()?;
        let secret = app.client_secret.as_deref().unwrap_or_default();
        let form = [
            ("client_id", app.client_id.as_str()),
            ("client_secret", secret),
            ("code", callback.code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", callback.redirect_uri),
        ];
        let request = self.client.inner().post(format!("{}/oauth/access_token", self.graph)).form(&form);
        let answer = meta::graph_answer(PLATFORM, self.client.send(request).await?).await?;
        let short = MetaToken::from_answer(PLATFORM, &answer, Utc::now())?;
        let long = self.long_lived(&short.access_token).await?;
        let me =
            self.get("me", &long.access_token, &[("fields", "id,username,name,threads_profile_picture_url")]).await?;
        let user_id = me["id"]
            .as_str()
            .map(str::to_string)
            .or(short.user_id)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Threads did not say which account this is"))?;
        let username = me["username"].as_str().unwrap_or(&user_id).to_string();
        let tokens = Tokens {
            access_token: long.access_token,
            refresh_token: None,
            expires_at: long.expires_at,
            refresh_expires_at: None,
            scopes: SCOPES[0].split(',').map(str::to_string).collect(),
        };
        let stored = Credentials {
            tokens: tokens.clone(),
            user_id: user_id.clone(),
            username: username.clone(),
            renews_itself: true,
        };
        Ok(vec![ConnectedAccount {
            account_id: user_id,
            display_name: me["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(&username).to_string(),
            username,
            avatar_url: me["threads_profile_picture_url"].as_str().map(str::to_string),
            credentials: serde_json::to_value(&stored).unwrap_or_default(),
            token_expires_at: tokens.expires_at,
            scopes: tokens.scopes,
            profile_pending: false,
        }])
    }
}

#[async_trait]
impl Provider for Threads {
    fn id(&self) -> &'static str {
        "threads"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("threads")
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

    /// Threads fetches media from Herald's URL.
    fn wants_media_bytes(&self) -> bool {
        false
    }

    /// A container is published only from a stored handle, whose status
    /// tells whether it went out.
    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    fn notice(&self) -> Option<&'static str> {
        Some(
            "Threads fetches images and videos from this server's public address (MAIN_URL), which must be an https address it can reach.",
        )
    }

    fn rate_budget(&self) -> Option<RateBudget> {
        Some(RateBudget { max: POSTS_PER_DAY, window: Duration::from_secs(24 * 60 * 60) })
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("Threads is connected by signing in: GET /api/auth/threads"))
    }

    /// `th_refresh_token`: the same long-lived token, 60 more days.
    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        let mut creds = credentials(value)?;
        let params = [("grant_type", "th_refresh_token"), ("access_token", creds.tokens.access_token.as_str())];
        let url = format!("{}/refresh_access_token", self.graph);
        let answer = meta::get(&self.client, PLATFORM, &url, &params).await.map_err(|error| match error.class {
            // A token Threads no longer takes cannot be renewed.
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
        match &request.pending {
            Some(stored) => {
                let handle = Handle::deserialize(stored)
                    .map_err(|_| ProviderError::invalid("the stored Threads container cannot be read"))?;
                self.resume(&creds, request, &settings, handle).await
            }
            // No container was stored, so none was published (publishing
            // needs a stored one): an interrupted call created at most an
            // unpublished container, which expires on its own.
            None => self.create(&creds, request, &settings).await,
        }
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// `GET /{media-id}/insights`: views, likes, replies, reposts, quotes, shares.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let metric = "views,likes,replies,reposts,quotes,shares";
        let answer =
            self.get(&format!("{}/insights", item.id), &creds.tokens.access_token, &[("metric", metric)]).await?;
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

    #[test]
    fn media_become_container_parameters() {
        let image = Attachment {
            url: "https://herald.example/uploads/a.png".into(),
            mime: "image/png".into(),
            alt_text: Some("A heron".into()),
            ..Attachment::loaded(bytes::Bytes::new())
        };
        let params = media_params(&image).unwrap();
        assert!(params.contains(&("media_type", "IMAGE".into())));
        assert!(params.contains(&("image_url", image.url.clone())));
        assert!(params.contains(&("alt_text", "A heron".into())));
        let gif = Attachment { mime: "image/gif".into(), ..image };
        assert!(media_params(&gif).is_err());
    }

    #[test]
    fn the_handle_holds_no_token_and_waits_grow() {
        let step =
            waiting(Handle { container: Some("1".into()), video: true, ..Handle::default() }, "processing the video");
        let Step::Pending(pending) = step else { panic!("pending") };
        assert_eq!(pending.after, Duration::from_secs(10));
        assert_eq!(pending.handle, serde_json::json!({"container": "1", "children": [], "video": true, "polls": 0}));
    }
}
