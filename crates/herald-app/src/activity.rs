//! Who did what, and what people should know: the audit trail
//! (`GET /audit`), the bell's notifications and e-mail preferences.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::ValidationErrors;
use herald_core::api_key::Scope;
use herald_core::event::{ActorType, EventKind};
use herald_core::notice::EmailPreferences;
use herald_core::schedule::parse_timestamp;
use herald_store::repo::{ApiKeys, AuditFilter, Events, Notifications, Users};
use herald_store::{EventRow, NotificationRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::pages::{Cursor, cut_page, parse_page};

/// Filters of `GET /audit`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Event types, comma-separated (`post_created,approval_approved`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A user, API key or MCP client id, or an actor type: `USER`,
    /// `API_KEY`, `MCP`, `SYSTEM`.
    #[param(pattern = r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|USER|API_KEY|MCP|SYSTEM)$")]
    pub actor: Option<String>,
    /// Only events at or after this time (ISO 8601 with offset).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Only events before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `nextCursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

/// Who did it, as people read it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorView {
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub id: Option<Uuid>,
    /// The user's name and e-mail, the API key's name, the MCP client's key
    /// name, or "Herald" for the system.
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub post_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    pub actor: ActorView,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Where to look, a path of the web UI.
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    pub notifications: Vec<NotificationView>,
    /// Unread notifications in this workspace.
    pub unread: u64,
    pub next_cursor: Option<String>,
}

/// `GET /notifications`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    #[param(pattern = r"^[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

/// `POST /notifications/read`: the given ids, or every one without ids.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkReadInput {
    pub ids: Option<Vec<Uuid>>,
}

impl App {
    /// The workspace's audit trail, newest first. OWNER or EDITOR.
    pub async fn audit_log(&self, caller: &Caller, query: AuditQuery) -> AppResult<AuditPage> {
        caller.require(Scope::PostsRead)?;
        if !caller.role.can_publish() {
            return Err(AppError::forbidden(format!(
                "your role in this workspace ({}) does not allow reading the audit log",
                caller.role.as_str().to_lowercase()
            )));
        }
        let mut errors = ValidationErrors::default();
        // Types Herald does not know match no event (a filter, not a form).
        let asked: Vec<&str> =
            query.kind.iter().flat_map(|k| k.split(',')).map(str::trim).filter(|k| !k.is_empty()).collect();
        let kinds: Vec<EventKind> = asked.iter().filter_map(|raw| EventKind::parse(raw)).collect();
        let none_known = !asked.is_empty() && kinds.is_empty();
        let (actor_type, actor_id) = match query.actor.as_deref() {
            None => (None, None),
            Some(raw) => match (ActorType::parse(raw), Uuid::parse_str(raw)) {
                (Some(kind), _) => (Some(kind), None),
                (None, Ok(id)) if raw.len() == 36 && !raw.bytes().any(|b| b.is_ascii_uppercase()) => (None, Some(id)),
                _ => {
                    errors.push("actor", format!("`{raw}` is neither an id nor USER, API_KEY, MCP or SYSTEM"));
                    (None, None)
                }
            },
        };
        let from = query.from.as_deref().and_then(|raw| errors.collect(parse_timestamp("from", raw)));
        let to = query.to.as_deref().and_then(|raw| errors.collect(parse_timestamp("to", raw)));
        let (limit, before) = parse_page(query.limit, query.cursor.as_deref(), &mut errors);
        errors.into_result()?;
        if none_known {
            return Ok(AuditPage { entries: Vec::new(), next_cursor: None });
        }
        let filter = AuditFilter {
            kinds,
            actor_type,
            actor_id,
            from,
            to,
            before: before.map(|c| (c.created_at, c.id)),
            limit: limit + 1,
        };
        let mut rows = Events(self.store.conn()).audit(caller.workspace_id, &filter).await?;
        let next_cursor = cut_page(&mut rows, limit, |e| Cursor { created_at: e.created_at, id: e.id });
        let names = self.actor_names(&rows).await?;
        let entries = rows
            .into_iter()
            .map(|e| AuditEntryView {
                id: e.id,
                kind: e.kind,
                occurred_at: e.created_at,
                post_id: e.post_id,
                integration_id: e.integration_id,
                actor: ActorView {
                    kind: e.actor_type,
                    id: e.actor_id,
                    name: match (e.actor_type, e.actor_id) {
                        (ActorType::System, _) | (_, None) => "Herald".to_string(),
                        (_, Some(id)) => names.get(&id).cloned().unwrap_or_else(|| "(deleted)".into()),
                    },
                },
                data: e.data,
            })
            .collect();
        Ok(AuditPage { entries, next_cursor })
    }

    /// Names of the users and keys that acted in these events.
    async fn actor_names(&self, events: &[EventRow]) -> AppResult<BTreeMap<Uuid, String>> {
        let mut names = BTreeMap::new();
        let users = Users(self.store.conn());
        let keys = ApiKeys(self.store.conn());
        for event in events {
            let Some(id) = event.actor_id else { continue };
            if names.contains_key(&id) {
                continue;
            }
            let name = match event.actor_type {
                ActorType::User => users.by_id(id).await?.map(|u| format!("{} <{}>", u.name, u.email)),
                ActorType::ApiKey => keys.by_id(id).await?.map(|k| format!("API key “{}”", k.name)),
                ActorType::Mcp => keys.by_id(id).await?.map(|k| format!("MCP client (key “{}”)", k.name)),
                ActorType::System => None,
            };
            if let Some(name) = name {
                names.insert(id, name);
            }
        }
        Ok(names)
    }

    /// The caller's notifications in this workspace, newest first.
    pub async fn notifications(&self, caller: &Caller, query: NotificationQuery) -> AppResult<NotificationPage> {
        caller.require(Scope::PostsRead)?;
        let mut errors = ValidationErrors::default();
        let (limit, before) = parse_page(query.limit, query.cursor.as_deref(), &mut errors);
        errors.into_result()?;
        let repo = Notifications(self.store.conn());
        let mut rows =
            repo.list(caller.user_id, caller.workspace_id, before.map(|c| (c.created_at, c.id)), limit + 1).await?;
        let next_cursor = cut_page(&mut rows, limit, |n| Cursor { created_at: n.created_at, id: n.id });
        let unread = repo.unread(caller.user_id, caller.workspace_id).await?;
        Ok(NotificationPage { notifications: rows.iter().map(notification_view).collect(), unread, next_cursor })
    }

    pub async fn unread_notifications(&self, caller: &Caller) -> AppResult<u64> {
        Ok(Notifications(self.store.conn()).unread(caller.user_id, caller.workspace_id).await?)
    }

    /// Marks notifications read; answers how many are still unread.
    pub async fn mark_notifications_read(&self, caller: &Caller, input: MarkReadInput) -> AppResult<u64> {
        caller.require(Scope::PostsRead)?;
        let repo = Notifications(self.store.conn());
        repo.mark_read(caller.user_id, caller.workspace_id, input.ids.as_deref(), self.now()).await?;
        Ok(repo.unread(caller.user_id, caller.workspace_id).await?)
    }

    pub async fn email_preferences(&self, caller: &Caller) -> AppResult<EmailPreferences> {
        caller.require_session("reading e-mail preferences")?;
        let user = Users(self.store.conn()).by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        Ok(preferences_of(user.notification_prefs.as_ref()))
    }

    pub async fn set_email_preferences(
        &self,
        caller: &Caller,
        preferences: EmailPreferences,
    ) -> AppResult<EmailPreferences> {
        caller.require_session("changing e-mail preferences")?;
        let users = Users(self.store.conn());
        let mut user = users.by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        user.notification_prefs = Some(serde_json::json!(preferences));
        user.updated_at = self.now();
        users.save(user).await?;
        Ok(preferences)
    }
}

/// Stored preferences; anything unreadable counts as the defaults.
pub fn preferences_of(stored: Option<&serde_json::Value>) -> EmailPreferences {
    stored.and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

fn notification_view(row: &NotificationRow) -> NotificationView {
    NotificationView {
        id: row.id,
        kind: row.kind.clone(),
        title: row.title.clone(),
        body: row.body.clone(),
        link: row.link.clone(),
        created_at: row.created_at,
        read: row.read_at.is_some(),
    }
}
