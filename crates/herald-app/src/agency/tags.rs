//! Coloured tags. Posts carry tag names (`tags` on a post); this is where
//! a name gets its colour, and where renaming a tag renames it on every
//! post. Deleting a tag leaves the name on its posts, uncoloured: nothing
//! anyone wrote is lost.

use chrono::{DateTime, Utc};
use herald_core::ValidationError;
use herald_core::api_key::Scope;
use herald_store::TagRow;
use herald_store::repo::{Posts, Tags};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

/// Colours given to tags created without one, in turn.
const PALETTE: [&str; 8] = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

/// Longest tag name (tags are short labels on calendar chips).
const MAX_NAME_CHARS: usize = 50;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTagInput {
    /// 1–50 characters, unique in the workspace (case-insensitively).
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// `#rrggbb` (or `#rgb`); one is picked when left out.
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub color: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTagInput {
    /// A new name: posts carrying the old one are renamed too.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub color: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagView {
    pub id: Uuid,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub created_at: DateTime<Utc>,
}

fn view(row: &TagRow) -> TagView {
    TagView { id: row.id, name: row.name.clone(), color: row.color.clone(), created_at: row.created_at }
}

fn tag_name(raw: &str) -> Result<String, ValidationError> {
    let name = super::name("name", raw)?;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ValidationError::new("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(name)
}

/// `#rgb` or `#rrggbb`, as lowercase `#rrggbb`.
pub fn parse_color(raw: &str) -> Result<String, ValidationError> {
    let hex = raw.trim().strip_prefix('#').unwrap_or_default();
    let valid = matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        return Err(ValidationError::new("color", format!("`{raw}` is not a colour like #1d9bf0")));
    }
    let hex = hex.to_lowercase();
    Ok(if hex.len() == 3 {
        format!("#{}", hex.chars().flat_map(|c| [c, c]).collect::<String>())
    } else {
        format!("#{hex}")
    })
}

impl App {
    pub async fn list_tags(&self, caller: &Caller) -> AppResult<Vec<TagView>> {
        caller.require(Scope::PostsRead)?;
        Ok(Tags(self.store.conn()).list(caller.workspace_id).await?.iter().map(view).collect())
    }

    pub async fn create_tag(&self, caller: &Caller, input: CreateTagInput) -> AppResult<TagView> {
        caller.require(Scope::PostsWrite)?;
        let (name, color) = super::both(tag_name(&input.name), input.color.as_deref().map(parse_color).transpose())?;
        let tags = Tags(self.store.conn());
        let existing = tags.list(caller.workspace_id).await?;
        refuse_taken(&existing, &name, None)?;
        let color = color.unwrap_or_else(|| PALETTE[existing.len() % PALETTE.len()].to_string());
        let now = self.now();
        let row = tags
            .insert(TagRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                name,
                color,
                created_at: now,
                updated_at: now,
            })
            .await?;
        Ok(view(&row))
    }

    pub async fn update_tag(&self, caller: &Caller, id: Uuid, input: UpdateTagInput) -> AppResult<TagView> {
        caller.require(Scope::PostsWrite)?;
        let mut errors = herald_core::ValidationErrors::default();
        let name = input.name.as_deref().map(tag_name).transpose();
        let name = errors.collect(name).flatten();
        let color = input.color.as_deref().map(parse_color).transpose();
        let color = errors.collect(color).flatten();
        errors.into_result()?;
        let txn = self.store.begin_write().await?;
        let tags = Tags(&txn);
        let mut row = tags.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("tag"))?;
        let now = self.now();
        if let Some(name) = name.filter(|name| *name != row.name) {
            refuse_taken(&tags.list(caller.workspace_id).await?, &name, Some(id))?;
            Posts(&txn).rename_tag(caller.workspace_id, &row.name, &name, now).await?;
            row.name = name;
        }
        if let Some(color) = color {
            row.color = color;
        }
        row.updated_at = now;
        let row = tags.save(row).await?;
        txn.commit().await.map_err(AppError::internal)?;
        Ok(view(&row))
    }

    pub async fn delete_tag(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require(Scope::PostsWrite)?;
        if !Tags(self.store.conn()).delete(caller.workspace_id, id).await? {
            return Err(AppError::NotFound("tag"));
        }
        Ok(())
    }
}

fn refuse_taken(existing: &[TagRow], name: &str, except: Option<Uuid>) -> Result<(), ValidationError> {
    if existing.iter().any(|t| Some(t.id) != except && t.name.to_lowercase() == name.to_lowercase()) {
        return Err(ValidationError::new("name", format!("a tag named “{name}” already exists")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_normalised_or_refused() {
        assert_eq!(parse_color("#1D9BF0").unwrap(), "#1d9bf0");
        assert_eq!(parse_color("#abc").unwrap(), "#aabbcc");
        for bad in ["1d9bf0", "#12345", "#ggg", "red", "", "#1d9bf0;x"] {
            assert!(parse_color(bad).is_err(), "{bad} was accepted");
        }
    }
}
