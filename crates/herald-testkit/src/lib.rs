//! Test harness: `spawn_app()` starts the real HTTP server on port 0 with a
//! fresh database — a temporary SQLite file, or a fresh schema in the
//! PostgreSQL database named by `HERALD_TEST_PG_URL` — and hands back typed
//! helpers to drive it over HTTP.
//!
//! `db_test!` expands one test into a SQLite and a PostgreSQL variant. The
//! PostgreSQL variant is skipped (with a note) when `HERALD_TEST_PG_URL` is
//! unset; `scripts/test` sets it whenever PostgreSQL is reachable.

mod client;
pub mod fakes;
mod feed_server;
mod fixtures;
pub mod logs;
mod model_server;
mod receiver;
pub mod smtp;

use std::time::Duration;

use herald_app::{App, AppSettings};
pub use herald_core::clock::Clock;
use herald_core::retry::RetryPolicy;
use herald_core::vault::Vault;
pub use herald_engine::{Engine, EngineConfig};
use herald_providers::ProviderSettings;
use herald_server::{EngineRoles, Herald, Parts, Surfaces};
use herald_store::blobs::Blobs;
use herald_store::{Store, StoreOptions};
use herald_web::WebConfig;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use client::{Client, Resp};
pub use feed_server::{FeedEntry, FeedServer};
pub use fixtures::{Account, PASSWORD, TINY_MP4, TINY_PNG, id_of, in_minutes};
pub use model_server::{FAKE_MODEL_KEY, FakeModel};
pub use receiver::{Delivery, Reply, WebhookReceiver};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Knobs a test may turn before the app starts.
#[derive(Debug, Clone)]
pub struct TestOptions {
    pub rate_limit: u32,
    pub rate_limit_posts: u32,
    pub rate_limit_ui: u32,
    /// `HERALD_TRUSTED_PROXIES`.
    pub trusted_proxies: String,
    pub disable_registration: bool,
    pub body_limit: usize,
    /// Run the delivery worker and the sweeps, as `herald serve` does.
    pub run_engine: bool,
    /// Engine tunables, fast by default so tests need not wait.
    pub engine: EngineConfig,
    pub provider_timeout: Duration,
    /// Token `/metrics` requires, if any.
    pub metrics_token: Option<String>,
    /// `HERALD_PROVIDER_<ID>_API_BASE` overrides by provider id, pointing
    /// fixed-host platforms (Telegram, DEV, …) at their fakes.
    pub provider_api_base: std::collections::BTreeMap<String, String>,
    /// OAuth apps' credentials by env name, e.g. `X_CLIENT_ID`.
    pub app_credentials: Vec<(String, String)>,
    /// `HERALD_ALLOW_PRIVATE_TARGETS`: on by default, since fakes listen on
    /// 127.0.0.1; SSRF tests turn it off (fakes named by
    /// `provider_api_base` are trusted configuration and stay reachable).
    pub allow_private_targets: bool,
    /// The clock every part of the app reads; a manual one lets a test
    /// move time instead of waiting for it.
    pub clock: Clock,
    /// AI writing help's model endpoint (a fake), if any.
    pub ai: Option<herald_app::ai::AiSettings>,
    /// Lifetime of MCP apps' OAuth access tokens.
    pub mcp_token_ttl_seconds: u64,
}

impl TestOptions {
    /// No engine loops and a manual clock standing at the current time: the
    /// test moves the clock and runs the worker itself ([`TestApp::worker`]),
    /// so what it asserts does not depend on how long it waited.
    pub fn driven() -> Self {
        Self { run_engine: false, clock: Clock::manual(chrono::Utc::now()), ..Self::default() }
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            rate_limit: 0,
            rate_limit_posts: 0,
            rate_limit_ui: 0,
            mcp_token_ttl_seconds: 3600,
            trusted_proxies: String::new(),
            disable_registration: false,
            body_limit: 1024 * 1024,
            run_engine: true,
            engine: EngineConfig {
                lease: Duration::from_secs(10),
                retry: RetryPolicy {
                    max_attempts: 3,
                    base: Duration::from_millis(300),
                    max_delay: Duration::from_secs(5),
                },
                poll_interval: Duration::from_secs(1),
                sweep_interval: Duration::from_millis(200),
                shutdown_grace: Duration::from_secs(2),
                notify_interval: Duration::from_millis(200),
                notify_settle: Duration::ZERO,
                ..EngineConfig::default()
            },
            provider_timeout: Duration::from_secs(3),
            metrics_token: None,
            provider_api_base: std::collections::BTreeMap::new(),
            app_credentials: Vec::new(),
            allow_private_targets: true,
            clock: Clock::system(),
            ai: None,
        }
    }
}

/// The key tests encrypt credentials with.
pub const TEST_ENCRYPTION_KEY: &str = "5f3e0d1c2b3a49586776859a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub struct TestApp {
    pub address: String,
    pub app: App,
    pub store: Store,
    pub engine: Engine,
    pub backend: Backend,
    shutdown: Option<watch::Sender<bool>>,
    /// Aborted with the app, after `shutdown` asked them to stop.
    _engine_loops: JoinSet<()>,
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

/// Environment variable naming the PostgreSQL database tests may use.
pub const PG_URL_VAR: &str = "HERALD_TEST_PG_URL";

pub fn postgres_url() -> Option<String> {
    std::env::var(PG_URL_VAR).ok().filter(|url| !url.is_empty())
}

/// Starts Herald on a fresh database. `None` only for PostgreSQL when no
/// test database is configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, TestOptions::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: TestOptions) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store_options, pg_schema) = match backend {
        Backend::Sqlite => (StoreOptions::new(format!("sqlite://{}", dir.path().join("herald.db").display())), None),
        Backend::Postgres => {
            let Some(url) = postgres_url() else {
                eprintln!("note: {PG_URL_VAR} is not set; skipping the PostgreSQL variant");
                return None;
            };
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&url).await.expect("connect to the PostgreSQL test database");
            admin.execute_unprepared(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
            admin.close().await.ok();
            let mut options = StoreOptions::new(url.clone());
            options.schema = Some(schema.clone());
            options.max_connections = 5;
            (options, Some((url, schema)))
        }
    };
    let store_options = StoreOptions { clock: options.clock.clone(), ..store_options };
    let store = Store::connect(&store_options).await.expect("open the test database");
    store.migrate().await.expect("migrate the test database");
    // Bound first: media URLs point at this server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
    let address = format!("http://{}", listener.local_addr().expect("local address"));
    let herald = Herald::assemble(Parts {
        store,
        app: AppSettings {
            disable_registration: options.disable_registration,
            allow_private_targets: options.allow_private_targets,
            main_url: address.clone(),
            email: options.engine.mail.is_some(),
            ai: options.ai.clone(),
            mcp_token_ttl_seconds: options.mcp_token_ttl_seconds,
        },
        jwt_secret: b"test-jwt-secret-that-is-long-enough-0123456789".to_vec(),
        vault: Vault::from_hex(TEST_ENCRYPTION_KEY).expect("test key"),
        providers: ProviderSettings {
            allow_private_targets: options.allow_private_targets,
            request_timeout: options.provider_timeout,
            api_base: options.provider_api_base.clone(),
            app_credentials: herald_providers::oauth::AppCredentials::new(options.app_credentials.clone()),
            public_url: address.clone(),
        },
        media: Blobs::local(&dir.path().join("uploads")).expect("uploads directory"),
        engine: EngineConfig {
            main_url: address.clone(),
            allow_private_targets: options.allow_private_targets,
            ..options.engine.clone()
        },
    });
    let (shutdown, stopped) = watch::channel(false);
    let roles = EngineRoles { worker: options.run_engine, scheduler: options.run_engine };
    let mut engine_loops = JoinSet::new();
    herald.start_engine(roles, &stopped, &mut engine_loops);
    let surfaces = Surfaces {
        web: WebConfig {
            main_url: "http://localhost".into(),
            rate_limit: options.rate_limit,
            rate_limit_posts: options.rate_limit_posts,
            rate_limit_ui: options.rate_limit_ui,
            trusted_proxies: herald_web::client_ip::TrustedProxies::parse(&options.trusted_proxies)
                .expect("trusted proxies"),
            cors_origins: Vec::new(),
            body_limit: options.body_limit,
            serve_api: true,
            metrics_token: options.metrics_token.clone(),
            listens_on_loopback: true,
        },
        ui: Some(herald_ui::UiConfig { main_url: "http://localhost".into() }),
        mcp: Some(herald_mcp::McpConfig {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into()],
            shutdown: stopped.clone(),
        }),
    };
    tokio::spawn({
        let herald = herald.clone();
        async move { herald.serve_http(listener, surfaces, stopped).await }
    });
    let Herald { app, store, engine } = herald;
    Some(TestApp {
        address,
        app,
        store,
        engine,
        backend,
        shutdown: Some(shutdown),
        _engine_loops: engine_loops,
        _dir: dir,
        pg_schema,
    })
}

impl TestApp {
    /// The clock the app reads (manual under [`TestOptions::driven`]).
    pub fn clock(&self) -> Clock {
        self.store.clock().clone()
    }

    /// A delivery worker of this app; [`herald_engine::Worker::run_once`]
    /// delivers what is due now and writes the outcomes.
    pub fn worker(&self) -> herald_engine::Worker {
        herald_engine::Worker::new(self.engine.clone())
    }

    /// A client without credentials.
    /// Where this app keeps uploaded files.
    pub fn uploads_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("uploads")
    }

    /// The app's temporary data directory (the SQLite file lives here).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn anonymous(&self) -> Client {
        Client::new(&self.address, None)
    }

    /// A client that sends `key` as `Authorization: Bearer <key>`.
    pub fn with_key(&self, key: &str) -> Client {
        Client::new(&self.address, Some(format!("Bearer {key}")))
    }

    /// A client that sends an arbitrary `Authorization` header.
    pub fn with_authorization(&self, value: &str) -> Client {
        Client::new(&self.address, Some(value.to_string()))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        // Best effort: the test script drops the whole test database anyway.
        if let Some((url, schema)) = self.pg_schema.take() {
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                runtime.block_on(async {
                    if let Ok(db) = Database::connect(&url).await {
                        let _ = db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// The one way a test runs on both backends: the body becomes a SQLite and
/// a PostgreSQL test (the latter returns early when no server is reachable).
/// Options shape the app; a fake platform, when named, starts first so its
/// address can go into the options:
///
/// ```text
/// db_test!(async fn creates_a_post(app) { ... });
/// db_test!(async fn with_a_clock(app, TestOptions { clock, ..Default::default() }) { ... });
/// db_test!(async fn publishes(app, fake = TelegramFake::start(TOKEN).await, options_for(&fake)) { ... });
/// ```
#[macro_export]
macro_rules! db_test {
    (async fn $name:ident($app:ident) $body:block) => {
        $crate::db_test!(async fn $name($app, _fake = (), $crate::TestOptions::default()) $body);
    };
    (async fn $name:ident($app:ident, $options:expr) $body:block) => {
        $crate::db_test!(async fn $name($app, _fake = (), $options) $body);
    };
    (async fn $name:ident($app:ident, $fake:ident = $start:expr, $options:expr) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(backend: $crate::Backend) {
                #[allow(clippy::let_unit_value)]
                let $fake = $start;
                #[allow(unused_variables)]
                let Some($app) = $crate::spawn_app_with(backend, $options).await else {
                    assert!(matches!(backend, $crate::Backend::Postgres), "the SQLite app did not start");
                    return;
                };
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::Backend::Postgres).await;
            }
        }
    };
}
