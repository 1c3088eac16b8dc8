//! A fake Hashnode GraphQL API (`POST /` as gql.hashnode.com), written from
//! apidocs.hashnode.com: `Authorization: <personal access token>`; the
//! operations Herald sends — `me` with its publications, `publishPost`,
//! and `post(id)` for stats. Like Hashnode, refusals are `200` with
//! `errors: [{message, extensions: {code}}]` (`UNAUTHENTICATED`,
//! `BAD_USER_INPUT`, `FORBIDDEN`).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const TOKEN: &str = "4a3f1e2d-hashnode-pat-9c8b7a6f5e4d";
pub const PUBLICATION_ID: &str = "64f0c1a2b3c4d5e6f7a8b9c0";
pub const OTHER_PUBLICATION_ID: &str = "64f0c1a2b3c4d5e6f7a8b9c1";

#[derive(Clone)]
pub struct FakeHashnode {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    posts: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn refused(code: &str, message: &str) -> Scripted {
    Scripted::json(200, json!({"data": null, "errors": [{"message": message, "extensions": {"code": code}}]}))
}

impl FakeHashnode {
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

    /// The `PublishPostInput`s published, in order.
    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    if request.method != "POST" || request.path != "/" {
        return Scripted::json(404, json!({"message": "Not found"}));
    }
    let query = request.json["query"].as_str().unwrap_or_default();
    if request.header("authorization") != Some(TOKEN) {
        return refused("UNAUTHENTICATED", "Invalid access token provided.");
    }
    if query.contains("publishPost") {
        let input = &request.json["variables"]["input"];
        if input["publicationId"] != PUBLICATION_ID && input["publicationId"] != OTHER_PUBLICATION_ID {
            return refused("FORBIDDEN", "You are not allowed to publish on this publication.");
        }
        if input["title"].as_str().is_none_or(|t| t.chars().count() < 6) {
            return refused("BAD_USER_INPUT", "Title must be at least 6 characters.");
        }
        if input["contentMarkdown"].as_str().is_none_or(str::is_empty) {
            return refused("BAD_USER_INPUT", "contentMarkdown must not be empty.");
        }
        state.next_id += 1;
        let id = format!("6570{:020}", state.next_id);
        let slug = format!("post-{}", state.next_id);
        state.posts.push(input.clone());
        return Scripted::json(
            200,
            json!({"data": {"publishPost": {"post": {
                "id": id, "slug": slug, "url": format!("https://herald.hashnode.dev/{slug}"), "title": input["title"],
            }}}}),
        );
    }
    if query.contains("me {") || query.contains("me{") {
        return Scripted::json(
            200,
            json!({"data": {"me": {
                "id": "5f9c0a1b2c3d4e5f6a7b8c9d", "username": "heraldwriter", "name": "Herald Writer",
                "profilePicture": "https://cdn.hashnode.com/res/hashnode/image/upload/v1/avatar.png",
                "publications": {"edges": [
                    {"node": {"id": PUBLICATION_ID, "title": "Herald Blog", "url": "https://herald.hashnode.dev"}},
                    {"node": {"id": OTHER_PUBLICATION_ID, "title": "Side Notes", "url": "https://notes.hashnode.dev"}},
                ]},
            }}}),
        );
    }
    if query.contains("post(id") {
        let id = request.json["variables"]["id"].as_str().unwrap_or_default();
        return Scripted::json(
            200,
            json!({"data": {"post": {"id": id, "views": 321, "reactionCount": 17, "responseCount": 4}}}),
        );
    }
    refused("GRAPHQL_VALIDATION_FAILED", "Unknown operation.")
}
