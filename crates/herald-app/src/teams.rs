//! Teams (DESIGN §11): the workspaces a person belongs to, their members
//! and roles, and invites. Owners manage members; the last owner can
//! neither leave nor be demoted; a removed member's sessions in the
//! workspace end and their keys there stop working at once.

use chrono::{DateTime, Duration, Utc};
use herald_core::account::{DisplayName, Email, WorkspaceRole};
use herald_core::event::EventKind;
use herald_store::repo::{ApiKeys, Events, Invites, NewEmail, NewEvent, NewInvite, Outbox, Sessions, Users};
use herald_store::{EventRow, InviteRow, WorkspaceRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::{Caller, Credential};
use crate::error::{AppError, AppResult};

/// How long an invite link works.
pub const INVITE_TTL: Duration = Duration::days(7);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceView {
    pub id: Uuid,
    pub name: String,
    /// Your role in it.
    pub role: WorkspaceRole,
    /// Posts by members below EDITOR must be approved before they go out.
    pub require_approval: bool,
    /// This request acts in it.
    pub current: bool,
    pub created_at: DateTime<Utc>,
}

impl WorkspaceView {
    fn of(row: &WorkspaceRow, role: WorkspaceRole, current: bool) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            role,
            require_approval: row.require_approval,
            current,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: WorkspaceRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub id: Uuid,
    pub email: String,
    pub role: WorkspaceRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new invite: the link is shown here once (and e-mailed when SMTP is set).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInviteView {
    pub id: Uuid,
    pub email: String,
    pub role: WorkspaceRole,
    /// `{MAIN_URL}/invites/{token}`: the token is its last path segment.
    pub invite_url: String,
    pub expires_at: DateTime<Utc>,
    /// The link was queued for e-mail to the invitee.
    pub emailed: bool,
}

/// What the invite page shows before someone accepts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePreview {
    pub workspace_name: String,
    pub invited_by: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWorkspaceInput {
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorkspaceInput {
    /// 1–100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    pub require_approval: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInviteInput {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Defaults to CONTRIBUTOR.
    pub role: Option<WorkspaceRole>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMemberInput {
    pub role: WorkspaceRole,
}

impl App {
    /// The caller's workspaces, the one this request acts in marked.
    pub async fn list_workspaces(&self, caller: &Caller) -> AppResult<Vec<WorkspaceView>> {
        let memberships = Users(self.store.conn()).workspaces_of(caller.user_id).await?;
        Ok(memberships
            .iter()
            // A key sees only the workspace it acts in.
            .filter(|(w, _)| matches!(caller.credential, Credential::Session { .. }) || w.id == caller.workspace_id)
            .map(|(w, role)| WorkspaceView::of(w, *role, w.id == caller.workspace_id))
            .collect())
    }

    /// One of the caller's workspaces; any other answers 404.
    pub async fn get_workspace(&self, caller: &Caller, id: Uuid) -> AppResult<WorkspaceView> {
        if matches!(caller.credential, Credential::ApiKey { .. }) && id != caller.workspace_id {
            return Err(AppError::NotFound("workspace"));
        }
        let users = Users(self.store.conn());
        let membership = users.membership(caller.user_id, id).await?.ok_or(AppError::NotFound("workspace"))?;
        let workspace = users.workspace(id).await?.ok_or(AppError::NotFound("workspace"))?;
        Ok(WorkspaceView::of(&workspace, membership.role, id == caller.workspace_id))
    }

    /// A new workspace, owned by the caller.
    pub async fn create_workspace(&self, caller: &Caller, input: CreateWorkspaceInput) -> AppResult<WorkspaceView> {
        caller.require_session("creating a workspace")?;
        let name = DisplayName::parse("name", &input.name)?;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let workspace = Users(&txn).create_workspace(name.as_str(), caller.user_id, now).await?;
        let data = serde_json::json!({ "name": workspace.name });
        let event = self.audit(&txn, caller, workspace.id, EventKind::WorkspaceCreated, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        Ok(WorkspaceView::of(&workspace, WorkspaceRole::Owner, false))
    }

    /// Renames a workspace or turns required approval on or off. OWNER.
    pub async fn update_workspace(
        &self,
        caller: &Caller,
        id: Uuid,
        input: UpdateWorkspaceInput,
    ) -> AppResult<WorkspaceView> {
        let (workspace, role) = self.owned_workspace(caller, id, "changing the workspace").await?;
        let mut row = workspace.clone();
        if let Some(name) = &input.name {
            row.name = DisplayName::parse("name", name)?.as_str().to_string();
        }
        if let Some(required) = input.require_approval {
            row.require_approval = required;
        }
        let txn = self.store.begin_write().await?;
        let row = Users(&txn).save_workspace(row).await?;
        let data = serde_json::json!({ "name": row.name, "requireApproval": row.require_approval });
        let event = self.audit(&txn, caller, id, EventKind::WorkspaceUpdated, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        Ok(WorkspaceView::of(&row, role, id == caller.workspace_id))
    }

    /// Makes the caller's session act in another of their workspaces (the
    /// UI switcher). Session only.
    pub async fn select_workspace(&self, caller: &Caller, id: Uuid) -> AppResult<WorkspaceView> {
        let Credential::Session { id: session } = caller.credential else {
            return Err(AppError::forbidden("switching workspaces needs a signed-in session"));
        };
        let users = Users(self.store.conn());
        let membership = users.membership(caller.user_id, id).await?.ok_or(AppError::NotFound("workspace"))?;
        let workspace = users.workspace(id).await?.ok_or(AppError::NotFound("workspace"))?;
        Sessions(self.store.conn()).select_workspace(session, id).await?;
        Ok(WorkspaceView::of(&workspace, membership.role, true))
    }

    /// (user id, name) of everyone in the caller's workspace, to name who
    /// asked for an approval. Any member may see who their teammates are.
    pub async fn workspace_people(&self, caller: &Caller) -> AppResult<Vec<(Uuid, String)>> {
        Ok(Users(self.store.conn())
            .members(caller.workspace_id)
            .await?
            .into_iter()
            .map(|m| (m.user.id, m.user.name))
            .collect())
    }

    pub async fn list_members(&self, caller: &Caller, workspace_id: Uuid) -> AppResult<Vec<MemberView>> {
        self.owned_workspace(caller, workspace_id, "seeing the members").await?;
        Ok(Users(self.store.conn())
            .members(workspace_id)
            .await?
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user.id,
                email: m.user.email,
                name: m.user.name,
                role: m.role,
                joined_at: m.joined_at,
            })
            .collect())
    }

    /// Changes a member's role. OWNER; the last owner keeps the role.
    pub async fn update_member(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        user_id: Uuid,
        input: UpdateMemberInput,
    ) -> AppResult<MemberView> {
        self.owned_workspace(caller, workspace_id, "changing roles").await?;
        let txn = self.store.begin_write().await?;
        let users = Users(&txn);
        let member = users.membership(user_id, workspace_id).await?.ok_or(AppError::NotFound("member"))?;
        if member.role == WorkspaceRole::Owner
            && input.role != WorkspaceRole::Owner
            && users.owner_count(workspace_id).await? <= 1
        {
            return Err(AppError::Conflict("this is the workspace's last owner: make someone else owner first".into()));
        }
        users.set_role(workspace_id, user_id, input.role).await?;
        let user = users.by_id(user_id).await?.ok_or(AppError::NotFound("member"))?;
        let data = serde_json::json!({ "userId": user_id, "email": user.email, "from": member.role, "to": input.role });
        let event = self.audit(&txn, caller, workspace_id, EventKind::MemberRoleChanged, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        tracing::info!(%workspace_id, %user_id, role = %input.role, "member role changed");
        let joined_at = self.joined_at(workspace_id, user_id).await?;
        Ok(MemberView { user_id, email: user.email, name: user.name, role: input.role, joined_at })
    }

    /// Removes a member (OWNER), or the caller leaves. Their sessions in
    /// the workspace end and their keys there are deactivated, in the same
    /// transaction. The last owner cannot go.
    pub async fn remove_member(&self, caller: &Caller, workspace_id: Uuid, user_id: Uuid) -> AppResult<()> {
        let leaving = user_id == caller.user_id;
        if leaving {
            caller.require_session("leaving a workspace")?;
            Users(self.store.conn())
                .membership(caller.user_id, workspace_id)
                .await?
                .ok_or(AppError::NotFound("workspace"))?;
        } else {
            self.owned_workspace(caller, workspace_id, "removing members").await?;
        }
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let users = Users(&txn);
        let member = users.membership(user_id, workspace_id).await?.ok_or(AppError::NotFound("member"))?;
        if member.role == WorkspaceRole::Owner && users.owner_count(workspace_id).await? <= 1 {
            return Err(AppError::Conflict("this is the workspace's last owner: make someone else owner first".into()));
        }
        let email = users.by_id(user_id).await?.map(|u| u.email).unwrap_or_default();
        users.remove_member(workspace_id, user_id).await?;
        let sessions = Sessions(&txn).revoke_in_workspace(user_id, workspace_id, now).await?;
        let keys = ApiKeys(&txn).deactivate_in_workspace(user_id, workspace_id).await?;
        let data = serde_json::json!({ "userId": user_id, "email": email, "role": member.role, "left": leaving });
        let event = self.audit(&txn, caller, workspace_id, EventKind::MemberRemoved, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        tracing::info!(%workspace_id, %user_id, sessions, keys, leaving, "member removed");
        Ok(())
    }

    /// An invite link for an e-mail address and a role. OWNER. Single use,
    /// 7 days; e-mailed when SMTP is configured.
    pub async fn create_invite(
        &self,
        caller: &Caller,
        workspace_id: Uuid,
        input: CreateInviteInput,
    ) -> AppResult<CreatedInviteView> {
        let (workspace, _) = self.owned_workspace(caller, workspace_id, "inviting people").await?;
        let email = Email::parse(&input.email)?;
        let role = input.role.unwrap_or(WorkspaceRole::Contributor);
        let now = self.now();
        let (token, token_hash) = herald_core::api_key::new_link_token();
        let invite_url = format!("{}/invites/{token}", self.settings.main_url.trim_end_matches('/'));
        let txn = self.store.begin_write().await?;
        let users = Users(&txn);
        if let Some(existing) = users.by_email(email.as_str()).await?
            && users.membership(existing.id, workspace_id).await?.is_some()
        {
            return Err(AppError::Conflict(format!("{email} is already a member of this workspace")));
        }
        let invite = Invites(&txn)
            .create(NewInvite {
                workspace_id,
                email: email.as_str().to_string(),
                role,
                token_hash,
                created_by: caller.user_id,
                created_at: now,
                expires_at: now + INVITE_TTL,
            })
            .await?;
        let inviter = users.by_id(caller.user_id).await?.map(|u| u.name).unwrap_or_default();
        let emailed = self.settings.email;
        if emailed {
            let message = herald_core::notice::invite(&inviter, &workspace.name, role, &invite_url, invite.expires_at);
            Outbox(&txn)
                .enqueue(vec![NewEmail {
                    recipient: email.as_str().to_string(),
                    subject: message.subject,
                    text_body: message.text,
                    html_body: message.html,
                    kind: "invite".into(),
                    event_id: None,
                    created_at: now,
                }])
                .await?;
        }
        let data = serde_json::json!({ "inviteId": invite.id, "email": invite.email, "role": role });
        let event = self.audit(&txn, caller, workspace_id, EventKind::MemberInvited, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        tracing::info!(%workspace_id, invite_id = %invite.id, emailed, "invite created");
        Ok(CreatedInviteView {
            id: invite.id,
            email: invite.email,
            role,
            invite_url,
            expires_at: invite.expires_at,
            emailed,
        })
    }

    pub async fn list_invites(&self, caller: &Caller, workspace_id: Uuid) -> AppResult<Vec<InviteView>> {
        self.owned_workspace(caller, workspace_id, "seeing invites").await?;
        Ok(Invites(self.store.conn()).open(workspace_id, self.now()).await?.iter().map(invite_view).collect())
    }

    pub async fn revoke_invite(&self, caller: &Caller, workspace_id: Uuid, id: Uuid) -> AppResult<()> {
        self.owned_workspace(caller, workspace_id, "revoking invites").await?;
        let txn = self.store.begin_write().await?;
        let invite = Invites(&txn).revoke(workspace_id, id, self.now()).await?.ok_or(AppError::NotFound("invite"))?;
        let data = serde_json::json!({ "inviteId": invite.id, "email": invite.email });
        let event = self.audit(&txn, caller, workspace_id, EventKind::InviteRevoked, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        Ok(())
    }

    /// What an invite offers, for the page behind its link (no sign-in).
    pub async fn preview_invite(&self, token: &str) -> AppResult<InvitePreview> {
        let invite = self.open_invite(token).await?;
        let users = Users(self.store.conn());
        let workspace = users.workspace(invite.workspace_id).await?.ok_or(AppError::NotFound("invite"))?;
        let inviter = users.by_id(invite.created_by).await?.map(|u| u.name).unwrap_or_default();
        Ok(InvitePreview {
            workspace_name: workspace.name,
            invited_by: inviter,
            email: invite.email,
            role: invite.role,
            expires_at: invite.expires_at,
        })
    }

    /// Joins the invite's workspace with its role. Signed in, as the person
    /// invited (the e-mail addresses must match); once.
    pub async fn accept_invite(&self, caller: &Caller, token: &str) -> AppResult<WorkspaceView> {
        caller.require_session("accepting an invite")?;
        let invite = self.open_invite(token).await?;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let users = Users(&txn);
        let user = users.by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        if !user.email.eq_ignore_ascii_case(&invite.email) {
            return Err(AppError::forbidden(format!(
                "this invite is for {}; sign in with that address to accept it",
                invite.email
            )));
        }
        if users.membership(user.id, invite.workspace_id).await?.is_some() {
            return Err(AppError::Conflict("you are already a member of this workspace".into()));
        }
        if !Invites(&txn).accept(invite.id, user.id, now).await? {
            return Err(AppError::Conflict("this invite was already used or revoked".into()));
        }
        users.add_member(invite.workspace_id, user.id, invite.role, now).await?;
        let workspace = users.workspace(invite.workspace_id).await?.ok_or(AppError::NotFound("invite"))?;
        let data =
            serde_json::json!({ "userId": user.id, "email": user.email, "role": invite.role, "inviteId": invite.id });
        let event = self.audit(&txn, caller, invite.workspace_id, EventKind::MemberJoined, data).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.store.publish_events(vec![event]).await;
        tracing::info!(workspace_id = %invite.workspace_id, user_id = %user.id, role = %invite.role, "invite accepted");
        Ok(WorkspaceView::of(&workspace, invite.role, false))
    }

    /// An invite that can still be accepted; any other answers 404 with why.
    async fn open_invite(&self, token: &str) -> AppResult<InviteRow> {
        let invite = Invites(self.store.conn())
            .by_token_hash(&herald_core::api_key::hash_key(token.trim()))
            .await?
            .ok_or(AppError::NotFound("invite"))?;
        if invite.accepted_at.is_some() {
            return Err(AppError::Conflict("this invite was already used".into()));
        }
        if invite.revoked_at.is_some() || invite.expires_at <= self.now() {
            return Err(AppError::Conflict("this invite has expired or was revoked; ask for a new one".into()));
        }
        Ok(invite)
    }

    /// The workspace, if the caller owns it and acts as a person. Another
    /// workspace answers 404; one where they are not owner, 403.
    async fn owned_workspace(
        &self,
        caller: &Caller,
        id: Uuid,
        action: &str,
    ) -> AppResult<(WorkspaceRow, WorkspaceRole)> {
        caller.require_session(action)?;
        let users = Users(self.store.conn());
        let membership = users.membership(caller.user_id, id).await?.ok_or(AppError::NotFound("workspace"))?;
        if !membership.role.can_manage() {
            return Err(AppError::forbidden(format!(
                "your role in this workspace ({}) does not allow {action}; ask an owner",
                membership.role.as_str().to_lowercase()
            )));
        }
        let workspace = users.workspace(id).await?.ok_or(AppError::NotFound("workspace"))?;
        Ok((workspace, membership.role))
    }

    async fn joined_at(&self, workspace_id: Uuid, user_id: Uuid) -> AppResult<DateTime<Utc>> {
        Ok(Users(self.store.conn())
            .members(workspace_id)
            .await?
            .into_iter()
            .find(|m| m.user.id == user_id)
            .map_or_else(|| self.now(), |m| m.joined_at))
    }

    /// Appends an event about the workspace itself (members, invites,
    /// settings) with the caller as actor.
    pub(crate) async fn audit(
        &self,
        txn: &herald_store::Transaction,
        caller: &Caller,
        workspace_id: Uuid,
        kind: EventKind,
        data: serde_json::Value,
    ) -> AppResult<EventRow> {
        let (actor_type, actor_id) = caller.actor();
        Ok(Events(txn)
            .append(NewEvent {
                at: self.now(),
                workspace_id,
                kind,
                post_id: None,
                integration_id: None,
                actor_type,
                actor_id: Some(actor_id),
                data,
            })
            .await?)
    }
}

fn invite_view(row: &InviteRow) -> InviteView {
    InviteView {
        id: row.id,
        email: row.email.clone(),
        role: row.role,
        created_at: row.created_at,
        expires_at: row.expires_at,
    }
}
