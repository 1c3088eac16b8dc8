//! The use cases every entry point shares: accounts, API keys, posts,
//! integrations, health. REST, MCP, the CLI and the web UI parse their
//! input, call these, and render the result; authorization (workspace
//! role, key scope) and validation happen here, once.

pub mod accounts;
pub mod api_keys;
pub mod caller;
pub mod error;
pub mod integrations;
pub mod posts;
pub mod system;
pub mod views;

use std::sync::Arc;

use herald_store::Store;
use tokio::sync::Notify;

pub use caller::{Caller, Credential};
pub use error::{AppError, AppResult};

/// Settings the use cases need; the binary fills them from the config.
#[derive(Debug, Clone, Default)]
pub struct AppSettings {
    /// Only the first account may register itself.
    pub disable_registration: bool,
}

/// The application: cheap to clone, shared by every entry point.
#[derive(Clone)]
pub struct App {
    store: Store,
    settings: Arc<AppSettings>,
    session_keys: Arc<accounts::SessionKeys>,
    queue_signal: Arc<Notify>,
}

impl App {
    pub fn new(store: Store, settings: AppSettings, jwt_secret: &[u8]) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            session_keys: Arc::new(accounts::SessionKeys::new(jwt_secret)),
            queue_signal: Arc::new(Notify::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Wakes the scheduler: a post was created, moved or deleted.
    fn queue_changed(&self) {
        self.queue_signal.notify_one();
    }

    /// What the scheduler waits on between due times.
    pub fn queue_signal(&self) -> Arc<Notify> {
        self.queue_signal.clone()
    }
}
