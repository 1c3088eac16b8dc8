//! `reddit`: submissions to a subreddit, connected by Reddit's OAuth 2.0
//! (`REDDIT_CLIENT_ID`/`_SECRET`, a "web app"; no PKCE, the client by HTTP
//! Basic, `duration=permanent` for a refresh token).
//!
//! Reddit answers many refusals with HTTP 200 and the errors inside the
//! body (`{"json": {"errors": [["SUBREDDIT_NOEXIST", "…", "sr"]]}}`), so
//! every answer is read for them; `RATELIMIT` says in words how long to
//! wait. Every request carries a `User-Agent` in the form Reddit requires.
//! A post is a self post (its text), a link (the `url` setting), or an
//! image post: the image goes to Reddit's media store first (a media asset
//! lease, then an upload to the storage URL it names), and since Reddit
//! answers an image submission before the post exists, the post is found
//! in the account's submissions afterwards. Thread items become a chain of
//! comments.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Refreshed, Tool,
};

const SCOPES: &[&str] = &["identity", "submit", "read", "flair"];
/// How often, and how far apart, the account's submissions are read for an
/// image post Reddit is still processing.
const FIND_ATTEMPTS: u32 = 10;
const FIND_PAUSE: Duration = Duration::from_secs(2);
/// The `User-Agent` Reddit asks every client to send: platform, app, version.
const USER_AGENT: &str = concat!("web:herald:", env!("CARGO_PKG_VERSION"), " (self-hosted social media scheduler)");

pub struct Reddit {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
    settings: ProviderSettings,
}

impl Reddit {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("reddit", "https://www.reddit.com/api/v1/authorize"),
                token: settings.platform_url("reddit", "https://www.reddit.com/api/v1/access_token"),
                revoke: Some(settings.platform_url("reddit", "https://www.reddit.com/api/v1/revoke_token")),
            };
            CodeFlow::new(client.clone(), app, endpoints, "Reddit").without_pkce()
        });
        Self {
            api: settings.platform_url("reddit", "https://oauth.reddit.com"),
            client,
            flow,
            settings: settings.clone(),
        }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("Reddit is not configured: set REDDIT_CLIENT_ID"))
    }

    fn request(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(token)
            .header(reqwest::header::USER_AGENT, USER_AGENT)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    username: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored Reddit credentials are incomplete; reconnect the account")
    })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// The subreddit, without `r/` (required to publish).
    #[garde(pattern(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$"))]
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$"))]
    subreddit: Option<String>,
    /// The title (up to 300 characters); the post's first line otherwise.
    #[garde(length(chars, min = 1, max = 300))]
    title: Option<String>,
    /// Post a link instead of a text post; the post's text is then unused.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    url: Option<String>,
    /// A flair template id of the subreddit.
    #[garde(length(max = 64))]
    flair_id: Option<String>,
    /// The flair's text, where the template lets it be edited.
    #[garde(length(chars, max = 64))]
    flair_text: Option<String>,
    #[garde(skip)]
    nsfw: Option<bool>,
    #[garde(skip)]
    spoiler: Option<bool>,
}

/// The first line, as a title: up to 300 characters.
fn title_of(content: &str) -> String {
    let first = content.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
    first.chars().take(300).collect()
}

/// The form of `POST /api/submit`: a link, an image (its uploaded URL), or
/// a self post.
fn submission(
    settings: &Settings,
    content: &str,
    image: Option<&str>,
) -> Result<Vec<(&'static str, String)>, ProviderError> {
    let subreddit = settings.subreddit.clone().ok_or_else(|| {
        ProviderError::invalid("choose the subreddit: set `subreddit` in this account's post settings")
    })?;
    let title = settings.title.clone().unwrap_or_else(|| title_of(content));
    if title.is_empty() {
        return Err(ProviderError::invalid("a Reddit post needs a title: its first line, or the `title` setting"));
    }
    let mut form =
        vec![("api_type", "json".to_string()), ("sr", subreddit), ("title", title), ("resubmit", "true".into())];
    match (&settings.url, image) {
        (Some(url), _) => form.extend([("kind", "link".to_string()), ("url", url.clone())]),
        (None, Some(image)) => form.extend([("kind", "image".to_string()), ("url", image.to_string())]),
        (None, None) => form.extend([("kind", "self".to_string()), ("text", content.to_string())]),
    }
    for (name, value) in [("flair_id", &settings.flair_id), ("flair_text", &settings.flair_text)] {
        if let Some(value) = value {
            form.push((name, value.clone()));
        }
    }
    for (name, value) in [("nsfw", settings.nsfw), ("spoiler", settings.spoiler)] {
        if let Some(value) = value {
            form.push((name, value.to_string()));
        }
    }
    Ok(form)
}

/// `RATELIMIT`'s "try again in 9 minutes." / "… 30 seconds." as a duration.
fn wait_from(message: &str) -> Option<Duration> {
    let words: Vec<&str> = message.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "in")?;
    let amount: u64 = words.get(at + 1)?.parse().ok()?;
    let unit = words.get(at + 2)?;
    let seconds = if unit.starts_with("minute") {
        amount * 60
    } else if unit.starts_with("second") {
        amount
    } else {
        return None;
    };
    Some(Duration::from_secs(seconds))
}

/// The errors Reddit put inside a 200 answer (`json.errors`), if any.
fn body_errors(answer: &Value) -> Option<ProviderError> {
    let errors = answer["json"]["errors"].as_array().filter(|e| !e.is_empty())?;
    let first = errors[0].as_array()?;
    let code = first.first().and_then(Value::as_str).unwrap_or("ERROR");
    let message = first.get(1).and_then(Value::as_str).unwrap_or_default();
    Some(match code {
        "RATELIMIT" => ProviderError::new(
            ErrorClass::Retryable { after: wait_from(message) },
            format!("Reddit asks to wait: {message}"),
        ),
        _ => ProviderError::invalid(format!("Reddit refused the post ({code}): {message}")),
    })
}

async fn answer(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let said = value["message"].as_str().map_or_else(|| excerpt(&text), str::to_string);
        return Err(match status {
            StatusCode::UNAUTHORIZED => {
                ProviderError::new(ErrorClass::AuthExpired, format!("Reddit refused the access token: {said}"))
            }
            // 403 is a subreddit or action this account may not use.
            StatusCode::FORBIDDEN => ProviderError::invalid(format!("Reddit does not allow this: {said}")),
            _ => ProviderError::new(
                classify_status(status, retry_after(&headers, Utc::now())),
                format!("Reddit answered {status}: {said}"),
            ),
        });
    }
    match body_errors(&value) {
        Some(error) => Err(error),
        None => Ok(value),
    }
}

impl Reddit {
    /// An image into Reddit's media store: a lease (`POST /api/media/asset.json`),
    /// then the file with the lease's fields to the storage URL it names.
    /// Returns the image's URL, to submit.
    async fn upload_image(&self, token: &str, media: &Attachment) -> Result<String, ProviderError> {
        if !media.is_image() {
            return Err(ProviderError::invalid("Herald posts images to Reddit, not videos"));
        }
        let name = media.file_name(0);
        let form = [("filepath", name.as_str()), ("mimetype", media.mime.as_str())];
        let lease = answer(
            self.client.send(self.request(reqwest::Method::POST, "/api/media/asset.json", token).form(&form)).await?,
        )
        .await?;
        let Some(action) = lease["args"]["action"].as_str() else {
            return Err(ProviderError::new(ErrorClass::Unknown, "Reddit did not say where to upload the image"));
        };
        // `//reddit-uploaded-media.s3-accelerate.amazonaws.com`: Reddit's storage.
        let storage = self.settings.platform_url("reddit", &format!("https:{action}"));
        let mut upload = reqwest::multipart::Form::new();
        let mut key = None;
        for field in lease["args"]["fields"].as_array().into_iter().flatten() {
            let (Some(name), Some(value)) = (field["name"].as_str(), field["value"].as_str()) else { continue };
            if name == "key" {
                key = Some(value.to_string());
            }
            upload = upload.text(name.to_string(), value.to_string());
        }
        let key = key.ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Reddit's upload lease has no key"))?;
        let file = media
            .part()
            .file_name(name.clone())
            .mime_str(&media.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not a media type Reddit takes", media.mime)))?;
        let response =
            self.client.send(self.client.inner().post(&storage).multipart(upload.part("file", file))).await?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(ProviderError::new(
                classify_status(status, None),
                format!("Reddit's media storage refused the image ({status})"),
            ));
        }
        Ok(format!("{}/{key}", storage.trim_end_matches('/')))
    }

    /// The image post just submitted, from the account's newest submissions:
    /// Reddit answers an image submission before the post exists.
    async fn find_submitted(
        &self,
        creds: &Credentials,
        subreddit: &str,
        title: &str,
        since: i64,
    ) -> Result<PublishedItem, ProviderError> {
        let path = format!("/user/{}/submitted?sort=new&limit=10&raw_json=1", creds.username);
        for attempt in 0..FIND_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(FIND_PAUSE).await;
            }
            let request = self.request(reqwest::Method::GET, &path, &creds.tokens.access_token);
            let Ok(response) = self.client.send(request).await else { continue };
            let Ok(listing) = answer(response).await else { continue };
            let found =
                listing["data"]["children"].as_array().into_iter().flatten().map(|child| &child["data"]).find(|post| {
                    post["title"] == title
                        && post["subreddit"].as_str().is_some_and(|sr| sr.eq_ignore_ascii_case(subreddit))
                        && post["created_utc"].as_f64().is_some_and(|at| at >= since as f64)
                });
            if let Some(post) = found
                && let Some(id) = post["name"].as_str()
            {
                let url = post["permalink"].as_str().map(|p| format!("https://www.reddit.com{p}"));
                return Ok(PublishedItem { id: id.to_string(), url });
            }
        }
        Err(ProviderError::new(
            ErrorClass::MaybeSent,
            "Reddit took the image post but has not shown it yet; look at the account's posts before sending it again",
        ))
    }
}

#[async_trait]
impl OAuthConnect for Reddit {
    fn app_env(&self) -> &'static [&'static str] {
        &["REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[("duration", "permanent")])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let me =
            answer(self.client.send(self.request(reqwest::Method::GET, "/api/v1/me", &tokens.access_token)).await?)
                .await?;
        let Some(name) = me["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err(ProviderError::new(ErrorClass::Unknown, "Reddit did not say which account this is"));
        };
        let avatar = me["icon_img"].as_str().map(|url| url.split('?').next().unwrap_or(url).to_string());
        let stored = Credentials { tokens: tokens.clone(), username: name.to_string() };
        Ok(vec![ConnectedAccount {
            account_id: me["id"].as_str().unwrap_or(name).to_string(),
            username: format!("u/{name}"),
            display_name: name.to_string(),
            avatar_url: avatar.filter(|url| !url.is_empty()),
            credentials: serde_json::to_value(&stored).unwrap_or_default(),
            token_expires_at: tokens.expires_at,
            scopes: tokens.scopes,
            profile_pending: false,
        }])
    }

    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        self.flow()?.revoke(&credentials(value)?.tokens).await
    }
}

#[async_trait]
impl Provider for Reddit {
    fn id(&self) -> &'static str {
        "reddit"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("reddit")
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("Reddit")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Reddit")
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("Reddit is connected by signing in: GET /api/auth/reddit"))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let token = &creds.tokens.access_token;
        // Thread items: each a comment on the previous item.
        if let Some(parent) = &request.reply_to {
            let form = [("api_type", "json"), ("thing_id", parent.id.as_str()), ("text", request.content.as_str())];
            let posted =
                answer(self.client.send(self.request(reqwest::Method::POST, "/api/comment", token).form(&form)).await?)
                    .await?;
            let comment = &posted["json"]["data"]["things"][0]["data"];
            let id = comment["name"]
                .as_str()
                .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Reddit did not return the comment id"))?;
            let url = comment["permalink"].as_str().map(|p| format!("https://www.reddit.com{p}"));
            return Ok(PublishedItem { id: id.to_string(), url }.into());
        }
        let settings: Settings = declared::read("Reddit", &request.settings).map_err(ProviderError::invalid)?;
        let image = match request.media.first() {
            Some(media) if settings.url.is_none() => {
                Some(self.upload_image(token, media).await.map_err(ProviderError::before_publishing)?)
            }
            _ => None,
        };
        let form = submission(&settings, &request.content, image.as_deref())?;
        let submitted_at = Utc::now().timestamp() - 60;
        let posted =
            answer(self.client.send(self.request(reqwest::Method::POST, "/api/submit", token).form(&form)).await?)
                .await?;
        if image.is_some() {
            let title = form.iter().find(|(k, _)| *k == "title").map(|(_, v)| v.as_str()).unwrap_or_default();
            let subreddit = form.iter().find(|(k, _)| *k == "sr").map(|(_, v)| v.as_str()).unwrap_or_default();
            return self.find_submitted(&creds, subreddit, title, submitted_at).await.map(crate::Step::from);
        }
        let data = &posted["json"]["data"];
        let id = data["name"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Reddit did not return the post id"))?;
        Ok(PublishedItem { id: id.to_string(), url: data["url"].as_str().map(str::to_string) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    fn tools(&self) -> &'static [Tool] {
        &[
            Tool {
                method: "getFlairs",
                description: "The post flairs of a subreddit: use an id as the flair",
                data: &[("subreddit", "The subreddit, without r/")],
            },
            Tool {
                method: "searchSubreddits",
                description: "Subreddits whose name starts with the query",
                data: &[("query", "The start of a subreddit's name")],
            },
        ]
    }

    /// `GET /r/{subreddit}/api/link_flair_v2` and
    /// `GET /api/subreddit_autocomplete_v2`.
    async fn run_tool(&self, value: &Value, method: &str, data: &Value) -> Result<Value, ProviderError> {
        let creds = credentials(value)?;
        let token = &creds.tokens.access_token;
        match method {
            "getFlairs" => {
                let subreddit = data["subreddit"].as_str().unwrap_or_default().trim();
                let subreddit = subreddit.trim_start_matches("/r/").trim_start_matches("r/");
                let valid = (2..=21).contains(&subreddit.len())
                    && subreddit.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(ProviderError::invalid("`subreddit` must name a subreddit, e.g. rust"));
                }
                let path = format!("/r/{subreddit}/api/link_flair_v2");
                let flairs = answer(self.client.send(self.request(reqwest::Method::GET, &path, token)).await?).await?;
                let flairs = flairs.as_array().cloned().unwrap_or_default();
                Ok(Value::Array(
                    flairs
                        .iter()
                        .filter_map(|f| {
                            let id = f["id"].as_str()?;
                            Some(serde_json::json!({"id": id, "name": f["text"], "editable": f["text_editable"]}))
                        })
                        .collect(),
                ))
            }
            "searchSubreddits" => {
                let query = data["query"].as_str().unwrap_or_default().trim();
                if query.is_empty() || query.len() > 50 {
                    return Err(ProviderError::invalid("`query` must be 1–50 characters"));
                }
                let path = format!(
                    "/api/subreddit_autocomplete_v2?query={}&limit=10&include_profiles=false&include_over_18=true",
                    url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
                );
                let listing = answer(self.client.send(self.request(reqwest::Method::GET, &path, token)).await?).await?;
                let children = listing["data"]["children"].as_array().cloned().unwrap_or_default();
                Ok(Value::Array(
                    children
                        .iter()
                        .filter(|c| c["kind"] == "t5")
                        .filter_map(|c| {
                            let name = c["data"]["display_name"].as_str()?;
                            Some(serde_json::json!({"id": name, "name": name, "title": c["data"]["title"]}))
                        })
                        .collect(),
                ))
            }
            other => Err(ProviderError::invalid(format!("`{other}` is not a tool of Reddit"))),
        }
    }

    /// Score and comments (`GET /by_id/{fullname}`).
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let path = format!("/by_id/{}", item.id);
        let listing =
            answer(self.client.send(self.request(reqwest::Method::GET, &path, &creds.tokens.access_token)).await?)
                .await?;
        let post = &listing["data"]["children"][0]["data"];
        Ok(Metrics::from([
            ("score".to_string(), post["score"].as_i64().unwrap_or(0)),
            ("replies".to_string(), post["num_comments"].as_i64().unwrap_or(0)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusals_inside_a_200_answer_are_errors() {
        let missing = json!({"json": {"errors": [["SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr"]]}});
        let error = body_errors(&missing).unwrap_or_else(|| panic!("an error"));
        assert_eq!(error.class, ErrorClass::Invalid);
        assert!(error.message.contains("SUBREDDIT_NOEXIST"));
        let limited = json!({"json": {"errors": [["RATELIMIT", "you are doing that too much. try again in 9 minutes.", "ratelimit"]]}});
        let error = body_errors(&limited).unwrap_or_else(|| panic!("an error"));
        assert_eq!(error.class, ErrorClass::Retryable { after: Some(Duration::from_secs(540)) });
        assert!(body_errors(&json!({"json": {"errors": [], "data": {}}})).is_none());
        assert_eq!(wait_from("try again in 30 seconds."), Some(Duration::from_secs(30)));
    }

    #[test]
    fn a_submission_is_a_self_post_or_a_link_titled_by_the_first_line() {
        let settings = Settings { subreddit: Some("rust".into()), ..Settings::default() };
        let form = submission(&settings, "Herald 1.0\n\nIt schedules.", None).unwrap_or_default();
        assert!(form.contains(&("title", "Herald 1.0".into())) && form.contains(&("kind", "self".into())));
        let link = Settings { url: Some("https://herald.example".into()), flair_id: Some("f1".into()), ..settings };
        let form = submission(&link, "Read this", None).unwrap_or_default();
        assert!(form.contains(&("kind", "link".into())) && form.contains(&("flair_id", "f1".into())));
        assert!(submission(&Settings::default(), "x", None).is_err(), "a subreddit is needed");
        let pictured = Settings { subreddit: Some("rust".into()), ..Settings::default() };
        let form = submission(&pictured, "Ferris", Some("https://i.example/k")).unwrap_or_default();
        assert!(form.contains(&("kind", "image".into())) && form.contains(&("url", "https://i.example/k".into())));
    }
}
