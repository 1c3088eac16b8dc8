//! Who is asking, and what they may do. Every use case takes a `Caller`
//! and checks it before touching data; queries are scoped by its workspace.

use herald_core::account::WorkspaceRole;
use herald_core::api_key::{Scope, Scopes};
use herald_core::event::ActorType;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub enum Credential {
    /// A signed-in person (web UI session cookie or session token), with
    /// the id of the session, which ends on sign-out.
    Session { id: Uuid },
    /// An API key, acting with its scopes. `mcp` marks calls made through
    /// the MCP server, for the audit trail.
    ApiKey { id: Uuid, scopes: Scopes, mcp: bool },
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub role: WorkspaceRole,
    pub credential: Credential,
}

impl Caller {
    /// Checks both the key's scope (if any) and the member's role.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if let Credential::ApiKey { scopes, .. } = &self.credential
            && !scopes.contains(scope)
        {
            let message = match scope {
                Scope::PostsPublish => {
                    "this API key lacks the `posts:publish` scope: it may only create and edit drafts".to_string()
                }
                other => format!("this API key lacks the `{other}` scope"),
            };
            return Err(AppError::Forbidden { message, required_scope: Some(scope.as_str()) });
        }
        let allowed = match scope {
            Scope::PostsWrite => self.role.can_write(),
            Scope::PostsPublish => self.role.can_publish(),
            Scope::PostsRead | Scope::AnalyticsRead | Scope::IntegrationsRead => true,
        };
        if !allowed {
            return Err(AppError::forbidden(format!(
                "your role in this workspace ({}) does not allow this",
                self.role.as_str().to_lowercase()
            )));
        }
        Ok(())
    }

    /// For actions reserved to a signed-in person, never to a key.
    pub fn require_session(&self, action: &str) -> AppResult<()> {
        match self.credential {
            Credential::Session { .. } => Ok(()),
            Credential::ApiKey { .. } => {
                Err(AppError::forbidden(format!("{action} needs a signed-in session; API keys cannot do it")))
            }
        }
    }

    /// For managing the workspace's accounts (connect, change, disconnect):
    /// a signed-in owner or editor.
    pub fn require_account_manager(&self, action: &str) -> AppResult<()> {
        self.require_session(action)?;
        if !self.role.can_publish() {
            return Err(AppError::forbidden(format!(
                "your role in this workspace ({}) does not allow {action}",
                self.role.as_str().to_lowercase()
            )));
        }
        Ok(())
    }

    /// Actor columns of the event log.
    pub fn actor(&self) -> (ActorType, Uuid) {
        match &self.credential {
            Credential::Session { .. } => (ActorType::User, self.user_id),
            Credential::ApiKey { id, mcp: true, .. } => (ActorType::Mcp, *id),
            Credential::ApiKey { id, .. } => (ActorType::ApiKey, *id),
        }
    }

    pub fn api_key_id(&self) -> Option<Uuid> {
        match &self.credential {
            Credential::ApiKey { id, .. } => Some(*id),
            Credential::Session { .. } => None,
        }
    }
}

impl crate::App {
    /// A member acting without a request of their own (a feed they added,
    /// a connect link they made), with their role in the workspace today;
    /// `None` once they are no longer a member.
    pub(crate) async fn member_caller(&self, user_id: Uuid, workspace_id: Uuid) -> AppResult<Option<Caller>> {
        let membership = herald_store::repo::Users(self.store.conn()).membership(user_id, workspace_id).await?;
        Ok(membership.map(|m| Caller {
            user_id,
            workspace_id,
            role: m.role,
            credential: Credential::Session { id: Uuid::nil() },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: WorkspaceRole, scopes: Option<&[&str]>) -> Caller {
        Caller {
            user_id: Uuid::nil(),
            workspace_id: Uuid::nil(),
            role,
            credential: match scopes {
                None => Credential::Session { id: Uuid::nil() },
                Some(s) => Credential::ApiKey { id: Uuid::nil(), scopes: Scopes::parse("s", s).unwrap(), mcp: false },
            },
        }
    }

    #[test]
    fn keys_are_limited_by_scope_and_people_by_role() {
        let drafter = caller(WorkspaceRole::Owner, Some(&["posts:read", "posts:write"]));
        assert!(drafter.require(Scope::PostsWrite).is_ok());
        let err = drafter.require(Scope::PostsPublish).unwrap_err();
        assert!(err.to_string().contains("only create and edit drafts"));
        assert!(caller(WorkspaceRole::Contributor, None).require(Scope::PostsPublish).is_err());
        assert!(caller(WorkspaceRole::Viewer, None).require(Scope::PostsWrite).is_err());
        assert!(caller(WorkspaceRole::Viewer, None).require(Scope::PostsRead).is_ok());
        assert!(drafter.require_session("managing API keys").is_err());
        assert!(caller(WorkspaceRole::Owner, None).require_session("x").is_ok());
    }
}
