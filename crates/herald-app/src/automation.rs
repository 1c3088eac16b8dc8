//! The automation loop: recurring series' next occurrences, due feed
//! polls, and the sweep of expired MCP tokens, in every process that runs
//! the scheduler role. All are safe to run in several processes at once
//! (unique rows, leases, idempotent deletes), so a second node only shares
//! the work.

use std::time::Duration;

use tokio::sync::watch;

use crate::App;

impl App {
    /// Runs until `stopped` turns true, one round every `interval`.
    pub async fn run_automation(&self, interval: Duration, mut stopped: watch::Receiver<bool>) {
        loop {
            self.automation_round().await;
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// One round; errors are logged, never fatal: a broken feed or series
    /// must not stop the others.
    pub async fn automation_round(&self) {
        if let Err(error) = self.run_series_once().await {
            tracing::warn!(%error, "recurring series round failed");
        }
        if let Err(error) = self.poll_due_feeds_once().await {
            tracing::warn!(%error, "feed round failed");
        }
        if self.mcp_sweep_is_due()
            && let Err(error) = self.sweep_mcp_tokens().await
        {
            tracing::warn!(%error, "sweeping expired MCP tokens failed");
        }
    }
}
