//! The use cases every entry point shares: accounts, API keys, posts,
//! integrations, health. REST, MCP, the CLI and the web UI parse their
//! input, call these, and render the result; authorization (workspace
//! role, key scope) and validation happen here, once.

pub mod accounts;
pub mod activity;
pub mod agency;
pub mod ai;
pub mod analytics;
pub mod api_keys;
mod automation;
pub mod caller;
pub mod channels;
pub mod connections;
pub mod error;
pub mod events;
pub mod feeds;
pub mod integrations;
pub mod mcp_auth;
pub mod media;
pub mod pages;
mod passwords;
pub mod platforms;
pub mod postiz;
pub mod posts;
pub mod profile;
pub mod request_id;
pub mod schema;
pub mod system;
pub mod teams;
pub mod throttle;
pub mod views;
pub mod webhooks;

use std::sync::Arc;

use herald_core::vault::Vault;
use herald_providers::Registry;
use herald_store::Store;

pub use caller::{Caller, Credential};
pub use error::{AppError, AppResult};

/// Settings the use cases need; the binary fills them from the config.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Only the first account may register itself.
    pub disable_registration: bool,
    /// Allow user-given URLs on private, loopback and link-local addresses.
    pub allow_private_targets: bool,
    /// Public base URL, for links to media and invites.
    pub main_url: String,
    /// SMTP is configured: invites and notifications are e-mailed.
    pub email: bool,
    /// The model behind AI writing help, when configured.
    pub ai: Option<ai::AiSettings>,
    /// Lifetime of the access tokens MCP apps get by OAuth.
    pub mcp_token_ttl_seconds: u64,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            disable_registration: false,
            allow_private_targets: false,
            main_url: "http://localhost:5000".into(),
            email: false,
            ai: None,
            mcp_token_ttl_seconds: 3600,
        }
    }
}

/// The application: cheap to clone, shared by every entry point.
#[derive(Clone)]
pub struct App {
    store: Store,
    providers: Registry,
    vault: Vault,
    fetcher: herald_providers::HttpClient,
    media: herald_store::blobs::Blobs,
    settings: Arc<AppSettings>,
    session_keys: Arc<accounts::SessionKeys>,
    login_throttle: Arc<throttle::LoginThrottle>,
    /// What each public link (preview, client connect) may be used for.
    link_budget: Arc<throttle::HourlyBudget>,
    /// Talks to the AI model endpoint; made only when one is configured.
    ai_client: Option<reqwest::Client>,
    /// When (Unix seconds) expired MCP tokens are next swept.
    mcp_sweep_due: Arc<std::sync::atomic::AtomicI64>,
}

impl App {
    pub fn new(
        store: Store,
        settings: AppSettings,
        jwt_secret: &[u8],
        vault: Vault,
        providers: Registry,
        media: herald_store::blobs::Blobs,
    ) -> Self {
        let fetcher = herald_providers::HttpClient::media_fetcher(&herald_providers::ProviderSettings {
            allow_private_targets: settings.allow_private_targets,
            ..herald_providers::ProviderSettings::default()
        });
        let ai_client = settings.ai.as_ref().map(|_| reqwest::Client::new());
        Self {
            store,
            providers,
            vault,
            fetcher,
            media,
            ai_client,
            mcp_sweep_due: Arc::default(),
            settings: Arc::new(settings),
            session_keys: Arc::new(accounts::SessionKeys::new(jwt_secret)),
            login_throttle: Arc::new(throttle::LoginThrottle::default()),
            link_budget: Arc::new(throttle::HourlyBudget::new(agency::LINK_ACTIONS_PER_HOUR)),
        }
    }

    /// A user-given http(s) URL (`url` field) on a public address, for
    /// webhooks and feeds; their requests go through the guard again.
    pub(crate) async fn check_public_url(&self, raw: &str) -> Result<String, herald_core::ValidationError> {
        let invalid = |message: String| herald_core::ValidationError::new("url", message);
        let guard = herald_providers::TargetGuard::new(self.settings.allow_private_targets);
        let url = guard.check_url(raw.trim()).map_err(invalid)?;
        guard.check_resolved(&url).await.map_err(invalid)?;
        Ok(url.to_string())
    }

    /// Whether SMTP is configured (invites and notifications are e-mailed).
    pub fn email_enabled(&self) -> bool {
        self.settings.email
    }

    /// "Now" by the clock the composition root gave the store.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.store.now()
    }

    /// After a commit: announce its events and wake the schedulers (a post
    /// was created, moved or deleted).
    async fn committed(&self, events: Vec<herald_store::EventRow>) {
        self.store.publish_events(events).await;
        self.store.queue_changed().await;
    }

    /// After a commit that left the publishing queue as it was (a draft
    /// saved): announce its events only. Waking the delivery loop for
    /// nothing cost it two transactions per draft, and made it read the
    /// accounts again.
    async fn committed_outside_queue(&self, events: Vec<herald_store::EventRow>) {
        self.store.publish_events(events).await;
    }
}
