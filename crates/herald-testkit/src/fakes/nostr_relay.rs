//! A fake Nostr relay (NIP-01) for fault injection: a WebSocket server on
//! 127.0.0.1 that checks every `["EVENT", …]` the way relays do (id =
//! SHA-256 of the canonical serialization, BIP-340 signature — verified
//! here with libsecp256k1, not with the k256 code Herald signs with),
//! records it, and answers `["OK", id, true|false, message]` — or, when a
//! test says so, refuses, stays silent or hangs up. `REQ` with an `ids`
//! filter returns stored events, then `EOSE`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// How the relay answers the next `EVENT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayReply {
    /// `OK true` (or `OK false "duplicate: …"` for an event already stored):
    /// the default.
    Accept,
    /// `OK false` with this message, e.g. `blocked: not on the allow list`.
    Refuse(String),
    /// Never answer (the client must time out).
    Silent,
    /// Close the connection without answering.
    Close,
}

/// One `EVENT` as the relay saw it.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    /// The event object exactly as sent.
    pub event: Value,
    /// Id and signature checked out.
    pub valid: bool,
    /// What the relay answered (`None` when it stayed silent or hung up).
    pub answer: Option<(bool, String)>,
}

#[derive(Default)]
struct State {
    replies: VecDeque<RelayReply>,
    received: Vec<ReceivedEvent>,
    stored: Vec<Value>,
    connections: usize,
}

#[derive(Clone)]
pub struct FakeRelay {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<Mutex<State>>,
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRelay {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for the fake relay");
        let address = listener.local_addr().expect("fake relay address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                        lock(&state).connections += 1;
                        serve(socket, state).await;
                    }
                });
            }
        });
        Self { inner: Arc::new(Inner { state, address, task }) }
    }

    /// `ws://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("ws://{}", self.inner.address)
    }

    pub fn push_reply(&self, reply: RelayReply) {
        lock(&self.inner.state).replies.push_back(reply);
    }

    pub fn received(&self) -> Vec<ReceivedEvent> {
        lock(&self.inner.state).received.clone()
    }

    /// WebSocket connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.inner.state).connections
    }

    /// Waits until `n` events were received, or panics after `timeout`.
    pub async fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<ReceivedEvent> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(started.elapsed() < timeout, "the relay got {} of {n} events", received.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(mut socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, state: Arc<Mutex<State>>) {
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(&text) else {
            let _ =
                socket.send(Message::text(json!(["NOTICE", "error: could not parse the message"]).to_string())).await;
            continue;
        };
        match parts.first().and_then(Value::as_str) {
            Some("EVENT") => {
                let event = parts.get(1).cloned().unwrap_or(Value::Null);
                let id = event["id"].as_str().unwrap_or_default().to_string();
                let checked = verify_event(&event);
                let answer = {
                    let mut state = lock(&state);
                    let reply = state.replies.pop_front().unwrap_or(RelayReply::Accept);
                    let answer = match (&reply, &checked) {
                        (RelayReply::Silent | RelayReply::Close, _) => None,
                        (_, Err(problem)) => Some((false, format!("invalid: {problem}"))),
                        (RelayReply::Refuse(message), Ok(())) => Some((false, message.clone())),
                        (RelayReply::Accept, Ok(())) => {
                            if state.stored.iter().any(|e| e["id"] == event["id"]) {
                                Some((false, "duplicate: already have this event".to_string()))
                            } else {
                                state.stored.push(event.clone());
                                Some((true, String::new()))
                            }
                        }
                    };
                    state.received.push(ReceivedEvent { event, valid: checked.is_ok(), answer: answer.clone() });
                    if reply == RelayReply::Close {
                        break;
                    }
                    answer
                };
                if let Some((accepted, message)) = answer {
                    let _ = socket.send(Message::text(json!(["OK", id, accepted, message]).to_string())).await;
                }
            }
            Some("REQ") => {
                let subscription = parts.get(1).cloned().unwrap_or(Value::Null);
                let matching: Vec<Value> = {
                    let state = lock(&state);
                    let wanted: Vec<&Value> =
                        parts.iter().skip(2).filter_map(|f| f["ids"].as_array()).flatten().collect();
                    state.stored.iter().filter(|e| wanted.contains(&&e["id"])).cloned().collect()
                };
                for event in matching {
                    let _ = socket.send(Message::text(json!(["EVENT", subscription, event]).to_string())).await;
                }
                let _ = socket.send(Message::text(json!(["EOSE", subscription]).to_string())).await;
            }
            Some("CLOSE") => {}
            _ => {
                let _ = socket.send(Message::text(json!(["NOTICE", "error: unknown message type"]).to_string())).await;
            }
        }
    }
    let _ = socket.close(None).await;
}

/// Checks an event as a relay must: the id is the SHA-256 of
/// `[0,pubkey,created_at,kind,tags,content]` and the signature is a valid
/// BIP-340 signature of the id by the pubkey. Uses libsecp256k1 (the
/// `secp256k1` crate), independently of the signer under test.
pub fn verify_event(event: &Value) -> Result<(), String> {
    let field = |name: &str| event.get(name).ok_or_else(|| format!("missing {name}"));
    let canonical =
        json!([0, field("pubkey")?, field("created_at")?, field("kind")?, field("tags")?, field("content")?]);
    let id = Sha256::digest(canonical.to_string().as_bytes());
    if event["id"].as_str() != Some(hex::encode(id).as_str()) {
        return Err("the id is not the hash of the event".into());
    }
    let pubkey = hex::decode(event["pubkey"].as_str().unwrap_or_default()).map_err(|_| "pubkey is not hex")?;
    let sig = hex::decode(event["sig"].as_str().unwrap_or_default()).map_err(|_| "sig is not hex")?;
    let key = secp256k1::XOnlyPublicKey::from_slice(&pubkey).map_err(|_| "pubkey is not an x-only key")?;
    let signature = secp256k1::schnorr::Signature::from_slice(&sig).map_err(|_| "sig is not 64 bytes")?;
    secp256k1::SECP256K1.verify_schnorr(&signature, &id, &key).map_err(|_| "bad signature".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_an_event_published_on_nostr() {
        let event = json!({
            "id": "1b71f57e1c3365f32b2a0abd8ded19f2a5e217a6eeaf3df11fa5c904bfb90dd6",
            "pubkey": "35d26e4690cbe1a898af61cc3515661eb5fa763b57bd0b42e45099c8b32fd50f",
            "created_at": 1681157953,
            "kind": 1,
            "tags": [["r", "https://btcplusplus.dev/talks#nostr"]],
            "content": "I will be giving a talk on Nostr at the Bitcoin++ conference in Austin TX, end of this month, hoping to meet some other nostr people!  https://btcplusplus.dev/talks#nostr",
            "sig": "ec6e37c3d492654a4b8b5411b1872fc1dd7bbc3920d2c0818b177b42bd9429e206b878ad3b8fa0e72993b58182024d32a345ce487072de897bd0061d1c5e2189"
        });
        assert_eq!(verify_event(&event), Ok(()));
        let mut tampered = event.clone();
        tampered["content"] = json!("changed");
        assert!(verify_event(&tampered).is_err());
        let mut forged = event;
        forged["sig"] = json!("00".repeat(64));
        assert_eq!(verify_event(&forged), Err("bad signature".into()));
    }
}
