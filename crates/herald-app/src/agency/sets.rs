//! Sets: a saved selection of accounts with their per-platform settings,
//! offered when a post starts. `POST /posts` with `setId` uses the set's
//! accounts (unless `platforms` names them) and its settings (unless an
//! override gives settings for that account); the post's own validation
//! checks the settings as if they had been typed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::ValidationErrors;
use herald_core::api_key::Scope;
use herald_store::PostSetRow;
use herald_store::repo::{Integrations, PostSets};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::posts::CreatePostInput;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSetInput {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The accounts, in order (at least one).
    #[schema(min_items = 1)]
    pub integration_ids: Vec<Uuid>,
    /// Integration id → that account's settings (its platform's
    /// `settingsSchema`).
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSetInput {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(min_items = 1)]
    pub integration_ids: Option<Vec<Uuid>>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetView {
    pub id: Uuid,
    pub name: String,
    pub integration_ids: Vec<Uuid>,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

fn view(row: &PostSetRow) -> SetView {
    SetView {
        id: row.id,
        name: row.name.clone(),
        integration_ids: serde_json::from_value(row.integration_ids.clone()).unwrap_or_default(),
        settings: row.settings.clone(),
        created_at: row.created_at,
    }
}

impl App {
    pub async fn list_sets(&self, caller: &Caller) -> AppResult<Vec<SetView>> {
        caller.require(Scope::PostsRead)?;
        Ok(PostSets(self.store.conn()).list(caller.workspace_id).await?.iter().map(view).collect())
    }

    pub async fn create_set(&self, caller: &Caller, input: CreateSetInput) -> AppResult<SetView> {
        caller.require(Scope::PostsWrite)?;
        let mut errors = ValidationErrors::default();
        let name = errors.collect(super::name("name", &input.name));
        let (ids, settings) = self.check_set(caller, &input.integration_ids, &input.settings, &mut errors).await?;
        errors.into_result()?;
        let Some(name) = name else { return Err(ValidationErrors::default().into()) };
        let now = self.now();
        let row = PostSets(self.store.conn())
            .insert(PostSetRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                name,
                integration_ids: serde_json::json!(ids),
                settings,
                created_at: now,
                updated_at: now,
            })
            .await?;
        Ok(view(&row))
    }

    pub async fn update_set(&self, caller: &Caller, id: Uuid, input: UpdateSetInput) -> AppResult<SetView> {
        caller.require(Scope::PostsWrite)?;
        let sets = PostSets(self.store.conn());
        let mut row = sets.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("set"))?;
        let current = view(&row);
        let mut errors = ValidationErrors::default();
        let name = input.name.as_deref().map(|raw| super::name("name", raw)).transpose();
        let name = errors.collect(name).flatten();
        let ids = input.integration_ids.unwrap_or(current.integration_ids);
        let settings = match input.settings {
            Some(settings) => settings,
            None => serde_json::from_value(current.settings).unwrap_or_default(),
        };
        let (ids, settings) = self.check_set(caller, &ids, &settings, &mut errors).await?;
        errors.into_result()?;
        if let Some(name) = name {
            row.name = name;
        }
        row.integration_ids = serde_json::json!(ids);
        row.settings = settings;
        row.updated_at = self.now();
        Ok(view(&sets.save(row).await?))
    }

    pub async fn delete_set(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require(Scope::PostsWrite)?;
        if !PostSets(self.store.conn()).delete(caller.workspace_id, id).await? {
            return Err(AppError::NotFound("set"));
        }
        Ok(())
    }

    /// The accounts must be the workspace's, each once; settings objects,
    /// only for those accounts.
    async fn check_set(
        &self,
        caller: &Caller,
        ids: &[Uuid],
        settings: &BTreeMap<String, serde_json::Value>,
        errors: &mut ValidationErrors,
    ) -> AppResult<(Vec<Uuid>, serde_json::Value)> {
        if ids.is_empty() {
            errors.push("integrationIds", "name at least one account");
        }
        let known: Vec<Uuid> =
            Integrations(self.store.conn()).list(caller.workspace_id).await?.iter().map(|i| i.id).collect();
        let mut unique = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            if !known.contains(id) {
                errors.push(format!("integrationIds[{index}]"), format!("{id} is not an account of this workspace"));
            } else if !unique.contains(id) {
                unique.push(*id);
            }
        }
        let mut checked = serde_json::Map::new();
        for (key, value) in settings {
            let field = format!("settings.{key}");
            match Uuid::parse_str(key) {
                Ok(id) if unique.contains(&id) => {}
                _ => {
                    errors.push(field, "settings may only be given for the set's accounts");
                    continue;
                }
            }
            if !value.is_object() {
                errors.push(field, "must be a JSON object of that platform's settings");
                continue;
            }
            checked.insert(key.clone(), value.clone());
        }
        Ok((unique, serde_json::Value::Object(checked)))
    }

    /// Fills a post from its `setId`: the set's accounts when it names
    /// none, and the set's settings where the post gives none.
    pub(crate) async fn apply_set(&self, caller: &Caller, mut input: CreatePostInput) -> AppResult<CreatePostInput> {
        let Some(set_id) = input.set_id.take() else { return Ok(input) };
        let row = PostSets(self.store.conn())
            .get(caller.workspace_id, set_id)
            .await?
            .ok_or_else(|| herald_core::ValidationError::new("setId", "is not a set of this workspace"))?;
        let set = view(&row);
        if input.platforms.is_empty() {
            input.platforms = set.integration_ids.clone();
        }
        if let serde_json::Value::Object(settings) = set.settings {
            for (id, settings) in settings {
                if !Uuid::parse_str(&id).ok().is_some_and(|id| input.platforms.contains(&id)) {
                    continue;
                }
                let entry = input.overrides.entry(id).or_default();
                if entry.settings.is_none() {
                    entry.settings = Some(settings);
                }
            }
        }
        Ok(input)
    }
}
