//! Registration, login, sessions and API-key authentication.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use herald_core::ValidationErrors;
use herald_core::account::{DisplayName, Email, Password, TimeZone, UserRole, WorkspaceRole};
use herald_core::api_key::{Scopes, hash_key, looks_like_api_key};
use herald_store::repo::{ApiKeys, Membership, NewUser, Users};
use herald_store::{UserRow, now};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::{Caller, Credential};
use crate::error::{AppError, AppResult};
use crate::views::UserView;

/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::days(7);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub name: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`; defaults to UTC.
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// A signed-in session: the user and the token for the session cookie.
pub struct Session {
    pub user: UserView,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    jti: Uuid,
}

/// Keys that sign and check session tokens (HS256 with `JWT_SECRET`).
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SessionKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }
}

/// A user to create from the CLI (`herald user create`).
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub admin: bool,
}

impl App {
    /// Creates an account with its personal workspace. The first account of
    /// an instance is its admin. With `DISABLE_REGISTRATION`, only that
    /// first account can register itself; later ones come from an admin.
    pub async fn register(&self, input: RegisterInput) -> AppResult<Session> {
        let users = Users(self.store.conn());
        if self.settings.disable_registration && users.count().await? > 0 {
            return Err(AppError::forbidden(
                "registration is disabled on this instance; ask an administrator for an account",
            ));
        }
        let user = self
            .create_account(NewAccount {
                email: input.email,
                password: input.password,
                name: input.name,
                timezone: input.timezone,
                admin: false,
            })
            .await?;
        self.start_session(user)
    }

    /// Creates an account (used by registration and `herald user create`).
    pub async fn create_account(&self, new: NewAccount) -> AppResult<UserRow> {
        let mut errors = ValidationErrors::default();
        let email = errors.collect(Email::parse(&new.email));
        let password = errors.collect(Password::parse(&new.password));
        let name = match new.name.as_deref() {
            Some(raw) => errors.collect(DisplayName::parse("name", raw)).map(|n| n.as_str().to_string()),
            None => email.as_ref().map(|e| e.as_str().split('@').next().unwrap_or_default().to_string()),
        };
        let timezone = match new.timezone.as_deref() {
            Some(raw) => errors.collect(TimeZone::parse("timezone", raw)),
            None => Some(TimeZone::utc()),
        };
        errors.clone().into_result()?;
        let (Some(email), Some(password), Some(name), Some(timezone)) = (email, password, name, timezone) else {
            return Err(errors.into());
        };
        let password_hash = hash_password(password).await?;

        let txn = self.store.begin_write().await?;
        let users = Users(&txn);
        if users.by_email(email.as_str()).await?.is_some() {
            return Err(AppError::Conflict(format!("an account with the e-mail {email} already exists")));
        }
        let first = users.count().await? == 0;
        let role = if first || new.admin { UserRole::Admin } else { UserRole::User };
        let (user, _) = users
            .create_with_workspace(NewUser {
                email: email.as_str().to_string(),
                password_hash,
                name,
                role: role.as_str().to_string(),
                timezone: timezone.name().to_string(),
            })
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict(_) => {
                    AppError::Conflict(format!("an account with the e-mail {email} already exists"))
                }
                other => other,
            })?;
        txn.commit().await.map_err(AppError::internal)?;
        tracing::info!(user_id = %user.id, admin = first || new.admin, "account created");
        Ok(user)
    }

    /// Checks e-mail and password; the same message for an unknown e-mail
    /// and a wrong password, and the same work, so neither leaks which.
    pub async fn login(&self, input: LoginInput) -> AppResult<Session> {
        let wrong = || AppError::Unauthorized("wrong e-mail or password".into());
        let user = match Email::parse(&input.email) {
            Ok(email) => Users(self.store.conn()).by_email(email.as_str()).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(user) => user.password_hash.clone(),
            None => dummy_hash().await?,
        };
        let matches = verify_password(input.password, hash).await?;
        match user {
            Some(user) if matches && !user.is_disabled => self.start_session(user),
            Some(user) if matches && user.is_disabled => Err(AppError::forbidden("this account is disabled")),
            _ => Err(wrong()),
        }
    }

    fn start_session(&self, user: UserRow) -> AppResult<Session> {
        let issued = now();
        let expires_at = issued + SESSION_TTL;
        let claims = Claims { sub: user.id, iat: issued.timestamp(), exp: expires_at.timestamp(), jti: Uuid::new_v4() };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.session_keys.encoding)
            .map_err(AppError::internal)?;
        Ok(Session { user: UserView::from_row(&user), token, expires_at })
    }

    /// Resolves a session token from the cookie into a caller.
    pub async fn authenticate_session(&self, token: &str) -> AppResult<Caller> {
        let invalid = || AppError::Unauthorized("your session has expired or is invalid; sign in again".into());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.session_keys.decoding, &validation)
            .map_err(|_| invalid())?
            .claims;
        let user = Users(self.store.conn()).by_id(claims.sub).await?.ok_or_else(invalid)?;
        if user.is_disabled {
            return Err(AppError::forbidden("this account is disabled"));
        }
        let membership = self.default_membership(user.id).await?;
        Ok(Caller {
            user_id: user.id,
            workspace_id: membership.workspace_id,
            role: parse_role(&membership.role)?,
            credential: Credential::Session,
        })
    }

    /// Resolves an API key (`ptz_…`) into a caller acting with its scopes.
    pub async fn authenticate_api_key(&self, token: &str, via_mcp: bool) -> AppResult<Caller> {
        let invalid = || AppError::Unauthorized("invalid API key".into());
        if !looks_like_api_key(token) {
            return Err(invalid());
        }
        let keys = ApiKeys(self.store.conn());
        let key = keys.by_hash(&hash_key(token)).await?.ok_or_else(invalid)?;
        if !key.is_active {
            return Err(AppError::Unauthorized("this API key has been revoked".into()));
        }
        let now = now();
        if key.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::Unauthorized("this API key has expired".into()));
        }
        let user = Users(self.store.conn()).by_id(key.user_id).await?.ok_or_else(invalid)?;
        if user.is_disabled {
            return Err(AppError::forbidden("the account of this API key is disabled"));
        }
        let membership = Users(self.store.conn())
            .membership(user.id, key.workspace_id)
            .await?
            .ok_or_else(|| AppError::forbidden("the owner of this API key is no longer a member of its workspace"))?;
        let scopes: Vec<String> = serde_json::from_value(key.scopes.clone()).map_err(AppError::internal)?;
        let scopes = Scopes::parse("scopes", &scopes).map_err(AppError::internal)?;
        keys.touch(key.id, now).await?;
        Ok(Caller {
            user_id: user.id,
            workspace_id: key.workspace_id,
            role: parse_role(&membership.role)?,
            credential: Credential::ApiKey { id: key.id, scopes, mcp: via_mcp },
        })
    }

    /// Whether a caller's credential still holds: a key revoked or expired
    /// since a long-lived session (MCP) started must stop working there too.
    pub async fn still_authorized(&self, caller: &Caller) -> AppResult<()> {
        let Credential::ApiKey { id, .. } = &caller.credential else { return Ok(()) };
        let key = ApiKeys(self.store.conn()).by_id(*id).await?;
        match key {
            Some(key) if key.is_active && key.expires_at.is_none_or(|at| at > now()) => Ok(()),
            Some(key) if !key.is_active => Err(AppError::Unauthorized("this API key has been revoked".into())),
            Some(_) => Err(AppError::Unauthorized("this API key has expired".into())),
            None => Err(AppError::Unauthorized("invalid API key".into())),
        }
    }

    /// The signed-in user, as `GET /me` shows them.
    pub async fn me(&self, caller: &Caller) -> AppResult<UserView> {
        let user = Users(self.store.conn()).by_id(caller.user_id).await?.ok_or(AppError::NotFound("user"))?;
        let mut view = UserView::from_row(&user);
        view.workspace_id = Some(caller.workspace_id);
        view.workspace_role = Some(caller.role);
        if let Credential::ApiKey { scopes, .. } = &caller.credential {
            view.api_key_scopes = Some(scopes.as_strings());
        }
        Ok(view)
    }

    /// An account and the workspace it acts in, by e-mail (for the CLI).
    pub async fn account_by_email(&self, email: &str) -> AppResult<(UserView, Uuid)> {
        let email = Email::parse(email)?;
        let user = Users(self.store.conn())
            .by_email(email.as_str())
            .await?
            .ok_or_else(|| AppError::Conflict(format!("no account with the e-mail {email}")))?;
        let membership = self.default_membership(user.id).await?;
        Ok((UserView::from_row(&user), membership.workspace_id))
    }

    /// Every account of the instance (for administrators and the CLI).
    pub async fn list_users(&self) -> AppResult<Vec<UserView>> {
        Ok(Users(self.store.conn()).list().await?.iter().map(UserView::from_row).collect())
    }

    pub(crate) async fn default_membership(&self, user_id: Uuid) -> AppResult<Membership> {
        Users(self.store.conn())
            .default_membership(user_id)
            .await?
            .ok_or_else(|| AppError::forbidden("this account belongs to no workspace"))
    }
}

fn parse_role(raw: &str) -> AppResult<WorkspaceRole> {
    WorkspaceRole::parse(raw)
        .ok_or_else(|| AppError::Internal(format!("unknown workspace role `{raw}` in the database").into()))
}

/// The hash of a random password, verified when the e-mail is unknown so
/// that a failed login always costs one verification.
async fn dummy_hash() -> AppResult<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async {
            let random = herald_core::api_key::NewApiKey::generate().plaintext;
            hash_password(Password::parse(&random)?).await
        })
        .await
        .cloned()
}

/// argon2id with the crate's defaults (OWASP's m=19 MiB, t=2, p=1), off the
/// async threads: hashing takes tens of milliseconds by design.
pub async fn hash_password(password: Password) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        PasswordHasher::<PasswordHash>::hash_password(&Argon2::default(), password.expose().as_bytes())
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::Internal(e.to_string().into()))
}

pub(crate) async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(AppError::internal)
}
