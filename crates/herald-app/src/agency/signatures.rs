//! Signatures: closing lines the composer inserts. The one marked
//! `autoAdd` is put into every new post the composer starts; as part of
//! the text it counts in each platform's length like any other character.

use chrono::{DateTime, Utc};
use herald_core::ValidationError;
use herald_core::api_key::Scope;
use herald_store::SignatureRow;
use herald_store::repo::Signatures;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

const MAX_CONTENT_CHARS: usize = 2000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSignatureInput {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The text inserted (1–2000 characters).
    #[schema(min_length = 1, max_length = 2000, pattern = r"^[^\x00]*\S[^\x00]*$")]
    pub content: String,
    /// Put into every new post by itself; only one signature can be.
    #[serde(default)]
    pub auto_add: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSignatureInput {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(min_length = 1, max_length = 2000, pattern = r"^[^\x00]*\S[^\x00]*$")]
    pub content: Option<String>,
    pub auto_add: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureView {
    pub id: Uuid,
    pub name: String,
    pub content: String,
    pub auto_add: bool,
    pub created_at: DateTime<Utc>,
}

fn view(row: &SignatureRow) -> SignatureView {
    SignatureView {
        id: row.id,
        name: row.name.clone(),
        content: row.content.clone(),
        auto_add: row.auto_add,
        created_at: row.created_at,
    }
}

fn content(raw: &str) -> Result<String, ValidationError> {
    // Leading line breaks are the composer's job; trailing spaces are noise.
    let content = raw.trim_end().to_string();
    if content.trim().is_empty() {
        return Err(ValidationError::new("content", "must not be empty"));
    }
    if content.contains('\0') {
        return Err(ValidationError::new("content", "must not contain NUL characters"));
    }
    let chars = content.chars().count();
    if chars > MAX_CONTENT_CHARS {
        return Err(ValidationError::new(
            "content",
            format!("must be at most {MAX_CONTENT_CHARS} characters (got {chars})"),
        ));
    }
    Ok(content)
}

impl App {
    pub async fn list_signatures(&self, caller: &Caller) -> AppResult<Vec<SignatureView>> {
        caller.require(Scope::PostsRead)?;
        Ok(Signatures(self.store.conn()).list(caller.workspace_id).await?.iter().map(view).collect())
    }

    /// The signature the composer adds to new posts, if any.
    pub async fn default_signature(&self, caller: &Caller) -> AppResult<Option<SignatureView>> {
        Ok(self.list_signatures(caller).await?.into_iter().find(|s| s.auto_add))
    }

    pub async fn create_signature(&self, caller: &Caller, input: CreateSignatureInput) -> AppResult<SignatureView> {
        caller.require(Scope::PostsWrite)?;
        let (name, content) = super::both(super::name("name", &input.name), content(&input.content))?;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let signatures = Signatures(&txn);
        let row = signatures
            .insert(SignatureRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                name,
                content,
                auto_add: input.auto_add,
                created_at: now,
                updated_at: now,
            })
            .await?;
        if row.auto_add {
            signatures.clear_auto_add(caller.workspace_id, row.id).await?;
        }
        txn.commit().await.map_err(AppError::internal)?;
        Ok(view(&row))
    }

    pub async fn update_signature(
        &self,
        caller: &Caller,
        id: Uuid,
        input: UpdateSignatureInput,
    ) -> AppResult<SignatureView> {
        caller.require(Scope::PostsWrite)?;
        let mut errors = herald_core::ValidationErrors::default();
        let name = input.name.as_deref().map(|raw| super::name("name", raw)).transpose();
        let name = errors.collect(name).flatten();
        let new_content = input.content.as_deref().map(content).transpose();
        let new_content = errors.collect(new_content).flatten();
        errors.into_result()?;
        let txn = self.store.begin_write().await?;
        let signatures = Signatures(&txn);
        let mut row = signatures.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("signature"))?;
        if let Some(name) = name {
            row.name = name;
        }
        if let Some(content) = new_content {
            row.content = content;
        }
        if let Some(auto_add) = input.auto_add {
            row.auto_add = auto_add;
        }
        row.updated_at = self.now();
        let row = signatures.save(row).await?;
        if row.auto_add {
            signatures.clear_auto_add(caller.workspace_id, row.id).await?;
        }
        txn.commit().await.map_err(AppError::internal)?;
        Ok(view(&row))
    }

    pub async fn delete_signature(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require(Scope::PostsWrite)?;
        if !Signatures(self.store.conn()).delete(caller.workspace_id, id).await? {
            return Err(AppError::NotFound("signature"));
        }
        Ok(())
    }
}
