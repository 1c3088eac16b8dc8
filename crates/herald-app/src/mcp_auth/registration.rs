//! Dynamic client registration (RFC 7591): an MCP client registers its
//! redirect URIs and name, and gets a `client_id` (and a secret when it
//! authenticates at the token endpoint with one).

use herald_core::mcp_auth::{CLIENT_SECRET_PREFIX, OpaqueToken, check_redirect_uri};
use herald_store::McpClientRow;
use herald_store::repo::McpClients;
use serde_json::{Map, Value, json};

use crate::App;

/// Authentication methods at the token endpoint Herald accepts.
pub const AUTH_METHODS: &[&str] = &["none", "client_secret_post", "client_secret_basic"];
const MAX_REDIRECT_URIS: usize = 20;
const MAX_URI_LEN: usize = 2000;
const MAX_NAME_LEN: usize = 100;
/// Informative metadata echoed back as given (strings or string lists).
const ECHOED: &[&str] = &["logo_uri", "tos_uri", "policy_uri", "software_id", "software_version", "contacts", "scope"];

/// A registration refused, as RFC 7591 §3.2.2 words it.
#[derive(Debug, Clone)]
pub struct RegistrationError {
    /// `invalid_redirect_uri`, `invalid_client_metadata`, or `server_error`.
    pub error: &'static str,
    pub description: String,
}

impl RegistrationError {
    fn metadata(description: impl Into<String>) -> Self {
        Self { error: "invalid_client_metadata", description: description.into() }
    }
}

/// The registered client's information (RFC 7591 §3.2.1), sent with 201.
pub type RegistrationResponse = Value;

impl App {
    pub async fn register_mcp_client(&self, body: &[u8]) -> Result<RegistrationResponse, RegistrationError> {
        let metadata: Map<String, Value> = match serde_json::from_slice(body) {
            Ok(Value::Object(map)) => map,
            _ => return Err(RegistrationError::metadata("the body must be a JSON object of client metadata")),
        };
        let redirect_uris = redirect_uris(&metadata)?;
        let method = match metadata.get("token_endpoint_auth_method") {
            None | Some(Value::Null) => "client_secret_basic",
            Some(Value::String(m)) if let Some(known) = AUTH_METHODS.iter().find(|known| *known == m) => known,
            Some(other) => {
                return Err(RegistrationError::metadata(format!(
                    "token_endpoint_auth_method {other} is not supported; use one of: {}",
                    AUTH_METHODS.join(", ")
                )));
            }
        };
        let grant_types = string_list(&metadata, "grant_types")?
            .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
        if !grant_types.iter().any(|g| g == "authorization_code") {
            return Err(RegistrationError::metadata("grant_types must include authorization_code"));
        }
        let grant_types: Vec<String> =
            grant_types.into_iter().filter(|g| g == "authorization_code" || g == "refresh_token").collect();
        let response_types = string_list(&metadata, "response_types")?.unwrap_or_else(|| vec!["code".into()]);
        if !response_types.iter().any(|r| r == "code") {
            return Err(RegistrationError::metadata("response_types must include code"));
        }
        let client_uri = match metadata.get("client_uri") {
            None | Some(Value::Null) => None,
            Some(Value::String(uri)) => match url::Url::parse(uri) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && uri.len() <= MAX_URI_LEN => Some(uri.clone()),
                _ => return Err(RegistrationError::metadata("client_uri must be an http(s) URL")),
            },
            Some(_) => return Err(RegistrationError::metadata("client_uri must be a string")),
        };
        let name = client_name(&metadata, client_uri.as_deref(), &redirect_uris)?;

        let id = uuid::Uuid::new_v4().to_string();
        let secret = (method != "none").then(|| OpaqueToken::generate(CLIENT_SECRET_PREFIX));
        let now = self.now();
        let mut answer = Map::new();
        answer.insert("client_id".into(), json!(id));
        answer.insert("client_id_issued_at".into(), json!(now.timestamp()));
        if let Some(secret) = &secret {
            answer.insert("client_secret".into(), json!(secret.plaintext));
            // Never expires (RFC 7591 §3.2.1: 0).
            answer.insert("client_secret_expires_at".into(), json!(0));
        }
        answer.insert("client_name".into(), json!(name));
        answer.insert("redirect_uris".into(), json!(redirect_uris));
        answer.insert("token_endpoint_auth_method".into(), json!(method));
        answer.insert("grant_types".into(), json!(grant_types));
        answer.insert("response_types".into(), json!(["code"]));
        if let Some(uri) = &client_uri {
            answer.insert("client_uri".into(), json!(uri));
        }
        for field in ECHOED {
            match metadata.get(*field) {
                Some(value @ Value::String(_)) => {
                    answer.insert((*field).into(), value.clone());
                }
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                    answer.insert((*field).into(), Value::Array(items.clone()));
                }
                _ => {}
            }
        }
        // What is stored is what was answered, less the secret.
        let mut registration = answer.clone();
        registration.remove("client_secret");
        let row = McpClientRow {
            id: id.clone(),
            name,
            client_uri,
            redirect_uris: json!(redirect_uris),
            token_endpoint_auth_method: method.to_string(),
            secret_hash: secret.as_ref().map(|s| s.hash.clone()),
            registration: Value::Object(registration),
            created_at: now,
            last_used_at: None,
        };
        if let Err(error) = McpClients(self.store.conn()).insert(row).await {
            tracing::error!(%error, "storing an MCP client registration failed");
            return Err(RegistrationError { error: "server_error", description: "try again in a moment".into() });
        }
        tracing::info!(client_id = %id, method, "MCP client registered");
        Ok(Value::Object(answer))
    }
}

fn redirect_uris(metadata: &Map<String, Value>) -> Result<Vec<String>, RegistrationError> {
    let invalid = |description: String| RegistrationError { error: "invalid_redirect_uri", description };
    let uris = string_list(metadata, "redirect_uris")
        .map_err(|_| invalid("redirect_uris must be a list of URIs".into()))?
        .unwrap_or_default();
    if uris.is_empty() {
        return Err(invalid("redirect_uris is required: the authorization code goes back to one of them".into()));
    }
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid(format!("at most {MAX_REDIRECT_URIS} redirect_uris")));
    }
    for uri in &uris {
        if uri.len() > MAX_URI_LEN {
            return Err(invalid(format!("redirect URIs are at most {MAX_URI_LEN} characters")));
        }
        check_redirect_uri(uri).map_err(invalid)?;
    }
    Ok(uris)
}

fn string_list(metadata: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, RegistrationError> {
    match metadata.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| RegistrationError::metadata(format!("{field} must be a list of strings"))),
        Some(_) => Err(RegistrationError::metadata(format!("{field} must be a list of strings"))),
    }
}

/// The name people see on the consent page and in settings: the one given
/// (control characters dropped), else the host it came from.
fn client_name(
    metadata: &Map<String, Value>,
    client_uri: Option<&str>,
    redirect_uris: &[String],
) -> Result<String, RegistrationError> {
    let given = match metadata.get("client_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.chars().filter(|c| !c.is_control()).collect::<String>()),
        Some(_) => return Err(RegistrationError::metadata("client_name must be a string")),
    };
    let given = given.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if given.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        return Err(RegistrationError::metadata(format!("client_name is at most {MAX_NAME_LEN} characters")));
    }
    Ok(given.unwrap_or_else(|| {
        let host = client_uri
            .or(redirect_uris.first().map(String::as_str))
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string));
        match host {
            Some(host) => format!("App at {host}"),
            None => "Unnamed app".to_string(),
        }
    }))
}
