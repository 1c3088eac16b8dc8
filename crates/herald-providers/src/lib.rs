//! Platforms Herald publishes to. Each module implements [`Provider`]; the
//! engine only ever sees the trait, so adding a platform is adding a module
//! and registering it in [`Registry::new`].

pub mod article;
mod bluesky;
mod buttondown;
mod declared;
mod devto;
mod discord;
mod dribbble;
mod facebook;
mod farcaster;
pub mod feed;
mod ghost;
mod gmb;
mod googlechat;
mod hashnode;
mod http;
mod instagram;
mod lemmy;
mod linkedin;
mod listmonk;
mod mastodon;
mod matrix;
mod mattermost;
mod medium;
mod meta;
mod misskey;
pub mod net;
pub mod nostr;
pub mod oauth;
pub mod oauth1;
mod pinterest;
mod reddit;
mod slack;
mod teams;
mod telegram;
mod threads;
mod tiktok;
mod tumblr;
mod vk;
pub mod webhook;
mod wordpress;
mod x;
mod youtube;
mod zulip;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::platform::AuthKind;
use herald_core::platform::PlatformRules;
use serde_json::Value;
use uuid::Uuid;

pub use declared::{Declaration, Problem};
pub use http::{HttpClient, classify_status, excerpt, retry_after};
pub use linkedin::LINKEDIN_VERSION;
pub use net::{TargetGuard, is_private_address, is_public_https};

/// How a failure should be handled (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later, no sooner than `after` when the platform said so.
    /// Nothing reached the platform, or repeating the request changes nothing.
    Retryable { after: Option<Duration> },
    /// The request was sent but no answer came back (a timeout after
    /// sending, a broken answer, a 504 from the platform's gateway): it may
    /// have taken effect. Sending it again is safe only where the platform
    /// drops duplicates by idempotency key ([`Recovery::ResendWithSameKey`]).
    MaybeSent,
    /// The token expired: refresh it, then retry once.
    AuthExpired,
    /// Access was revoked: the account must be reconnected.
    Revoked,
    /// The platform refused the content: retrying cannot help.
    Invalid,
    /// Anything else.
    Unknown,
}

impl ErrorClass {
    pub fn name(self) -> &'static str {
        match self {
            Self::Retryable { .. } => "RETRYABLE",
            Self::MaybeSent => "MAYBE_SENT",
            Self::AuthExpired => "AUTH_EXPIRED",
            Self::Revoked => "REVOKED",
            Self::Invalid => "INVALID",
            Self::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub class: ErrorClass,
    /// For people: what the platform said, without secrets. It reaches
    /// logs, events, the database and API answers, so every URL in it is
    /// shown only as far as its host ([`herald_core::redact`]).
    pub message: String,
}

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self { class, message: herald_core::redact::urls_in(&message.into()) }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Invalid, message)
    }

    /// For a call that publishes nothing itself (signing in, uploading a
    /// file, creating a tag): if it may have taken effect, repeating it
    /// cannot duplicate the post, so it is an ordinary retryable failure.
    #[must_use]
    pub fn before_publishing(self) -> Self {
        match self.class {
            ErrorClass::MaybeSent => Self { class: ErrorClass::Retryable { after: None }, ..self },
            _ => self,
        }
    }
}

/// What connecting an account learned from the platform.
#[derive(Debug, Clone)]
pub struct ConnectedAccount {
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Credentials to store (encrypted), possibly normalised.
    pub credentials: Value,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    /// The profile (name, avatar) could not be read: the account is
    /// connected with its handle as name, and [`Provider::profile`] is
    /// asked again later. Decoration never makes connecting fail.
    pub profile_pending: bool,
}

/// Credentials a refresh gave, to be stored before they are used.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub credentials: Value,
    /// When the new access token expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

/// How an account presents itself on its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

/// One item a post puts on a platform: the post itself or a reply of its thread.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishedItem {
    pub id: String,
    pub url: Option<String>,
}

/// A media file of an item, from Herald's media store (or downloaded when
/// the post referred to an outside URL).
#[derive(Clone)]
pub struct Attachment {
    /// Where the file can be fetched publicly (platforms that take URLs).
    pub url: String,
    /// Sniffed from the bytes when stored, e.g. `image/png`.
    pub mime: String,
    pub alt_text: Option<String>,
    /// The file's length in bytes.
    pub size: u64,
    /// The file itself, for platforms that want an upload; [`MediaBody::None`]
    /// for providers whose [`Provider::wants_media_bytes`] is false.
    pub body: MediaBody,
}

/// Reads a stored file piece by piece, so that a video of any size reaches
/// the platform without ever being held in memory whole.
#[async_trait]
pub trait MediaReader: Send + Sync {
    /// The bytes in `range` (end exclusive), or why they cannot be read.
    async fn read(&self, range: std::ops::Range<u64>) -> Result<bytes::Bytes, String>;
}

/// Where an attachment's bytes are.
#[derive(Clone)]
pub enum MediaBody {
    /// Held in memory (a file downloaded from an outside URL).
    Loaded(bytes::Bytes),
    /// In Herald's media store, read on demand.
    Stored(Arc<dyn MediaReader>),
    /// Not given: the provider links media by URL.
    None,
}

/// Size of the pieces a whole-file upload streams in.
const STREAM_PIECE: u64 = 4 * 1024 * 1024;

impl Attachment {
    /// A file held in memory; its url, type and alt text are to be filled in.
    pub fn loaded(data: impl Into<bytes::Bytes>) -> Self {
        let data = data.into();
        Self {
            url: String::new(),
            mime: "application/octet-stream".into(),
            alt_text: None,
            size: data.len() as u64,
            body: MediaBody::Loaded(data),
        }
    }

    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }

    pub fn is_video(&self) -> bool {
        self.mime.starts_with("video/")
    }

    /// A file name with the right extension, for multipart uploads.
    pub fn file_name(&self, index: usize) -> String {
        let extension =
            self.mime.rsplit('/').next().unwrap_or("bin").replace("jpeg", "jpg").replace("quicktime", "mov");
        format!("media-{index}.{extension}")
    }

    /// The bytes in `range` (end exclusive): one chunk of a chunked upload.
    pub async fn chunk(&self, range: std::ops::Range<u64>) -> Result<bytes::Bytes, ProviderError> {
        if range.start > range.end || range.end > self.size {
            return Err(ProviderError::invalid(format!(
                "bytes {}..{} are outside the {}-byte file",
                range.start, range.end, self.size
            )));
        }
        if range.start == range.end {
            return Ok(bytes::Bytes::new());
        }
        match &self.body {
            MediaBody::Loaded(bytes) => {
                let (start, end) = (to_index(range.start)?, to_index(range.end)?);
                Ok(bytes.slice(start..end))
            }
            MediaBody::Stored(reader) => reader.read(range).await.map_err(media_unreadable),
            MediaBody::None => Err(ProviderError::invalid("this platform was given no media bytes")),
        }
    }

    /// The whole file in memory: for images and other small files a
    /// platform takes in one request. Videos go through [`Attachment::chunk`]
    /// or [`Attachment::stream`].
    pub async fn bytes(&self) -> Result<bytes::Bytes, ProviderError> {
        self.chunk(0..self.size).await
    }

    /// The whole file as a request body, read piece by piece while it is
    /// sent. Set `Content-Length` to [`Attachment::size`]: a stream has none.
    pub fn upload_body(&self) -> reqwest::Body {
        match &self.body {
            MediaBody::Loaded(bytes) => reqwest::Body::from(bytes.clone()),
            MediaBody::Stored(_) | MediaBody::None => self.stream(0..self.size),
        }
    }

    /// The whole file as a multipart part of known length.
    pub fn part(&self) -> reqwest::multipart::Part {
        reqwest::multipart::Part::stream_with_length(self.upload_body(), self.size)
    }

    /// The bytes in `range` as a request body that reads the file piece by
    /// piece while it is sent.
    pub fn stream(&self, range: std::ops::Range<u64>) -> reqwest::Body {
        let attachment = self.clone();
        let pieces = futures::stream::try_unfold(range, move |range| {
            let attachment = attachment.clone();
            async move {
                if range.start >= range.end {
                    return Ok(None);
                }
                let end = range.end.min(range.start + STREAM_PIECE);
                let piece = attachment.chunk(range.start..end).await?;
                Ok::<_, ProviderError>(Some((piece, end..range.end)))
            }
        });
        reqwest::Body::wrap_stream(pieces)
    }
}

fn to_index(at: u64) -> Result<usize, ProviderError> {
    usize::try_from(at).map_err(|_| ProviderError::invalid("the file is too large for this machine"))
}

fn media_unreadable(error: String) -> ProviderError {
    ProviderError::new(ErrorClass::Retryable { after: None }, format!("reading the media failed: {error}"))
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("url", &self.url)
            .field("mime", &self.mime)
            .field("alt_text", &self.alt_text)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Engagement counters as the platform reports them, e.g. `likes`, `reposts`.
pub type Metrics = BTreeMap<String, i64>;

/// Everything a provider needs to publish one item.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    pub target_id: Uuid,
    pub post_id: Uuid,
    pub integration_id: Uuid,
    pub integration_name: String,
    pub credentials: Value,
    pub settings: Value,
    /// 0 for the post itself, then the thread items in order.
    pub item_index: usize,
    pub item_count: usize,
    pub content: String,
    pub media_urls: Vec<String>,
    /// The item's media: every file of Herald's library (with its type and
    /// alt text), and, for providers whose [`Provider::wants_media_bytes`] is
    /// true, outside URLs too; bytes only for those providers.
    pub media: Vec<Attachment>,
    pub tags: Vec<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The first item, when this is a reply.
    pub root: Option<PublishedItem>,
    /// The previous item, when this is a reply.
    pub reply_to: Option<PublishedItem>,
    /// Stable across retries of the same item: lets a platform drop duplicates.
    pub idempotency_key: String,
    /// The handle this provider answered with when it last returned
    /// [`Step::Pending`] for this item: continue from it (poll, resume the
    /// upload, publish the finished container) and never start a second one.
    pub pending: Option<Value>,
    /// A delivery of this item was interrupted mid-call (a crash): it may
    /// have reached the platform. Only providers whose recovery is
    /// [`Recovery::AskPlatform`] are called so; they look before sending.
    pub interrupted: bool,
}

/// A lookup an account offers to fill in post settings (a subreddit's
/// flairs, the account's boards): Postiz's integration "tools", by its
/// method names.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// Postiz's method name, e.g. `getFlairs`.
    pub method: &'static str,
    pub description: &'static str,
    /// What `data` it takes: (key, description); all required.
    pub data: &'static [(&'static str, &'static str)],
}

/// What one call of [`Provider::publish`] achieved.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The item is on the platform.
    Published(PublishedItem),
    /// The platform is processing it; the engine stores the handle, lets go
    /// of the target and calls again after the wait with
    /// [`PublishRequest::pending`] set.
    Pending(Pending),
}

impl Step {
    /// The published item, if this step published one.
    pub fn published(self) -> Option<PublishedItem> {
        match self {
            Self::Published(item) => Some(item),
            Self::Pending(_) => None,
        }
    }
}

impl From<PublishedItem> for Step {
    fn from(item: PublishedItem) -> Self {
        Self::Published(item)
    }
}

/// An item the platform has taken but not published yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// What the provider needs to continue: a container id, an upload
    /// session URI, a publish id. The database stores it as it is, and
    /// people see its stage but never the handle: keep tokens out of it.
    pub handle: Value,
    /// How long to wait before asking again.
    pub after: Duration,
    /// For people: what the platform is doing, e.g. `processing video`.
    pub stage: String,
}

/// What the engine may do with a delivery that a crashed worker may have
/// sent: whether sending it again can duplicate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// The platform honours the idempotency key: sending again is safe.
    ResendWithSameKey,
    /// The provider can find out on the platform (a stored handle's status,
    /// the account's recent posts): it is called again with
    /// [`PublishRequest::interrupted`] and looks before it sends.
    AskPlatform,
    /// Nothing is known: the target becomes UNCONFIRMED and the user is told.
    Unconfirmable,
}

/// At most `max` deliveries per integration in any `window` (a platform's
/// write quota), enforced when targets are claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub max: u32,
    pub window: Duration,
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn id(&self) -> &'static str;

    fn rules(&self) -> &'static PlatformRules;

    /// How many deliveries to this platform may run at once, per process.
    fn max_concurrency(&self) -> usize {
        4
    }

    fn recovery(&self) -> Recovery {
        Recovery::Unconfirmable
    }

    /// How an account is connected: with credentials where
    /// [`Provider::connects_with_credentials`], else by OAuth.
    fn auth_kind(&self) -> AuthKind {
        if self.connects_with_credentials() { AuthKind::Credentials } else { AuthKind::Oauth }
    }

    /// Whether `POST /integrations` connects it with credentials: every
    /// platform without OAuth, and those that offer both (Mastodon).
    fn connects_with_credentials(&self) -> bool {
        self.oauth().is_none()
    }

    /// The OAuth connection of a platform connected by signing in there.
    fn oauth(&self) -> Option<&dyn oauth::OAuthConnect> {
        None
    }

    /// The credentials `connect` takes, declared once as a struct
    /// (see `declared.rs`): `GET /platforms` and the connect form show its schema.
    fn credentials(&self) -> Declaration;

    /// The per-post settings (`overrides.<id>.settings`), declared once as a
    /// struct: clients see its schema, and a post's settings are checked
    /// against it when the post is created or updated.
    fn settings(&self) -> Declaration {
        Declaration::none(self.rules().name)
    }

    /// Whether the platform will download this post's media from Herald's
    /// public address (`MAIN_URL`), given the post's settings: then that
    /// address must be one it can reach.
    fn fetches_media(&self, _settings: &Value) -> bool {
        self.rules().fetches_media
    }

    /// Whether `publish` needs the media bytes (an upload) rather than URLs.
    fn wants_media_bytes(&self) -> bool {
        true
    }

    /// Checks credentials against the platform before anything is stored.
    async fn connect(&self, credentials: &Value) -> Result<ConnectedAccount, ProviderError>;

    /// Integration settings the platform reveals about a connected account
    /// (the credentials `connect` returned): an object merged into the
    /// integration's `settings`, e.g. a Mastodon instance's own `maxLength`.
    /// Best effort: `Null` when there is nothing to say or no answer.
    async fn discovered_settings(&self, _credentials: &Value) -> Value {
        Value::Null
    }

    /// The lookups this platform offers for a connected account.
    fn tools(&self) -> &'static [Tool] {
        &[]
    }

    /// Runs one of [`Provider::tools`] with the account's credentials and
    /// the caller's `data` (an object); answers a list of choices.
    async fn run_tool(&self, _credentials: &Value, method: &str, _data: &Value) -> Result<Value, ProviderError> {
        Err(ProviderError::invalid(format!("`{method}` is not a tool of {}", self.rules().name)))
    }

    /// Exchanges expiring credentials for fresh ones.
    async fn refresh(&self, _credentials: &Value) -> Result<Refreshed, ProviderError> {
        Err(ProviderError::new(ErrorClass::Revoked, "these credentials cannot be refreshed; reconnect the account"))
    }

    /// Publishes one item, or starts it and answers [`Step::Pending`].
    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError>;

    /// Whether [`Provider::fetch_metrics`] reports anything.
    fn has_metrics(&self) -> bool {
        false
    }

    /// Engagement of a published post (its first item), where the platform
    /// exposes it.
    async fn fetch_metrics(&self, _credentials: &Value, _item: &PublishedItem) -> Result<Metrics, ProviderError> {
        Ok(Metrics::new())
    }

    /// The account's profile, for an integration connected while it could
    /// not be read (`ConnectedAccount::profile_pending`); `None` where the
    /// platform has none to offer.
    async fn profile(&self, _credentials: &Value) -> Result<Option<Profile>, ProviderError> {
        Ok(None)
    }

    /// What people should know before connecting, shown beside the
    /// platform (e.g. TikTok's private posts for unaudited apps).
    fn notice(&self) -> Option<&'static str> {
        None
    }

    /// The platform's own write quota per account, if it has one.
    fn rate_budget(&self) -> Option<RateBudget> {
        None
    }

    /// A write quota shared by every account connected through the
    /// operator's app (YouTube's daily quota belongs to the Google Cloud
    /// project, not to a channel), if the platform has one.
    fn app_budget(&self) -> Option<RateBudget> {
        None
    }
}

/// The rules row of a platform. Every provider has its own row (a test
/// checks), so the fallback to the first row is never taken.
pub(crate) fn rules_of(id: &str) -> &'static PlatformRules {
    herald_core::platform::rules_for(id).unwrap_or(&herald_core::platform::PLATFORMS[0])
}

/// Settings every provider is built from (no globals).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Allow user-given URLs on loopback, private and link-local addresses.
    pub allow_private_targets: bool,
    pub request_timeout: Duration,
    /// `HERALD_PROVIDER_<ID>_API_BASE` overrides, by provider id.
    pub api_base: BTreeMap<String, String>,
    /// OAuth apps' credentials (`X_CLIENT_ID` …), by env name.
    pub app_credentials: oauth::AppCredentials,
    /// Where people reach Herald (`MAIN_URL`): the address of what Herald
    /// serves itself, such as a `feed` channel's RSS and Atom documents.
    pub public_url: String,
}

impl ProviderSettings {
    /// The API base of a platform with a fixed host, unless overridden by
    /// `HERALD_PROVIDER_<ID>_API_BASE` (tests, proxies), without a trailing slash.
    pub fn api_base(&self, id: &str, default: &str) -> String {
        self.api_base.get(id).map_or(default, String::as_str).trim_end_matches('/').to_string()
    }

    /// A platform URL with its scheme and host replaced by the platform's
    /// `HERALD_PROVIDER_<ID>_API_BASE`, if set, keeping the documented path:
    /// one server can stand in for every host of a platform (consent page,
    /// token, API, upload).
    pub fn platform_url(&self, id: &str, url: &str) -> String {
        let Some(base) = self.api_base.get(id) else { return url.to_string() };
        let path = url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..])).unwrap_or("");
        format!("{}{path}", base.trim_end_matches('/'))
    }
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            request_timeout: Duration::from_secs(15),
            api_base: BTreeMap::new(),
            app_credentials: oauth::AppCredentials::default(),
            public_url: "http://localhost:5000".into(),
        }
    }
}

/// The providers of this build, by id.
#[derive(Clone)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
}

impl Registry {
    pub fn new(settings: &ProviderSettings) -> Self {
        let client = HttpClient::new(settings);
        let mut providers: BTreeMap<&'static str, Arc<dyn Provider>> = BTreeMap::new();
        let private = settings.allow_private_targets;
        providers.insert("bluesky", Arc::new(bluesky::Bluesky::new(client.clone(), settings)));
        providers.insert("buttondown", Arc::new(buttondown::Buttondown::new(client.clone(), settings)));
        providers.insert("devto", Arc::new(devto::Devto::new(client.clone(), settings)));
        providers.insert("dribbble", Arc::new(dribbble::Dribbble::new(client.clone(), settings)));
        providers.insert("discord", Arc::new(discord::Discord::new(client.clone(), private)));
        providers.insert("facebook", Arc::new(facebook::Facebook::new(client.clone(), settings)));
        providers.insert("farcaster", Arc::new(farcaster::Farcaster::new(client.clone(), settings)));
        providers.insert("hashnode", Arc::new(hashnode::Hashnode::new(client.clone(), settings)));
        providers.insert("medium", Arc::new(medium::Medium::new(client.clone(), settings)));
        providers.insert("feed", Arc::new(feed::Feed::new(settings)));
        providers.insert("ghost", Arc::new(ghost::Ghost::new(client.clone(), private)));
        providers.insert("gmb", Arc::new(gmb::Gmb::new(client.clone(), settings)));
        providers.insert("googlechat", Arc::new(googlechat::GoogleChat::new(client.clone(), private)));
        let instagram = instagram::Instagram::new(client.clone(), settings, instagram::Login::Facebook);
        providers.insert("instagram", Arc::new(instagram));
        let standalone = instagram::Instagram::new(client.clone(), settings, instagram::Login::Instagram);
        providers.insert("instagram-standalone", Arc::new(standalone));
        providers.insert("lemmy", Arc::new(lemmy::Lemmy::new(client.clone(), private)));
        let member = linkedin::LinkedIn::new(client.clone(), settings, linkedin::Audience::Member);
        providers.insert("linkedin", Arc::new(member));
        let pages = linkedin::LinkedIn::new(client.clone(), settings, linkedin::Audience::Pages);
        providers.insert("linkedin-page", Arc::new(pages));
        providers.insert("listmonk", Arc::new(listmonk::Listmonk::new(client.clone(), private)));
        for flavour in [
            &mastodon::flavour::MASTODON,
            &mastodon::flavour::PIXELFED,
            &mastodon::flavour::GOTOSOCIAL,
            &mastodon::flavour::AKKOMA,
        ] {
            providers.insert(flavour.id, Arc::new(mastodon::Mastodon::new(client.clone(), private, flavour)));
        }
        providers.insert("misskey", Arc::new(misskey::Misskey::new(client.clone(), private)));
        providers.insert("matrix", Arc::new(matrix::Matrix::new(client.clone(), private)));
        providers.insert("mattermost", Arc::new(mattermost::Mattermost::new(client.clone(), private)));
        providers.insert("nostr", Arc::new(nostr::Nostr::new(private, settings.request_timeout)));
        providers.insert("pinterest", Arc::new(pinterest::Pinterest::new(client.clone(), settings)));
        providers.insert("reddit", Arc::new(reddit::Reddit::new(client.clone(), settings)));
        providers.insert("slack", Arc::new(slack::Slack::new(client.clone(), private)));
        providers.insert("teams", Arc::new(teams::Teams::new(client.clone(), private)));
        providers.insert("telegram", Arc::new(telegram::Telegram::new(client.clone(), settings)));
        providers.insert("threads", Arc::new(threads::Threads::new(client.clone(), settings)));
        providers.insert("tiktok", Arc::new(tiktok::TikTok::new(client.clone(), settings)));
        providers.insert("tumblr", Arc::new(tumblr::Tumblr::new(client.clone(), settings)));
        providers.insert("vk", Arc::new(vk::Vk::new(client.clone(), settings)));
        providers.insert("webhook", Arc::new(webhook::Webhook::new(client.clone(), private)));
        providers.insert("wordpress", Arc::new(wordpress::Wordpress::new(client.clone(), private)));
        providers.insert("x", Arc::new(x::X::new(client.clone(), settings)));
        providers.insert("youtube", Arc::new(youtube::YouTube::new(client.clone(), settings)));
        providers.insert("zulip", Arc::new(zulip::Zulip::new(client.clone(), private)));
        Self { providers }
    }

    pub fn get(&self, id: &str) -> Option<Arc<dyn Provider>> {
        self.providers.get(id).cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_before_publishing_that_may_have_gone_through_is_just_retried() {
        let maybe = ProviderError::new(ErrorClass::MaybeSent, "no answer").before_publishing();
        assert_eq!(maybe.class, ErrorClass::Retryable { after: None });
        assert_eq!(maybe.message, "no answer");
        assert_eq!(ProviderError::invalid("bad").before_publishing().class, ErrorClass::Invalid);
    }

    #[test]
    fn a_platform_override_replaces_every_host_and_keeps_the_path() {
        let settings = ProviderSettings {
            api_base: BTreeMap::from([("x".to_string(), "http://127.0.0.1:9/".to_string())]),
            ..ProviderSettings::default()
        };
        assert_eq!(
            settings.platform_url("x", "https://x.com/i/oauth2/authorize"),
            "http://127.0.0.1:9/i/oauth2/authorize"
        );
        assert_eq!(settings.platform_url("x", "https://api.x.com"), "http://127.0.0.1:9");
        assert_eq!(
            settings.platform_url("reddit", "https://oauth.reddit.com/api/submit"),
            "https://oauth.reddit.com/api/submit"
        );
    }

    #[test]
    fn every_provider_has_its_own_rules() {
        let registry = Registry::new(&ProviderSettings::default());
        for provider in registry.all() {
            assert_eq!(
                provider.rules().id,
                provider.id(),
                "{} has no row in herald_core::platform::PLATFORMS",
                provider.id()
            );
        }
        assert!(registry.all().count() >= 39, "{} platforms", registry.all().count());
    }

    #[test]
    fn every_declaration_is_a_form_a_client_can_fill() {
        let registry = Registry::new(&ProviderSettings::default());
        for provider in registry.all() {
            let id = provider.id();
            let credentials = provider.credentials().schema();
            let settings = provider.settings().schema();
            for schema in [&credentials, &settings] {
                assert_eq!(schema["type"], "object", "{id}: {schema}");
                for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                    let typed = ["type", "anyOf", "enum"].iter().any(|key| property.get(key).is_some());
                    assert!(typed, "{id}.{name} has no type: {property}");
                    assert!(property.get("$ref").is_none(), "{id}.{name} refers elsewhere: {property}");
                }
            }
            let required = credentials["required"].as_array().map_or(0, Vec::len);
            let by_oauth = !provider.connects_with_credentials();
            assert_eq!(
                required > 0,
                !by_oauth,
                "{id}: a credentials form must ask for something, an OAuth one for nothing"
            );
            for (name, property) in credentials["properties"].as_object().into_iter().flatten() {
                let secret = ["password", "secret", "token", "key"].iter().any(|s| name.to_lowercase().contains(s));
                if secret {
                    assert_eq!(property["writeOnly"], true, "{id}.{name} is a secret but not writeOnly");
                }
            }
            assert!(provider.settings().problems(&Value::Null).is_empty(), "{id}: no settings must be valid");
            let unknown = provider.settings().problems(&serde_json::json!({"surelyNotASetting": 1}));
            let free = settings["additionalProperties"] != false;
            assert_eq!(unknown.is_empty(), free, "{id}: unknown settings {unknown:?}");
        }
    }
}
