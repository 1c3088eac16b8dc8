//! `herald serve`: the long-running process.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use herald_web::{AppState, WebConfig};
use tokio::net::TcpListener;

use super::open_app;
use crate::config::Config;

/// Largest request body the API accepts.
const BODY_LIMIT: usize = 1024 * 1024;

pub async fn run(config: Config) -> Result<ExitCode> {
    let (app, _secrets) = open_app(&config).await?;
    let web = WebConfig {
        main_url: config.main_url(),
        rate_limit: config.rate_limit,
        rate_limit_posts: config.rate_limit_posts,
        cors_origins: config.cors_origins(),
        body_limit: BODY_LIMIT,
    };
    let state = AppState {
        app: app.clone(),
        config: Arc::new(web),
    };
    let address = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        address = %local,
        database = app.store().backend().name(),
        roles = %config.roles,
        "Herald {} listening on http://{local} (public URL {})",
        env!("CARGO_PKG_VERSION"),
        config.main_url()
    );
    if !["web", "api", "mcp"]
        .iter()
        .any(|role| config.has_role(role))
    {
        tracing::warn!(
            "HERALD_ROLES has no web, api or mcp role: only /api/health is useful on this node"
        );
    }
    herald_web::serve(listener, state, shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("shut down cleanly");
    Ok(ExitCode::SUCCESS)
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
