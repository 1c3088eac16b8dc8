//! `herald serve`: the long-running process. Starts the roles of
//! `HERALD_ROLES` — HTTP (web, api, mcp), delivery workers (worker), the
//! sweeps (scheduler) — and stops them in order on SIGINT/SIGTERM.

use std::process::ExitCode;

use anyhow::{Context, Result};
use herald_mcp::McpConfig;
use herald_server::{EngineRoles, Surfaces};
use herald_ui::UiConfig;
use herald_web::WebConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::open_app;
use crate::config::Config;

/// Largest request body the API accepts.
const BODY_LIMIT: usize = 1024 * 1024;

pub async fn run(config: Config) -> Result<ExitCode> {
    let (herald, _) = open_app(&config).await?;
    let (stop, stopped) = watch::channel(false);

    let mut roles = JoinSet::new();
    let engine_roles = EngineRoles { worker: config.has_role("worker"), scheduler: config.has_role("scheduler") };
    herald.start_engine(engine_roles, &stopped, &mut roles);
    if config.has_role("scheduler") && config.backup_schedule.is_some() {
        roles.spawn(crate::backup::run_scheduled_backups(config.clone(), herald.store.clone(), stopped.clone()));
    }

    roles.spawn(crate::heap::give_back_periodically(stopped.clone()));

    let serve_api = ["web", "api", "mcp"].iter().any(|role| config.has_role(role));
    let address = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&address).await.with_context(|| format!("listening on {address}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let surfaces = Surfaces {
        web: WebConfig {
            main_url: config.main_url(),
            rate_limit: config.rate_limit,
            rate_limit_posts: config.rate_limit_posts,
            rate_limit_ui: config.rate_limit_ui,
            trusted_proxies: config.trusted_proxies(),
            cors_origins: config.cors_origins(),
            body_limit: BODY_LIMIT,
            serve_api,
            metrics_token: config.metrics_token.as_ref().map(|t| t.expose().to_string()).filter(|t| !t.is_empty()),
            listens_on_loopback: local.ip().is_loopback(),
        },
        ui: config.has_role("web").then(|| UiConfig { main_url: config.main_url() }),
        mcp: config
            .has_role("mcp")
            .then(|| McpConfig { allowed_hosts: config.mcp_allowed_hosts(), shutdown: stopped.clone() }),
    };
    // Who may register is said before "listening": whoever waits for that
    // line (an operator, a supervisor, a test) has seen it too.
    if !serve_api {
        tracing::info!("no web, api or mcp role: serving /api/health only");
    } else {
        log_registration(&herald.app, &config).await;
    }
    tracing::info!(
        address = %local,
        database = herald.store.backend().name(),
        roles = %config.roles,
        "Herald {} listening on http://{local} (public URL {})",
        env!("CARGO_PKG_VERSION"),
        config.main_url()
    );

    let http = tokio::spawn({
        let (herald, stopped) = (herald.clone(), stopped.clone());
        async move { herald.serve_http(listener, surfaces, stopped).await }
    });
    shutdown_signal().await;
    let _ = stop.send(true);
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "HTTP server stopped with an error"),
        Err(error) => tracing::error!(%error, "HTTP server task failed"),
    }
    while roles.join_next().await.is_some() {}
    herald.store.close().await.context("closing the database")?;
    tracing::info!("shut down cleanly");
    Ok(ExitCode::SUCCESS)
}

/// Tells the operator who can create accounts on this instance.
async fn log_registration(app: &herald_app::App, config: &Config) {
    match app.account_count().await {
        Ok(0) => tracing::warn!(
            "no account yet: open {}/register to create the first one, which becomes the admin; until then \
             anyone who can reach this server can register",
            config.main_url()
        ),
        Ok(_) if !config.disable_registration => tracing::warn!(
            "registration is open: anyone who can reach this server can create an account; set \
             DISABLE_REGISTRATION=true to stop that (admins still add people in Settings or with `herald user create`)"
        ),
        Ok(_) => tracing::info!("registration is disabled (DISABLE_REGISTRATION)"),
        Err(error) => tracing::warn!(%error, "could not count accounts"),
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
