//! Live events of the caller's workspace (SSE, MCP notifications).

use herald_core::api_key::Scope;
use tokio::sync::broadcast;

use crate::App;
use crate::caller::Caller;
use crate::error::AppResult;
use crate::views::EventView;

/// A subscription to one workspace's events.
pub struct EventStream {
    receiver: broadcast::Receiver<herald_store::EventRow>,
    workspace_id: uuid::Uuid,
}

impl EventStream {
    /// The next event of the workspace; `None` when the bus is gone. Events
    /// missed because the subscriber fell behind are skipped (the log in
    /// the database keeps them).
    pub async fn next(&mut self) -> Option<EventView> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if event.workspace_id == self.workspace_id => return Some(EventView::from_row(&event)),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "an event subscriber fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl App {
    pub fn subscribe_events(&self, caller: &Caller) -> AppResult<EventStream> {
        caller.require(Scope::PostsRead)?;
        Ok(EventStream { receiver: self.store.subscribe_events(), workspace_id: caller.workspace_id })
    }
}
