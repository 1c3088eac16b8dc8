//! A fake Teams Workflows webhook: the Power Automate / Logic Apps manual
//! trigger (`POST /workflows/{id}/triggers/manual/paths/invoke?api-version=…&sp=…&sv=1.0&sig=…`)
//! of the template "Post to a channel when a webhook request is received".
//! The trigger answers `202 Accepted` with no body once the signature
//! checks out, then the flow posts each Adaptive Card attachment to the
//! channel (what [`FakeTeams::cards`] shows); a message without attachments
//! posts nothing. Errors are Logic Apps' `{"error": {"code", "message"}}`:
//! 401 `DirectApiAuthorizationRequired` / `DirectApiInvalidAuthorizationSignature`,
//! 404 `WorkflowNotFound`, 409 `WorkflowTriggerIsNotEnabled`, 429 with `Retry-After`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const WORKFLOW: &str = "5f1c0e2a9d7b4c3e8a6f1d2b3c4e5f60";
pub const SIG: &str = "fakeWorkflowSignature0123456789";

#[derive(Clone)]
pub struct FakeTeams {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    disabled: bool,
    /// The cards the flow posted to the channel, in order.
    cards: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({"error": {"code": code, "message": message}}))
}

impl FakeTeams {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn webhook_url(&self) -> String {
        self.url_with(WORKFLOW, SIG)
    }

    pub fn url_with(&self, workflow: &str, sig: &str) -> String {
        format!(
            "{}/workflows/{workflow}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}",
            self.server.url()
        )
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    /// The Adaptive Cards posted to the channel (each card's `content`).
    pub fn cards(&self) -> Vec<Value> {
        lock(&self.state).cards.clone()
    }

    /// The workflow is turned off in Power Automate.
    pub fn disable(&self) {
        lock(&self.state).disabled = true;
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let ["workflows", workflow, "triggers", "manual", "paths", "invoke"] = segments.as_slice() else {
        return error(404, "NotFound", "The requested resource was not found.");
    };
    match request.query.get("sig").map(String::as_str) {
        None => {
            return error(
                401,
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            );
        }
        Some(SIG) => {}
        Some(_) => {
            return error(
                401,
                "DirectApiInvalidAuthorizationSignature",
                "The provided authentication token is not valid, token signature does not match.",
            );
        }
    }
    if *workflow != WORKFLOW {
        return error(404, "WorkflowNotFound", &format!("The workflow '{workflow}' could not be found."));
    }
    if state.disabled {
        return error(409, "WorkflowTriggerIsNotEnabled", "The workflow's trigger is not enabled.");
    }
    if request.method != "POST" {
        return error(405, "TriggerRequestMethodNotValid", "The HTTP method for this request is not valid.");
    }
    if !request.json.is_object() {
        return error(400, "InvalidRequestContent", "The request content is not valid and could not be deserialized.");
    }
    // The flow runs after the answer: it posts each card it can read.
    for attachment in request.json["attachments"].as_array().into_iter().flatten() {
        let content = &attachment["content"];
        let card = attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
            && content["type"] == "AdaptiveCard"
            && content["body"].is_array();
        if card {
            state.cards.push(content.clone());
        }
    }
    Scripted::empty(202)
}
