//! `teams`: posts to a Microsoft Teams channel or chat as an Adaptive Card,
//! through a Workflows webhook (Teams → the channel's ⋯ → Workflows → "Post
//! to a channel when a webhook request is received",
//! <https://support.microsoft.com/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498>),
//! or a legacy Office 365 connector URL where one still works.
//!
//! The URL is the credential (its `sig` is a secret), so requests go through
//! [`HttpClient::send`]. Connecting sends a message with no attachments:
//! the workflow runs and posts nothing (a connector refuses it for lack of
//! text); a wrong signature or a deleted workflow is refused.
//!
//! A post is one card: an optional title, the text (`TextBlock`, which reads
//! Teams' Markdown subset) and the images, which Teams fetches from
//! `MAIN_URL`. A workflow answers `202` and nothing to reply to, so thread
//! items follow as cards in order, the idempotency key stands in as the id,
//! and an interrupted delivery is not sent again.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::{TargetGuard, url_fingerprint};
use crate::{ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem};

/// Hosts of Power Automate workflow triggers, whose URLs are signed.
const WORKFLOW_HOSTS: &[&str] = &[".logic.azure.com", ".api.powerplatform.com", ".powerautomate.com"];

pub struct Teams {
    client: HttpClient,
    guard: TargetGuard,
}

impl Teams {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// The channel's ⋯ → Workflows → "Post to a channel when a webhook
    /// request is received" → copy the URL it shows at the end.
    #[schemars(title = "Workflow webhook URL", url, extend("writeOnly" = true))]
    webhook_url: String,
}

fn hook_url(value: &Value, guard: &TargetGuard) -> Result<url::Url, ProviderError> {
    let given: Option<Credentials> = serde_json::from_value(value.clone()).ok();
    let raw = given.as_ref().map(|c| c.webhook_url.trim()).unwrap_or_default();
    if raw.is_empty() {
        return Err(ProviderError::invalid("`webhookUrl` is required (a Teams Workflows webhook URL)"));
    }
    let url = guard.check_url(raw).map_err(|e| ProviderError::invalid(e.replace(raw, "the URL")))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let workflow = WORKFLOW_HOSTS.iter().any(|suffix| host.ends_with(suffix));
    let signed = url.query_pairs().any(|(key, value)| key == "sig" && !value.is_empty());
    if workflow && (url.scheme() != "https" || !signed) {
        return Err(ProviderError::invalid(
            "`webhookUrl` must be the whole https workflow URL, with its `sig` parameter (copy it again from the workflow)",
        ));
    }
    Ok(url)
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// A bold heading above the text.
    #[garde(length(chars, max = 200))]
    title: Option<String>,
    /// Use the whole width of the channel (Teams draws cards narrower otherwise).
    full_width: bool,
}

/// The message a workflow (or connector) takes: one Adaptive Card.
fn card(request: &PublishRequest, settings: &Settings) -> Value {
    let mut body = Vec::new();
    if let Some(title) = settings.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        body.push(json!({"type": "TextBlock", "text": title, "size": "Large", "weight": "Bolder", "wrap": true}));
    }
    if !request.content.trim().is_empty() {
        body.push(json!({"type": "TextBlock", "text": request.content, "wrap": true}));
    }
    for media in &request.media {
        let mut image = json!({"type": "Image", "url": media.url, "size": "Stretch"});
        if let Some(alt) = media.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            image["altText"] = json!(alt);
        }
        body.push(image);
    }
    // Outside URLs are not among the library's files: Teams fetches them as they are.
    for url in request.media_urls.iter().filter(|url| !request.media.iter().any(|m| &m.url == *url)) {
        body.push(json!({"type": "Image", "url": url, "size": "Stretch"}));
    }
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if settings.full_width {
        content["msteams"] = json!({"width": "Full"});
    }
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": content}],
    })
}

/// Logic Apps' error body: `{"error": {"code": "…", "message": "…"}}`; a
/// connector answers plain text.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = value["error"]["code"].as_str().unwrap_or_default();
    let said = value["error"]["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = if code.is_empty() {
        format!("Teams answered {}: {said}", status.as_u16())
    } else {
        format!("Teams answered {} {code}: {said}", status.as_u16())
    };
    let gone = matches!(status.as_u16(), 401 | 403 | 404 | 410)
        || code.contains("NotFound")
        || code.contains("Disabled")
        || code.contains("NotEnabled")
        || code.contains("Authorization");
    if gone {
        return ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — this workflow can no longer post; create it again (or turn it on) and reconnect"),
        );
    }
    ProviderError::new(classify_status(status, wait), shown)
}

impl Teams {
    async fn post(
        &self,
        url: url::Url,
        body: &Value,
    ) -> Result<(StatusCode, String, Option<std::time::Duration>), ProviderError> {
        let response = self.client.send(self.client.inner().post(url).json(body)).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        Ok((status, response.text().await.unwrap_or_default(), wait))
    }
}

#[async_trait]
impl Provider for Teams {
    fn id(&self) -> &'static str {
        "teams"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("teams")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Teams")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Teams")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let url = hook_url(value, &self.guard)?;
        self.guard.check_resolved(&url).await.map_err(ProviderError::invalid)?;
        let (status, body, wait) = self.post(url.clone(), &json!({"type": "message", "attachments": []})).await?;
        // A connector (not a workflow) refuses a message without text, and
        // so shows it is alive.
        let connector_alive = status == StatusCode::BAD_REQUEST && body.to_lowercase().contains("text is required");
        if !status.is_success() && !connector_alive {
            return Err(classify(status, wait, &body));
        }
        let host = url.host_str().unwrap_or("teams").to_string();
        Ok(ConnectedAccount {
            account_id: url_fingerprint(&url),
            username: host.clone(),
            display_name: format!("Teams workflow {}", &url_fingerprint(&url)[..6]),
            avatar_url: None,
            credentials: json!({ "webhookUrl": url.as_str() }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let url = hook_url(&request.credentials, &self.guard)?;
        let settings: Settings = declared::read("Teams", &request.settings).map_err(ProviderError::invalid)?;
        let (status, body, wait) = self.post(url, &card(request, &settings)).await?;
        if !status.is_success() {
            return Err(classify(status, wait, &body));
        }
        Ok(PublishedItem { id: request.idempotency_key.clone(), url: None }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attachment;

    fn request(content: &str) -> PublishRequest {
        PublishRequest {
            target_id: uuid::Uuid::nil(),
            post_id: uuid::Uuid::nil(),
            integration_id: uuid::Uuid::nil(),
            integration_name: "t".into(),
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
    fn workflow_urls_must_be_signed() {
        let guard = TargetGuard::new(false);
        let good = "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRET";
        assert!(hook_url(&json!({"webhookUrl": good}), &guard).is_ok());
        let unsigned = good.replace("&sig=SECRET", "");
        assert!(hook_url(&json!({"webhookUrl": unsigned}), &guard).is_err());
        let private = hook_url(&json!({"webhookUrl": "http://192.168.1.2/hook?sig=SECRET"}), &guard).err().unwrap();
        assert!(!private.message.contains("SECRET"));
    }

    #[test]
    fn a_post_is_one_adaptive_card() {
        let mut with_image = request("**Launch** today");
        let mut image = Attachment::loaded(vec![1, 2, 3]);
        image.url = "https://herald.example/media/1.png".into();
        image.alt_text = Some("the rocket".into());
        with_image.media.push(image);
        let settings = Settings { title: Some("News".into()), full_width: true };
        let message = card(&with_image, &settings);
        assert_eq!(message["type"], "message");
        let attachment = &message["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        let content = &attachment["content"];
        assert_eq!((content["type"].as_str(), content["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
        assert_eq!(content["msteams"]["width"], "Full");
        assert_eq!(
            content["body"],
            json!([
                {"type": "TextBlock", "text": "News", "size": "Large", "weight": "Bolder", "wrap": true},
                {"type": "TextBlock", "text": "**Launch** today", "wrap": true},
                {"type": "Image", "url": "https://herald.example/media/1.png", "size": "Stretch", "altText": "the rocket"},
            ])
        );
    }

    #[test]
    fn documented_errors_are_classified() {
        let error = |code: &str| json!({"error": {"code": code, "message": "m"}}).to_string();
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &error("DirectApiInvalidAuthorizationSignature")).class,
            ErrorClass::Revoked
        );
        assert_eq!(classify(StatusCode::NOT_FOUND, None, &error("WorkflowNotFound")).class, ErrorClass::Revoked);
        assert_eq!(
            classify(StatusCode::CONFLICT, None, &error("WorkflowTriggerIsNotEnabled")).class,
            ErrorClass::Revoked
        );
        let refused = classify(StatusCode::BAD_REQUEST, None, &error("InvalidRequestContent"));
        assert_eq!(
            (refused.class, refused.message.as_str()),
            (ErrorClass::Invalid, "Teams answered 400 InvalidRequestContent: m")
        );
        let wait = Some(std::time::Duration::from_secs(4));
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS, wait, "").class, ErrorClass::Retryable { after: wait });
    }
}
