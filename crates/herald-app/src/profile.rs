//! The signed-in person's own account (name, time zone, password) and, for
//! instance administrators, everybody's (create, disable, role).

use herald_core::ValidationErrors;
use herald_core::account::{DisplayName, Password, TimeZone, UserRole};
use herald_store::repo::{Sessions, Users};
use uuid::Uuid;

use crate::App;
use crate::accounts::NewAccount;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::passwords::{hash_password, verify_password};
use crate::views::UserView;

impl App {
    /// Changes the caller's display name and time zone.
    pub async fn update_profile(&self, caller: &Caller, name: &str, timezone: &str) -> AppResult<UserView> {
        caller.require_session("changing your profile")?;
        let mut errors = ValidationErrors::default();
        let name = errors.collect(DisplayName::parse("name", name));
        let timezone = errors.collect(TimeZone::parse("timezone", timezone.trim()));
        errors.clone().into_result()?;
        let (Some(name), Some(timezone)) = (name, timezone) else { return Err(errors.into()) };
        let users = Users(self.store.conn());
        let mut user = users.by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        user.name = name.as_str().to_string();
        user.timezone = timezone.name().to_string();
        user.updated_at = self.now();
        Ok(UserView::from_row(&users.save(user).await?))
    }

    /// Changes the caller's password after checking the current one.
    pub async fn change_password(&self, caller: &Caller, current: &str, new: &str) -> AppResult<()> {
        caller.require_session("changing your password")?;
        let users = Users(self.store.conn());
        let mut user = users.by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        if !verify_password(current.to_string(), user.password_hash.clone()).await? {
            return Err(herald_core::ValidationError::new("currentPassword", "is not your current password").into());
        }
        let password = Password::parse(new).map_err(|e| herald_core::ValidationError::new("newPassword", e.message))?;
        user.password_hash = hash_password(password).await?;
        user.updated_at = self.now();
        users.save(user).await?;
        // Whoever knew the old password may hold a session: all but this one end.
        let keep = match caller.credential {
            crate::Credential::Session { id } => Some(id),
            crate::Credential::ApiKey { .. } => None,
        };
        let ended = Sessions(self.store.conn()).revoke_all(caller.user_id, keep, self.now()).await?;
        tracing::info!(user_id = %caller.user_id, other_sessions_ended = ended, "password changed");
        Ok(())
    }

    async fn require_admin(&self, caller: &Caller) -> AppResult<()> {
        caller.require_session("managing users")?;
        let user = Users(self.store.conn()).by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        if user.role != UserRole::Admin {
            return Err(AppError::forbidden("only administrators manage users"));
        }
        Ok(())
    }

    /// Every account, for an administrator.
    pub async fn admin_list_users(&self, caller: &Caller) -> AppResult<Vec<(UserView, bool)>> {
        self.require_admin(caller).await?;
        Ok(Users(self.store.conn()).list().await?.iter().map(|u| (UserView::from_row(u), u.is_disabled)).collect())
    }

    /// An administrator creates an account (also when registration is disabled).
    pub async fn admin_create_user(&self, caller: &Caller, account: NewAccount) -> AppResult<UserView> {
        self.require_admin(caller).await?;
        Ok(UserView::from_row(&self.create_account(account).await?))
    }

    /// Disables or enables an account, or changes its instance role. An
    /// administrator cannot lock themselves out.
    pub async fn admin_update_user(
        &self,
        caller: &Caller,
        id: Uuid,
        disabled: Option<bool>,
        role: Option<&str>,
    ) -> AppResult<UserView> {
        self.require_admin(caller).await?;
        let role = match role {
            Some(raw) => Some(UserRole::parse(raw).ok_or_else(|| {
                AppError::from(herald_core::ValidationError::new("role", format!("`{raw}` is not ADMIN or USER")))
            })?),
            None => None,
        };
        if id == caller.user_id && (disabled == Some(true) || role == Some(UserRole::User)) {
            return Err(AppError::Conflict("you cannot disable yourself or remove your own admin role".into()));
        }
        let users = Users(self.store.conn());
        let mut user = users.by_id(id).await?.ok_or(AppError::NotFound("user"))?;
        if let Some(disabled) = disabled {
            user.is_disabled = disabled;
            if disabled {
                Sessions(self.store.conn()).revoke_all(id, None, self.now()).await?;
            }
        }
        if let Some(role) = role {
            user.role = role;
        }
        user.updated_at = self.now();
        Ok(UserView::from_row(&users.save(user).await?))
    }
}
