//! The fake instance's sign-in endpoints (`/api/v1/apps`, `/oauth/authorize`,
//! `/oauth/token`, `/oauth/revoke`), as docs.joinmastodon.org describes them.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{MASTODON_TOKEN, State, error};
use crate::fakes::server::{Recorded, Scripted};

fn oauth_error(status: u16, error: &str, description: &str) -> Scripted {
    Scripted::json(status, json!({ "error": error, "error_description": description }))
}

const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";

/// The OAuth endpoints, which need no bearer token.
pub(super) fn oauth(state: &mut State, request: &Recorded) -> Option<Scripted> {
    let form: HashMap<String, String> = if request.json.is_object() {
        serde_json::from_value(request.json.clone()).unwrap_or_default()
    } else {
        request.form().into_iter().collect()
    };
    let answer = match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/api/v1/apps") => {
            let (Some(name), Some(redirect)) = (form.get("client_name"), form.get("redirect_uris")) else {
                return Some(error(422, "Validation failed: Application name can't be blank"));
            };
            let client_id = format!("client-{}", state.apps.len() + 1);
            let secret = format!("secret-{}", state.apps.len() + 1);
            state.apps.insert(client_id.clone(), (secret.clone(), redirect.clone()));
            let scopes: Vec<&str> = form.get("scopes").map_or("read", String::as_str).split(' ').collect();
            Scripted::json(
                200,
                json!({
                    "id": state.apps.len().to_string(), "name": name, "website": null, "scopes": scopes,
                    "redirect_uri": redirect, "redirect_uris": [redirect],
                    "client_id": client_id, "client_secret": secret, "client_secret_expires_at": 0
                }),
            )
        }
        ("GET", "/oauth/authorize") => {
            let q = &request.query;
            let client = q.get("client_id").and_then(|id| state.apps.get(id).map(|app| (id.clone(), app.1.clone())));
            let Some((client_id, redirect)) = client else {
                return Some(oauth_error(401, "invalid_client", "Client authentication failed due to unknown client."));
            };
            if q.get("redirect_uri") != Some(&redirect) || q.get("response_type").map(String::as_str) != Some("code") {
                return Some(oauth_error(
                    400,
                    "invalid_redirect_uri",
                    "The requested redirect uri is malformed or doesn't match client redirect URI.",
                ));
            }
            let code = format!("mastodon-code-{}", state.codes.len() + 1);
            state.codes.insert(code.clone(), (client_id, redirect.clone(), q.get("code_challenge").cloned()));
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", q.get("state").map_or("", String::as_str))])
        }
        ("POST", "/oauth/token" | "/oauth/revoke") => {
            let (id, secret) = client_credentials(request, &form);
            if state.apps.get(&id).is_none_or(|app| app.0 != secret) {
                return Some(oauth_error(
                    401,
                    "invalid_client",
                    "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
                ));
            }
            if request.path == "/oauth/revoke" {
                if form.get("token").map(String::as_str) == Some(MASTODON_TOKEN) {
                    state.revoked = true;
                }
                return Some(Scripted::json(200, json!({})));
            }
            let Some((code_client, redirect, challenge)) = form.get("code").and_then(|code| state.codes.remove(code))
            else {
                return Some(oauth_error(400, "invalid_grant", INVALID_GRANT));
            };
            let verifier = form.get("code_verifier").map_or("", String::as_str);
            let verified = challenge
                .is_none_or(|challenge| URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge);
            if code_client != id || form.get("redirect_uri") != Some(&redirect) || !verified {
                return Some(oauth_error(400, "invalid_grant", INVALID_GRANT));
            }
            state.revoked = false;
            Scripted::json(
                200,
                json!({"access_token": MASTODON_TOKEN, "token_type": "Bearer", "scope": "read write", "created_at": 1_733_400_000}),
            )
        }
        _ => return None,
    };
    Some(answer)
}

/// The client of a token or revoke request: HTTP Basic, or the form.
fn client_credentials(request: &Recorded, form: &HashMap<String, String>) -> (String, String) {
    request.basic_auth().unwrap_or_else(|| {
        (form.get("client_id").cloned().unwrap_or_default(), form.get("client_secret").cloned().unwrap_or_default())
    })
}
