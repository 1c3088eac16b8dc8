//! Connected accounts: list, read, rename / re-time / enable / disable,
//! delete, and the next free posting slot. Connecting accounts is the
//! providers' job; this module manages what is connected.

use chrono::{DateTime, Utc};
use herald_core::account::{DisplayName, TimeZone};
use herald_core::api_key::Scope;
use herald_core::event::EventKind;
use herald_core::integration::{IntegrationStatus, IntegrationSwitch};
use herald_core::schedule::{next_free_slot, parse_posting_times};
use herald_core::{ValidationError, ValidationErrors};
use herald_providers::oauth::keep_refresh_token;
use herald_providers::{ConnectedAccount, ErrorClass, Provider};
use herald_store::IntegrationRow;
use herald_store::content::decode;
use herald_store::repo::{AccessEnd, Events, Integrations, NewEvent, Posts, Users};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::views::IntegrationView;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateIntegrationInput {
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// Daily posting slots in minutes after local midnight (0–1439), at most 48.
    #[schema(value_type = Option<Vec<PostingTime>>, max_items = 48)]
    #[serde(default, deserialize_with = "crate::schema::whole::option_vec")]
    pub posting_times: Option<Vec<i64>>,
    /// IANA time zone of the posting times, e.g. `America/New_York`.
    #[schema(value_type = Option<crate::schema::TimeZoneName>)]
    pub timezone: Option<String>,
    /// `ACTIVE` to enable, `DISABLED` to disable.
    #[schema(value_type = Option<IntegrationSwitch>)]
    pub status: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default, deserialize_with = "crate::schema::object::option")]
    pub settings: Option<serde_json::Value>,
}

/// A posting time: minutes after local midnight.
#[derive(utoipa::ToSchema)]
#[schema(minimum = 0, maximum = 1439)]
pub struct PostingTime(#[allow(dead_code)] u16);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextSlotView {
    pub integration_id: Uuid,
    /// The slot in UTC.
    pub slot: DateTime<Utc>,
    /// The same instant in the integration's time zone.
    pub local: String,
    pub timezone: String,
}

/// `POST /integrations`: connect an account with credentials.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectIntegrationInput {
    /// Platform id, e.g. `webhook` (see `GET /platforms`).
    pub platform: String,
    /// The platform's credentials, e.g. `{"url": "...", "secret": "..."}` for a webhook.
    #[schema(value_type = Object)]
    pub credentials: serde_json::Value,
    /// Display name; defaults to what the platform calls the account.
    pub name: Option<String>,
}

/// A connection and whether it was new (a reconnect updates the existing one).
pub struct Connected {
    pub integration: IntegrationView,
    pub created: bool,
}

impl App {
    /// Verifies the credentials with the platform, then stores them
    /// encrypted. Connecting an account that is already connected updates
    /// its credentials (the "reconnect" action).
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, platform = %input.platform))]
    pub async fn connect_integration(&self, caller: &Caller, input: ConnectIntegrationInput) -> AppResult<Connected> {
        self.connect_integration_for(caller, input, None).await
    }

    /// [`App::connect_integration`], for a member or a client's connect link.
    pub(crate) async fn connect_integration_for(
        &self,
        caller: &Caller,
        input: ConnectIntegrationInput,
        client: Option<&crate::agency::connect::ClientOf>,
    ) -> AppResult<Connected> {
        caller.require_account_manager("connecting an account")?;
        if !caller.role.can_publish() {
            return Err(AppError::forbidden("your role in this workspace does not allow connecting accounts"));
        }
        let Some(provider) = self.providers.get(&input.platform).filter(|p| p.connects_with_credentials()) else {
            let known: Vec<&str> =
                self.providers.all().filter(|p| p.connects_with_credentials()).map(|p| p.id()).collect();
            return Err(ValidationError::new(
                "platform",
                format!("`{}` cannot be connected with credentials; available: {}", input.platform, known.join(", ")),
            )
            .into());
        };
        if !input.credentials.is_object() {
            return Err(ValidationError::new("credentials", "must be a JSON object").into());
        }
        let name = input.name.as_deref().map(|raw| DisplayName::parse("name", raw)).transpose()?;
        let account = provider.connect(&input.credentials).await.map_err(|error| match error.class {
            ErrorClass::Retryable { .. } | ErrorClass::MaybeSent | ErrorClass::Unknown => {
                AppError::PlatformUnavailable(format!("{} could not be reached: {}", provider.id(), error.message))
            }
            _ => ValidationError::new(
                "credentials",
                format!("{} refused the credentials: {}", provider.id(), error.message),
            )
            .into(),
        })?;
        self.save_account_for(caller, provider.as_ref(), account, name, client).await
    }

    /// Stores an account the platform vouched for, its credentials
    /// encrypted: a new integration, or — for an account already in the
    /// workspace — the same one with new credentials, active again (a
    /// refresh token is never replaced by an empty one).
    /// For a member, or — through a connect link — for a client: the account then belongs to the client's customer (an
    /// account of another customer is refused), the event names the
    /// customer, and the workspace's managers are told.
    pub(crate) async fn save_account_for(
        &self,
        caller: &Caller,
        provider: &dyn Provider,
        account: ConnectedAccount,
        name: Option<DisplayName>,
        client: Option<&crate::agency::connect::ClientOf>,
    ) -> AppResult<Connected> {
        // Asked before the transaction: it may wait on the platform.
        let discovered = provider.discovered_settings(&account.credentials).await;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let integrations = Integrations(&txn);
        let existing = integrations.find_account(caller.workspace_id, provider.id(), &account.account_id).await?;
        if let (Some(client), Some(row)) = (client, existing.as_ref())
            && row.customer_id.is_some_and(|other| other != client.customer_id)
        {
            return Err(AppError::Conflict(
                "this account is already connected in this workspace for someone else; ask the agency".into(),
            ));
        }
        let created = existing.is_none();
        let id = existing.as_ref().map_or_else(Uuid::now_v7, |row| row.id);
        let credentials = match existing.as_ref().and_then(|row| row.credentials.as_deref()) {
            Some(stored) => match self.vault.decrypt(stored, id.as_bytes()) {
                Ok(plain) => {
                    keep_refresh_token(&serde_json::from_slice(&plain).unwrap_or_default(), account.credentials.clone())
                }
                // Unreadable (another ENCRYPTION_KEY): the new ones replace them.
                Err(_) => account.credentials.clone(),
            },
            None => account.credentials.clone(),
        };
        let sealed = self.vault.encrypt(credentials.to_string().as_bytes(), id.as_bytes());
        let ends_at = provider
            .oauth()
            .and_then(|_| herald_providers::oauth::access_ends_at(&credentials, account.token_expires_at));
        let access = AccessEnd::after(existing.as_ref(), ends_at);
        let named = name.is_some();
        let display_name: String =
            name.map_or(account.display_name.clone(), |n| n.as_str().to_string()).chars().take(100).collect();
        let row = match existing {
            Some(mut row) => {
                row.platform_username = account.username.clone();
                // A profile that could not be read keeps the one known before.
                if !account.profile_pending {
                    row.avatar_url = account.avatar_url.clone();
                }
                row.profile_pending = account.profile_pending;
                row.scopes = serde_json::json!(account.scopes);
                row.status = IntegrationStatus::Active;
                if !account.profile_pending || named {
                    row.display_name = display_name;
                }
                merge_settings(&mut row.settings, &discovered);
                if let Some(client) = client {
                    row.customer_id = Some(client.customer_id);
                }
                row.updated_at = now;
                let row = integrations.update(row).await?;
                integrations.store_tokens(row.id, sealed, account.token_expires_at, access, now).await?;
                integrations.by_id(row.id).await?.ok_or(AppError::NotFound("integration"))?
            }
            None => {
                integrations
                    .insert(IntegrationRow {
                        id,
                        workspace_id: caller.workspace_id,
                        created_by: Some(caller.user_id),
                        platform: provider.id().to_string(),
                        platform_account_id: account.account_id.clone(),
                        platform_username: account.username.clone(),
                        display_name,
                        avatar_url: account.avatar_url.clone(),
                        credentials: Some(sealed),
                        token_expires_at: account.token_expires_at,
                        token_obtained_at: Some(now),
                        refresh_lease_until: None,
                        access_ends_at: access.at,
                        expiry_notice_days: None,
                        scopes: serde_json::json!(account.scopes),
                        status: IntegrationStatus::Active,
                        posting_times: serde_json::json!(herald_core::schedule::DEFAULT_POSTING_TIMES),
                        timezone: Users(&txn)
                            .by_id(caller.user_id)
                            .await?
                            .map_or_else(|| "UTC".to_string(), |u| u.timezone),
                        settings: {
                            let mut settings = serde_json::json!({});
                            merge_settings(&mut settings, &discovered);
                            settings
                        },
                        profile_pending: account.profile_pending,
                        customer_id: client.map(|c| c.customer_id),
                        created_at: now,
                        updated_at: now,
                    })
                    .await?
            }
        };
        // A client's connection is the link's doing, not its creator's: the
        // creator hears of it like every other manager.
        let (actor_type, actor_id) = match client {
            Some(client) => (herald_core::event::ActorType::System, client.link_id),
            None => caller.actor(),
        };
        let mut data = serde_json::json!({ "platform": row.platform, "reconnected": !created });
        if let Some(client) = client {
            data["customerId"] = serde_json::json!(client.customer_id);
            data["customer"] = serde_json::json!(client.customer_name);
            data["connectLinkId"] = serde_json::json!(client.link_id);
        }
        let event = Events(&txn)
            .append(NewEvent {
                at: self.now(),
                workspace_id: caller.workspace_id,
                kind: EventKind::IntegrationConnected,
                post_id: None,
                integration_id: Some(row.id),
                actor_type,
                actor_id: Some(actor_id),
                data,
            })
            .await?;
        if let Some(client) = client {
            herald_store::repo::ConnectLinks(&txn).count_connection(client.link_id).await?;
        }
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        tracing::info!(integration_id = %row.id, platform = %row.platform, created, "integration connected");
        Ok(Connected { integration: IntegrationView::from_row(&row)?, created })
    }

    pub async fn list_integrations(&self, caller: &Caller) -> AppResult<Vec<IntegrationView>> {
        self.list_integrations_of(caller, None).await
    }

    /// The workspace's accounts, or only one customer's (404 for a
    /// customer the workspace does not have).
    pub async fn list_integrations_of(
        &self,
        caller: &Caller,
        customer: Option<Uuid>,
    ) -> AppResult<Vec<IntegrationView>> {
        caller.require(Scope::IntegrationsRead)?;
        if let Some(customer) = customer {
            self.customer(caller, customer).await?;
        }
        let rows = Integrations(self.store.conn()).list(caller.workspace_id).await?;
        Ok(rows
            .iter()
            .filter(|row| customer.is_none() || row.customer_id == customer)
            .map(IntegrationView::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// The account's avatar, fetched through the SSRF guard for the web UI
    /// (whose pages load no image from elsewhere). Decoration only: any
    /// failure is `None`, never an error.
    pub async fn integration_avatar(&self, caller: &Caller, id: Uuid) -> Option<(Vec<u8>, String)> {
        const MAX_AVATAR_BYTES: usize = 1024 * 1024;
        caller.require(Scope::IntegrationsRead).ok()?;
        let row = Integrations(self.store.conn()).get(caller.workspace_id, id).await.ok()??;
        let url = url::Url::parse(row.avatar_url.as_deref()?).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let mut response = self.fetcher.send(self.fetcher.inner().get(url.as_str())).await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            if bytes.len() + chunk.len() > MAX_AVATAR_BYTES {
                return None;
            }
            bytes.extend_from_slice(&chunk);
        }
        // Served from Herald's origin: only what really is a raster image.
        let mime = herald_core::media::sniff_mime(&bytes).filter(|m| m.starts_with("image/"))?;
        Some((bytes, mime.to_string()))
    }

    pub async fn get_integration(&self, caller: &Caller, id: Uuid) -> AppResult<IntegrationView> {
        caller.require(Scope::IntegrationsRead)?;
        let row = Integrations(self.store.conn())
            .get(caller.workspace_id, id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        Ok(IntegrationView::from_row(&row)?)
    }

    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, integration_id = %id))]
    pub async fn update_integration(
        &self,
        caller: &Caller,
        id: Uuid,
        input: UpdateIntegrationInput,
    ) -> AppResult<IntegrationView> {
        caller.require_account_manager("changing an integration")?;
        if !caller.role.can_manage() && !caller.role.can_publish() {
            return Err(AppError::forbidden("your role in this workspace does not allow changing integrations"));
        }
        let mut errors = ValidationErrors::default();
        let name = input.name.as_deref().and_then(|raw| errors.collect(DisplayName::parse("name", raw)));
        let times =
            input.posting_times.as_deref().and_then(|raw| errors.collect(parse_posting_times("postingTimes", raw)));
        let timezone = input.timezone.as_deref().and_then(|raw| errors.collect(TimeZone::parse("timezone", raw)));
        if let Some(settings) = &input.settings
            && !settings.is_object()
        {
            errors.push("settings", "must be a JSON object");
        }
        let status = match input.status.as_deref() {
            None => None,
            Some(raw) => match IntegrationSwitch::parse(raw) {
                Some(switch) => Some(IntegrationStatus::from(switch)),
                None => {
                    let (active, disabled) = (IntegrationSwitch::Active, IntegrationSwitch::Disabled);
                    errors.push("status", format!("`{raw}` is not {active} or {disabled}"));
                    None
                }
            },
        };
        errors.into_result()?;

        let txn = self.store.begin_write().await?;
        let integrations = Integrations(&txn);
        let mut row = integrations.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("integration"))?;
        if let Some(status) = status {
            if row.status == IntegrationStatus::NeedsReconnect && status == IntegrationStatus::Active {
                return Err(AppError::Conflict(
                    "this integration needs to be reconnected; enabling it is not enough".into(),
                ));
            }
            row.status = status;
        }
        if let Some(name) = name {
            row.display_name = name.as_str().to_string();
        }
        if let Some(times) = times {
            row.posting_times = serde_json::json!(times);
        }
        if let Some(timezone) = timezone {
            row.timezone = timezone.name().to_string();
        }
        if let Some(settings) = input.settings {
            row.settings = settings;
        }
        row.updated_at = self.now();
        let row = integrations.update(row).await?;
        txn.commit().await.map_err(AppError::internal)?;
        // A new status or rate budget changes what the workers may claim.
        self.store.queue_changed().await;
        Ok(IntegrationView::from_row(&row)?)
    }

    /// Disconnects an account. Its pending deliveries go with it; posts
    /// that targeted it keep their other targets.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, integration_id = %id))]
    pub async fn delete_integration(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require_account_manager("deleting an integration")?;
        if !caller.role.can_publish() {
            return Err(AppError::forbidden("your role in this workspace does not allow deleting integrations"));
        }
        let txn = self.store.begin_write().await?;
        let Some(row) = Integrations(&txn).get(caller.workspace_id, id).await? else {
            return Err(AppError::NotFound("integration"));
        };
        let (post_ids, in_flight) = Posts(&txn).posts_targeting(id).await?;
        if in_flight {
            return Err(AppError::Conflict(
                "a post is being published to this integration right now; try again in a moment".into(),
            ));
        }
        Integrations(&txn).delete(caller.workspace_id, id).await?;
        for post_id in post_ids {
            Posts(&txn).recompute_status(post_id, self.now()).await?;
        }
        let (actor_type, actor_id) = caller.actor();
        let event = Events(&txn)
            .append(NewEvent {
                at: self.now(),
                workspace_id: caller.workspace_id,
                kind: EventKind::IntegrationDeleted,
                post_id: None,
                integration_id: Some(id),
                actor_type,
                actor_id: Some(actor_id),
                data: serde_json::json!({}),
            })
            .await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        self.revoke_grant(&row).await;
        Ok(())
    }

    /// Ends the grant at the platform after an OAuth account was
    /// disconnected, where the platform documents how. Best effort: the
    /// account is gone from Herald either way, and a failure is logged.
    async fn revoke_grant(&self, row: &herald_store::IntegrationRow) {
        let Some(provider) = self.providers.get(&row.platform) else { return };
        let (Some(oauth), Some(sealed)) = (provider.oauth(), row.credentials.as_deref()) else { return };
        let Ok(plain) = self.vault.decrypt(sealed, row.id.as_bytes()) else { return };
        let credentials = serde_json::from_slice(&plain).unwrap_or_default();
        match oauth.revoke(&credentials).await {
            Ok(()) => {
                tracing::info!(integration_id = %row.id, platform = %row.platform, "grant revoked at the platform")
            }
            Err(error) => {
                tracing::warn!(integration_id = %row.id, platform = %row.platform, %error, "could not revoke the grant")
            }
        }
    }

    pub async fn next_slot(&self, caller: &Caller, id: Uuid) -> AppResult<NextSlotView> {
        caller.require(Scope::PostsRead)?;
        let row = Integrations(self.store.conn())
            .get(caller.workspace_id, id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        let tz = zone_of(&row);
        let taken = Posts(self.store.conn()).queued_times(id).await?;
        let slot = free_slot(&row, self.now(), &taken)?;
        Ok(NextSlotView {
            integration_id: id,
            slot,
            local: slot.with_timezone(&tz.tz()).to_rfc3339(),
            timezone: tz.name().to_string(),
        })
    }
}

/// An integration's time zone (UTC if what is stored no longer parses).
pub(crate) fn zone_of(row: &IntegrationRow) -> TimeZone {
    TimeZone::parse("timezone", &row.timezone).unwrap_or_else(|_| TimeZone::utc())
}

/// The integration's first posting slot at or after `from` that no time
/// in `taken` occupies: the one rule behind next-slot, the queue and approvals.
pub(crate) fn free_slot(
    row: &IntegrationRow,
    from: DateTime<Utc>,
    taken: &[DateTime<Utc>],
) -> AppResult<DateTime<Utc>> {
    let times: Vec<u16> = decode(&row.posting_times, "integrations.posting_times", row.id)?;
    next_free_slot(from, zone_of(row).tz(), &times, taken)
        .ok_or_else(|| AppError::Conflict("no free posting slot in the next year".into()))
}

/// Adds what the platform said about the account (e.g. `maxLength`) to an
/// integration's settings; the other settings stay.
fn merge_settings(settings: &mut serde_json::Value, discovered: &serde_json::Value) {
    if let (Some(settings), Some(discovered)) = (settings.as_object_mut(), discovered.as_object()) {
        settings.extend(discovered.iter().map(|(key, value)| (key.clone(), value.clone())));
    }
}
