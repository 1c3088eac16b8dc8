//! A fake Misskey server, written from misskey-hub.net's API reference:
//! every endpoint is `POST /api/<name>` with a JSON body carrying the
//! token as `i` (multipart for `drive/files/create`). `i`, `meta`
//! (`maxNoteTextLength`), `drive/files/create`, `notes/create` (answering
//! `{"createdNote": …}`) and `notes/show`. Errors are
//! `{"error": {"message", "code", "id", "kind"}}`: `AUTHENTICATION_FAILED`
//! (401), `INVALID_PARAM` and `NO_SUCH_REPLY_TARGET` (400),
//! `RATE_LIMIT_EXCEEDED` (429).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const TOKEN: &str = "misskeyTokenAbC0123456789xyz";
const MAX_NOTE_TEXT_LENGTH: usize = 3000;

#[derive(Clone)]
pub struct FakeMisskey {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    revoked: bool,
    next_id: u64,
    notes: Vec<Value>,
    files: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"error": {"message": message, "code": code, "id": "5d0a1c6e-0000-4000-8000-000000000000", "kind": "client"}}),
    )
}

impl FakeMisskey {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let base = Arc::new(Mutex::new(String::new()));
        let base_for_server = Arc::clone(&base);
        let server = FakeServer::start(Box::new(move |request| {
            let base = base_for_server.lock().map(|b| b.clone()).unwrap_or_default();
            answer(&mut lock(&for_server), &base, request)
        }))
        .await;
        if let Ok(mut b) = base.lock() {
            *b = server.url();
        }
        Self { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    pub fn notes(&self) -> Vec<Value> {
        lock(&self.state).notes.clone()
    }

    pub fn files(&self) -> Vec<Value> {
        lock(&self.state).files.clone()
    }

    pub fn revoke_token(&self) {
        lock(&self.state).revoked = true;
    }

    pub fn react(&self, note: &str, reactions: Value, renotes: i64) {
        let mut state = lock(&self.state);
        if let Some(found) = state.notes.iter_mut().find(|n| n["id"] == note) {
            found["reactions"] = reactions;
            found["renoteCount"] = json!(renotes);
        }
    }
}

fn answer(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    if request.method != "POST" {
        return error(405, "METHOD_NOT_ALLOWED", "Method not allowed.");
    }
    let endpoint = request.path.trim_start_matches("/api/");
    if endpoint == "meta" {
        return Scripted::json(
            200,
            json!({"name": "Fake Misskey", "version": "2024.11.0", "maxNoteTextLength": MAX_NOTE_TEXT_LENGTH}),
        );
    }
    let token = if endpoint == "drive/files/create" {
        request.field("i")
    } else {
        request.json["i"].as_str().map(str::to_string)
    };
    if state.revoked || token.as_deref() != Some(TOKEN) {
        return error(401, "AUTHENTICATION_FAILED", "Authentication failed. Please ensure your token is correct.");
    }
    match endpoint {
        "i" => Scripted::json(
            200,
            json!({
                "id": "9xherald01", "username": "herald", "name": "Herald", "host": null,
                "avatarUrl": format!("{base}/avatar/herald.png"),
            }),
        ),
        "drive/files/create" => {
            let Some(file) = request.part("file").filter(|p| p.file_name.is_some()) else {
                return error(400, "INVALID_PARAM", "Invalid param.");
            };
            state.next_id += 1;
            let id = format!("9xfile{:04}", state.next_id);
            let entity = json!({
                "id": id, "name": file.file_name, "type": file.content_type, "size": file.data.len(),
                "comment": request.field("comment"), "isSensitive": request.field("isSensitive").as_deref() == Some("true"),
                "url": format!("{base}/files/{id}"),
            });
            state.files.push(entity.clone());
            Scripted::json(200, entity)
        }
        "notes/create" => create(state, base, request),
        "notes/show" => match state.notes.iter().find(|n| n["id"] == request.json["noteId"]) {
            Some(note) => Scripted::json(200, note.clone()),
            None => error(400, "NO_SUCH_NOTE", "No such note."),
        },
        _ => error(404, "NO_SUCH_ENDPOINT", "No such endpoint."),
    }
}

fn create(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    let body = &request.json;
    let text = body["text"].as_str();
    let file_ids: Vec<Value> = body["fileIds"].as_array().cloned().unwrap_or_default();
    if text.is_none_or(|t| t.trim().is_empty()) && file_ids.is_empty() {
        return error(400, "INVALID_PARAM", "Invalid param.");
    }
    if text.is_some_and(|t| t.chars().count() > MAX_NOTE_TEXT_LENGTH) {
        return error(400, "INVALID_PARAM", "Invalid param.");
    }
    if !file_ids.iter().all(|id| state.files.iter().any(|f| &f["id"] == id)) {
        return error(400, "NO_SUCH_FILE", "Some files are not found.");
    }
    if let Some(reply) = body["replyId"].as_str()
        && !state.notes.iter().any(|n| n["id"] == reply)
    {
        return error(400, "NO_SUCH_REPLY_TARGET", "No such reply target.");
    }
    let visibility = body["visibility"].as_str().unwrap_or("public");
    if !["public", "home", "followers", "specified"].contains(&visibility) {
        return error(400, "INVALID_PARAM", "Invalid param.");
    }
    state.next_id += 1;
    let id = format!("9xnote{:04}", state.next_id);
    let files: Vec<Value> =
        file_ids.iter().filter_map(|id| state.files.iter().find(|f| &f["id"] == id).cloned()).collect();
    let note = json!({
        "id": id, "createdAt": "2026-12-07T00:00:00.000Z", "text": text, "cw": body["cw"], "visibility": visibility,
        "localOnly": body["localOnly"].as_bool().unwrap_or(false), "replyId": body["replyId"], "fileIds": file_ids, "files": files,
        "user": {"id": "9xherald01", "username": "herald", "host": null}, "uri": format!("{base}/notes/{id}"),
        "renoteCount": 0, "repliesCount": 0, "reactions": {},
    });
    state.notes.push(note.clone());
    if let Some(reply) = body["replyId"].as_str()
        && let Some(parent) = state.notes.iter_mut().find(|n| n["id"] == reply)
    {
        parent["repliesCount"] = json!(parent["repliesCount"].as_i64().unwrap_or(0) + 1);
    }
    Scripted::json(200, json!({"createdNote": note}))
}
