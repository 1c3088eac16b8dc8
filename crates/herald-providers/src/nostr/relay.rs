//! Talking to relays: a guarded WebSocket connection (the SSRF rules of
//! [`TargetGuard`](crate::TargetGuard) applied to the addresses the relay's
//! host resolves to), `["EVENT", …]` out and `["OK", id, accepted, message]`
//! back (NIP-01).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::event::Event;
use crate::net::TargetGuard;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Relays answer with small JSON messages; a relay streaming huge frames at
/// us is misbehaving.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one relay made of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `OK true`, or `OK false` with a `duplicate:` message: the relay has it.
    Accepted(String),
    /// `OK false` for a reason that will not change by itself (`invalid:`,
    /// `blocked:`, `pow:`, `restricted:`, …).
    Refused(String),
    /// No usable answer: unreachable, timed out, closed, or `OK false` with
    /// `rate-limited:` / `error:`, which NIP-01 means as transient.
    Unavailable(String),
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config =
                match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
                    Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
                    // The bundled provider supports the default versions; this is unreachable.
                    Err(_) => rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth(),
                };
            Arc::new(config)
        })
        .clone()
}

/// Opens a WebSocket to the relay through the guard.
pub async fn open(url: &url::Url, guard: TargetGuard) -> Result<Socket, String> {
    let mut last_error = String::from("no address to connect to");
    let host = url.host_str().ok_or("the relay URL has no host")?;
    for address in guard.resolve(host, url.port_or_known_default().unwrap_or(443)).await? {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                last_error = format!("could not connect: {error}");
                continue;
            }
            Err(_) => {
                last_error = "the connection timed out".into();
                continue;
            }
        };
        let connector = if url.scheme() == "wss" { Connector::Rustls(tls_config()) } else { Connector::Plain };
        let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE_BYTES));
        let handshake =
            tokio_tungstenite::client_async_tls_with_config(url.as_str(), stream, Some(config), Some(connector));
        return match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(error)) => Err(format!("the WebSocket handshake failed: {error}")),
            Err(_) => Err("the WebSocket handshake timed out".into()),
        };
    }
    Err(last_error)
}

/// Whether the relay accepts a WebSocket connection (nothing is sent).
pub async fn probe(url: &url::Url, guard: TargetGuard) -> Result<(), String> {
    let mut socket = open(url, guard).await?;
    let _ = socket.close(None).await;
    Ok(())
}

/// Sends the event and waits, at most `timeout` in all, for the relay's `OK`.
pub async fn publish(url: &url::Url, guard: TargetGuard, event: &Event, timeout: Duration) -> Answer {
    match tokio::time::timeout(timeout, exchange(url, guard, event)).await {
        Ok(answer) => answer,
        Err(_) => Answer::Unavailable("no OK from the relay in time".into()),
    }
}

async fn exchange(url: &url::Url, guard: TargetGuard, event: &Event) -> Answer {
    let mut socket = match open(url, guard).await {
        Ok(socket) => socket,
        Err(error) => return Answer::Unavailable(error),
    };
    let frame = json!(["EVENT", event]).to_string();
    if let Err(error) = socket.send(Message::text(frame)).await {
        return Answer::Unavailable(format!("could not send the event: {error}"));
    }
    let mut notice = None;
    let answer = loop {
        let text = match socket.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => {
                let said = notice.map(|n| format!(" (NOTICE: {n})")).unwrap_or_default();
                break Answer::Unavailable(format!("the relay closed the connection without an OK{said}"));
            }
            // Pings are answered by the library; binary frames mean nothing in NIP-01.
            Some(Ok(_)) => continue,
            Some(Err(error)) => break Answer::Unavailable(format!("the connection failed: {error}")),
        };
        let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(&text) else { continue };
        match parts.first().and_then(Value::as_str) {
            Some("OK") if parts.get(1).and_then(Value::as_str) == Some(event.id.as_str()) => {
                let accepted = parts.get(2).and_then(Value::as_bool).unwrap_or(false);
                let message = parts.get(3).and_then(Value::as_str).unwrap_or_default();
                break classify(accepted, message);
            }
            Some("NOTICE") => notice = parts.get(1).and_then(Value::as_str).map(crate::http::excerpt),
            // AUTH challenges (NIP-42) and anything else: keep waiting for the OK.
            _ => {}
        }
    };
    let _ = socket.close(None).await;
    answer
}

/// The meaning of an `OK` by its machine-readable prefix (NIP-01).
pub fn classify(accepted: bool, message: &str) -> Answer {
    let message = crate::http::excerpt(message);
    if accepted || message.starts_with("duplicate:") {
        return Answer::Accepted(message);
    }
    if message.starts_with("rate-limited:") || message.starts_with("error:") {
        return Answer::Unavailable(message);
    }
    Answer::Refused(if message.is_empty() { "refused without a message".into() } else { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_messages_are_classified_by_prefix() {
        assert_eq!(classify(true, ""), Answer::Accepted(String::new()));
        assert!(matches!(classify(false, "duplicate: already have this event"), Answer::Accepted(_)));
        assert!(matches!(classify(false, "rate-limited: slow down"), Answer::Unavailable(_)));
        assert!(matches!(classify(false, "error: could not connect to the database"), Answer::Unavailable(_)));
        assert_eq!(classify(false, "blocked: you are banned"), Answer::Refused("blocked: you are banned".into()));
        assert!(matches!(classify(false, "invalid: bad signature"), Answer::Refused(_)));
        assert!(matches!(classify(false, ""), Answer::Refused(_)));
    }

    #[test]
    fn relay_urls_must_be_websockets_on_public_hosts() {
        let (closed, open) = (TargetGuard::new(false), TargetGuard::new(true));
        assert!(closed.check_relay_url("wss://relay.damus.io").is_ok());
        assert!(closed.check_relay_url("https://relay.damus.io").unwrap_err().contains("ws://"));
        assert!(closed.check_relay_url("ws://127.0.0.1:7000").unwrap_err().contains("HERALD_ALLOW_PRIVATE_TARGETS"));
        assert!(closed.check_relay_url("ws://[::1]:7000").is_err());
        assert!(open.check_relay_url(" ws://127.0.0.1:7000 ").is_ok());
        assert!(closed.check_relay_url("relay").is_err());
    }

    #[tokio::test]
    async fn names_of_internal_hosts_are_refused_when_resolved() {
        let url = TargetGuard::new(false).check_relay_url("ws://localhost:1").unwrap();
        assert!(open(&url, TargetGuard::new(false)).await.unwrap_err().contains("resolves to a private address"));
    }
}
