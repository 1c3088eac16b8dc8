//! The legacy HTTP+SSE transport of the seed (`GET /api/mcp/{apiKey}/sse`,
//! `POST /api/mcp/{apiKey}/messages?sessionId=…`), served over rmcp's
//! generic (Sink, Stream) transport: rmcp dropped its own SSE server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use herald_app::{AppError, Caller};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use serde::Deserialize;

use crate::HeraldMcp;
use crate::guard::{error, host_or_origin_refusal};
use crate::http::{McpState, authenticate};

/// Open SSE sessions: where to put the messages a client POSTs.
#[derive(Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

struct Session {
    to_server: mpsc::Sender<ClientJsonRpcMessage>,
    key_hash: String,
    caller: Caller,
}

impl Sessions {
    fn insert(&self, id: String, session: Session) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, session);
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    fn all(&self) -> Vec<(String, Caller)> {
        self.open.lock().map(|o| o.iter().map(|(id, s)| (id.clone(), s.caller.clone())).collect()).unwrap_or_default()
    }

    fn sender(&self, id: &str, key_hash: &str) -> Option<mpsc::Sender<ClientJsonRpcMessage>> {
        let open = self.open.lock().ok()?;
        open.get(id).filter(|s| s.key_hash == key_hash).map(|s| s.to_server.clone())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionQuery {
    session_id: String,
}

/// Removes the session when the client's stream goes away, which closes
/// the server's input and ends the rmcp service.
struct CloseOnDrop {
    sessions: std::sync::Arc<Sessions>,
    id: String,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.sessions.remove(&self.id);
        tracing::debug!(session = %self.id, "MCP SSE session closed");
    }
}

/// Ends the sessions whose key no longer holds: dropping a session's input
/// ends its rmcp service, whose end closes the client's stream.
pub(crate) async fn end_revoked(state: &McpState) {
    for (id, caller) in state.sessions.all() {
        match state.app.still_authorized(&caller).await {
            Err(AppError::Internal(_)) | Ok(()) => {}
            Err(reason) => {
                tracing::info!(%reason, session = %id, "MCP SSE session closed: its key no longer holds");
                state.sessions.remove(&id);
            }
        }
    }
}

pub(crate) async fn connect(state: McpState, key: String, headers: HeaderMap) -> Response {
    if let Some(refused) = host_or_origin_refusal(&headers, &state.allowed_hosts) {
        return refused;
    }
    let caller = match authenticate(&state.app, &key).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = mpsc::channel::<ClientJsonRpcMessage>(64);
    let (to_client, from_server) = mpsc::channel::<ServerJsonRpcMessage>(64);
    let session = Session { to_server, key_hash: herald_core::api_key::hash_key(&key), caller: caller.clone() };
    state.sessions.insert(id.clone(), session);
    let app = state.app.clone();
    tokio::spawn(async move {
        match HeraldMcp::new(app, Some(caller)).serve((to_client, from_client)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(error) => tracing::info!(%error, "MCP SSE session ended before initialization"),
        }
    });
    tracing::info!(session = %id, "MCP SSE session opened");
    let endpoint = Event::default().event("endpoint").data(format!("/api/mcp/{key}/messages?sessionId={id}"));
    let guard = CloseOnDrop { sessions: state.sessions.clone(), id };
    let stream = events(endpoint, from_server, state.shutdown.clone(), guard);
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

fn events(
    endpoint: Event,
    from_server: mpsc::Receiver<ServerJsonRpcMessage>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    guard: CloseOnDrop,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let messages =
        futures::stream::unfold((from_server, shutdown, guard), |(mut rx, mut shutdown, guard)| async move {
            if *shutdown.borrow() {
                return None;
            }
            let message = tokio::select! {
                message = rx.next() => message?,
                _ = shutdown.changed() => return None,
            };
            let data = serde_json::to_string(&message).unwrap_or_default();
            Some((Ok(Event::default().event("message").data(data)), (rx, shutdown, guard)))
        });
    futures::stream::once(async move { Ok(endpoint) }).chain(messages)
}

pub(crate) async fn message(
    state: McpState,
    key: String,
    headers: HeaderMap,
    query: SessionQuery,
    body: Bytes,
) -> Response {
    if let Some(refused) = host_or_origin_refusal(&headers, &state.allowed_hosts) {
        return refused;
    }
    if let Err(response) = authenticate(&state.app, &key).await {
        return response;
    }
    let Some(mut sender) = state.sessions.sender(&query.session_id, &herald_core::api_key::hash_key(&key)) else {
        return refuse_status(StatusCode::NOT_FOUND, "no open MCP session with this id; open /sse first");
    };
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(error) => return refuse_status(StatusCode::BAD_REQUEST, &format!("not a JSON-RPC message: {error}")),
    };
    if sender.send(message).await.is_err() {
        return refuse_status(StatusCode::GONE, "the MCP session has ended");
    }
    StatusCode::ACCEPTED.into_response()
}

fn refuse_status(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND | StatusCode::GONE => "NOT_FOUND",
        _ => "BAD_REQUEST",
    };
    error(status, code, message)
}
