//! `lemmy`: link/text posts in a community of a Lemmy instance (API v3),
//! thread items as a comment chain under the post.
//!
//! Lemmy has no API tokens: a session JWT comes from logging in with the
//! account's password. The password is stored (encrypted) alongside the JWT
//! so that when the instance stops honouring the JWT (`not_logged_in`,
//! expiry, a logout elsewhere) `refresh` can log in again without the user.
//! Lemmy keeps no idempotency keys, so an interrupted delivery stays
//! unconfirmed rather than risking a second post.

mod content;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::content::{Settings, comment_body, post_body, settings, title_problem};
use crate::declared::Declaration;
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::TargetGuard;
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, PublishRequest, PublishedItem,
    Refreshed,
};

pub struct Lemmy {
    client: HttpClient,
    guard: TargetGuard,
}

impl Lemmy {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// A community given as its number or its name (`name` or `name@instance`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum CommunityRef {
    Id(i64),
    Name(String),
}

/// A community as settings and credentials give it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
enum Community {
    Number(i64),
    Name(String),
}

impl CommunityRef {
    fn from_given(given: &Community) -> Option<Self> {
        match given {
            Community::Number(id) => (*id > 0).then_some(Self::Id(*id)),
            Community::Name(s) => {
                let s = s.trim().trim_start_matches('!');
                match s.parse::<i64>() {
                    Ok(id) if id > 0 => Some(Self::Id(id)),
                    _ if !s.is_empty() && !s.contains(char::is_whitespace) => Some(Self::Name(s.to_string())),
                    _ => None,
                }
            }
        }
    }

    fn query(&self) -> (&'static str, String) {
        match self {
            Self::Id(id) => ("id", id.to_string()),
            Self::Name(name) => ("name", name.clone()),
        }
    }
}

struct Credentials {
    base: url::Url,
    username: String,
    password: String,
    community: CommunityRef,
    jwt: Option<String>,
}

impl Credentials {
    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    fn to_value(&self, community_id: i64, jwt: &str) -> Value {
        json!({
            "instanceUrl": self.base.as_str().trim_end_matches('/'),
            "username": self.username,
            "password": self.password,
            "communityId": community_id,
            "jwt": jwt,
        })
    }
}

/// What connecting asks for. Stored with the session's `jwt`.
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = false))]
#[garde(allow_unvalidated)]
struct Given {
    /// e.g. https://lemmy.world
    #[schemars(title = "Instance URL", url)]
    instance_url: String,
    #[schemars(title = "Username or email")]
    username: String,
    /// Kept encrypted: Lemmy has no API tokens, so Herald logs in again when
    /// its session ends. Accounts with two-factor authentication are not supported.
    #[schemars(title = "Password", extend("writeOnly" = true))]
    password: String,
    /// The community's number, or its name (e.g. `technology` or `technology@lemmy.world`).
    #[schemars(title = "Community")]
    community_id: Community,
    #[serde(default)]
    #[schemars(skip)]
    jwt: Option<String>,
}

fn credentials(value: &Value, guard: &TargetGuard) -> Result<Credentials, ProviderError> {
    let shape = || {
        ProviderError::invalid(
            "lemmy credentials need `instanceUrl`, `username`, `password` and `communityId` (a number or a community name)",
        )
    };
    let given: Given = serde_json::from_value(value.clone()).map_err(|_| shape())?;
    let (instance, username) = (given.instance_url.trim(), given.username.trim());
    if instance.is_empty() || username.is_empty() || given.password.trim().is_empty() {
        return Err(shape());
    }
    let community = CommunityRef::from_given(&given.community_id).ok_or_else(shape)?;
    let mut base = guard.check_url(instance).map_err(ProviderError::invalid)?;
    base.set_query(None);
    base.set_fragment(None);
    Ok(Credentials {
        base,
        username: username.to_string(),
        // Passwords may legitimately start or end with spaces.
        password: given.password,
        community,
        jwt: given.jwt.map(|jwt| jwt.trim().to_string()).filter(|jwt| !jwt.is_empty()),
    })
}

/// Maps a Lemmy error answer (`{"error": "<name>"}`, mostly with 400) to a
/// class: the error name says more than the status.
pub fn classify(status: StatusCode, error: &str, after: Option<std::time::Duration>) -> ErrorClass {
    match error {
        "rate_limit_error" => ErrorClass::Retryable { after },
        "not_logged_in" => ErrorClass::AuthExpired,
        "incorrect_login" | "site_ban" | "banned" | "deleted" | "person_is_banned_from_site" | "email_not_verified" => {
            ErrorClass::Revoked
        }
        "couldnt_find_community"
        | "not_found"
        | "invalid_community"
        | "banned_from_community"
        | "person_is_banned_from_community"
        | "only_mods_can_post_in_community"
        | "locked"
        | "post_is_locked"
        | "language_not_allowed"
        | "invalid_post_title"
        | "post_title_too_long"
        | "invalid_body_field"
        | "invalid_url"
        | "blocked_url"
        | "invalid_url_scheme"
        | "url_length_overflow"
        | "slurs"
        | "max_comment_depth_reached"
        | "couldnt_find_post"
        | "couldnt_find_comment"
        | "cannot_create_post_or_comment_in_deleted_or_removed_community" => ErrorClass::Invalid,
        _ => classify_status(status, after),
    }
}

/// A readable error from a failed answer; never includes credentials.
async fn failure(response: reqwest::Response) -> ProviderError {
    let status = response.status();
    let after = retry_after(response.headers(), Utc::now());
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let Some(error) = body["error"].as_str() else {
        return ProviderError::new(
            classify_status(status, after),
            format!("Lemmy answered {status}: {}", excerpt(&text)),
        );
    };
    let detail = body["message"].as_str().map(|m| format!(" ({})", excerpt(m))).unwrap_or_default();
    let message = match error {
        "not_logged_in" => "Lemmy no longer accepts the session (not_logged_in)".to_string(),
        "incorrect_login" => {
            "Lemmy refused the username or password (incorrect_login); reconnect the account".to_string()
        }
        "rate_limit_error" => "Lemmy's rate limit was reached (rate_limit_error)".to_string(),
        _ => format!("Lemmy answered {status}: {error}{detail}"),
    };
    ProviderError::new(classify(status, error, after), message)
}

impl Lemmy {
    async fn send_json(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request).await?;
        if !response.status().is_success() {
            return Err(failure(response).await);
        }
        response.json::<Value>().await.map_err(|_| {
            ProviderError::new(ErrorClass::Unknown, "Lemmy answered with something that is not the expected JSON")
        })
    }

    /// `POST /api/v3/user/login` → a session JWT.
    async fn login(&self, creds: &Credentials) -> Result<String, ProviderError> {
        let body = json!({ "username_or_email": creds.username, "password": creds.password });
        let request = self.client.inner().post(creds.endpoint("/api/v3/user/login")).json(&body);
        let answer = match self.send_json(request).await.map_err(ProviderError::before_publishing) {
            Ok(answer) => answer,
            Err(error) if error.message.contains("missing_totp_token") => {
                return Err(ProviderError::new(
                    ErrorClass::Revoked,
                    "this Lemmy account uses two-factor authentication, which Herald cannot answer when it logs in \
                     again later; use an account (e.g. a bot account) without 2FA (missing_totp_token)",
                ));
            }
            Err(error) => return Err(error),
        };
        match answer["jwt"].as_str().filter(|jwt| !jwt.is_empty()) {
            Some(jwt) => Ok(jwt.to_string()),
            None if answer["verify_email_sent"] == true => Err(ProviderError::new(
                ErrorClass::Revoked,
                "Lemmy gave no session: the account's email address is not verified yet",
            )),
            None => Err(ProviderError::new(
                ErrorClass::Revoked,
                "Lemmy gave no session: the account may still await approval by the instance's admins",
            )),
        }
    }

    /// `GET /api/v3/community?id=` (or `?name=`) → (id, name).
    async fn community(
        &self,
        creds: &Credentials,
        jwt: &str,
        community: &CommunityRef,
    ) -> Result<(i64, String), ProviderError> {
        let (key, value) = community.query();
        let mut url = url::Url::parse(&creds.endpoint("/api/v3/community"))
            .map_err(|_| ProviderError::invalid("the instance URL cannot take an API path"))?;
        url.query_pairs_mut().append_pair(key, &value);
        let request = self.client.inner().get(url).bearer_auth(jwt);
        let answer = self.send_json(request).await.map_err(|mut error| {
            if error.class == ErrorClass::Invalid || error.message.contains("not_found") {
                error.message = format!("the community was not found on this instance: {}", error.message);
                error.class = ErrorClass::Invalid;
            }
            error
        })?;
        let found = &answer["community_view"]["community"];
        let id = found["id"].as_i64().ok_or_else(|| ProviderError::invalid("Lemmy did not describe the community"))?;
        Ok((id, found["name"].as_str().unwrap_or_default().to_string()))
    }

    async fn create(&self, creds: &Credentials, jwt: &str, path: &str, body: &Value) -> Result<Value, ProviderError> {
        self.send_json(self.client.inner().post(creds.endpoint(path)).bearer_auth(jwt).json(body)).await
    }
}

#[async_trait]
impl Provider for Lemmy {
    fn id(&self) -> &'static str {
        "lemmy"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("lemmy")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Given>("Lemmy")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Lemmy")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value, &self.guard)?;
        let jwt = self.login(&creds).await.map_err(|mut error| {
            if error.message.contains("incorrect_login") {
                error.message = "Lemmy refused the username or password".into();
            }
            error
        })?;
        let site = self.send_json(self.client.inner().get(creds.endpoint("/api/v3/site")).bearer_auth(&jwt)).await?;
        let person = &site["my_user"]["local_user_view"]["person"];
        let (Some(person_id), Some(name)) = (person["id"].as_i64(), person["name"].as_str()) else {
            return Err(ProviderError::invalid("Lemmy did not tell who is logged in (no my_user in /api/v3/site)"));
        };
        let (community_id, community_name) = self.community(&creds, &jwt, &creds.community).await?;
        let host = creds.base.host_str().unwrap_or_default().to_string();
        let shown = person["display_name"].as_str().filter(|d| !d.trim().is_empty()).unwrap_or(name);
        Ok(ConnectedAccount {
            // The community is part of the integration: the same person
            // posting to two communities is two integrations.
            account_id: format!("{person_id}@{host}/c/{community_id}"),
            username: format!("{name}@{host}"),
            display_name: format!("{shown} in !{community_name}"),
            avatar_url: person["avatar"].as_str().map(str::to_string),
            credentials: creds.to_value(community_id, &jwt),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        let creds = credentials(value, &self.guard)?;
        let jwt = self.login(&creds).await?;
        let mut fresh = value.clone();
        fresh["jwt"] = json!(jwt);
        Ok(Refreshed { credentials: fresh, expires_at: None })
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// `GET /api/v3/post?id=` → `post_view.counts`, named as Lemmy names
    /// them (a vote is not a like: there are downvotes too); comments are
    /// the post's replies.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value, &self.guard)?;
        let jwt = creds.jwt.clone().ok_or_else(|| ProviderError::new(ErrorClass::AuthExpired, "no Lemmy session"))?;
        let id =
            item.id.parse::<i64>().map_err(|_| ProviderError::invalid(format!("`{}` is not a Lemmy id", item.id)))?;
        let mut url = url::Url::parse(&creds.endpoint("/api/v3/post"))
            .map_err(|_| ProviderError::invalid("the instance URL cannot take an API path"))?;
        url.query_pairs_mut().append_pair("id", &id.to_string());
        let answer = self.send_json(self.client.inner().get(url).bearer_auth(&jwt)).await?;
        let counts = &answer["post_view"]["counts"];
        let count = |name: &str| counts[name].as_i64().unwrap_or(0);
        Ok(Metrics::from([
            ("upvotes".to_string(), count("upvotes")),
            ("downvotes".to_string(), count("downvotes")),
            ("score".to_string(), count("score")),
            ("replies".to_string(), count("comments")),
        ]))
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials, &self.guard)?;
        let settings = settings(&request.settings)?;
        // A missing session is an expired one: refreshing logs in.
        let jwt = creds.jwt.clone().ok_or_else(|| ProviderError::new(ErrorClass::AuthExpired, "no Lemmy session"))?;
        if request.item_index == 0 {
            let community_id = match settings.community_id.as_ref().and_then(CommunityRef::from_given) {
                Some(CommunityRef::Id(id)) => id,
                Some(named) => self.community(&creds, &jwt, &named).await?.0,
                None => match &creds.community {
                    CommunityRef::Id(id) => *id,
                    named => self.community(&creds, &jwt, named).await?.0,
                },
            };
            let body = post_body(request, &settings, community_id);
            if let Some(problem) = body["name"].as_str().and_then(title_problem) {
                return Err(ProviderError::invalid(format!(
                    "the Lemmy title `{}` {problem}; set one in the post's Lemmy settings (title)",
                    body["name"].as_str().unwrap_or_default()
                )));
            }
            let answer = self.create(&creds, &jwt, "/api/v3/post", &body).await?;
            let post = &answer["post_view"]["post"];
            let id = post["id"]
                .as_i64()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Lemmy returned no post id"))?;
            Ok(PublishedItem { id: id.to_string(), url: post["ap_id"].as_str().map(str::to_string) }.into())
        } else {
            let answer = self.create(&creds, &jwt, "/api/v3/comment", &comment_body(request, &settings)?).await?;
            let comment = &answer["comment_view"]["comment"];
            let id = comment["id"]
                .as_i64()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Lemmy returned no comment id"))?;
            Ok(PublishedItem { id: id.to_string(), url: comment["ap_id"].as_str().map(str::to_string) }.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_name() {
        let bad = StatusCode::BAD_REQUEST;
        let after = Some(std::time::Duration::from_secs(3));
        assert_eq!(classify(bad, "rate_limit_error", after), ErrorClass::Retryable { after });
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", None),
            ErrorClass::Retryable { after: None }
        );
        assert_eq!(classify(bad, "not_logged_in", None), ErrorClass::AuthExpired);
        assert_eq!(classify(StatusCode::UNAUTHORIZED, "incorrect_login", None), ErrorClass::Revoked);
        assert_eq!(classify(bad, "couldnt_find_community", None), ErrorClass::Invalid);
        assert_eq!(classify(StatusCode::NOT_FOUND, "not_found", None), ErrorClass::Invalid);
        assert_eq!(classify(StatusCode::BAD_GATEWAY, "unknown", None), ErrorClass::Retryable { after: None });
    }

    #[tokio::test]
    async fn credentials_are_checked_before_any_request() {
        let lemmy = Lemmy::new(HttpClient::new(&crate::ProviderSettings::default()), false);
        let missing = lemmy.connect(&json!({"instanceUrl": "https://lemmy.example", "username": "u"})).await;
        assert!(missing.unwrap_err().message.contains("communityId"));
        let private = lemmy
            .connect(&json!({"instanceUrl": "http://127.0.0.1:1", "username": "u", "password": "p", "communityId": 1}))
            .await;
        assert!(private.unwrap_err().message.contains("HERALD_ALLOW_PRIVATE_TARGETS"));
    }
}
