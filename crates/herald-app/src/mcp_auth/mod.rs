//! Herald as the OAuth 2.1 authorization server of its MCP endpoint (MCP
//! authorization, revision 2025-06-18): clients register themselves (RFC
//! 7591), a signed-in person consents on Herald's page (workspace and
//! scopes), the client redeems the code with its PKCE verifier, and uses
//! short-lived access tokens renewed by rotating refresh tokens.
//!
//! A grant is an API key row with `mcp_client_id` set: its scopes, its
//! workspace, its revocation and its last use work as a pasted key's, and
//! it shows in settings as a "connected app".

mod registration;
mod tokens;

use herald_core::api_key::Scope;
use herald_core::mcp_auth::{
    CODE_PREFIX, OpaqueToken, check_code_challenge, is_loopback, prechecked_scopes, redirect_matches, requested_scopes,
    resource_matches, resource_uri,
};
use herald_store::McpCodeRow;
use herald_store::repo::{McpClients, McpCodes, Users};
use serde::Deserialize;
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

pub use registration::{AUTH_METHODS, RegistrationError, RegistrationResponse};
pub use tokens::{ClientCredentials, ConnectedAppView, OAuthError, TokenRequest, TokenResponse};

/// How long a code waits to be redeemed.
const CODE_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// The query (and the consent form's hidden fields) of an authorization
/// request, as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub resource: Option<String>,
}

/// An authorization request that passed every check: what the consent
/// page shows and what a grant is made of.
#[derive(Debug, Clone)]
pub struct CheckedAuthorization {
    pub client_id: String,
    pub client_name: String,
    pub client_uri: Option<String>,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub state: Option<String>,
    pub resource: String,
    /// What the consent page offers ticked (never `posts:publish`).
    pub prechecked: Vec<Scope>,
}

/// Why an authorization request cannot go on.
#[derive(Debug, Clone)]
pub enum AuthorizationRefusal {
    /// The client or its redirect URI is unknown: the error is shown on
    /// Herald's page and nothing redirects (RFC 6749 §4.1.2.1), or a
    /// forged request could send people anywhere.
    Page(String),
    /// Anything else goes back to the client's redirect URI.
    Redirect { redirect_uri: String, error: &'static str, description: String, state: Option<String> },
}

impl AuthorizationRefusal {
    /// The URL to send the browser to, for `Redirect`.
    pub fn location(&self) -> Option<String> {
        let Self::Redirect { redirect_uri, error, description, state } = self else { return None };
        back_to(redirect_uri, &[("error", error), ("error_description", description)], state.as_deref())
    }
}

impl CheckedAuthorization {
    /// Where the browser goes once the person allowed the app.
    pub fn granted_location(&self, code: &str) -> Option<String> {
        back_to(&self.redirect_uri, &[("code", code)], self.state.as_deref())
    }
}

/// The client's redirect URI with the answer's parameters (and the
/// request's `state`) added to whatever query it registered.
fn back_to(redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        query.extend_pairs(params);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    Some(url.into())
}

impl App {
    /// The base URLs Herald is reached at for OAuth: `MAIN_URL`, and, when
    /// a request came to a loopback address (a local install, a test), that
    /// address too.
    pub fn oauth_bases(&self, host: Option<&str>) -> Vec<String> {
        let mut bases = vec![self.settings.main_url.trim_end_matches('/').to_string()];
        if let Some(local) = host.and_then(loopback_base)
            && !bases.contains(&local)
        {
            bases.push(local);
        }
        bases
    }

    /// The issuer (and base of every endpoint) to advertise to a request
    /// that came to `host`.
    pub fn oauth_issuer(&self, host: Option<&str>) -> String {
        let main = self.settings.main_url.trim_end_matches('/').to_string();
        host.and_then(loopback_base).filter(|local| !same_origin(local, &main)).unwrap_or(main)
    }

    /// Checks an authorization request before the consent page is shown
    /// (and again when it is posted).
    pub async fn check_authorization(
        &self,
        request: &AuthorizationRequest,
        host: Option<&str>,
    ) -> Result<CheckedAuthorization, AuthorizationRefusal> {
        let page = |m: &str| AuthorizationRefusal::Page(m.to_string());
        let client_id = request.client_id.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
            page("This sign-in link is incomplete: it names no application (client_id). Start again from the app.")
        })?;
        let client = match McpClients(self.store.conn()).by_id(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return Err(page(
                    "This application is not registered with Herald (unknown client_id). Remove Herald from the app and add it again.",
                ));
            }
            Err(error) => {
                tracing::error!(%error, "reading an MCP client failed");
                return Err(page("Something went wrong on our side. Try again in a moment."));
            }
        };
        let registered: Vec<String> = serde_json::from_value(client.redirect_uris.clone()).unwrap_or_default();
        let redirect_uri = match request.redirect_uri.as_deref().filter(|r| !r.is_empty()) {
            Some(given) if redirect_matches(&registered, given) => given.to_string(),
            Some(_) => {
                return Err(page(
                    "This sign-in link would send you back to an address the application did not register (redirect_uri). It was stopped.",
                ));
            }
            None => match registered.as_slice() {
                [only] => only.clone(),
                _ => return Err(page("This sign-in link names no return address (redirect_uri).")),
            },
        };
        let state = request.state.clone();
        let back = |error: &'static str, description: String| AuthorizationRefusal::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: state.clone(),
        };
        if request.response_type.as_deref() != Some("code") {
            return Err(back("unsupported_response_type", "only response_type=code is supported".into()));
        }
        let code_challenge =
            check_code_challenge(request.code_challenge.as_deref(), request.code_challenge_method.as_deref())
                .map_err(|m| back("invalid_request", m))?;
        let bases = self.oauth_bases(host);
        let resource = match request.resource.as_deref().filter(|r| !r.is_empty()) {
            Some(given) if resource_matches(given, &bases) => given.to_string(),
            Some(given) => {
                return Err(back(
                    "invalid_target",
                    format!("`{given}` is not a resource of this server; use {}", resource_uri(&bases[0])),
                ));
            }
            None => resource_uri(&self.oauth_issuer(host)),
        };
        let requested = requested_scopes(request.scope.as_deref());
        Ok(CheckedAuthorization {
            client_name: client.name,
            client_uri: client.client_uri,
            client_id: client.id,
            redirect_uri,
            code_challenge,
            state,
            resource,
            prechecked: prechecked_scopes(&requested),
        })
    }

    /// The person allowed the app: a single-use code for the client to
    /// redeem, bound to the workspace and scopes they chose.
    pub async fn grant_authorization(
        &self,
        caller: &Caller,
        request: &CheckedAuthorization,
        workspace_id: Uuid,
        scopes: &[Scope],
    ) -> AppResult<String> {
        caller.require_session("connecting an app")?;
        if scopes.is_empty() {
            return Err(herald_core::ValidationError::new("scope", "tick at least one permission").into());
        }
        let membership = Users(self.store.conn())
            .membership(caller.user_id, workspace_id)
            .await?
            .ok_or_else(|| AppError::forbidden("you are not a member of that workspace"))?;
        for scope in scopes {
            let allowed = match scope {
                Scope::PostsWrite => membership.role.can_write(),
                Scope::PostsPublish => membership.role.can_publish(),
                Scope::PostsRead | Scope::AnalyticsRead | Scope::IntegrationsRead => true,
            };
            if !allowed {
                return Err(AppError::forbidden(format!(
                    "your role in that workspace ({}) does not allow granting `{scope}`",
                    membership.role.as_str().to_lowercase()
                )));
            }
        }
        let code = OpaqueToken::generate(CODE_PREFIX);
        let now = self.now();
        McpCodes(self.store.conn())
            .insert(McpCodeRow {
                code_hash: code.hash.clone(),
                client_id: request.client_id.clone(),
                user_id: caller.user_id,
                workspace_id,
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                scopes: serde_json::json!(scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
                resource: request.resource.clone(),
                expires_at: now + CODE_TTL,
                used_at: None,
                api_key_id: None,
                created_at: now,
            })
            .await?;
        tracing::info!(client_id = %request.client_id, %workspace_id, "MCP app authorized");
        Ok(code.plaintext)
    }
}

/// `http://{host}` when `host` is a loopback address.
fn loopback_base(host: &str) -> Option<String> {
    let url = url::Url::parse(&format!("http://{host}")).ok()?;
    is_loopback(&url).then(|| url.origin().ascii_serialization())
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_get_their_own_base() {
        assert_eq!(loopback_base("127.0.0.1:4000").as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(loopback_base("localhost:5000").as_deref(), Some("http://localhost:5000"));
        assert_eq!(loopback_base("[::1]:5000").as_deref(), Some("http://[::1]:5000"));
        assert_eq!(loopback_base("herald.example.com"), None);
        assert_eq!(loopback_base("evil.example:5000"), None);
    }
}
