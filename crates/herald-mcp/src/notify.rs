//! Events of the key owner's workspace reach connected MCP clients as
//! logging notifications (`notifications/message`, logger `herald`).

use herald_app::{App, Caller};
use herald_core::event::EventKind;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::{Peer, RoleServer};

/// What an assistant wants to hear about without asking.
const FORWARDED: &[EventKind] = &[
    EventKind::PostPublished,
    EventKind::PostCompleted,
    EventKind::PostFailed,
    EventKind::PostUnconfirmed,
    EventKind::PostRetrying,
    EventKind::IntegrationNeedsReconnect,
];

pub(crate) fn forward_events(app: App, caller: Caller, peer: Peer<RoleServer>) {
    let Ok(mut events) = app.subscribe_events(&caller) else { return };
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = events.next() => match event { Some(event) => event, None => return },
                // The session may end while nothing happens: look now and then.
                () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
                    if peer.is_transport_closed() { return }
                    continue;
                }
            };
            if !FORWARDED.contains(&event.kind) {
                continue;
            }
            if app.still_authorized(&caller).await.is_err() {
                tracing::info!("API key revoked or expired: no more notifications for this MCP session");
                return;
            }
            let level = match event.kind {
                EventKind::PostFailed | EventKind::PostUnconfirmed | EventKind::IntegrationNeedsReconnect => {
                    LoggingLevel::Warning
                }
                _ => LoggingLevel::Info,
            };
            let data = serde_json::to_value(&event).unwrap_or_default();
            let sent = peer
                .notify_logging_message(LoggingMessageNotificationParam::new(level, data).with_logger("herald"))
                .await;
            if sent.is_err() {
                return;
            }
        }
    });
}
