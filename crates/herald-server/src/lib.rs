//! The composition root: the one place where Herald's parts are wired
//! together — store (with its clock), provider registry, vault, the use
//! cases (`App`), the engine, and the HTTP surfaces (REST, web UI, MCP).
//! `herald serve`, the other CLI commands and the test harness all build
//! through [`Herald::assemble`], so a test runs exactly what production runs.

use std::sync::Arc;

use herald_app::{App, AppSettings};
use herald_core::vault::Vault;
use herald_engine::{Engine, EngineConfig, MediaSource};
use herald_mcp::McpConfig;
use herald_providers::{HttpClient, ProviderSettings, Registry};
use herald_store::Store;
use herald_store::blobs::Blobs;
use herald_ui::UiConfig;
use herald_web::{AppState, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Everything Herald is built from. The store is connected and migrated,
/// and carries the clock every part reads "now" from.
pub struct Parts {
    pub store: Store,
    pub app: AppSettings,
    /// Signs session tokens.
    pub jwt_secret: Vec<u8>,
    /// Encrypts integration credentials.
    pub vault: Vault,
    pub providers: ProviderSettings,
    /// Where uploaded media live (local directory or S3).
    pub media: Blobs,
    pub engine: EngineConfig,
}

/// Which engine loops a process runs (`HERALD_ROLES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineRoles {
    /// Delivery workers.
    pub worker: bool,
    /// The singleton sweeps and jobs (expired leases, missed windows,
    /// metrics, late profiles).
    pub scheduler: bool,
}

/// Which HTTP surfaces a process serves besides the REST API's health check.
pub struct Surfaces {
    pub web: WebConfig,
    pub ui: Option<UiConfig>,
    pub mcp: Option<McpConfig>,
}

/// A wired Herald; cheap to clone.
#[derive(Clone)]
pub struct Herald {
    pub store: Store,
    pub app: App,
    pub engine: Engine,
}

impl Herald {
    pub fn assemble(parts: Parts) -> Self {
        let Parts { store, app: settings, jwt_secret, vault, providers, media, engine } = parts;
        let registry = Registry::new(&providers);
        let source = MediaSource {
            blobs: media.clone(),
            public_url: settings.main_url.clone(),
            fetcher: HttpClient::media_fetcher(&providers),
        };
        let app = App::new(store.clone(), settings, &jwt_secret, vault.clone(), registry.clone(), media);
        let engine = Engine::new(store.clone(), registry, vault, engine, source);
        Self { store, app, engine }
    }

    /// Starts the engine loops `roles` asks for on `tasks`; they stop when
    /// `stopped` turns true. Other processes' queue changes reach this one
    /// (PostgreSQL LISTEN) from here on.
    pub fn start_engine(&self, roles: EngineRoles, stopped: &watch::Receiver<bool>, tasks: &mut JoinSet<()>) {
        self.store.spawn_listener();
        if roles.scheduler {
            let (engine, scheduler_stopped) = (self.engine.clone(), stopped.clone());
            tasks.spawn(async move { engine.run_scheduler(scheduler_stopped).await });
            let (app, mut automation_stopped) = (self.app.clone(), stopped.clone());
            let interval = self.engine.config.notify_interval;
            tasks.spawn(async move {
                // Three quarters out of step with the delivery loop (`start_out_of_step`).
                if herald_engine::start_out_of_step(interval * 3 / 4, &mut automation_stopped).await {
                    app.run_automation(interval, automation_stopped).await;
                }
            });
        }
        if roles.worker {
            let (engine, stopped) = (self.engine.clone(), stopped.clone());
            tasks.spawn(async move { engine.run_worker(stopped).await });
        }
    }

    /// Serves the HTTP surfaces on `listener` until `stopped` turns true.
    /// The web UI calls the use cases directly, never the API over HTTP.
    pub async fn serve_http(
        &self,
        listener: TcpListener,
        surfaces: Surfaces,
        stopped: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        herald_web::metrics::install();
        let mut extra = axum::Router::new();
        if let Some(mcp) = surfaces.mcp {
            extra = extra.merge(herald_mcp::router(self.app.clone(), mcp));
        }
        if let Some(ui) = surfaces.ui {
            extra = extra.merge(herald_ui::router(self.app.clone(), &ui));
        }
        let state = AppState { app: self.app.clone(), config: Arc::new(surfaces.web), shutdown: stopped.clone() };
        let mut on_stop = stopped;
        herald_web::serve(listener, state, extra, async move {
            let _ = on_stop.wait_for(|stop| *stop).await;
        })
        .await
    }
}
