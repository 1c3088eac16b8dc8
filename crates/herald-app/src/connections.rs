//! Connecting accounts by OAuth (DESIGN §5a): the redirect to the
//! platform's consent page, the callback, and the choice among several
//! accounts one token can post as.
//!
//! A `state` is random, single-use, lives ten minutes and belongs to the
//! user and workspace that started the flow: a callback in anyone else's
//! session is refused and saves nothing. Only its SHA-256 is stored; the
//! PKCE verifier and the flow's context are sealed with the vault.

use chrono::{DateTime, Duration, Utc};
use herald_core::api_key::hash_key;
use herald_providers::oauth::{Begin, Callback, OAuthConnect, RegisteredClient};
use herald_providers::{ConnectedAccount, ErrorClass, Provider, ProviderError};
use herald_store::repo::{OAuthClients, OAuthStates, PendingConnections, oauth_client_id};
use herald_store::{OAuthClientRow, OAuthPendingRow, OAuthStateRow};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::views::IntegrationView;

/// How long a user has to give consent at the platform.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// How long a choice among several accounts waits.
pub const PENDING_LIFETIME: Duration = Duration::minutes(30);

/// `GET /auth/{platform}` for JSON clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeView {
    /// The platform's consent page, to open in the browser.
    pub authorize_url: String,
}

/// What the platform's redirect to `/auth/{platform}/callback` carries.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set when the user denied consent (`access_denied`).
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// OAuth 1.0a (X with `X_API_KEY`): the request token, which stands
    /// for the state, and the verifier, which stands for the code.
    pub oauth_token: Option<String>,
    pub oauth_verifier: Option<String>,
    /// OAuth 1.0a: the request token of a consent the user refused.
    pub denied: Option<String>,
}

impl CallbackParams {
    /// What identifies the connection being finished: `state`, or an
    /// OAuth 1.0a request token (granted or denied).
    fn state_key(&self) -> Option<&str> {
        [&self.state, &self.oauth_token, &self.denied].into_iter().flatten().map(String::as_str).find(|s| !s.is_empty())
    }

    /// The code, or an OAuth 1.0a verifier.
    fn grant(&self) -> Option<&str> {
        [&self.code, &self.oauth_verifier].into_iter().flatten().map(String::as_str).find(|s| !s.is_empty())
    }

    /// The refusal the platform reported, if any.
    fn refusal(&self) -> Option<String> {
        if let Some(error) = self.error.as_deref() {
            let said = self.error_description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            return Some(format!("{error}{said}"));
        }
        self.denied.as_ref().map(|_| "access_denied".to_string())
    }
}

/// Where a finished callback leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// One account, saved (new or reconnected).
    Connected(Uuid),
    /// Several: the user chooses at `/integrations/choose/{id}`.
    Choose(Uuid),
    /// A client connected through their connect link: back to its page.
    ClientConnected { token: String, integration: Uuid },
    /// A client's sign-in gave several accounts: they choose on the link's page.
    ClientChoose { token: String, pending: Uuid },
}

/// `GET /integrations/pending/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingView {
    pub platform: String,
    pub accounts: Vec<PendingAccountView>,
    /// Only one may be chosen: the platform rotates refresh tokens, so a
    /// sign-in serves one account (sign in again for another).
    pub choose_one: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingAccountView {
    pub id: String,
    pub name: String,
    pub username: String,
    pub avatar_url: Option<String>,
}

/// `POST /integrations/pending/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChooseAccountsInput {
    /// Ids from the pending list; at least one.
    #[schema(min_items = 1)]
    pub account_ids: Vec<String>,
}

/// What is sealed in a state row.
#[derive(Serialize, Deserialize)]
struct Sealed {
    verifier: Option<String>,
    context: Value,
    /// The server, for platforms with many.
    #[serde(default)]
    instance: Option<String>,
    /// Started by a client on their connect link, not by a signed-in member.
    #[serde(default)]
    client: Option<ClientFlow>,
}

/// A connection a client started on a connect link: the callback finds
/// the link again, and the way back to its page.
#[derive(Serialize, Deserialize)]
pub(crate) struct ClientFlow {
    pub link_id: Uuid,
    pub token: String,
}

/// An account waiting for the user's choice, as sealed in a pending row.
#[derive(Serialize, Deserialize)]
struct Waiting {
    account_id: String,
    username: String,
    display_name: String,
    avatar_url: Option<String>,
    credentials: Value,
    token_expires_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
}

impl From<ConnectedAccount> for Waiting {
    fn from(account: ConnectedAccount) -> Self {
        Self {
            account_id: account.account_id,
            username: account.username,
            display_name: account.display_name,
            avatar_url: account.avatar_url,
            credentials: account.credentials,
            token_expires_at: account.token_expires_at,
            scopes: account.scopes,
        }
    }
}

impl From<Waiting> for ConnectedAccount {
    fn from(waiting: Waiting) -> Self {
        Self {
            account_id: waiting.account_id,
            username: waiting.username,
            display_name: waiting.display_name,
            avatar_url: waiting.avatar_url,
            credentials: waiting.credentials,
            token_expires_at: waiting.token_expires_at,
            scopes: waiting.scopes,
            profile_pending: false,
        }
    }
}

/// Refusals of the callback: 400 for JSON clients, `?error=` for browsers.
fn refused(message: impl Into<String>) -> AppError {
    herald_core::ValidationError::new("state", message).into()
}

impl App {
    /// `{MAIN_URL}/api/auth/{platform}/callback`: the redirect URI to register.
    pub fn oauth_callback_url(&self, platform: &str) -> String {
        format!("{}/api/auth/{platform}/callback", self.settings.main_url.trim_end_matches('/'))
    }

    fn oauth_provider(&self, platform: &str) -> AppResult<Arc<dyn Provider>> {
        self.providers
            .get(platform)
            .filter(|provider| provider.oauth().is_some())
            .ok_or(AppError::NotFound("OAuth platform"))
    }

    /// Starts connecting an account: a fresh state, and the consent URL.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, platform))]
    pub async fn begin_oauth(
        &self,
        caller: &Caller,
        platform: &str,
        instance: Option<&str>,
    ) -> AppResult<AuthorizeView> {
        self.begin_oauth_for(caller, platform, instance, None).await
    }

    /// Starts connecting, for a member or for a client on a connect link.
    pub(crate) async fn begin_oauth_for(
        &self,
        caller: &Caller,
        platform: &str,
        instance: Option<&str>,
        client_flow: Option<ClientFlow>,
    ) -> AppResult<AuthorizeView> {
        caller.require_session("connecting an account")?;
        caller.require_account_manager("connecting an account")?;
        let provider = self.oauth_provider(platform)?;
        let oauth = oauth_of(provider.as_ref())?;
        if !oauth.is_configured() {
            return Err(AppError::Conflict(format!(
                "{platform} is not configured on this server: set {} and register {} as the callback URL",
                oauth.app_env().join(" and "),
                self.oauth_callback_url(platform),
            )));
        }
        let state = Alphanumeric.sample_string(&mut rand::rng(), 43);
        let redirect_uri = self.oauth_callback_url(platform);
        let instance =
            oauth.instance(instance).map_err(|error| herald_core::ValidationError::new("instance", error.message))?;
        let client = match &instance {
            Some(instance) => Some(self.registered_client(oauth, platform, instance, &redirect_uri).await?),
            None => None,
        };
        let on_instance = instance.as_deref().zip(client.as_ref());
        let consent = oauth
            .begin(Begin { state: &state, redirect_uri: &redirect_uri, instance: on_instance })
            .await
            .map_err(|error| platform_error(platform, &error))?;
        // OAuth 1.0a brings back the request token instead of a state.
        let id = hash_key(consent.state_key.as_deref().unwrap_or(&state));
        let sealed = Sealed { verifier: consent.verifier, context: consent.context, instance, client: client_flow };
        let sealed = serde_json::to_vec(&sealed).map_err(AppError::internal)?;
        let now = self.now();
        OAuthStates(self.store.conn())
            .insert(OAuthStateRow {
                sealed: self.vault.encrypt(&sealed, id.as_bytes()),
                id,
                platform: platform.to_string(),
                user_id: caller.user_id,
                workspace_id: caller.workspace_id,
                expires_at: now + STATE_LIFETIME,
                created_at: now,
            })
            .await?;
        OAuthStates(self.store.conn()).delete_expired(now).await?;
        Ok(AuthorizeView { authorize_url: consent.url })
    }

    /// The way back to a client's connect link, when a callback belongs to
    /// a connection a client started (for the page an error goes to).
    pub async fn client_flow_token(&self, params: &CallbackParams) -> Option<String> {
        let id = hash_key(params.state_key()?);
        let row = OAuthStates(self.store.conn()).get(&id).await.ok()??;
        let plain = self.vault.decrypt(&row.sealed, id.as_bytes()).ok()?;
        let sealed: Sealed = serde_json::from_slice(&plain).ok()?;
        sealed.client.map(|flow| flow.token)
    }

    /// Finishes connecting: checks the state is the caller's (or, for a
    /// client's connect link, that the link still works) and unused,
    /// exchanges the code, then saves the one account or keeps several
    /// for the user to choose from.
    #[tracing::instrument(skip_all, fields(platform))]
    pub async fn finish_oauth(
        &self,
        caller: Option<&Caller>,
        platform: &str,
        params: CallbackParams,
    ) -> AppResult<Finished> {
        // Keys never finish a sign-in, whoever started it.
        if let Some(caller) = caller {
            caller.require_session("connecting an account")?;
        }
        let provider = self.oauth_provider(platform)?;
        let oauth = oauth_of(provider.as_ref())?;
        let raw_state = params.state_key().ok_or_else(|| refused("the callback has no state"))?;
        let id = hash_key(raw_state);
        let states = OAuthStates(self.store.conn());
        let row = states.get(&id).await?.ok_or_else(|| refused("unknown or already used state; start again"))?;
        let plain = self.vault.decrypt(&row.sealed, id.as_bytes()).map_err(AppError::internal)?;
        let sealed: Sealed = serde_json::from_slice(&plain).map_err(AppError::internal)?;
        let (caller, client) = match sealed.client {
            Some(flow) => {
                let (link, caller, customer) = self.live_connect_link_by_id(flow.link_id).await?;
                if link.workspace_id != row.workspace_id || row.platform != platform {
                    return Err(refused("this connection was started elsewhere; start again"));
                }
                (caller, Some((crate::agency::connect::ClientOf::new(&link, customer), flow.token)))
            }
            None => {
                let caller =
                    caller.ok_or_else(|| AppError::Unauthorized("sign in to finish connecting the account".into()))?;
                caller.require_session("connecting an account")?;
                caller.require_account_manager("connecting an account")?;
                // Someone else's state is refused and left alone: it is not theirs to spend.
                if row.user_id != caller.user_id || row.workspace_id != caller.workspace_id || row.platform != platform
                {
                    return Err(refused("this connection was started by another session; start again"));
                }
                (caller.clone(), None)
            }
        };
        if !states.take(&id).await? {
            return Err(refused("unknown or already used state; start again"));
        }
        if row.expires_at <= self.now() {
            return Err(refused("the connection took longer than 10 minutes; start again"));
        }
        if let Some(refusal) = params.refusal() {
            return Err(refused(format!("{platform} did not grant access ({refusal})")));
        }
        let code = params.grant().ok_or_else(|| refused("the callback has no code"))?;
        let redirect_uri = self.oauth_callback_url(platform);
        let registered = match &sealed.instance {
            Some(instance) => Some(self.registered_client(oauth, platform, instance, &redirect_uri).await?),
            None => None,
        };
        let callback = Callback {
            code,
            redirect_uri: &redirect_uri,
            verifier: sealed.verifier.as_deref(),
            context: &sealed.context,
            instance: sealed.instance.as_deref().zip(registered.as_ref()),
        };
        let mut accounts = oauth.finish(callback).await.map_err(|error| platform_error(platform, &error))?;
        match accounts.len() {
            0 => Err(refused(format!("{platform} gave access to no account Herald can post as"))),
            1 => {
                let account = accounts.remove(0);
                let of = client.as_ref().map(|(of, _)| of);
                let connected = self.save_account_for(&caller, provider.as_ref(), account, None, of).await?;
                let integration = connected.integration.id;
                Ok(match client {
                    Some((_, token)) => Finished::ClientConnected { token, integration },
                    None => Finished::Connected(integration),
                })
            }
            _ => {
                let waiting: Vec<Waiting> = accounts.into_iter().map(Waiting::from).collect();
                let pending_id = Uuid::now_v7();
                let sealed = serde_json::to_vec(&waiting).map_err(AppError::internal)?;
                let now = self.now();
                PendingConnections(self.store.conn())
                    .insert(OAuthPendingRow {
                        id: pending_id,
                        platform: platform.to_string(),
                        user_id: caller.user_id,
                        workspace_id: caller.workspace_id,
                        sealed: self.vault.encrypt(&sealed, pending_id.as_bytes()),
                        expires_at: now + PENDING_LIFETIME,
                        created_at: now,
                    })
                    .await?;
                Ok(match client {
                    Some((_, token)) => Finished::ClientChoose { token, pending: pending_id },
                    None => Finished::Choose(pending_id),
                })
            }
        }
    }

    /// The app Herald registered on a platform's server, registering it the
    /// first time; its secret is stored encrypted.
    async fn registered_client(
        &self,
        oauth: &dyn OAuthConnect,
        platform: &str,
        instance: &str,
        redirect_uri: &str,
    ) -> AppResult<RegisteredClient> {
        let clients = OAuthClients(self.store.conn());
        let aad = oauth_client_id(platform, instance);
        let row = match clients.get(platform, instance).await? {
            Some(row) => row,
            None => {
                let registered = oauth
                    .register_client(instance, redirect_uri)
                    .await
                    .map_err(|error| platform_error(platform, &error))?;
                clients
                    .insert_or_get(OAuthClientRow {
                        id: aad.clone(),
                        platform: platform.to_string(),
                        instance: instance.to_string(),
                        client_id: registered.client_id,
                        client_secret: self.vault.encrypt(registered.client_secret.as_bytes(), aad.as_bytes()),
                        created_at: self.now(),
                    })
                    .await?
            }
        };
        let secret = self.vault.decrypt(&row.client_secret, aad.as_bytes()).map_err(AppError::internal)?;
        let client_secret = String::from_utf8(secret).map_err(AppError::internal)?;
        Ok(RegisteredClient { client_id: row.client_id, client_secret })
    }

    /// The accounts waiting for the caller's choice.
    pub async fn pending_connection(&self, caller: &Caller, id: Uuid) -> AppResult<PendingView> {
        caller.require_session("connecting an account")?;
        let (row, waiting) = self.waiting(caller, id).await?;
        let choose_one = self.oauth_provider(&row.platform)?.oauth().is_some_and(|o| o.one_account_per_sign_in());
        Ok(PendingView {
            choose_one,
            platform: row.platform,
            accounts: waiting
                .iter()
                .map(|account| PendingAccountView {
                    id: account.account_id.clone(),
                    name: account.display_name.clone(),
                    username: account.username.clone(),
                    avatar_url: account.avatar_url.clone(),
                })
                .collect(),
        })
    }

    /// Connects the chosen accounts; the choice is used up.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, pending_id = %id))]
    pub async fn choose_accounts(
        &self,
        caller: &Caller,
        id: Uuid,
        input: ChooseAccountsInput,
    ) -> AppResult<Vec<IntegrationView>> {
        self.choose_accounts_for(caller, id, input, None).await
    }

    /// Connects the chosen accounts, for a member or a client.
    pub(crate) async fn choose_accounts_for(
        &self,
        caller: &Caller,
        id: Uuid,
        input: ChooseAccountsInput,
        client: Option<&crate::agency::connect::ClientOf>,
    ) -> AppResult<Vec<IntegrationView>> {
        caller.require_session("connecting an account")?;
        caller.require_account_manager("connecting an account")?;
        let (row, waiting) = self.waiting(caller, id).await?;
        if input.account_ids.is_empty() {
            return Err(herald_core::ValidationError::new("accountIds", "choose at least one account").into());
        }
        if let Some(unknown) = input.account_ids.iter().find(|id| !waiting.iter().any(|a| &a.account_id == *id)) {
            return Err(herald_core::ValidationError::new(
                "accountIds",
                format!("`{unknown}` is not one of the accounts offered"),
            )
            .into());
        }
        let provider = self.oauth_provider(&row.platform)?;
        if input.account_ids.len() > 1 && oauth_of(provider.as_ref())?.one_account_per_sign_in() {
            return Err(herald_core::ValidationError::new(
                "accountIds",
                "choose one: this platform's sign-in serves one account (sign in again for another)",
            )
            .into());
        }
        if !PendingConnections(self.store.conn()).take(id).await? {
            return Err(AppError::NotFound("pending connection"));
        }
        let mut saved = Vec::new();
        for account in waiting.into_iter().filter(|a| input.account_ids.contains(&a.account_id)) {
            saved.push(
                self.save_account_for(caller, provider.as_ref(), account.into(), None, client).await?.integration,
            );
        }
        Ok(saved)
    }

    async fn waiting(&self, caller: &Caller, id: Uuid) -> AppResult<(OAuthPendingRow, Vec<Waiting>)> {
        let row = PendingConnections(self.store.conn())
            .get(id, caller.user_id, caller.workspace_id, self.now())
            .await?
            .ok_or(AppError::NotFound("pending connection"))?;
        let plain = self.vault.decrypt(&row.sealed, id.as_bytes()).map_err(AppError::internal)?;
        let waiting = serde_json::from_slice(&plain).map_err(AppError::internal)?;
        Ok((row, waiting))
    }
}

fn oauth_of(provider: &dyn Provider) -> AppResult<&dyn OAuthConnect> {
    provider.oauth().ok_or(AppError::NotFound("OAuth platform"))
}

/// A platform's refusal or outage while connecting, in the JSON error format.
fn platform_error(platform: &str, error: &ProviderError) -> AppError {
    match error.class {
        ErrorClass::Retryable { .. } | ErrorClass::MaybeSent | ErrorClass::Unknown => {
            AppError::PlatformUnavailable(format!("{platform} could not be reached: {}", error.message))
        }
        _ => refused(format!("{platform} refused the connection: {}", error.message)),
    }
}
