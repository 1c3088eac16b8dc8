//! The token endpoint (authorization code with PKCE, rotating refresh
//! tokens), revocation (RFC 7009), the access tokens' check on `/api/mcp`,
//! and the "connected apps" a person sees and revokes in settings.

use chrono::{DateTime, Duration, Utc};
use herald_core::api_key::{Scope, Scopes, hash_key};
use herald_core::mcp_auth::{
    ACCESS_PREFIX, OpaqueToken, REFRESH_PREFIX, looks_like_access_token, requested_scopes, resource_matches,
    scope_string, verify_pkce,
};
use herald_core::secret::constant_time_eq;
use herald_store::repo::{ApiKeys, MCP_ACCESS, MCP_REFRESH, McpClients, McpCodes, McpTokens, NewApiKeyRow};
use herald_store::{McpClientRow, McpTokenRow, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::api_keys::stored_scopes;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

/// How often expired codes and tokens are swept.
const MCP_SWEEP_EVERY: Duration = Duration::minutes(10);
/// Refresh tokens live this long; each use replaces it with a new one.
const REFRESH_TTL: Duration = Duration::days(30);
/// A refresh token presented again this soon after its exchange gets a new
/// pair (a client retrying after a lost answer, or two requests racing);
/// later, the reuse betrays a stolen token and the whole grant ends.
const REUSE_LEEWAY: Duration = Duration::seconds(30);

/// A form posted to `/oauth/token`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    /// For revocation (RFC 7009).
    pub token: Option<String>,
}

/// Client credentials from an `Authorization: Basic` header.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
}

impl ClientCredentials {
    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
    pub fn from_basic(value: &str) -> Option<Self> {
        use base64::Engine as _;
        let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        // One form-urlencoded component (`+` is a space, `%XX` a byte).
        let unescape = |s: &str| match s {
            "" => Some(String::new()),
            s => url::form_urlencoded::parse(s.as_bytes()).next().map(|(k, _)| k.into_owned()),
        };
        Some(Self { id: unescape(id)?, secret: unescape(secret)? })
    }
}

/// A successful token answer (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub scope: String,
}

/// An error of the token or revocation endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// 400, or 401 for `invalid_client`.
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" { 401 } else { 400 };
        Self { status, error, description: description.into() }
    }

    fn grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    fn server(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "OAuth token endpoint failed");
        Self { status: 500, error: "server_error", description: "something went wrong on our side".into() }
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        Self::server(error)
    }
}

/// An MCP app a person connected, as settings list it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedAppView {
    /// The grant's id (revoke with it).
    pub id: Uuid,
    /// The name the app registered with.
    pub name: String,
    pub client_id: String,
    pub client_uri: Option<String>,
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl App {
    fn access_ttl(&self) -> Duration {
        Duration::seconds(self.settings.mcp_token_ttl_seconds.clamp(1, 86_400) as i64)
    }

    /// `POST /oauth/token`.
    pub async fn exchange_token(
        &self,
        request: &TokenRequest,
        basic: Option<ClientCredentials>,
        host: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(request, basic).await?;
        let response = match request.grant_type.as_deref() {
            Some("authorization_code") => self.redeem_code(&client, request, host).await,
            Some("refresh_token") => self.refresh(&client, request).await,
            Some(other) => Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported; use authorization_code or refresh_token"),
            )),
            None => Err(OAuthError::new("invalid_request", "grant_type is required")),
        }?;
        McpClients(self.store.conn()).touch(&client.id, self.now()).await?;
        Ok(response)
    }

    /// The client of a token or revocation request: public clients name
    /// themselves, confidential ones prove it with their secret.
    async fn authenticate_client(
        &self,
        request: &TokenRequest,
        basic: Option<ClientCredentials>,
    ) -> Result<McpClientRow, OAuthError> {
        let (id, secret) = match &basic {
            Some(credentials) => (Some(credentials.id.as_str()), Some(credentials.secret.as_str())),
            None => (request.client_id.as_deref(), request.client_secret.as_deref()),
        };
        let id =
            id.filter(|i| !i.is_empty()).ok_or_else(|| OAuthError::new("invalid_client", "client_id is required"))?;
        let client = McpClients(self.store.conn())
            .by_id(id)
            .await?
            .ok_or_else(|| OAuthError::new("invalid_client", "unknown client_id; register the client again"))?;
        if let Some(expected) = &client.secret_hash {
            let given = secret.map(hash_key).unwrap_or_default();
            if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
                return Err(OAuthError::new("invalid_client", "wrong or missing client_secret"));
            }
        }
        Ok(client)
    }

    async fn redeem_code(
        &self,
        client: &McpClientRow,
        request: &TokenRequest,
        host: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let given = request.code.as_deref().ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
        let code_hash = hash_key(given);
        let code = McpCodes(self.store.conn())
            .by_hash(&code_hash)
            .await?
            .filter(|code| code.client_id == client.id)
            .ok_or_else(|| OAuthError::grant("unknown or expired authorization code"))?;
        if code.used_at.is_some() {
            // A code redeemed twice has leaked: what it bought is revoked
            // (RFC 6749 §4.1.2).
            if let Some(grant) = code.api_key_id {
                self.end_grant(grant).await?;
                tracing::warn!(client_id = %client.id, "authorization code replayed; its grant was revoked");
            }
            return Err(OAuthError::grant("this authorization code was already used"));
        }
        let now = self.now();
        if code.expires_at <= now {
            return Err(OAuthError::grant("the authorization code has expired; authorize again"));
        }
        if request.redirect_uri.as_deref().is_some_and(|r| r != code.redirect_uri) {
            return Err(OAuthError::grant("redirect_uri differs from the authorization request's"));
        }
        let verifier = request
            .code_verifier
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "code_verifier is required (PKCE)"))?;
        if !verify_pkce(verifier, &code.code_challenge) {
            return Err(OAuthError::grant("code_verifier does not match the code_challenge"));
        }
        if let Some(resource) = request.resource.as_deref()
            && !(resource == code.resource || resource_matches(resource, &self.oauth_bases(host)))
        {
            return Err(OAuthError::new("invalid_target", format!("`{resource}` is not this server's MCP endpoint")));
        }
        let scopes = stored_scopes(&code.scopes).map_err(OAuthError::server)?;

        let txn = self.store.begin_write().await?;
        let keys = ApiKeys(&txn);
        keys.end_grants_of(&client.id, code.user_id, code.workspace_id).await?;
        let never_shown = OpaqueToken::generate("grant_");
        let grant = keys
            .create(NewApiKeyRow {
                user_id: code.user_id,
                workspace_id: code.workspace_id,
                name: client.name.clone(),
                key_hash: never_shown.hash,
                prefix: "app".into(),
                scopes: scopes.as_strings(),
                expires_at: None,
                created_at: now,
                mcp_client_id: Some(client.id.clone()),
            })
            .await?;
        if !McpCodes(&txn).redeem(&code_hash, grant.id, now).await? {
            return Err(OAuthError::grant("this authorization code was already used"));
        }
        let response = self.issue_pair(&txn, grant.id, &scopes, now).await?;
        txn.commit().await.map_err(OAuthError::server)?;
        tracing::info!(client_id = %client.id, api_key_id = %grant.id, "MCP app connected");
        Ok(response)
    }

    async fn refresh(&self, client: &McpClientRow, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
        let given = request
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
        let token_hash = hash_key(given);
        let tokens = McpTokens(self.store.conn());
        let token = tokens
            .by_hash(&token_hash)
            .await?
            .filter(|t| t.kind == MCP_REFRESH)
            .ok_or_else(|| OAuthError::grant("unknown, expired or revoked refresh token; authorize again"))?;
        let grant = ApiKeys(self.store.conn())
            .by_id(token.api_key_id)
            .await?
            .filter(|g| g.is_active && g.mcp_client_id.as_deref() == Some(client.id.as_str()))
            .ok_or_else(|| OAuthError::grant("this app's access was revoked; authorize again"))?;
        let now = self.now();
        if token.expires_at <= now {
            return Err(OAuthError::grant("the refresh token has expired; authorize again"));
        }
        let scopes = stored_scopes(&grant.scopes).map_err(OAuthError::server)?;
        if let Some(asked) = request.scope.as_deref() {
            let beyond: Vec<Scope> =
                requested_scopes(Some(asked)).into_iter().filter(|s| !scopes.contains(*s)).collect();
            if !beyond.is_empty() {
                return Err(OAuthError::new("invalid_scope", "a refresh cannot add permissions; authorize again"));
            }
        }
        let txn = self.store.begin_write().await?;
        if !McpTokens(&txn).use_once(&token_hash, now).await? {
            let within_leeway = token.used_at.is_none_or(|used| now - used <= REUSE_LEEWAY);
            if !within_leeway {
                drop(txn);
                self.end_grant(grant.id).await?;
                tracing::warn!(client_id = %client.id, api_key_id = %grant.id, "refresh token reused; grant revoked");
                return Err(OAuthError::grant("this refresh token was already used; the app's access was revoked"));
            }
        }
        let response = self.issue_pair(&txn, grant.id, &scopes, now).await?;
        txn.commit().await.map_err(OAuthError::server)?;
        Ok(response)
    }

    async fn issue_pair(
        &self,
        conn: &herald_store::Transaction,
        grant: Uuid,
        scopes: &Scopes,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        let access = OpaqueToken::generate(ACCESS_PREFIX);
        let refresh = OpaqueToken::generate(REFRESH_PREFIX);
        let ttl = self.access_ttl();
        let tokens = McpTokens(conn);
        for (token, kind, expires_at) in [(&access, MCP_ACCESS, now + ttl), (&refresh, MCP_REFRESH, now + REFRESH_TTL)]
        {
            tokens
                .insert(McpTokenRow {
                    token_hash: token.hash.clone(),
                    kind: kind.to_string(),
                    api_key_id: grant,
                    expires_at,
                    used_at: None,
                    created_at: now,
                })
                .await?;
        }
        Ok(TokenResponse {
            access_token: access.plaintext,
            token_type: "Bearer",
            expires_in: ttl.num_seconds(),
            refresh_token: refresh.plaintext,
            scope: scope_string(scopes),
        })
    }

    /// Ends a grant: the key is deactivated (open MCP sessions close within
    /// seconds) and its tokens are deleted.
    async fn end_grant(&self, grant: Uuid) -> Result<(), StoreError> {
        ApiKeys(self.store.conn()).revoke_any(grant).await?;
        McpTokens(self.store.conn()).delete_for_grant(grant).await?;
        Ok(())
    }

    /// `POST /oauth/revoke` (RFC 7009): revoking either token ends the
    /// whole grant. Unknown tokens answer success too, so the endpoint
    /// tells nothing about which tokens exist.
    pub async fn revoke_token(
        &self,
        request: &TokenRequest,
        basic: Option<ClientCredentials>,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate_client(request, basic).await?;
        let Some(given) = request.token.as_deref() else {
            return Err(OAuthError::new("invalid_request", "token is required"));
        };
        let Some(token) = McpTokens(self.store.conn()).by_hash(&hash_key(given)).await? else { return Ok(()) };
        let owned = ApiKeys(self.store.conn())
            .by_id(token.api_key_id)
            .await?
            .is_some_and(|grant| grant.mcp_client_id.as_deref() == Some(client.id.as_str()));
        if owned {
            self.end_grant(token.api_key_id).await?;
            tracing::info!(client_id = %client.id, api_key_id = %token.api_key_id, "MCP app revoked its token");
        }
        Ok(())
    }

    /// Resolves an OAuth access token presented at `/api/mcp`.
    pub async fn authenticate_mcp_token(&self, token: &str) -> AppResult<Caller> {
        let invalid = || AppError::Unauthorized("invalid access token; sign in to Herald again from your app".into());
        if !looks_like_access_token(token) {
            return Err(invalid());
        }
        let row = McpTokens(self.store.conn())
            .by_hash(&hash_key(token))
            .await?
            .filter(|t| t.kind == MCP_ACCESS)
            .ok_or_else(invalid)?;
        if row.expires_at <= self.now() {
            return Err(AppError::Unauthorized("the access token has expired; refresh it".into()));
        }
        let grant = ApiKeys(self.store.conn()).by_id(row.api_key_id).await?.ok_or_else(invalid)?;
        self.caller_for_key(grant, true).await
    }

    /// The MCP apps the signed-in person connected, in every workspace.
    pub async fn connected_apps(&self, caller: &Caller) -> AppResult<Vec<ConnectedAppView>> {
        caller.require_session("managing connected apps")?;
        let grants = ApiKeys(self.store.conn()).connected_apps(caller.user_id).await?;
        let ids: Vec<String> = grants.iter().filter_map(|g| g.mcp_client_id.clone()).collect();
        let clients = McpClients(self.store.conn()).by_ids(&ids).await?;
        let workspaces = herald_store::repo::Users(self.store.conn()).workspaces_of(caller.user_id).await?;
        let mut apps = Vec::new();
        for grant in grants {
            let Some(client) = clients.iter().find(|c| Some(&c.id) == grant.mcp_client_id.as_ref()) else { continue };
            let workspace_name =
                workspaces.iter().find(|(w, _)| w.id == grant.workspace_id).map(|(w, _)| w.name.clone());
            apps.push(ConnectedAppView {
                id: grant.id,
                name: client.name.clone(),
                client_id: client.id.clone(),
                client_uri: client.client_uri.clone(),
                workspace_id: grant.workspace_id,
                workspace_name: workspace_name.unwrap_or_default(),
                scopes: stored_scopes(&grant.scopes)?.as_strings(),
                created_at: grant.created_at,
                last_used_at: grant.last_used_at,
            });
        }
        Ok(apps)
    }

    /// Ends one of the signed-in person's connected apps.
    pub async fn revoke_connected_app(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require_session("managing connected apps")?;
        if !ApiKeys(self.store.conn()).revoke_connected_app(caller.user_id, id).await? {
            return Err(AppError::NotFound("connected app"));
        }
        McpTokens(self.store.conn()).delete_for_grant(id).await?;
        tracing::info!(api_key_id = %id, "connected app revoked");
        Ok(())
    }

    /// Whether the automation round should sweep MCP tokens now: every
    /// ten minutes is enough (expired tokens are refused anyway), and spares
    /// the database three writes every few seconds.
    pub(crate) fn mcp_sweep_is_due(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = self.now().timestamp();
        let due = self.mcp_sweep_due.load(Ordering::Relaxed);
        now >= due
            && self
                .mcp_sweep_due
                .compare_exchange(due, now + MCP_SWEEP_EVERY.num_seconds(), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Deletes expired codes and tokens, and ends grants left without any;
    /// how many rows it changed.
    pub async fn sweep_mcp_tokens(&self) -> AppResult<u64> {
        let swept = McpTokens(self.store.conn()).sweep(self.now()).await?;
        if swept > 0 {
            tracing::debug!(swept, "expired MCP authorization codes and tokens removed");
        }
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aclient:s+cr%2Bt");
        let credentials = ClientCredentials::from_basic(&format!("Basic {encoded}")).unwrap();
        assert_eq!((credentials.id.as_str(), credentials.secret.as_str()), ("my:client", "s cr+t"));
        assert!(ClientCredentials::from_basic("Bearer abc").is_none());
        assert!(ClientCredentials::from_basic("Basic !!!").is_none());
    }
}
