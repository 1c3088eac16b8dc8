//! `gmb`: Google Business Profile posts ("local posts"), connected with
//! Google's OAuth (`GOOGLE_GMB_CLIENT_ID`/`_SECRET`, scope
//! `business.manage`, offline access); signing in offers every location of
//! every business account to choose from.
//!
//! A post is `POST /v4/{location}/localPosts`: the text as `summary`, at
//! most one photo (Google fetches it from `MAIN_URL`), an optional call to
//! action, and — by setting — an event or an offer with its dates. A post
//! whose answer was lost is looked up among the location's posts before
//! anything is sent again.

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate, Utc};
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, ProviderSettings, PublishRequest, PublishedItem,
    Recovery, Refreshed, Step,
};

const PLATFORM: &str = "Google Business Profile";
const SCOPES: &[&str] = &["https://www.googleapis.com/auth/business.manage"];

pub struct Gmb {
    client: HttpClient,
    accounts_api: String,
    information_api: String,
    posts_api: String,
    flow: Option<CodeFlow>,
}

impl Gmb {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let url = |raw: &str| settings.platform_url("gmb", raw);
        let flow = App::from_env(settings, "GOOGLE_GMB_CLIENT_ID", "GOOGLE_GMB_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: url("https://accounts.google.com/o/oauth2/v2/auth"),
                token: url("https://oauth2.googleapis.com/token"),
                revoke: Some(url("https://oauth2.googleapis.com/revoke")),
            };
            CodeFlow::new(client.clone(), app, endpoints, PLATFORM).credentials_in_body()
        });
        Self {
            accounts_api: url("https://mybusinessaccountmanagement.googleapis.com/v1"),
            information_api: url("https://mybusinessbusinessinformation.googleapis.com/v1"),
            posts_api: url("https://mybusiness.googleapis.com/v4"),
            client,
            flow,
        }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| {
            ProviderError::invalid("Google Business Profile is not configured: set GOOGLE_GMB_CLIENT_ID")
        })
    }

    async fn get(&self, url: &str, token: &str, query: &[(&str, &str)]) -> Result<Value, ProviderError> {
        answer(self.client.send(self.client.inner().get(url).bearer_auth(token).query(query)).await?).await
    }

    /// The location's recent post with this summary, if any.
    async fn find_recent(&self, creds: &Credentials, summary: &str) -> Result<Option<PublishedItem>, ProviderError> {
        let url = format!("{}/{}/localPosts", self.posts_api, creds.location);
        let listed = self.get(&url, &creds.tokens.access_token, &[("pageSize", "20")]).await?;
        Ok(listed["localPosts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|post| post["summary"].as_str().unwrap_or_default().trim() == summary.trim())
            .and_then(|post| {
                Some(PublishedItem {
                    id: post["name"].as_str()?.to_string(),
                    url: post["searchUrl"].as_str().map(str::to_string),
                })
            }))
    }
}

/// Google's error body: `{"error": {"code", "message", "status", "details"}}`.
fn error_from(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> ProviderError {
    let parsed: Value = serde_json::from_str(body).unwrap_or_default();
    let said = parsed["error"]["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let class = match status.as_u16() {
        401 => ErrorClass::AuthExpired,
        429 => ErrorClass::Retryable { after: retry_after(headers, Utc::now()) },
        400 | 403 | 404 | 409 => ErrorClass::Invalid,
        _ => classify_status(status, retry_after(headers, Utc::now())),
    };
    ProviderError::new(class, format!("Google Business Profile answered {status}: {said}"))
}

async fn answer(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// `accounts/{account}/locations/{location}`.
    location: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(
            ErrorClass::Revoked,
            "the stored Google Business Profile credentials are incomplete; reconnect the location",
        )
    })
}

/// `standard` (default), `event` or `offer`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Topic {
    #[default]
    Standard,
    Event,
    Offer,
}

/// The button under the post: `BOOK`, `ORDER`, `SHOP`, `LEARN_MORE`, `SIGN_UP` or `CALL`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Action {
    Book,
    Order,
    Shop,
    LearnMore,
    SignUp,
    Call,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Book => "BOOK",
            Self::Order => "ORDER",
            Self::Shop => "SHOP",
            Self::LearnMore => "LEARN_MORE",
            Self::SignUp => "SIGN_UP",
            Self::Call => "CALL",
        }
    }
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    #[garde(skip)]
    topic: Topic,
    #[garde(skip)]
    call_to_action: Option<Action>,
    /// Where the button leads (not for `CALL`, which calls the location's number).
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    call_to_action_url: Option<String>,
    /// An event's or offer's title.
    #[garde(length(chars, min = 1, max = 58))]
    title: Option<String>,
    /// First day of an event or offer, `YYYY-MM-DD`.
    #[garde(pattern(r"^\d{4}-\d{2}-\d{2}$"))]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    start_date: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    #[garde(pattern(r"^\d{4}-\d{2}-\d{2}$"))]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    end_date: Option<String>,
    /// An offer's coupon code.
    #[garde(length(chars, max = 58))]
    coupon_code: Option<String>,
    /// Where an offer is redeemed online.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    redeem_url: Option<String>,
    /// An offer's terms.
    #[garde(length(chars, max = 5000))]
    terms: Option<String>,
    /// The post's language (BCP 47), `en` by default.
    #[garde(length(chars, min = 2, max = 16))]
    language_code: Option<String>,
}

fn date(raw: Option<&str>, what: &str) -> Result<Value, ProviderError> {
    let raw =
        raw.ok_or_else(|| ProviderError::invalid(format!("an event or offer needs its {what} (`YYYY-MM-DD`)")))?;
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ProviderError::invalid(format!("`{raw}` is not a date")))?;
    Ok(json!({ "year": day.year(), "month": day.month(), "day": day.day() }))
}

/// The `LocalPost` body.
fn local_post(request: &PublishRequest, settings: &Settings) -> Result<Value, ProviderError> {
    let mut post = json!({
        "languageCode": settings.language_code.as_deref().unwrap_or("en"),
        "summary": request.content,
        "topicType": match settings.topic { Topic::Standard => "STANDARD", Topic::Event => "EVENT", Topic::Offer => "OFFER" },
    });
    if let Some(photo) = request.media.first() {
        if !photo.is_image() {
            return Err(ProviderError::invalid("Google Business Profile posts take one photo, not a video"));
        }
        post["media"] = json!([{ "mediaFormat": "PHOTO", "sourceUrl": photo.url }]);
    }
    if let Some(action) = settings.call_to_action {
        let mut button = json!({ "actionType": action.as_str() });
        match (&settings.call_to_action_url, action) {
            (_, Action::Call) => {}
            (Some(url), _) => button["url"] = json!(url),
            (None, _) => return Err(ProviderError::invalid("the call to action needs `callToActionUrl`")),
        }
        post["callToAction"] = button;
    }
    if settings.topic != Topic::Standard {
        let title =
            settings.title.clone().ok_or_else(|| ProviderError::invalid("an event or offer needs a `title`"))?;
        let schedule = json!({
            "startDate": date(settings.start_date.as_deref(), "startDate")?,
            "endDate": date(settings.end_date.as_deref(), "endDate")?,
        });
        post["event"] = json!({ "title": title, "schedule": schedule });
    }
    if settings.topic == Topic::Offer {
        let mut offer = json!({});
        if let Some(code) = &settings.coupon_code {
            offer["couponCode"] = json!(code);
        }
        if let Some(url) = &settings.redeem_url {
            offer["redeemOnlineUrl"] = json!(url);
        }
        if let Some(terms) = &settings.terms {
            offer["termsConditions"] = json!(terms);
        }
        post["offer"] = offer;
    }
    Ok(post)
}

#[async_trait]
impl OAuthConnect for Gmb {
    fn app_env(&self) -> &'static [&'static str] {
        &["GOOGLE_GMB_CLIENT_ID", "GOOGLE_GMB_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[("access_type", "offline"), ("prompt", "consent")])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let accounts = self.get(&format!("{}/accounts", self.accounts_api), &tokens.access_token, &[]).await?;
        let mut connected = Vec::new();
        for account in accounts["accounts"].as_array().into_iter().flatten() {
            let Some(account_name) = account["name"].as_str() else { continue };
            let url = format!("{}/{account_name}/locations", self.information_api);
            let locations =
                self.get(&url, &tokens.access_token, &[("readMask", "name,title"), ("pageSize", "100")]).await?;
            for location in locations["locations"].as_array().into_iter().flatten() {
                let Some(location_name) = location["name"].as_str() else { continue };
                // v4 names a location under its account.
                let full = format!("{account_name}/{location_name}");
                let title = location["title"].as_str().unwrap_or(location_name).to_string();
                let creds = Credentials { tokens: tokens.clone(), location: full.clone() };
                connected.push(ConnectedAccount {
                    account_id: full,
                    username: title.clone(),
                    display_name: title,
                    avatar_url: None,
                    credentials: serde_json::to_value(&creds).unwrap_or_default(),
                    token_expires_at: tokens.expires_at,
                    scopes: tokens.scopes.clone(),
                    profile_pending: false,
                });
            }
        }
        if connected.is_empty() {
            return Err(ProviderError::invalid("this Google account manages no Business Profile locations"));
        }
        Ok(connected)
    }

    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        self.flow()?.revoke(&credentials(value)?.tokens).await
    }
}

#[async_trait]
impl Provider for Gmb {
    fn id(&self) -> &'static str {
        "gmb"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("gmb")
    }

    fn credentials(&self) -> Declaration {
        Declaration::none(PLATFORM)
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>(PLATFORM)
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    /// Google fetches the photo from Herald's URL.
    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    fn notice(&self) -> Option<&'static str> {
        Some(
            "Google fetches the photo from this server's public address (MAIN_URL), which must be an https address it can reach.",
        )
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("Google Business Profile is connected by signing in: GET /api/auth/gmb"))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read(PLATFORM, &request.settings).map_err(ProviderError::invalid)?;
        let body = local_post(request, &settings)?;
        if request.interrupted
            && let Some(found) = self.find_recent(&creds, &request.content).await?
        {
            return Ok(found.into());
        }
        let url = format!("{}/{}/localPosts", self.posts_api, creds.location);
        let post = self.client.inner().post(url).bearer_auth(&creds.tokens.access_token).json(&body);
        let created = answer(self.client.send(post).await?).await?;
        let id = created["name"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Google did not return the post's name"))?;
        Ok(PublishedItem { id: id.to_string(), url: created["searchUrl"].as_str().map(str::to_string) }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content: &str) -> PublishRequest {
        PublishRequest {
            target_id: uuid::Uuid::nil(),
            post_id: uuid::Uuid::nil(),
            integration_id: uuid::Uuid::nil(),
            integration_name: "Shop".into(),
            credentials: Value::Null,
            settings: Value::Null,
            item_index: 0,
            item_count: 1,
            content: content.into(),
            media_urls: Vec::new(),
            media: Vec::new(),
            tags: Vec::new(),
            scheduled_for: None,
            root: None,
            reply_to: None,
            idempotency_key: "k".into(),
            pending: None,
            interrupted: false,
        }
    }

    #[test]
    fn events_and_offers_need_their_dates() {
        let request = request("Grand opening");
        let event = Settings {
            topic: Topic::Event,
            title: Some("Opening".into()),
            start_date: Some("2026-12-24".into()),
            end_date: Some("2026-12-26".into()),
            ..Settings::default()
        };
        let body = local_post(&request, &event).unwrap();
        assert_eq!(body["topicType"], "EVENT");
        assert_eq!(body["event"]["schedule"]["startDate"], json!({"year": 2026, "month": 12, "day": 24}));
        let undated = Settings { topic: Topic::Offer, title: Some("10 % off".into()), ..Settings::default() };
        assert!(local_post(&request, &undated).is_err());
        let button = Settings { call_to_action: Some(Action::Book), ..Settings::default() };
        assert!(local_post(&request, &button).is_err(), "BOOK needs a URL");
        let call = Settings { call_to_action: Some(Action::Call), ..Settings::default() };
        assert_eq!(local_post(&request, &call).unwrap()["callToAction"], json!({"actionType": "CALL"}));
    }
}
