//! Test harness: `spawn_app()` starts the real HTTP server on port 0 with a
//! fresh database — a temporary SQLite file, or a fresh schema in the
//! PostgreSQL database named by `HERALD_TEST_PG_URL` — and hands back typed
//! helpers to drive it over HTTP.
//!
//! `db_test!` expands one test into a SQLite and a PostgreSQL variant. The
//! PostgreSQL variant is skipped (with a note) when `HERALD_TEST_PG_URL` is
//! unset; `scripts/test` sets it whenever PostgreSQL is reachable.

mod client;
mod fixtures;

use std::sync::Arc;

use herald_app::{App, AppSettings};
use herald_store::{Store, StoreOptions};
use herald_web::{AppState, WebConfig};
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::oneshot;

pub use client::{Client, Resp};
pub use fixtures::{Account, PASSWORD, id_of, in_minutes};

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
    pub disable_registration: bool,
    pub body_limit: usize,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            rate_limit: 0,
            rate_limit_posts: 0,
            disable_registration: false,
            body_limit: 1024 * 1024,
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub app: App,
    pub store: Store,
    pub backend: Backend,
    shutdown: Option<oneshot::Sender<()>>,
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
        Backend::Sqlite => (
            StoreOptions::new(format!(
                "sqlite://{}",
                dir.path().join("herald.db").display()
            )),
            None,
        ),
        Backend::Postgres => {
            let Some(url) = postgres_url() else {
                eprintln!("note: {PG_URL_VAR} is not set; skipping the PostgreSQL variant");
                return None;
            };
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&url)
                .await
                .expect("connect to the PostgreSQL test database");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create test schema");
            admin.close().await.ok();
            let mut options = StoreOptions::new(url.clone());
            options.schema = Some(schema.clone());
            options.max_connections = 5;
            (options, Some((url, schema)))
        }
    };
    let store = Store::connect(&store_options)
        .await
        .expect("open the test database");
    store.migrate().await.expect("migrate the test database");
    let app = App::new(
        store.clone(),
        AppSettings {
            disable_registration: options.disable_registration,
        },
        b"test-jwt-secret-that-is-long-enough-0123456789",
    );
    let config = WebConfig {
        main_url: "http://localhost".into(),
        rate_limit: options.rate_limit,
        rate_limit_posts: options.rate_limit_posts,
        cors_origins: Vec::new(),
        body_limit: options.body_limit,
    };
    let state = AppState {
        app: app.clone(),
        config: Arc::new(config),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let address = format!("http://{}", listener.local_addr().expect("local address"));
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    tokio::spawn(herald_web::serve(listener, state, async move {
        let _ = on_shutdown.await;
    }));
    Some(TestApp {
        address,
        app,
        store,
        backend,
        shutdown: Some(shutdown),
        _dir: dir,
        pg_schema,
    })
}

impl TestApp {
    /// A client without credentials.
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
            let _ = shutdown.send(());
        }
        // Best effort: the test script drops the whole test database anyway.
        if let Some((url, schema)) = self.pg_schema.take() {
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    if let Ok(db) = Database::connect(&url).await {
                        let _ = db
                            .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Expands one async test body into a SQLite and a PostgreSQL test:
///
/// ```text
/// db_test!(async fn creates_a_post(app) { ... });
/// ```
#[macro_export]
macro_rules! db_test {
    (async fn $name:ident($app:ident) $body:block) => {
        $crate::db_test!(async fn $name($app, $crate::TestOptions::default()) $body);
    };
    (async fn $name:ident($app:ident, $options:expr) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                #[allow(unused_variables)]
                let $app = $crate::spawn_app_with($crate::Backend::Sqlite, $options).await.expect("SQLite app");
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::spawn_app_with($crate::Backend::Postgres, $options).await else { return };
                $body
            }
        }
    };
}
