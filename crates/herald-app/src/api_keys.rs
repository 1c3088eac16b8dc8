//! API keys: create (shown once), list, revoke. Only a signed-in person
//! manages keys; a key cannot mint or revoke keys.

use chrono::{Duration, Utc};
use herald_core::ValidationErrors;
use herald_core::account::DisplayName;
use herald_core::api_key::{NewApiKey, Scopes};
use herald_core::schedule::parse_timestamp;
use herald_store::repo::{ApiKeys, NewApiKeyRow};
use serde::Deserialize;
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::views::{ApiKeyView, CreatedApiKeyView};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyInput {
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Defaults to every scope: `posts:read`, `posts:write`,
    /// `posts:publish`, `analytics:read`, `integrations:read`.
    #[schema(value_type = Option<Vec<herald_core::api_key::Scope>>)]
    pub scopes: Option<Vec<String>>,
    /// ISO 8601 with offset, in the future; omit for a key that does not
    /// expire. Give this or `expiresInDays`, not both.
    #[schema(value_type = Option<crate::schema::DateTimeText>)]
    pub expires_at: Option<String>,
    /// Alternative to `expiresAt`: days from now (1–3650).
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "crate::schema::whole::option")]
    pub expires_in_days: Option<i64>,
}

impl App {
    pub async fn create_api_key(&self, caller: &Caller, input: CreateApiKeyInput) -> AppResult<CreatedApiKeyView> {
        caller.require_session("managing API keys")?;
        let mut errors = ValidationErrors::default();
        let name = errors.collect(DisplayName::parse("name", &input.name));
        let scopes = match &input.scopes {
            Some(raw) => errors.collect(Scopes::parse("scopes", raw)),
            None => Some(Scopes::all()),
        };
        let now = self.now();
        let expires_at = match (&input.expires_at, input.expires_in_days) {
            (Some(_), Some(_)) => {
                errors.push("expiresAt", "give either expiresAt or expiresInDays, not both");
                None
            }
            (Some(raw), None) => {
                let at = errors.collect(parse_timestamp("expiresAt", raw));
                if at.is_some_and(|at| at <= now) {
                    errors.push("expiresAt", "must be in the future");
                }
                at
            }
            (None, Some(days)) if !(1..=3650).contains(&days) => {
                errors.push("expiresInDays", "must be between 1 and 3650");
                None
            }
            (None, Some(days)) => Some(now + Duration::days(days)),
            (None, None) => None,
        };
        errors.clone().into_result()?;
        let (Some(name), Some(scopes)) = (name, scopes) else {
            return Err(errors.into());
        };
        self.issue_api_key(caller.user_id, caller.workspace_id, name.as_str(), scopes, expires_at).await
    }

    /// Issues a key for a user in a workspace (also used by the CLI).
    pub async fn issue_api_key(
        &self,
        user_id: Uuid,
        workspace_id: Uuid,
        name: &str,
        scopes: Scopes,
        expires_at: Option<chrono::DateTime<Utc>>,
    ) -> AppResult<CreatedApiKeyView> {
        let key = NewApiKey::generate();
        let row = ApiKeys(self.store.conn())
            .create(NewApiKeyRow {
                created_at: self.now(),
                user_id,
                workspace_id,
                name: name.to_string(),
                key_hash: key.hash.clone(),
                prefix: key.display_prefix.clone(),
                scopes: scopes.as_strings(),
                expires_at,
                mcp_client_id: None,
            })
            .await?;
        tracing::info!(api_key_id = %row.id, prefix = %row.prefix, "API key created");
        Ok(CreatedApiKeyView { key: key.plaintext, api_key: ApiKeyView::from_row(&row)? })
    }

    pub async fn list_api_keys(&self, caller: &Caller) -> AppResult<Vec<ApiKeyView>> {
        caller.require_session("managing API keys")?;
        self.api_keys_of(caller.user_id).await
    }

    pub async fn api_keys_of(&self, user_id: Uuid) -> AppResult<Vec<ApiKeyView>> {
        let rows = ApiKeys(self.store.conn()).list_for_user(user_id).await?;
        Ok(rows.iter().map(ApiKeyView::from_row).collect::<Result<_, _>>()?)
    }

    pub async fn revoke_api_key(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require_session("managing API keys")?;
        self.revoke_key_of(caller.user_id, id).await
    }

    /// Revokes any key by id (local administration through the CLI).
    pub async fn revoke_any_api_key(&self, id: Uuid) -> AppResult<()> {
        if !ApiKeys(self.store.conn()).revoke_any(id).await? {
            return Err(AppError::NotFound("API key"));
        }
        tracing::info!(api_key_id = %id, "API key revoked");
        Ok(())
    }

    pub async fn revoke_key_of(&self, user_id: Uuid, id: Uuid) -> AppResult<()> {
        if !ApiKeys(self.store.conn()).revoke(user_id, id).await? {
            return Err(AppError::NotFound("API key"));
        }
        tracing::info!(api_key_id = %id, "API key revoked");
        Ok(())
    }
}

/// The scopes a row stores as a JSON list (a key, a grant, an
/// authorization code): written by Herald, so anything else is corrupt.
pub(crate) fn stored_scopes(json: &serde_json::Value) -> AppResult<Scopes> {
    let names: Vec<String> = serde_json::from_value(json.clone()).map_err(AppError::internal)?;
    Scopes::parse("scopes", &names).map_err(AppError::internal)
}
