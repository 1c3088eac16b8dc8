//! OAuth connections (DESIGN §5a), written once for every OAuth platform:
//! the operator's app credentials, the consent URL with PKCE, the code
//! exchange, refresh and revocation — all through the `oauth2` crate, its
//! requests sent by Herald's one [`HttpClient`] (timeouts, no redirects,
//! host overrides). A platform module says only what differs: its
//! endpoints, scopes, which error codes mean "the grant is gone", and how
//! to read the account a token belongs to.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ConnectedAccount, ErrorClass, HttpClient, ProviderError, ProviderSettings};

/// Every app credential an operator may set (env or `herald.toml`), as
/// DESIGN §5a names them.
pub const APP_ENV_NAMES: &[&str] = &[
    "X_CLIENT_ID",
    "X_CLIENT_SECRET",
    "X_API_KEY",
    "X_API_SECRET",
    "LINKEDIN_CLIENT_ID",
    "LINKEDIN_CLIENT_SECRET",
    "FACEBOOK_APP_ID",
    "FACEBOOK_APP_SECRET",
    "INSTAGRAM_APP_ID",
    "INSTAGRAM_APP_SECRET",
    "THREADS_APP_ID",
    "THREADS_APP_SECRET",
    "YOUTUBE_CLIENT_ID",
    "YOUTUBE_CLIENT_SECRET",
    "GOOGLE_GMB_CLIENT_ID",
    "GOOGLE_GMB_CLIENT_SECRET",
    "TIKTOK_CLIENT_ID",
    "TIKTOK_CLIENT_SECRET",
    "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET",
    "PINTEREST_CLIENT_ID",
    "PINTEREST_CLIENT_SECRET",
    "TUMBLR_CLIENT_ID",
    "TUMBLR_CLIENT_SECRET",
    "VK_CLIENT_ID",
    "VK_CLIENT_SECRET",
    "DRIBBBLE_CLIENT_ID",
    "DRIBBBLE_CLIENT_SECRET",
];

/// The app credentials the operator set, by env name. `Debug` names them
/// without their values.
#[derive(Clone, Default)]
pub struct AppCredentials(BTreeMap<String, String>);

impl AppCredentials {
    pub fn new(values: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(values.into_iter().filter(|(_, value)| !value.trim().is_empty()).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|value| value.trim())
    }
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// An app registered with a platform: `client_id` and, for confidential
/// clients, the secret.
#[derive(Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl App {
    /// The app named by `id_env`/`secret_env`, if its id is set.
    pub fn from_env(settings: &ProviderSettings, id_env: &str, secret_env: &str) -> Option<Self> {
        let client_id = settings.app_credentials.get(id_env)?.to_string();
        let client_secret = settings.app_credentials.get(secret_env).map(str::to_string);
        Some(Self { client_id, client_secret })
    }
}

/// An app Herald registered on one server of a platform with many servers
/// (Mastodon): kept per server, its secret encrypted like any token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// What starting a connection needs.
#[derive(Debug, Clone)]
pub struct Begin<'a> {
    /// The single-use value the callback must bring back.
    pub state: &'a str,
    /// `{MAIN_URL}/api/auth/{platform}/callback`.
    pub redirect_uri: &'a str,
    /// The server to connect to, as [`OAuthConnect::instance`] normalised
    /// it, with the app Herald registered there.
    pub instance: Option<(&'a str, &'a RegisteredClient)>,
}

/// Where to send the user, and what to keep (encrypted) until they return.
#[derive(Debug, Clone)]
pub struct Consent {
    pub url: String,
    /// The PKCE verifier, for platforms with PKCE.
    pub verifier: Option<String>,
    /// Anything else the callback needs (e.g. the instance), kept encrypted.
    pub context: Value,
    /// OAuth 1.0a: the request token, which the callback brings back in
    /// place of the state (`None`: the state itself).
    pub state_key: Option<String>,
}

/// What the platform's redirect brought back.
#[derive(Debug, Clone)]
pub struct Callback<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: Option<&'a str>,
    pub context: &'a Value,
    /// As in [`Begin::instance`].
    pub instance: Option<(&'a str, &'a RegisteredClient)>,
}

/// How a platform is connected by OAuth.
#[async_trait]
pub trait OAuthConnect: Send + Sync {
    /// The env names the operator sets for this platform (what
    /// `GET /platforms` shows when it is not configured).
    fn app_env(&self) -> &'static [&'static str];

    /// Whether the operator has set the app credentials.
    fn is_configured(&self) -> bool;

    /// Whether one sign-in may connect only one of the accounts it offers:
    /// where refreshing spends the refresh token, integrations sharing one
    /// grant would spend each other's.
    fn one_account_per_sign_in(&self) -> bool {
        false
    }

    /// Whether connecting names a server (`?instance=`), as on Mastodon.
    fn needs_instance(&self) -> bool {
        false
    }

    /// For a platform with many servers: the server the user named,
    /// normalised and checked by the SSRF guard. `None` for a platform with
    /// one host (the default), where naming a server is refused.
    fn instance(&self, raw: Option<&str>) -> Result<Option<String>, ProviderError> {
        match raw {
            Some(_) => Err(ProviderError::invalid("this platform has one server: leave out `instance`")),
            None => Ok(None),
        }
    }

    /// Registers Herald as an app on a server (see [`OAuthConnect::instance`]).
    async fn register_client(&self, _instance: &str, _redirect_uri: &str) -> Result<RegisteredClient, ProviderError> {
        Err(ProviderError::invalid("this platform does not register apps per server"))
    }

    /// The consent page to send the user to.
    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError>;

    /// Exchanges the code for tokens and says which accounts they can post
    /// as: one for most platforms, several where the user chooses (pages).
    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError>;

    /// Revokes the grant at the platform, where it documents how.
    async fn revoke(&self, _credentials: &Value) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The tokens every OAuth provider keeps in its credentials (flattened
/// beside what the platform adds, such as the account id).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Fields some token endpoints add to RFC 6749's answer: how long the
/// refresh token lives (LinkedIn, TikTok).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RefreshLifetime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<i64>,
}

impl ExtraTokenFields for RefreshLifetime {}

/// A token endpoint's answer.
pub type TokenAnswer = StandardTokenResponse<RefreshLifetime, BasicTokenType>;

impl Tokens {
    /// What a token endpoint answered, with its lifetimes made instants.
    pub fn from_response(response: &TokenAnswer, now: DateTime<Utc>) -> Self {
        let expires_at =
            response.expires_in().and_then(|lifetime| Duration::from_std(lifetime).ok()).map(|lifetime| now + lifetime);
        let refresh_expires_at =
            response.extra_fields().refresh_token_expires_in.filter(|s| *s > 0).map(|s| now + Duration::seconds(s));
        Self {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|token| token.secret().clone()).filter(|t| !t.is_empty()),
            expires_at,
            refresh_expires_at,
            scopes: response.scopes().map(|scopes| scopes.iter().map(|s| s.to_string()).collect()).unwrap_or_default(),
        }
    }

    /// These tokens replaced by `fresh`, except that a refresh token the
    /// answer did not repeat is kept: an empty one never overwrites it.
    #[must_use]
    pub fn renewed(self, fresh: Tokens) -> Tokens {
        Tokens {
            refresh_token: fresh.refresh_token.or(self.refresh_token),
            refresh_expires_at: fresh.refresh_expires_at.or(self.refresh_expires_at),
            scopes: if fresh.scopes.is_empty() { self.scopes } else { fresh.scopes },
            ..fresh
        }
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// When an OAuth account must be reconnected, if that is known from its
/// stored tokens: the access token's expiry when there is no refresh token
/// to renew it, else the refresh token's own end where the platform gave
/// one (LinkedIn's year). `None`: it can be renewed indefinitely — also
/// when the access token renews itself (`renewsItself`: Meta's long-lived
/// tokens are exchanged for new ones with themselves).
pub fn access_ends_at(credentials: &Value, token_expires_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    if credentials["renewsItself"] == true {
        return None;
    }
    let refreshable = credentials["refreshToken"].as_str().is_some_and(|token| !token.is_empty());
    if !refreshable {
        return token_expires_at;
    }
    credentials["refreshExpiresAt"].as_str().and_then(|at| at.parse().ok())
}

/// A reconnect's credentials: the new ones, keeping the stored refresh
/// token (and its expiry) when the new answer carried none.
pub fn keep_refresh_token(stored: &Value, mut fresh: Value) -> Value {
    for field in ["refreshToken", "refreshExpiresAt"] {
        let missing = fresh.get(field).is_none_or(|value| value.is_null() || value.as_str() == Some(""));
        if let (true, Some(old), Some(object)) = (missing, stored.get(field), fresh.as_object_mut())
            && !old.is_null()
        {
            object.insert(field.to_string(), old.clone());
        }
    }
    fresh
}

/// A platform's OAuth 2.0 endpoints (after host overrides).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    pub revoke: Option<String>,
}

type Client = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// An OAuth 2.0 authorization-code client of one platform: the `oauth2`
/// crate's client, its requests sent by Herald's HTTP client.
#[derive(Clone)]
pub struct CodeFlow {
    http: HttpClient,
    app: App,
    endpoints: Endpoints,
    /// What the platform calls itself in messages.
    platform: &'static str,
    /// Error codes of the token endpoint that mean the grant is gone (X
    /// answers `invalid_request` for a spent refresh token).
    refused: &'static [&'static str],
    /// PKCE S256, for platforms that have it.
    pkce: bool,
    /// The client authenticates in the form body rather than with HTTP
    /// Basic (LinkedIn accepts only that).
    credentials_in_body: bool,
}

impl CodeFlow {
    pub fn new(http: HttpClient, app: App, endpoints: Endpoints, platform: &'static str) -> Self {
        Self { http, app, endpoints, platform, refused: &["invalid_grant"], pkce: true, credentials_in_body: false }
    }

    /// For a platform without PKCE for web apps.
    #[must_use]
    pub fn without_pkce(self) -> Self {
        Self { pkce: false, ..self }
    }

    /// For a platform that takes `client_id` and `client_secret` in the form.
    #[must_use]
    pub fn credentials_in_body(self) -> Self {
        Self { credentials_in_body: true, ..self }
    }

    /// Error codes beside `invalid_grant` that mean the grant is gone.
    #[must_use]
    pub fn refused_as(self, refused: &'static [&'static str]) -> Self {
        Self { refused, ..self }
    }

    fn client(&self, redirect_uri: Option<&str>) -> Result<Client, ProviderError> {
        let bad = |what: &str| ProviderError::invalid(format!("the {} {what} URL is not valid", self.platform));
        let mut client = oauth2::Client::<
            BasicErrorResponse,
            TokenAnswer,
            BasicTokenIntrospectionResponse,
            StandardRevocableToken,
            BasicRevocationErrorResponse,
        >::new(ClientId::new(self.app.client_id.clone()))
        .set_auth_uri(AuthUrl::new(self.endpoints.authorize.clone()).map_err(|_| bad("authorization"))?)
        .set_token_uri(TokenUrl::new(self.endpoints.token.clone()).map_err(|_| bad("token"))?);
        if self.credentials_in_body {
            client = client.set_auth_type(AuthType::RequestBody);
        }
        if let Some(secret) = &self.app.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        if let Some(redirect) = redirect_uri {
            client = client.set_redirect_uri(RedirectUrl::new(redirect.to_string()).map_err(|_| bad("callback"))?);
        }
        Ok(client)
    }

    /// The consent URL with `state`, the scopes and — where the platform
    /// has PKCE — a fresh S256 challenge, its verifier in [`Consent::verifier`].
    pub fn consent(
        &self,
        begin: &Begin<'_>,
        scopes: &[&str],
        extra: &[(&str, &str)],
    ) -> Result<Consent, ProviderError> {
        let client = self.client(Some(begin.redirect_uri))?;
        let state = begin.state.to_string();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(scopes.iter().map(|scope| Scope::new((*scope).to_string())));
        let mut verifier = None;
        if self.pkce {
            let (challenge, secret) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            verifier = Some(secret.secret().clone());
        }
        for (name, value) in extra {
            request = request.add_extra_param(*name, *value);
        }
        let (url, _) = request.url();
        Ok(Consent { url: url.to_string(), verifier, context: Value::Null, state_key: None })
    }

    /// The code exchanged for tokens, with the PKCE verifier.
    pub async fn exchange(&self, callback: &Callback<'_>, now: DateTime<Utc>) -> Result<Tokens, ProviderError> {
        let client = self.client(Some(callback.redirect_uri))?;
        let mut request = client.exchange_code(AuthorizationCode::new(callback.code.to_string()));
        if let Some(verifier) = callback.verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
        }
        let sender = self.sender();
        let response =
            request.request_async(&sender).await.map_err(|error| self.token_error(error, "exchanging the code"))?;
        Ok(Tokens::from_response(&response, now))
    }

    /// New tokens for `tokens`' refresh token, keeping it when the answer
    /// has none.
    pub async fn refresh(&self, tokens: Tokens, now: DateTime<Utc>) -> Result<Tokens, ProviderError> {
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Err(ProviderError::new(
                ErrorClass::Revoked,
                format!("{} gave no refresh token for this account; reconnect it", self.platform),
            ));
        };
        let client = self.client(None)?;
        let sender = self.sender();
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token))
            .request_async(&sender)
            .await
            .map_err(|error| self.token_error(error, "refreshing the token"))?;
        Ok(tokens.renewed(Tokens::from_response(&response, now)))
    }

    /// Stored credentials (a provider's struct with [`Tokens`] flattened
    /// in) with their tokens refreshed; every other field stays as it was.
    pub async fn refresh_stored(&self, stored: &Value) -> Result<crate::Refreshed, ProviderError> {
        let incomplete = || {
            ProviderError::new(
                ErrorClass::Revoked,
                format!("the stored {} credentials are incomplete; reconnect the account", self.platform),
            )
        };
        let tokens: Tokens = serde_json::from_value(stored.clone()).map_err(|_| incomplete())?;
        let renewed = self.refresh(tokens, Utc::now()).await?;
        let expires_at = renewed.expires_at;
        let mut credentials = stored.as_object().cloned().ok_or_else(incomplete)?;
        for field in ["accessToken", "refreshToken", "expiresAt", "refreshExpiresAt", "scopes"] {
            credentials.remove(field);
        }
        if let Ok(Value::Object(fresh)) = serde_json::to_value(&renewed) {
            credentials.extend(fresh);
        }
        Ok(crate::Refreshed { credentials: Value::Object(credentials), expires_at })
    }

    /// Revokes the refresh token (which ends the grant), else the access
    /// token, as RFC 7009 says. Sent by hand rather than by the `oauth2`
    /// crate, which refuses a revocation URL that is not https — and an
    /// operator's `HERALD_PROVIDER_<ID>_API_BASE` stand-in may be plain http.
    pub async fn revoke(&self, tokens: &Tokens) -> Result<(), ProviderError> {
        let Some(url) = &self.endpoints.revoke else { return Ok(()) };
        let (token, hint) = match &tokens.refresh_token {
            Some(refresh) => (refresh.as_str(), "refresh_token"),
            None => (tokens.access_token.as_str(), "access_token"),
        };
        let mut form = vec![("token", token), ("token_type_hint", hint)];
        let mut request = self.http.inner().post(url);
        match &self.app.client_secret {
            Some(secret) if self.credentials_in_body => {
                form.extend([("client_id", self.app.client_id.as_str()), ("client_secret", secret.as_str())]);
            }
            // RFC 6749 §2.3.1: both form-encoded before Basic encoding.
            Some(secret) => {
                let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
                request = request.basic_auth(encode(&self.app.client_id), Some(encode(secret)));
            }
            None => form.push(("client_id", self.app.client_id.as_str())),
        }
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
        let response = self.http.send(request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let said = crate::excerpt(&response.text().await.unwrap_or_default());
        Err(ProviderError::new(
            crate::classify_status(status, None),
            format!("{} refused revoking the grant ({status}): {said}", self.platform),
        ))
    }

    fn sender(&self) -> Sender {
        Sender(self.http.clone())
    }

    fn token_error<T: oauth2::ErrorResponse + 'static>(
        &self,
        error: RequestTokenError<ProviderError, T>,
        doing: &str,
    ) -> ProviderError {
        let platform = self.platform;
        match error {
            RequestTokenError::Request(error) => {
                ProviderError::new(error.class, format!("{doing} at {platform} failed: {}", error.message))
            }
            RequestTokenError::ServerResponse(answer) => {
                let said = serde_json::to_value(&answer).unwrap_or_default();
                let code = said["error"].as_str().unwrap_or_default().to_string();
                let description = said["error_description"].as_str().map(|d| format!(": {d}")).unwrap_or_default();
                let class = if self.refused.contains(&code.as_str()) || code == "invalid_grant" {
                    ErrorClass::Revoked
                } else if code == BasicErrorResponseType::InvalidClient.as_ref()
                    || code == BasicErrorResponseType::UnauthorizedClient.as_ref()
                {
                    ErrorClass::Invalid
                } else {
                    ErrorClass::Unknown
                };
                let advice = if class == ErrorClass::Revoked { "; reconnect the account" } else { "" };
                ProviderError::new(class, format!("{platform} refused {doing} ({code}{description}){advice}"))
            }
            // The body may hold tokens, and a parse error may quote it: only
            // where reading failed is told.
            RequestTokenError::Parse(error, _) => ProviderError::new(
                ErrorClass::Unknown,
                format!("{platform} answered {doing} with something unreadable (at `{}`)", error.path()),
            ),
            RequestTokenError::Other(message) => {
                ProviderError::new(ErrorClass::Unknown, format!("{doing} at {platform} failed: {message}"))
            }
        }
    }
}

/// Sends the `oauth2` crate's requests through Herald's HTTP client, so
/// they get its timeouts, host overrides and guard. A 429 or 5xx answer is
/// an outage to retry, not an OAuth error.
struct Sender(HttpClient);

impl<'c> oauth2::AsyncHttpClient<'c> for Sender {
    type Error = ProviderError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, ProviderError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let builder = self.0.inner().request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body);
            let response = self.0.send(builder).await?;
            let status = response.status();
            if status.as_u16() == 429 || status.is_server_error() {
                let after = crate::retry_after(response.headers(), Utc::now());
                return Err(ProviderError::new(
                    crate::classify_status(status, after),
                    format!("the token endpoint answered {status}"),
                ));
            }
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(|_| {
                ProviderError::new(ErrorClass::Retryable { after: None }, "the token endpoint's answer broke off")
            })?;
            let body = with_rfc_error(status, with_token_type(bytes.to_vec()));
            // Reddit answers some refusals with 200 and `{"error": …}`: read
            // as the refusal it is, not as a broken token answer.
            let status =
                if status.is_success() && is_error_body(&body) { reqwest::StatusCode::BAD_REQUEST } else { status };
            let mut answer = oauth2::http::Response::builder().status(status);
            for (name, value) in &headers {
                answer = answer.header(name, value);
            }
            answer
                .body(body)
                .map_err(|_| ProviderError::new(ErrorClass::Unknown, "the token endpoint's answer could not be read"))
        })
    }
}

/// A JSON object with `error` and no `access_token`.
fn is_error_body(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|answer| answer.get("error").is_some() && answer.get("access_token").is_none())
}

/// A refusal in a platform's own shape (Pinterest: `{"code", "message"}`)
/// as RFC 6749 §5.2 words it: a 400 is a grant the platform will not
/// honour (`invalid_grant`), a 401 or 403 an app it does not know.
fn with_rfc_error(status: reqwest::StatusCode, body: Vec<u8>) -> Vec<u8> {
    if !status.is_client_error() {
        return body;
    }
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if answer.get("error").is_some_and(Value::is_string) {
        return body;
    }
    let code = if status == reqwest::StatusCode::BAD_REQUEST { "invalid_grant" } else { "invalid_client" };
    let description = answer["message"].as_str().or(answer["error_description"].as_str()).unwrap_or_default();
    serde_json::to_vec(&serde_json::json!({ "error": code, "error_description": description })).unwrap_or(body)
}

/// RFC 6749 requires `token_type` in a token answer, and the `oauth2`
/// crate refuses one without it; LinkedIn leaves it out. A successful
/// answer without it is a bearer token, so it is added.
fn with_token_type(body: Vec<u8>) -> Vec<u8> {
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(&body) else { return body };
    if answer.contains_key("access_token") && !answer.contains_key("token_type") {
        answer.insert("token_type".into(), Value::String("bearer".into()));
        return serde_json::to_vec(&answer).unwrap_or(body);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn access_ends_with_the_token_unless_a_refresh_token_outlives_it() {
        let expires = "2027-01-01T00:00:00Z".parse::<DateTime<Utc>>().ok();
        assert_eq!(access_ends_at(&json!({"accessToken": "a"}), expires), expires);
        assert_eq!(access_ends_at(&json!({"accessToken": "a", "refreshToken": "r"}), expires), None);
        assert_eq!(access_ends_at(&json!({"accessToken": "a", "renewsItself": true}), expires), None);
        let limited = json!({"accessToken": "a", "refreshToken": "r", "refreshExpiresAt": "2027-06-01T00:00:00Z"});
        assert_eq!(access_ends_at(&limited, expires), "2027-06-01T00:00:00Z".parse().ok());
    }

    #[test]
    fn a_refusal_in_a_platform_shape_reads_as_rfc_6749_words() {
        let bad = reqwest::StatusCode::BAD_REQUEST;
        let pinterest = with_rfc_error(bad, br#"{"code": 283, "message": "Refresh token not found"}"#.to_vec());
        let read: Value = serde_json::from_slice(&pinterest).unwrap();
        assert_eq!(read, json!({"error": "invalid_grant", "error_description": "Refresh token not found"}));
        let client = with_rfc_error(reqwest::StatusCode::UNAUTHORIZED, b"not json".to_vec());
        assert_eq!(serde_json::from_slice::<Value>(&client).unwrap()["error"], "invalid_client");
        let standard = br#"{"error": "invalid_request"}"#.to_vec();
        assert_eq!(with_rfc_error(bad, standard.clone()), standard);
        assert_eq!(with_rfc_error(reqwest::StatusCode::OK, b"{}".to_vec()), b"{}".to_vec());
    }

    #[test]
    fn a_token_answer_without_a_type_is_a_bearer_token() {
        let fixed = with_token_type(br#"{"access_token":"a","expires_in":60}"#.to_vec());
        assert_eq!(serde_json::from_slice::<Value>(&fixed).unwrap()["token_type"], "bearer");
        let kept = with_token_type(br#"{"access_token":"a","token_type":"mac"}"#.to_vec());
        assert_eq!(serde_json::from_slice::<Value>(&kept).unwrap()["token_type"], "mac");
        assert_eq!(with_token_type(b"not json".to_vec()), b"not json");
    }

    fn tokens(refresh: Option<&str>) -> Tokens {
        Tokens {
            access_token: "access".into(),
            refresh_token: refresh.map(str::to_string),
            expires_at: None,
            refresh_expires_at: None,
            scopes: vec!["tweet.write".into()],
        }
    }

    #[test]
    fn a_refresh_answer_without_a_refresh_token_keeps_the_stored_one() {
        let fresh = Tokens { access_token: "new".into(), scopes: vec![], ..tokens(None) };
        let renewed = tokens(Some("old-refresh")).renewed(fresh);
        assert_eq!(renewed.access_token, "new");
        assert_eq!(renewed.refresh_token.as_deref(), Some("old-refresh"));
        assert_eq!(renewed.scopes, ["tweet.write"]);
        let rotated = tokens(Some("old-refresh")).renewed(tokens(Some("rotated")));
        assert_eq!(rotated.refresh_token.as_deref(), Some("rotated"));
    }

    #[test]
    fn a_reconnect_never_replaces_a_refresh_token_with_an_empty_one() {
        let stored = json!({"accessToken": "a", "refreshToken": "keep", "userId": "1"});
        let kept = keep_refresh_token(&stored, json!({"accessToken": "b", "refreshToken": ""}));
        assert_eq!(kept["refreshToken"], "keep");
        assert_eq!(kept["accessToken"], "b");
        let absent = keep_refresh_token(&stored, json!({"accessToken": "b"}));
        assert_eq!(absent["refreshToken"], "keep");
        let replaced = keep_refresh_token(&stored, json!({"accessToken": "b", "refreshToken": "new"}));
        assert_eq!(replaced["refreshToken"], "new");
    }

    #[test]
    fn app_credentials_never_show_their_values() {
        let apps = AppCredentials::new([
            ("X_CLIENT_ID".to_string(), "visible-id".to_string()),
            ("X_CLIENT_SECRET".to_string(), "hidden".to_string()),
        ]);
        let shown = format!("{apps:?}");
        assert!(shown.contains("X_CLIENT_SECRET"));
        assert!(!shown.contains("hidden") && !shown.contains("visible-id"));
        assert_eq!(AppCredentials::new([("A".to_string(), "  ".to_string())]).get("A"), None);
    }
}
