//! A fake Neynar API (Farcaster), written from docs.neynar.com:
//! `x-api-key`; `GET /v2/farcaster/signer?signer_uuid=…`,
//! `GET /v2/farcaster/user/bulk?fids=…`, `POST /v2/farcaster/cast`
//! (`signer_uuid`, `text` ≤ 320 bytes, `embeds` ≤ 2, `parent`,
//! `channel_id`, `idem` — a repeated `idem` answers the first cast) and
//! `GET /v2/farcaster/cast?identifier=…&type=hash`. Errors are
//! `{"code", "message"}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const API_KEY: &str = "NEYNAR_FAKE_KEY_0123456789";
pub const SIGNER: &str = "19d0c5fd-9b33-4a48-a0e2-bc7b0555baec";
pub const PENDING_SIGNER: &str = "7a1b2c3d-0000-4000-8000-000000000001";
pub const FID: u64 = 194_372;

#[derive(Clone)]
pub struct FakeNeynar {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    casts: Vec<Value>,
    /// The next cast is made but answered 504 (its answer lost).
    lose_next_answer: bool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({"code": code, "message": message}))
}

impl FakeNeynar {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn casts(&self) -> Vec<Value> {
        lock(&self.state).casts.clone()
    }

    pub fn lose_next_answer(&self) {
        lock(&self.state).lose_next_answer = true;
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    if request.header("x-api-key") != Some(API_KEY) {
        return error(401, "Unauthorized", "Invalid API key");
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v2/farcaster/signer") => match request.query.get("signer_uuid").map(String::as_str) {
            Some(SIGNER) => Scripted::json(
                200,
                json!({"signer_uuid": SIGNER, "public_key": "0xabc", "status": "approved", "fid": FID}),
            ),
            Some(PENDING_SIGNER) => Scripted::json(
                200,
                json!({"signer_uuid": PENDING_SIGNER, "public_key": "0xdef", "status": "pending_approval"}),
            ),
            _ => error(404, "NotFound", "Signer not found"),
        },
        ("GET", "/v2/farcaster/user/bulk") => Scripted::json(
            200,
            json!({"users": [{
                "object": "user", "fid": FID, "username": "herald", "display_name": "Herald",
                "pfp_url": "https://i.imgur.com/herald.png", "pro": {"status": "unsubscribed"},
            }]}),
        ),
        ("POST", "/v2/farcaster/cast") => cast(state, request),
        ("GET", "/v2/farcaster/cast") => {
            let hash = request.query.get("identifier").cloned().unwrap_or_default();
            match state.casts.iter().find(|c| c["hash"] == hash.as_str()) {
                Some(cast) => Scripted::json(200, json!({"cast": cast})),
                None => error(404, "NotFound", "Cast not found"),
            }
        }
        _ => error(404, "NotFound", "Not found"),
    }
}

fn cast(state: &mut State, request: &Recorded) -> Scripted {
    let body = &request.json;
    if body["signer_uuid"] != SIGNER {
        return error(403, "Forbidden", "Signer is not approved or does not exist");
    }
    if let Some(idem) = body["idem"].as_str()
        && let Some(existing) = state.casts.iter().find(|c| c["idem"] == idem)
    {
        return Scripted::json(200, json!({"success": true, "cast": existing}));
    }
    let text = body["text"].as_str().unwrap_or_default();
    if text.len() > 320 {
        return error(400, "InvalidField", "text must be at most 320 bytes");
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 2 {
        return error(400, "InvalidField", "at most 2 embeds");
    }
    if let Some(parent) = body["parent"].as_str()
        && !state.casts.iter().any(|c| c["hash"] == parent)
    {
        return error(400, "InvalidField", "parent cast not found");
    }
    state.next_id += 1;
    let cast = json!({
        "hash": format!("0x{:040x}", state.next_id + 0xfa11),
        "author": {"fid": FID, "username": "herald"},
        "text": text, "embeds": embeds, "parent_hash": body["parent"], "channel": body["channel_id"],
        "idem": body["idem"], "reactions": {"likes_count": 0, "recasts_count": 0}, "replies": {"count": 0},
    });
    state.casts.push(cast.clone());
    if std::mem::take(&mut state.lose_next_answer) {
        return error(504, "GatewayTimeout", "The upstream did not answer in time");
    }
    Scripted::json(200, json!({"success": true, "cast": cast}))
}
