//! `facebook`: Facebook Pages through the Graph API, connected with
//! Facebook Login (`FACEBOOK_APP_ID`/`_SECRET`): signing in offers the
//! user's Pages (`/me/accounts`), and each posts with its Page token, which
//! does not expire.
//!
//! - Text and links: `POST /{page}/feed` (`message`, `link`).
//! - Photos: each uploaded unpublished (`POST /{page}/photos`,
//!   `published=false`), then one feed post with `attached_media`; a single
//!   photo the same way, so every photo post has one id.
//! - Video: the resumable upload of `/{page}/videos` (`start`, a `transfer`
//!   per chunk, `finish`). Each chunk is a [`Step::Pending`], so the session
//!   and the offset Facebook last acknowledged are stored as the upload
//!   goes: a restart continues at that offset, never uploads the video again.
//! - Thread items become comments on the post.
//!
//! A feed post that may have gone out (a crash, a lost answer) is looked up
//! among the Page's recent posts before anything is sent again.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::declared::{self, Declaration};
use crate::meta::{self, GRAPH_VERSION, MetaToken};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Pending, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Recovery, Refreshed, Step,
};

const PLATFORM: &str = "Facebook";
const SCOPES: &str = "pages_show_list,pages_manage_posts,pages_read_engagement,pages_manage_engagement,read_insights";
/// Recent Page posts looked through for one whose answer was lost.
const RECENT: &str = "25";
/// Pages read from `/me/accounts` at most (100 each).
const MAX_PAGES: usize = 5;

pub struct Facebook {
    client: HttpClient,
    /// `https://graph.facebook.com/v24.0`, or its stand-in.
    graph: String,
    /// Where video bytes go: `https://graph-video.facebook.com/v24.0`.
    video: String,
    token_url: String,
    flow: Option<(CodeFlow, App)>,
}

impl Facebook {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let graph = settings.platform_url("facebook", &format!("https://graph.facebook.com/{GRAPH_VERSION}"));
        let video = settings.platform_url("facebook", &format!("https://graph-video.facebook.com/{GRAPH_VERSION}"));
        let token_url = format!("{graph}/oauth/access_token");
        let flow = App::from_env(settings, "FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET").map(|app| {
            let authorize =
                settings.platform_url("facebook", &format!("https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"));
            let endpoints = Endpoints { authorize, token: token_url.clone(), revoke: None };
            (CodeFlow::new(client.clone(), app.clone(), endpoints, PLATFORM).without_pkce(), app)
        });
        Self { client, graph, video, token_url, flow }
    }

    fn flow(&self) -> Result<&(CodeFlow, App), ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("Facebook is not configured: set FACEBOOK_APP_ID"))
    }

    async fn get(&self, path: &str, token: &str, params: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let mut all = params.to_vec();
        all.push(("access_token", token));
        meta::get(&self.client, PLATFORM, &format!("{}/{path}", self.graph), &all).await
    }

    /// A POST with its parameters as a form: a Page post may be 63,206 characters.
    async fn post_form(&self, path: &str, token: &str, form: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let mut all = form.to_vec();
        all.push(("access_token", token));
        let request = self.client.inner().post(format!("{}/{path}", self.graph)).form(&all);
        meta::graph_answer(PLATFORM, self.client.send(request).await?).await
    }

    /// A photo uploaded unpublished, to be attached to a feed post.
    async fn upload_photo(
        &self,
        creds: &Credentials,
        index: usize,
        file: &Attachment,
    ) -> Result<String, ProviderError> {
        let part = file
            .part()
            .file_name(file.file_name(index))
            .mime_str(&file.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not a photo type Facebook takes", file.mime)))?;
        let form = reqwest::multipart::Form::new()
            .text("published", "false")
            .text("access_token", creds.tokens.access_token.clone())
            .part("source", part);
        let url = format!("{}/{}/photos", self.graph, creds.page_id);
        let request = self.client.inner().post(url).multipart(form);
        let answer = meta::graph_answer(PLATFORM, self.client.send(request).await?)
            .await
            .map_err(ProviderError::before_publishing)?;
        id_of(&answer, "the photo")
    }

    /// The feed post: text, a link, and the photos uploaded for it.
    async fn feed_post(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
        settings: &Settings,
    ) -> Result<Step, ProviderError> {
        if request.interrupted
            && let Some(found) = self.find_recent(creds, &request.content).await?
        {
            return Ok(found.into());
        }
        let mut photos = Vec::with_capacity(request.media.len());
        for (index, file) in request.media.iter().enumerate() {
            photos.push(self.upload_photo(creds, index, file).await?);
        }
        let mut form: Vec<(String, String)> = vec![("message".into(), request.content.clone())];
        if let Some(link) = &settings.link {
            form.push(("link".into(), link.clone()));
        }
        for (index, photo) in photos.iter().enumerate() {
            form.push((format!("attached_media[{index}]"), serde_json::json!({ "media_fbid": photo }).to_string()));
        }
        let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = self.post_form(&format!("{}/feed", creds.page_id), &creds.tokens.access_token, &borrowed).await?;
        let id = id_of(&answer, "the post")?;
        Ok(PublishedItem { url: Some(post_url(&id)), id }.into())
    }

    /// The newest of the Page's recent posts with this text, if any.
    async fn find_recent(&self, creds: &Credentials, text: &str) -> Result<Option<PublishedItem>, ProviderError> {
        let path = format!("{}/feed", creds.page_id);
        let recent = self
            .get(&path, &creds.tokens.access_token, &[("fields", "id,message,created_time"), ("limit", RECENT)])
            .await?;
        let text = text.trim();
        Ok(recent["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|post| post["message"].as_str().unwrap_or_default().trim() == text)
            .and_then(|post| post["id"].as_str())
            .map(|id| PublishedItem { id: id.to_string(), url: Some(post_url(id)) }))
    }

    /// One step of the resumable video upload: start, a chunk, or finish.
    async fn video_step(
        &self,
        creds: &Credentials,
        request: &PublishRequest,
        settings: &Settings,
        handle: Option<Upload>,
    ) -> Result<Step, ProviderError> {
        let file = &request.media[0];
        let token = creds.tokens.access_token.as_str();
        let url = format!("{}/{}/videos", self.video, creds.page_id);
        let Some(mut upload) = handle else {
            let size = file.size.to_string();
            let form = [("upload_phase", "start"), ("file_size", size.as_str()), ("access_token", token)];
            let request = self.client.inner().post(&url).form(&form);
            let started = meta::graph_answer(PLATFORM, self.client.send(request).await?).await?;
            let upload = Upload {
                session: text_of(&started["upload_session_id"]).ok_or_else(|| unreadable("upload session"))?,
                video: text_of(&started["video_id"]).ok_or_else(|| unreadable("video id"))?,
                start: offset(&started["start_offset"])?,
                end: offset(&started["end_offset"])?,
            };
            return Ok(uploading(upload, file.size));
        };
        if upload.start < upload.end && upload.start < file.size {
            let end = upload.end.min(file.size);
            let part = reqwest::multipart::Part::stream_with_length(file.stream(upload.start..end), end - upload.start)
                .file_name(file.file_name(0))
                .mime_str("application/octet-stream")
                .map_err(|_| ProviderError::invalid("the video chunk could not be encoded"))?;
            let form = reqwest::multipart::Form::new()
                .text("upload_phase", "transfer")
                .text("upload_session_id", upload.session.clone())
                .text("start_offset", upload.start.to_string())
                .text("access_token", token.to_string())
                .part("video_file_chunk", part);
            let sent = self.client.send(self.client.inner().post(&url).multipart(form)).await;
            let answer = match sent {
                Ok(response) => meta::graph_answer(PLATFORM, response).await,
                Err(error) => Err(error),
            };
            // A chunk that may not have arrived is sent again: the session
            // takes the same offset twice, and publishing comes only at `finish`.
            let answer = answer.map_err(ProviderError::before_publishing)?;
            upload.start = offset(&answer["start_offset"])?;
            upload.end = offset(&answer["end_offset"])?;
            return Ok(uploading(upload, file.size));
        }
        let mut form = vec![
            ("upload_phase", "finish".to_string()),
            ("upload_session_id", upload.session.clone()),
            ("description", request.content.clone()),
            ("access_token", token.to_string()),
        ];
        if let Some(title) = &settings.title {
            form.push(("title", title.clone()));
        }
        let request = self.client.inner().post(&url).form(&form);
        let finished = meta::graph_answer(PLATFORM, self.client.send(request).await?).await?;
        if finished["success"] != true {
            return Err(ProviderError::new(ErrorClass::Unknown, "Facebook did not confirm the video"));
        }
        Ok(PublishedItem {
            url: Some(format!("https://www.facebook.com/{}/videos/{}", creds.page_id, upload.video)),
            id: upload.video,
        }
        .into())
    }

    async fn comment(&self, creds: &Credentials, request: &PublishRequest) -> Result<Step, ProviderError> {
        let Some(root) = &request.root else { return Err(ProviderError::invalid("a comment needs its post")) };
        let token = &creds.tokens.access_token;
        if request.interrupted {
            let comments = self.get(&format!("{}/comments", root.id), token, &[("fields", "id,message")]).await?;
            let text = request.content.trim();
            let found = comments["data"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["message"].as_str().unwrap_or_default().trim() == text);
            if let Some(id) = found.and_then(|c| c["id"].as_str()) {
                return Ok(PublishedItem { id: id.to_string(), url: None }.into());
            }
        }
        let answer = self.post_form(&format!("{}/comments", root.id), token, &[("message", &request.content)]).await?;
        Ok(PublishedItem { id: id_of(&answer, "the comment")?, url: None }.into())
    }
}

fn post_url(id: &str) -> String {
    format!("https://www.facebook.com/{id}")
}

/// A resumable video upload in progress: what Facebook said to send next.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Upload {
    session: String,
    video: String,
    /// The next chunk Facebook expects: bytes `start..end`.
    start: u64,
    end: u64,
}

fn uploading(upload: Upload, size: u64) -> Step {
    let done = upload.start.min(size) * 100 / size.max(1);
    let stage = format!("uploading the video ({done} %)");
    let handle = serde_json::to_value(&upload).unwrap_or_default();
    Step::Pending(Pending { handle, after: std::time::Duration::ZERO, stage })
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Facebook gives offsets as strings.
fn offset(value: &Value) -> Result<u64, ProviderError> {
    text_of(value).and_then(|text| text.parse().ok()).ok_or_else(|| unreadable("upload offset"))
}

fn unreadable(what: &str) -> ProviderError {
    ProviderError::new(ErrorClass::Unknown, format!("Facebook's answer has no readable {what}"))
}

fn id_of(answer: &Value, what: &str) -> Result<String, ProviderError> {
    text_of(&answer["post_id"])
        .or_else(|| text_of(&answer["id"]))
        .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, format!("Facebook did not return the id of {what}")))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    page_id: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored Facebook credentials are incomplete; reconnect the Page")
    })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// A link the post shares (shown as a preview when it has no photos).
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    link: Option<String>,
    /// A video's title.
    #[garde(length(chars, min = 1, max = 255))]
    title: Option<String>,
}

#[async_trait]
impl OAuthConnect for Facebook {
    fn app_env(&self) -> &'static [&'static str] {
        &["FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.0.consent(&begin, &[SCOPES], &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let (_, registered) = self.flow()?;
        let app = registered.client_id.as_str();
        let secret = registered.client_secret.as_deref().unwrap_or_default();
        let params = [
            ("client_id", app),
            ("client_secret", secret),
            ("redirect_uri", callback.redirect_uri),
            ("code", callback.code),
        ];
        let answer = meta::get(&self.client, PLATFORM, &self.token_url, &params).await?;
        let short = MetaToken::from_answer(PLATFORM, &answer, Utc::now())?;
        let exchange = [
            ("grant_type", "fb_exchange_token"),
            ("client_id", app),
            ("client_secret", secret),
            ("fb_exchange_token", short.access_token.as_str()),
        ];
        let answer = meta::get(&self.client, PLATFORM, &self.token_url, &exchange).await?;
        let long = MetaToken::from_answer(PLATFORM, &answer, Utc::now())?;
        let mut accounts = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = vec![("fields", "id,name,access_token,picture{url},tasks"), ("limit", "100")];
            if let Some(cursor) = &after {
                params.push(("after", cursor));
            }
            let page = self.get("me/accounts", &long.access_token, &params).await?;
            for entry in page["data"].as_array().into_iter().flatten() {
                let (Some(id), Some(token)) = (entry["id"].as_str(), entry["access_token"].as_str()) else { continue };
                let name = entry["name"].as_str().unwrap_or(id).to_string();
                let creds = Credentials {
                    tokens: Tokens {
                        access_token: token.to_string(),
                        refresh_token: None,
                        expires_at: None,
                        refresh_expires_at: None,
                        scopes: Vec::new(),
                    },
                    page_id: id.to_string(),
                };
                accounts.push(ConnectedAccount {
                    account_id: id.to_string(),
                    username: id.to_string(),
                    display_name: name,
                    avatar_url: entry["picture"]["data"]["url"].as_str().map(str::to_string),
                    credentials: serde_json::to_value(&creds).unwrap_or_default(),
                    token_expires_at: None,
                    scopes: SCOPES.split(',').map(str::to_string).collect(),
                    profile_pending: false,
                });
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
            return Err(ProviderError::invalid("this Facebook account manages no Pages Herald may post to"));
        }
        Ok(accounts)
    }
}

#[async_trait]
impl Provider for Facebook {
    fn id(&self) -> &'static str {
        "facebook"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("facebook")
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

    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("Facebook Pages are connected by signing in: GET /api/auth/facebook"))
    }

    /// A Page token does not expire; one Facebook refuses needs a new sign-in.
    async fn refresh(&self, _value: &Value) -> Result<Refreshed, ProviderError> {
        Err(ProviderError::new(ErrorClass::Revoked, "Facebook refused the Page's token; reconnect the Page"))
    }

    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read(PLATFORM, &request.settings).map_err(ProviderError::invalid)?;
        if request.item_index > 0 {
            return self.comment(&creds, request).await;
        }
        let video = request.media.iter().any(Attachment::is_video);
        if video {
            if request.media.len() > 1 {
                return Err(ProviderError::invalid("a Facebook video goes alone in its post"));
            }
            let handle = match &request.pending {
                Some(stored) => Some(
                    Upload::deserialize(stored)
                        .map_err(|_| ProviderError::invalid("the stored video upload cannot be read"))?,
                ),
                None => None,
            };
            return self.video_step(&creds, request, &settings, handle).await;
        }
        self.feed_post(&creds, request, &settings).await
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// Reactions, comments and shares of the post, and its insights
    /// (views, reach, clicks) where the Page's insights answer.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let token = &creds.tokens.access_token;
        let fields = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares";
        let answer = self.get(&item.id, token, &[("fields", fields)]).await?;
        let count = |value: &Value| value.as_i64().unwrap_or(0);
        let mut metrics = Metrics::from([
            ("likes".to_string(), count(&answer["reactions"]["summary"]["total_count"])),
            ("comments".to_string(), count(&answer["comments"]["summary"]["total_count"])),
            ("shares".to_string(), count(&answer["shares"]["count"])),
        ]);
        // Insights need `read_insights` and a Page with enough followers: a
        // refusal leaves the counts above.
        let insights = "post_media_view,post_impressions_unique,post_clicks";
        match self.get(&format!("{}/insights", item.id), token, &[("metric", insights)]).await {
            Ok(answer) => {
                for entry in answer["data"].as_array().into_iter().flatten() {
                    let name = match entry["name"].as_str() {
                        Some("post_media_view") => "views",
                        Some("post_impressions_unique") => "reach",
                        Some("post_clicks") => "clicks",
                        _ => continue,
                    };
                    if let Some(value) = entry["values"][0]["value"].as_i64() {
                        metrics.insert(name.to_string(), value);
                    }
                }
            }
            Err(error) => tracing::debug!(%error, "the post's insights could not be read"),
        }
        Ok(metrics)
    }
}
