//! Registration, login, sessions and API-key authentication.

use chrono::{DateTime, Duration, Utc};
use herald_core::ValidationErrors;
use herald_core::account::{DisplayName, Email, Password, TimeZone, UserRole};
use herald_core::api_key::{hash_key, looks_like_api_key};
use herald_store::repo::{ApiKeys, Membership, NewUser, Sessions, Users};
use herald_store::{ApiKeyRow, UserRow};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::{Caller, Credential};
use crate::error::{AppError, AppResult};
use crate::passwords::{hash_password, verify_password};
use crate::views::UserView;

/// How long a login lasts.
pub const SESSION_TTL: Duration = Duration::days(7);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInput {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 12 to 1024 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    /// 1–100 characters, no control characters; defaults to the e-mail's name.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`; defaults to UTC.
    #[schema(value_type = Option<crate::schema::TimeZoneName>)]
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

/// What a session token says. `jti` names the session's row: the token is
/// valid only while that row says the session runs.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    iat: i64,
    exp: i64,
    jti: Uuid,
}

/// Clock skew tolerated on `exp` and `iat`, in seconds.
const LEEWAY_SECONDS: i64 = 5;

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
        self.start_session(user).await
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
                created_at: self.now(),
                email: email.as_str().to_string(),
                password_hash,
                name,
                role,
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
    /// After a few failures the address is locked for a while, longer with
    /// each further failure ([`crate::throttle`]), whatever the password.
    pub async fn login(&self, input: LoginInput) -> AppResult<Session> {
        let wrong = || AppError::Unauthorized("wrong e-mail or password".into());
        let throttle_key = input.email.trim().to_lowercase();
        self.login_throttle.check(&throttle_key)?;
        let user = match Email::parse(&input.email) {
            Ok(email) => Users(self.store.conn()).by_email(email.as_str()).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(user) => user.password_hash.clone(),
            None => dummy_hash().await?,
        };
        if !verify_password(input.password, hash).await? {
            self.login_throttle.failed(&throttle_key);
            tracing::info!("failed sign-in");
            return Err(wrong());
        }
        self.login_throttle.succeeded(&throttle_key);
        match user {
            Some(user) if !user.is_disabled => self.start_session(user).await,
            Some(_) => Err(AppError::forbidden("this account is disabled")),
            None => Err(wrong()),
        }
    }

    async fn start_session(&self, user: UserRow) -> AppResult<Session> {
        let issued = self.now();
        let expires_at = issued + SESSION_TTL;
        let sessions = Sessions(self.store.conn());
        // Ended sessions are swept as new ones start: no job of its own.
        sessions.delete_ended(issued).await?;
        let session = sessions.create(user.id, issued, expires_at).await?;
        let claims = Claims { sub: user.id, iat: issued.timestamp(), exp: expires_at.timestamp(), jti: session.id };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.session_keys.encoding)
            .map_err(AppError::internal)?;
        Ok(Session { user: UserView::from_row(&user), token, expires_at })
    }

    /// The claims of a well-signed, unexpired token issued in the past.
    fn session_claims(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS.unsigned_abs();
        let claims = jsonwebtoken::decode::<Claims>(token, &self.session_keys.decoding, &validation).ok()?.claims;
        // A token "issued" in the future was not issued by us.
        (claims.iat <= self.now().timestamp() + LEEWAY_SECONDS).then_some(claims)
    }

    /// Signs out: the token's session ends on the server, so a copy of the
    /// cookie stops working too. An invalid token has nothing to end.
    pub async fn end_session(&self, token: &str) -> AppResult<()> {
        if let Some(claims) = self.session_claims(token) {
            Sessions(self.store.conn()).revoke(claims.jti, self.now()).await?;
        }
        Ok(())
    }

    /// "Sign out everywhere": every session of the caller ends, this one too.
    pub async fn end_all_sessions(&self, caller: &Caller) -> AppResult<u64> {
        caller.require_session("signing out everywhere")?;
        let ended = Sessions(self.store.conn()).revoke_all(caller.user_id, None, self.now()).await?;
        tracing::info!(user_id = %caller.user_id, ended, "signed out everywhere");
        Ok(ended)
    }

    /// Resolves a session token from the cookie into a caller, acting in
    /// `workspace` (the `X-Herald-Workspace` header) when given, else in the
    /// workspace the UI switcher chose, else in the oldest membership.
    pub async fn authenticate_session(&self, token: &str, workspace: Option<Uuid>) -> AppResult<Caller> {
        let invalid = || AppError::Unauthorized("your session has expired or is invalid; sign in again".into());
        let claims = self.session_claims(token).ok_or_else(invalid)?;
        let session =
            Sessions(self.store.conn()).active(claims.jti, claims.sub, self.now()).await?.ok_or_else(invalid)?;
        let users = Users(self.store.conn());
        // The workspace chosen earlier is a preference: once its member
        // has left it, the session falls back to their oldest workspace.
        let standing = users.standing(claims.sub, workspace.or(session.workspace_id)).await?.ok_or_else(invalid)?;
        if standing.is_disabled {
            return Err(AppError::forbidden("this account is disabled"));
        }
        let membership = match (standing.membership, workspace) {
            (Some(membership), _) => membership,
            (None, Some(_)) => return Err(not_a_member()),
            (None, None) => self.default_membership(claims.sub).await?,
        };
        Ok(Caller {
            user_id: claims.sub,
            workspace_id: membership.workspace_id,
            role: membership.role,
            credential: Credential::Session { id: claims.jti },
        })
    }

    /// Resolves an API key (`ptz_…`) into a caller acting with its scopes,
    /// in the key's workspace: asking for another one is refused.
    pub async fn authenticate_api_key_in(
        &self,
        token: &str,
        via_mcp: bool,
        workspace: Option<Uuid>,
    ) -> AppResult<Caller> {
        let caller = self.authenticate_api_key(token, via_mcp).await?;
        match workspace {
            Some(asked) if asked != caller.workspace_id => Err(AppError::forbidden(
                "an API key acts only in the workspace it was created in; drop the X-Herald-Workspace header or use a key of that workspace",
            )),
            _ => Ok(caller),
        }
    }

    /// Resolves an API key (`ptz_…`) into a caller acting with its scopes.
    pub async fn authenticate_api_key(&self, token: &str, via_mcp: bool) -> AppResult<Caller> {
        let invalid = || AppError::Unauthorized("invalid API key".into());
        if !looks_like_api_key(token) {
            return Err(invalid());
        }
        let key = ApiKeys(self.store.conn()).by_hash(&hash_key(token)).await?.ok_or_else(invalid)?;
        // A connected app's grant is used through its OAuth tokens only.
        if key.mcp_client_id.is_some() {
            return Err(invalid());
        }
        self.caller_for_key(key, via_mcp).await
    }

    /// The caller a key (or a connected app's grant) acts as, once its
    /// revocation, expiry, owner and membership are checked.
    pub(crate) async fn caller_for_key(&self, key: ApiKeyRow, via_mcp: bool) -> AppResult<Caller> {
        let invalid = || AppError::Unauthorized("invalid API key".into());
        if !key.is_active {
            return Err(AppError::Unauthorized(revoked_message(&key).into()));
        }
        let now = self.now();
        if key.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::Unauthorized("this API key has expired".into()));
        }
        let standing =
            Users(self.store.conn()).standing(key.user_id, Some(key.workspace_id)).await?.ok_or_else(invalid)?;
        if standing.is_disabled {
            return Err(AppError::forbidden("the account of this API key is disabled"));
        }
        let membership = standing
            .membership
            .ok_or_else(|| AppError::forbidden("the owner of this API key is no longer a member of its workspace"))?;
        let scopes = crate::api_keys::stored_scopes(&key.scopes)?;
        ApiKeys(self.store.conn()).touch(&key, now).await?;
        Ok(Caller {
            user_id: key.user_id,
            workspace_id: key.workspace_id,
            role: membership.role,
            credential: Credential::ApiKey { id: key.id, scopes, mcp: via_mcp },
        })
    }

    /// Whether a caller's credential still holds (and its member still
    /// belongs to the workspace): a key revoked or expired,
    /// a session ended, or an account disabled since a long-lived stream
    /// (events, MCP) started must stop working there too.
    pub async fn still_authorized(&self, caller: &Caller) -> AppResult<()> {
        let now = self.now();
        match &caller.credential {
            Credential::ApiKey { id, .. } => match ApiKeys(self.store.conn()).by_id(*id).await? {
                Some(key) if !key.is_active => {
                    return Err(AppError::Unauthorized(revoked_message(&key).into()));
                }
                Some(key) if key.expires_at.is_some_and(|at| at <= now) => {
                    return Err(AppError::Unauthorized("this API key has expired".into()));
                }
                Some(_) => {}
                None => return Err(AppError::Unauthorized("invalid API key".into())),
            },
            Credential::Session { id } => {
                if Sessions(self.store.conn()).active(*id, caller.user_id, now).await?.is_none() {
                    return Err(AppError::Unauthorized("your session has ended; sign in again".into()));
                }
            }
        }
        let standing = Users(self.store.conn()).standing(caller.user_id, Some(caller.workspace_id)).await?;
        let membership = match standing {
            Some(standing) if !standing.is_disabled => standing.membership,
            _ => return Err(AppError::forbidden("this account is disabled")),
        };
        match membership {
            Some(membership) if membership.role == caller.role => Ok(()),
            Some(_) => Err(AppError::Unauthorized("your role in this workspace changed; connect again".into())),
            None => Err(not_a_member()),
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

    /// How many accounts the instance has (to tell the operator, at start,
    /// whether registration is open).
    pub async fn account_count(&self) -> AppResult<u64> {
        Ok(Users(self.store.conn()).count().await?)
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

/// Someone else's workspace answers like a missing one.
fn not_a_member() -> AppError {
    AppError::NotFound("workspace")
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

fn revoked_message(key: &ApiKeyRow) -> &'static str {
    match key.mcp_client_id {
        Some(_) => "this app's access to Herald was revoked; connect it again",
        None => "this API key has been revoked",
    }
}
