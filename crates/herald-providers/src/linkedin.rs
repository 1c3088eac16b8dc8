//! `linkedin` (a member's own feed) and `linkedin-page` (organization
//! pages the member administers), connected by LinkedIn's OAuth 2.0
//! (`LINKEDIN_CLIENT_ID`/`_SECRET` for both; web apps get no PKCE, and the
//! client authenticates in the form body).
//!
//! Posts go to the Posts API (`POST /rest/posts`, whose id comes back in
//! `x-restli-id`), images through the Images API (`initializeUpload`, then
//! a `PUT` of the bytes), a video through the Videos API (`initializeUpload`,
//! a `PUT` of each part LinkedIn names, `finalizeUpload` with the parts'
//! ETags, then waiting until it is `AVAILABLE`); thread items become comments on the post
//! (`socialActions/{urn}/comments`). The API version is pinned once, in
//! [`LINKEDIN_VERSION`]. Access tokens live 60 days; refresh tokens (a year)
//! exist only for apps LinkedIn approved for them, so without one the
//! account must be reconnected before its token expires.

use async_trait::async_trait;
use chrono::Utc;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::Declaration;
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Refreshed, Tool,
};

/// The LinkedIn API version every `/rest` request names (`LinkedIn-Version`).
pub const LINKEDIN_VERSION: &str = "202511";

/// A member's own feed, or the pages they administer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Member,
    Pages,
}

pub struct LinkedIn {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
    audience: Audience,
}

impl LinkedIn {
    pub fn new(client: HttpClient, settings: &ProviderSettings, audience: Audience) -> Self {
        let id = match audience {
            Audience::Member => "linkedin",
            Audience::Pages => "linkedin-page",
        };
        let flow = App::from_env(settings, "LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url(id, "https://www.linkedin.com/oauth/v2/authorization"),
                token: settings.platform_url(id, "https://www.linkedin.com/oauth/v2/accessToken"),
                revoke: Some(settings.platform_url(id, "https://www.linkedin.com/oauth/v2/revoke")),
            };
            CodeFlow::new(client.clone(), app, endpoints, "LinkedIn").without_pkce().credentials_in_body()
        });
        Self { api: settings.platform_url(id, "https://api.linkedin.com"), client, flow, audience }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("LinkedIn is not configured: set LINKEDIN_CLIENT_ID"))
    }

    fn scopes(&self) -> &'static [&'static str] {
        match self.audience {
            Audience::Member => &["openid", "profile", "w_member_social"],
            Audience::Pages => {
                &["openid", "profile", "w_organization_social", "r_organization_social", "rw_organization_admin"]
            }
        }
    }

    /// A `/rest` request with the pinned version and Rest.li 2.0.
    fn rest(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(token)
            .header("LinkedIn-Version", LINKEDIN_VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }
}

/// What is stored for a connected account.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// `urn:li:person:…` or `urn:li:organization:…`: who posts.
    author: String,
    /// The member who connected it (comments on a page's posts are theirs).
    member: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored LinkedIn credentials are incomplete; reconnect the account")
    })
}

/// LinkedIn's words in an error body (`message`), or the body.
fn said(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_default();
    value["message"].as_str().map_or_else(|| excerpt(body), str::to_string)
}

/// 401 is an expired or revoked token (refresh, else reconnect). 403 is a
/// permission the app or member lacks for this action — not a revoked
/// grant. 422 is refused content (a duplicate, too long).
fn error_from(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    let said = said(body);
    match status.as_u16() {
        401 => ProviderError::new(ErrorClass::AuthExpired, format!("LinkedIn refused the access token: {said}")),
        403 => ProviderError::invalid(format!("LinkedIn does not allow this: {said}")),
        400 | 409 | 422 => ProviderError::invalid(format!("LinkedIn refused the post: {said}")),
        _ => ProviderError::new(
            classify_status(status, retry_after(headers, Utc::now())),
            format!("LinkedIn answered {status}: {said}"),
        ),
    }
}

/// A successful answer's headers and JSON body (empty bodies are `Null`).
async fn answer(response: reqwest::Response) -> Result<(HeaderMap, Value), ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text));
    }
    Ok((headers, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// `urn:li:organization:123` → `123`.
fn last_segment(urn: &str) -> &str {
    urn.rsplit(':').next().unwrap_or(urn)
}

/// A URN as a path segment (`:` and `,` escaped, as Rest.li 2.0 wants).
fn encoded(urn: &str) -> String {
    url::form_urlencoded::byte_serialize(urn.as_bytes()).collect()
}

impl LinkedIn {
    /// The member a token belongs to (`GET /v2/userinfo`, OpenID Connect).
    async fn member(&self, token: &str) -> Result<Value, ProviderError> {
        let request = self.client.inner().get(format!("{}/v2/userinfo", self.api)).bearer_auth(token);
        let (_, member) = answer(self.client.send(request).await?).await?;
        if member["sub"].as_str().is_none_or(str::is_empty) {
            return Err(ProviderError::new(ErrorClass::Unknown, "LinkedIn did not say which member this is"));
        }
        Ok(member)
    }

    /// The pages the member administers, each as an account to choose.
    async fn pages(&self, tokens: &Tokens, member: &str) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let path = "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED";
        let (_, acls) =
            answer(self.client.send(self.rest(reqwest::Method::GET, path, &tokens.access_token)).await?).await?;
        let mut accounts = Vec::new();
        for acl in acls["elements"].as_array().into_iter().flatten() {
            let Some(organization) = acl["organization"].as_str() else { continue };
            let id = last_segment(organization);
            let lookup = self.rest(reqwest::Method::GET, &format!("/rest/organizations/{id}"), &tokens.access_token);
            // The name only decorates: a page whose details cannot be read is offered by its id.
            let details = match self.client.send(lookup).await {
                Ok(response) => answer(response).await.map(|(_, v)| v).unwrap_or_default(),
                Err(_) => Value::Null,
            };
            let name = details["localizedName"].as_str().unwrap_or(id).to_string();
            let stored =
                Credentials { tokens: tokens.clone(), author: organization.to_string(), member: member.to_string() };
            accounts.push(ConnectedAccount {
                account_id: id.to_string(),
                username: details["vanityName"].as_str().unwrap_or(id).to_string(),
                display_name: name,
                avatar_url: None,
                credentials: serde_json::to_value(&stored).unwrap_or_default(),
                token_expires_at: tokens.expires_at,
                scopes: tokens.scopes.clone(),
                profile_pending: false,
            });
        }
        Ok(accounts)
    }

    /// One image through the Images API: `initializeUpload`, then the bytes.
    async fn upload(&self, creds: &Credentials, media: &Attachment) -> Result<String, ProviderError> {
        let token = &creds.tokens.access_token;
        let init = self
            .rest(reqwest::Method::POST, "/rest/images?action=initializeUpload", token)
            .json(&json!({ "initializeUploadRequest": { "owner": creds.author } }));
        let (_, started) = answer(self.client.send(init).await.map_err(ProviderError::before_publishing)?).await?;
        let (Some(upload_url), Some(image)) =
            (started["value"]["uploadUrl"].as_str(), started["value"]["image"].as_str())
        else {
            return Err(ProviderError::new(ErrorClass::Unknown, "LinkedIn did not say where to upload the image"));
        };
        let put = self
            .client
            .inner()
            .put(upload_url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_LENGTH, media.size)
            .body(media.upload_body());
        answer(self.client.send(put).await.map_err(ProviderError::before_publishing)?).await?;
        Ok(image.to_string())
    }
}

/// How long a publish waits for LinkedIn to process a video before trying later.
const MAX_VIDEO_WAIT: std::time::Duration = std::time::Duration::from_secs(120);
const VIDEO_POLL: std::time::Duration = std::time::Duration::from_secs(2);

impl LinkedIn {
    /// A video through the Videos API; its URN once LinkedIn can show it.
    async fn upload_video(&self, creds: &Credentials, media: &Attachment) -> Result<String, ProviderError> {
        let token = &creds.tokens.access_token;
        let init = json!({ "initializeUploadRequest": {
            "owner": creds.author, "fileSizeBytes": media.size, "uploadCaptions": false, "uploadThumbnail": false
        }});
        let request = self.rest(reqwest::Method::POST, "/rest/videos?action=initializeUpload", token).json(&init);
        let (_, started) = answer(self.client.send(request).await?).await?;
        let value = &started["value"];
        let video = value["video"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "LinkedIn did not name the video"))?
            .to_string();
        let mut etags = Vec::new();
        for part in value["uploadInstructions"].as_array().into_iter().flatten() {
            let (Some(url), Some(first), Some(last)) =
                (part["uploadUrl"].as_str(), part["firstByte"].as_u64(), part["lastByte"].as_u64())
            else {
                return Err(ProviderError::new(ErrorClass::Unknown, "LinkedIn gave an unreadable upload instruction"));
            };
            if first > last || last >= media.size {
                return Err(ProviderError::new(
                    ErrorClass::Unknown,
                    "LinkedIn asked for bytes the video does not have",
                ));
            }
            let put = self
                .client
                .inner()
                .put(url)
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, last + 1 - first)
                .body(media.stream(first..last + 1));
            let (headers, _) = answer(self.client.send(put).await?).await?;
            let etag = headers.get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default();
            etags.push(etag.to_string());
        }
        let finalize = json!({ "finalizeUploadRequest": {
            "video": video, "uploadToken": value["uploadToken"].as_str().unwrap_or_default(), "uploadedPartIds": etags
        }});
        let request = self.rest(reqwest::Method::POST, "/rest/videos?action=finalizeUpload", token).json(&finalize);
        answer(self.client.send(request).await?).await?;
        let mut waited = std::time::Duration::ZERO;
        loop {
            let path = format!("/rest/videos/{}", encoded(&video));
            let (_, state) = answer(self.client.send(self.rest(reqwest::Method::GET, &path, token)).await?).await?;
            match state["status"].as_str() {
                Some("AVAILABLE") => return Ok(video),
                Some("PROCESSING_FAILED") => {
                    let said = state["processingFailureReason"].as_str().unwrap_or("no reason given");
                    return Err(ProviderError::invalid(format!("LinkedIn could not process the video: {said}")));
                }
                _ if waited >= MAX_VIDEO_WAIT => {
                    return Err(ProviderError::new(
                        ErrorClass::Retryable { after: Some(VIDEO_POLL * 15) },
                        "LinkedIn is still processing the video; trying again later",
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(VIDEO_POLL).await;
            waited += VIDEO_POLL;
        }
    }
}

/// The body of `POST /rest/posts`: images (with alt text), or one video.
fn post_body(author: &str, text: &str, images: &[(String, Option<String>)]) -> Value {
    let mut body = json!({
        "author": author,
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": { "feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": [] },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    let image = |(id, alt): &(String, Option<String>)| json!({ "id": id, "altText": alt.clone().unwrap_or_default() });
    match images {
        [] => {}
        [one] => body["content"] = json!({ "media": image(one) }),
        many => body["content"] = json!({ "multiImage": { "images": many.iter().map(image).collect::<Vec<_>>() } }),
    }
    body
}

#[async_trait]
impl OAuthConnect for LinkedIn {
    fn app_env(&self) -> &'static [&'static str] {
        &["LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, self.scopes(), &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let member = self.member(&tokens.access_token).await?;
        let person = format!("urn:li:person:{}", member["sub"].as_str().unwrap_or_default());
        if self.audience == Audience::Pages {
            return self.pages(&tokens, &person).await;
        }
        let name = member["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or("LinkedIn member").to_string();
        let stored = Credentials { tokens: tokens.clone(), author: person.clone(), member: person };
        Ok(vec![ConnectedAccount {
            account_id: member["sub"].as_str().unwrap_or_default().to_string(),
            username: member["email"].as_str().unwrap_or(&name).to_string(),
            display_name: name,
            avatar_url: member["picture"].as_str().map(str::to_string),
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
impl Provider for LinkedIn {
    fn id(&self) -> &'static str {
        match self.audience {
            Audience::Member => "linkedin",
            Audience::Pages => "linkedin-page",
        }
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of(self.id())
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("LinkedIn")
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid(format!("LinkedIn is connected by signing in: GET /api/auth/{}", self.id())))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let token = &creds.tokens.access_token;
        // Thread items are comments on the post, by the member.
        if let Some(root) = &request.root {
            let path = format!("/rest/socialActions/{}/comments", encoded(&root.id));
            let comment = json!({ "actor": creds.member, "object": root.id, "message": { "text": request.content } });
            let (headers, body) =
                answer(self.client.send(self.rest(reqwest::Method::POST, &path, token).json(&comment)).await?).await?;
            let id = headers.get("x-restli-id").and_then(|v| v.to_str().ok()).map(str::to_string);
            let id = id.or_else(|| body["id"].as_str().map(str::to_string)).unwrap_or_default();
            return Ok(PublishedItem { id, url: None }.into());
        }
        let mut images = Vec::with_capacity(request.media.len());
        match request.media.as_slice() {
            [video] if video.is_video() => {
                let urn = self.upload_video(&creds, video).await.map_err(ProviderError::before_publishing)?;
                images.push((urn, None));
            }
            many if many.iter().any(Attachment::is_video) => {
                return Err(ProviderError::invalid("LinkedIn takes one video per post, alone: remove the other files"));
            }
            files => {
                for media in files {
                    images.push((self.upload(&creds, media).await?, media.alt_text.clone()));
                }
            }
        }
        let body = post_body(&creds.author, &request.content, &images);
        let (headers, _) =
            answer(self.client.send(self.rest(reqwest::Method::POST, "/rest/posts", token).json(&body)).await?).await?;
        let id = headers
            .get("x-restli-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "LinkedIn did not return the post id"))?;
        let url = Some(format!("https://www.linkedin.com/feed/update/{id}/"));
        Ok(PublishedItem { id, url }.into())
    }

    /// Pages: the pages the member administers (each one an account of its own).
    fn tools(&self) -> &'static [Tool] {
        const PAGES: &[Tool] = &[
            Tool {
                method: "getCompanies",
                description: "The LinkedIn pages the member administers; connect one as a linkedin-page account to post as it",
                data: &[],
            },
            Tool { method: "getOrganizations", description: "The same as getCompanies", data: &[] },
        ];
        match self.audience {
            Audience::Member => &[],
            Audience::Pages => PAGES,
        }
    }

    /// `GET /rest/organizationAcls` with each page's name, as when connecting.
    async fn run_tool(&self, value: &Value, method: &str, _data: &Value) -> Result<Value, ProviderError> {
        if self.audience != Audience::Pages || !matches!(method, "getCompanies" | "getOrganizations") {
            return Err(ProviderError::invalid(format!("`{method}` is not a tool of this LinkedIn account")));
        }
        let creds = credentials(value)?;
        let pages = self.pages(&creds.tokens, &creds.member).await?;
        Ok(Value::Array(
            pages
                .iter()
                .map(|page| json!({"id": page.account_id, "name": page.display_name, "username": page.username}))
                .collect(),
        ))
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// Likes and comments (`GET /rest/socialActions/{urn}`).
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let path = format!("/rest/socialActions/{}", encoded(&item.id));
        let request = self.rest(reqwest::Method::GET, &path, &creds.tokens.access_token);
        let (_, actions) = answer(self.client.send(request).await?).await?;
        Ok(Metrics::from([
            ("likes".to_string(), actions["likesSummary"]["totalLikes"].as_i64().unwrap_or(0)),
            ("replies".to_string(), actions["commentsSummary"]["aggregatedTotalComments"].as_i64().unwrap_or(0)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_image_is_media_and_several_a_multi_image() {
        let text = post_body("urn:li:person:a", "hi", &[]);
        assert!(text.get("content").is_none());
        assert_eq!(text["distribution"]["feedDistribution"], "MAIN_FEED");
        let one = post_body("urn:li:person:a", "hi", &[("urn:li:image:1".into(), Some("a cat".into()))]);
        assert_eq!(one["content"]["media"], json!({"id": "urn:li:image:1", "altText": "a cat"}));
        let two =
            post_body("urn:li:person:a", "hi", &[("urn:li:image:1".into(), None), ("urn:li:image:2".into(), None)]);
        assert_eq!(two["content"]["multiImage"]["images"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn forbidden_is_a_missing_permission_not_a_revoked_grant() {
        let forbidden = error_from(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            r#"{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions to access: partnerApiPostsExternal.CREATE.20251101"}"#,
        );
        assert_eq!(forbidden.class, ErrorClass::Invalid);
        assert!(forbidden.message.contains("Not enough permissions"));
        let expired = error_from(
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            r#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#,
        );
        assert_eq!(expired.class, ErrorClass::AuthExpired);
        assert_eq!(encoded("urn:li:share:1"), "urn%3Ali%3Ashare%3A1");
    }
}
