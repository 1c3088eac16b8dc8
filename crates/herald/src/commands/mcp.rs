//! `herald mcp --api-key ptz_…`: one MCP session on stdin/stdout, on the
//! same database as `herald serve`, for local assistants (Claude Desktop).

use std::process::ExitCode;

use anyhow::{Result, anyhow};

use herald_server::Herald;

use super::open_app;
use crate::config::Config;

pub async fn run(config: Config, api_key: String) -> Result<ExitCode> {
    let (Herald { app, store, .. }, _) = open_app(&config).await?;
    let caller = app
        .authenticate_api_key(api_key.trim(), true)
        .await
        .map_err(|error| anyhow!("the API key was refused: {error}"))?;
    // Posts are published by `herald serve`, another process: relay its events.
    store.spawn_event_relay(std::time::Duration::from_millis(500));
    herald_mcp::serve_stdio(app, caller).await.map_err(|error| anyhow!("MCP session failed: {error}"))?;
    Ok(ExitCode::SUCCESS)
}
