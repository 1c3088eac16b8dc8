//! Client self-connect links: an owner or editor makes a link for one
//! customer; the client opens it without a Herald account and connects
//! their own accounts — with a credential form or by signing in at the
//! platform — straight into the agency's workspace, under that customer.
//!
//! The link is unguessable (only its hash is stored), expires, can be
//! revoked, may be limited to some platforms, and takes a bounded number of
//! attempts an hour. Connections are made in the name of the member who
//! made the link, with their role today: a link made by someone who has
//! since left the workspace, or lost the right to connect accounts, stops
//! working. The page shows the client only their own customer's accounts.

use chrono::{DateTime, Utc};
use herald_core::ValidationError;
use herald_store::repo::{ConnectLinks, Customers, Integrations, Users};
use herald_store::{ConnectLinkRow, CustomerRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::connections::{AuthorizeView, ChooseAccountsInput, ClientFlow, PendingView};
use crate::error::{AppError, AppResult};
use crate::integrations::ConnectIntegrationInput;
use crate::platforms::PlatformView;
use crate::views::IntegrationView;

const MANAGING: &str = "managing connect links";

/// `POST /customers/{id}/connect-links`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConnectLinkInput {
    /// Platform ids the client may connect (`GET /platforms`); all when
    /// left out.
    #[schema(min_items = 1)]
    pub platforms: Option<Vec<String>>,
    /// 1–90 days (default 14).
    #[schema(minimum = 1, maximum = 90)]
    #[serde(default, deserialize_with = "crate::schema::whole::option")]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectLinkView {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The platforms offered; `null` for all.
    pub platforms: Option<Vec<String>>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Neither expired nor revoked.
    pub active: bool,
    /// Accounts connected through it.
    pub connections: i32,
    pub created_at: DateTime<Utc>,
}

/// A new link: its URL is shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedConnectLinkView {
    /// `{MAIN_URL}/connect/{token}`: no sign-in needed.
    pub url: String,
    #[serde(flatten)]
    pub link: ConnectLinkView,
}

/// The customer a client connects for, as the save needs it.
pub(crate) struct ClientOf {
    pub link_id: Uuid,
    pub customer_id: Uuid,
    pub customer_name: String,
}

impl ClientOf {
    pub(crate) fn new(link: &ConnectLinkRow, customer: CustomerRow) -> Self {
        Self { link_id: link.id, customer_id: customer.id, customer_name: customer.name }
    }
}

/// What the connect page shows.
#[derive(Debug, Clone)]
pub struct ConnectPage {
    pub workspace_name: String,
    pub customer_name: String,
    pub expires_at: DateTime<Utc>,
    /// The platforms the client may connect now.
    pub platforms: Vec<PlatformView>,
    /// This customer's accounts: `(name, platform name)`.
    pub accounts: Vec<(String, String)>,
}

fn link_view(row: &ConnectLinkRow, now: DateTime<Utc>) -> ConnectLinkView {
    ConnectLinkView {
        id: row.id,
        customer_id: row.customer_id,
        platforms: row.platforms.clone().and_then(|p| serde_json::from_value(p).ok()),
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        active: row.revoked_at.is_none() && row.expires_at > now,
        connections: row.connections,
        created_at: row.created_at,
    }
}

/// Whether a link lets its client connect `platform`.
fn offers(link: &ConnectLinkRow, platform: &str) -> bool {
    match &link.platforms {
        None => true,
        Some(platforms) => platforms.as_array().is_some_and(|p| p.iter().any(|id| id.as_str() == Some(platform))),
    }
}

impl App {
    pub async fn create_connect_link(
        &self,
        caller: &Caller,
        customer_id: Uuid,
        input: CreateConnectLinkInput,
    ) -> AppResult<CreatedConnectLinkView> {
        caller.require_account_manager(MANAGING)?;
        self.customer(caller, customer_id).await?;
        let lifetime = super::lifetime_days("expiresInDays", input.expires_in_days);
        let platforms = input.platforms.map(|ids| self.connectable_platforms(&ids)).transpose();
        let (lifetime, platforms) = super::both(lifetime, platforms)?;
        let (token, token_hash) = herald_core::api_key::new_link_token();
        let now = self.now();
        let row = ConnectLinks(self.store.conn())
            .insert(ConnectLinkRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                customer_id,
                token_hash,
                platforms: platforms.map(|p| serde_json::json!(p)),
                created_by: caller.user_id,
                expires_at: now + lifetime,
                revoked_at: None,
                connections: 0,
                created_at: now,
            })
            .await?;
        let url = format!("{}/connect/{token}", self.settings.main_url.trim_end_matches('/'));
        Ok(CreatedConnectLinkView { url, link: link_view(&row, now) })
    }

    pub async fn list_connect_links(&self, caller: &Caller, customer_id: Uuid) -> AppResult<Vec<ConnectLinkView>> {
        caller.require_account_manager(MANAGING)?;
        self.customer(caller, customer_id).await?;
        let now = self.now();
        let rows = ConnectLinks(self.store.conn()).of_customer(caller.workspace_id, customer_id).await?;
        Ok(rows.iter().map(|row| link_view(row, now)).collect())
    }

    pub async fn revoke_connect_link(&self, caller: &Caller, customer_id: Uuid, link_id: Uuid) -> AppResult<()> {
        caller.require_account_manager(MANAGING)?;
        if !ConnectLinks(self.store.conn()).revoke(caller.workspace_id, customer_id, link_id, self.now()).await? {
            return Err(AppError::NotFound("connect link"));
        }
        Ok(())
    }

    /// Known platform ids, each once, in the order given.
    fn connectable_platforms(&self, ids: &[String]) -> Result<Vec<String>, ValidationError> {
        if ids.is_empty() {
            return Err(ValidationError::new("platforms", "name at least one platform, or leave it out for all"));
        }
        let known = self.platforms();
        let mut out: Vec<String> = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            if !known.iter().any(|p| p.id == id && p.available) {
                return Err(ValidationError::new(format!("platforms[{index}]"), format!("`{id}` is not a platform")));
            }
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    /// The live link behind a token and whom it acts as — or 404, the same
    /// for a token that never existed, expired, was revoked, or whose
    /// maker can no longer connect accounts.
    async fn live_connect_link(&self, token: &str) -> AppResult<(ConnectLinkRow, Caller, CustomerRow)> {
        let hash = herald_core::api_key::hash_key(token.trim());
        let link =
            ConnectLinks(self.store.conn()).by_token_hash(&hash).await?.ok_or(AppError::NotFound("connect link"))?;
        self.acting_for(link).await
    }

    pub(crate) async fn live_connect_link_by_id(&self, id: Uuid) -> AppResult<(ConnectLinkRow, Caller, CustomerRow)> {
        let link = ConnectLinks(self.store.conn()).by_id(id).await?.ok_or(AppError::NotFound("connect link"))?;
        self.acting_for(link).await
    }

    async fn acting_for(&self, link: ConnectLinkRow) -> AppResult<(ConnectLinkRow, Caller, CustomerRow)> {
        let gone = || AppError::NotFound("connect link");
        if link.revoked_at.is_some() || link.expires_at <= self.now() {
            return Err(gone());
        }
        let customer = Customers(self.store.conn()).get(link.workspace_id, link.customer_id).await?.ok_or_else(gone)?;
        let caller = self
            .member_caller(link.created_by, link.workspace_id)
            .await?
            .filter(|caller| caller.role.can_publish())
            .ok_or_else(gone)?;
        Ok((link, caller, customer))
    }

    /// What `/connect/{token}` shows.
    pub async fn connect_page(&self, token: &str) -> AppResult<ConnectPage> {
        let (link, caller, customer) = self.live_connect_link(token).await?;
        let workspace =
            Users(self.store.conn()).workspace(link.workspace_id).await?.ok_or(AppError::NotFound("connect link"))?;
        let platforms = self
            .platforms()
            .into_iter()
            .filter(|p| p.available && p.configured && offers(&link, p.id))
            .filter(|p| p.auth_kind == herald_core::platform::AuthKind::Credentials || p.callback_url.is_some())
            .collect();
        let accounts = Integrations(self.store.conn())
            .list(caller.workspace_id)
            .await?
            .into_iter()
            .filter(|row| row.customer_id == Some(customer.id))
            .map(|row| {
                let platform = herald_core::platform::rules_for(&row.platform)
                    .map_or(row.platform.clone(), |r| r.name.to_string());
                (row.display_name, platform)
            })
            .collect();
        Ok(ConnectPage {
            workspace_name: workspace.name,
            customer_name: customer.name,
            expires_at: link.expires_at,
            platforms,
            accounts,
        })
    }

    /// A client connects an account with its credentials.
    pub async fn client_connect_credentials(
        &self,
        token: &str,
        input: ConnectIntegrationInput,
    ) -> AppResult<IntegrationView> {
        let (link, caller, customer) = self.live_connect_link(token).await?;
        if !offers(&link, &input.platform) {
            return Err(ValidationError::new("platform", "this link does not offer that platform").into());
        }
        self.link_budget.spend(&format!("connect:{}", link.id))?;
        let client = ClientOf::new(&link, customer);
        let connected = self.connect_integration_for(&caller, input, Some(&client)).await?;
        tracing::info!(integration_id = %connected.integration.id, "a client connected an account by credentials");
        Ok(connected.integration)
    }

    /// A client starts signing in at a platform; the callback brings them
    /// back to the link's page.
    pub async fn client_begin_oauth(
        &self,
        token: &str,
        platform: &str,
        instance: Option<&str>,
    ) -> AppResult<AuthorizeView> {
        let (link, caller, _) = self.live_connect_link(token).await?;
        if !offers(&link, platform) {
            return Err(ValidationError::new("platform", "this link does not offer that platform").into());
        }
        self.link_budget.spend(&format!("connect:{}", link.id))?;
        let flow = ClientFlow { link_id: link.id, token: token.trim().to_string() };
        self.begin_oauth_for(&caller, platform, instance, Some(flow)).await
    }

    /// The accounts a client's sign-in gave, to choose from.
    pub async fn client_pending(&self, token: &str, pending: Uuid) -> AppResult<PendingView> {
        let (_, caller, _) = self.live_connect_link(token).await?;
        self.pending_connection(&caller, pending).await
    }

    /// Connects the accounts the client chose.
    pub async fn client_choose(
        &self,
        token: &str,
        pending: Uuid,
        input: ChooseAccountsInput,
    ) -> AppResult<Vec<IntegrationView>> {
        let (link, caller, customer) = self.live_connect_link(token).await?;
        let client = ClientOf::new(&link, customer);
        self.choose_accounts_for(&caller, pending, input, Some(&client)).await
    }
}
