//! AI writing help: a post rewritten, shortened, given hashtags or
//! translated by any OpenAI-compatible chat-completions server the operator
//! configured (`HERALD_AI_BASE_URL`, `HERALD_AI_API_KEY`, `HERALD_AI_MODEL`;
//! local servers included). One suggestion per account, written for that
//! platform's limit and then checked against it by Herald itself: an answer
//! the model made too long comes back `valid: false` with the reason, never
//! passed off as valid.

use std::time::Duration;

use herald_core::api_key::Scope;
use herald_core::platform::{account_max_length, rules_for};
use herald_core::{ValidationError, ValidationErrors};
use herald_store::repo::Integrations;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

/// How long one model call may take (local models on a CPU are slow).
const MODEL_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest text sent to the model.
const MAX_INPUT_CHARS: usize = 20_000;
/// Accounts one request may ask about.
const MAX_ACCOUNTS: usize = 20;

/// Where the model is; the key never appears in `Debug`.
#[derive(Clone)]
pub struct AiSettings {
    /// Up to and including the API version, e.g. `https://api.openai.com/v1`
    /// or `http://localhost:11434/v1` (Ollama).
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
}

impl std::fmt::Debug for AiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "****"))
            .field("model", &self.model)
            .finish()
    }
}

/// `POST /ai/suggest`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuggestInput {
    /// The text to work on.
    #[schema(min_length = 1, max_length = 20000)]
    pub content: String,
    /// Integration ids: one suggestion for each.
    #[schema(min_items = 1, max_items = 20)]
    pub platforms: Vec<Uuid>,
    pub action: SuggestAction,
    /// For `translate`: the language to translate into (e.g. `German`, `de`).
    #[schema(max_length = 64)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SuggestAction {
    Rewrite,
    Shorten,
    Hashtags,
    Translate,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuggestView {
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub integration_id: Uuid,
    pub platform: String,
    pub content: String,
    /// Fits the account's limit as the platform counts.
    pub valid: bool,
    pub length: usize,
    pub max_length: usize,
    pub errors: Vec<ValidationError>,
}

impl App {
    /// Whether writing help is configured (the UI shows it only then).
    pub fn ai_enabled(&self) -> bool {
        self.settings.ai.is_some()
    }

    pub async fn suggest(&self, caller: &Caller, input: SuggestInput) -> AppResult<SuggestView> {
        caller.require(Scope::PostsWrite)?;
        let (Some(settings), Some(client)) = (self.settings.ai.clone(), self.ai_client.clone()) else {
            return Err(AppError::NotFound("AI writing help (set HERALD_AI_BASE_URL to turn it on)"));
        };
        let mut errors = ValidationErrors::default();
        if input.content.trim().is_empty() {
            errors.push("content", "give the text to work on");
        } else if input.content.chars().count() > MAX_INPUT_CHARS {
            errors.push("content", "at most 20,000 characters");
        }
        if input.platforms.is_empty() || input.platforms.len() > MAX_ACCOUNTS {
            errors.push("platforms", "name 1 to 20 accounts");
        }
        let language = input.language.as_deref().map(str::trim).filter(|l| !l.is_empty());
        if input.action == SuggestAction::Translate && language.is_none() {
            errors.push("language", "say which language to translate into");
        }
        if language.is_some_and(|l| l.chars().count() > 64 || l.contains(['\n', '\r'])) {
            errors.push("language", "a language name or code, on one line");
        }
        let mut ids = input.platforms.clone();
        ids.dedup();
        let rows = Integrations(self.store.conn()).find_many(caller.workspace_id, &ids).await?;
        for (i, id) in input.platforms.iter().enumerate() {
            if !rows.iter().any(|row| row.id == *id) {
                errors.push(format!("platforms[{i}]"), format!("no integration with id {id} in this workspace"));
            }
        }
        errors.into_result()?;
        let mut suggestions = Vec::new();
        for id in ids {
            let Some(row) = rows.iter().find(|row| row.id == id) else { continue };
            let Some(rules) = rules_for(&row.platform) else { continue };
            let limit = account_max_length(&row.settings).unwrap_or(rules.max_length);
            let prompt = instruction(input.action, rules.name, limit, language);
            let answer = complete(&client, &settings, &prompt, &input.content).await?;
            let content = clean(&answer);
            let length = rules.item_length(&content, &serde_json::json!({}));
            let mut problems = Vec::new();
            if content.is_empty() {
                problems.push(ValidationError::new("content", "the model answered with no text"));
            } else if length > limit {
                problems.push(ValidationError::new(
                    "content",
                    format!("{length} of at most {limit} characters on {}: shorten it before using it", rules.name),
                ));
            }
            suggestions.push(Suggestion {
                integration_id: id,
                platform: row.platform.clone(),
                content,
                valid: problems.is_empty(),
                length,
                max_length: limit,
                errors: problems,
            });
        }
        Ok(SuggestView { suggestions })
    }
}

/// One chat completion. The operator's endpoint is trusted configuration
/// (it may be a local model), so it is not SSRF-guarded; its errors never
/// carry the key.
async fn complete(client: &reqwest::Client, settings: &AiSettings, instruction: &str, text: &str) -> AppResult<String> {
    let url = format!("{}/chat/completions", settings.base_url.trim_end_matches('/'));
    let body = serde_json::json!({
        "model": settings.model,
        "messages": [
            {"role": "system", "content": instruction},
            {"role": "user", "content": text},
        ],
        "temperature": 0.7,
    });
    let mut request = client.post(&url).json(&body).timeout(MODEL_TIMEOUT);
    if let Some(key) = &settings.api_key {
        request = request.bearer_auth(key);
    }
    let unavailable = |why: String| AppError::PlatformUnavailable(format!("the AI model endpoint {why}"));
    let response = request.send().await.map_err(|e| {
        let reason = if e.is_timeout() { "did not answer in time".to_string() } else { "could not be reached".into() };
        unavailable(reason)
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|_| unavailable("broke off its answer".into()))?;
    if !status.is_success() {
        return Err(unavailable(format!("answered HTTP {}: {}", status.as_u16(), herald_providers::excerpt(&text))));
    }
    let answer: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| unavailable("did not answer with JSON".into()))?;
    answer["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| unavailable("answered without choices[0].message.content".into()))
}

/// The system prompt for one account.
fn instruction(action: SuggestAction, platform: &str, limit: usize, language: Option<&str>) -> String {
    let task = match action {
        SuggestAction::Rewrite => {
            "Rewrite the user's social media post so it reads well and engages, keeping its meaning, facts and links."
                .to_string()
        }
        SuggestAction::Shorten => {
            "Shorten the user's social media post, keeping its meaning, facts and links.".to_string()
        }
        SuggestAction::Hashtags => {
            "Return the user's social media post unchanged, followed by a few fitting hashtags.".to_string()
        }
        SuggestAction::Translate => format!(
            "Translate the user's social media post into {}, keeping its links, mentions and hashtags.",
            language.unwrap_or("English")
        ),
    };
    format!(
        "{task} It will be published on {platform}, where a post has at most {limit} characters: stay within that. Answer with the post's text only — no quotes, no explanation."
    )
}

/// The answer without what models wrap text in (surrounding quotes, a
/// code fence, blank edges).
fn clean(answer: &str) -> String {
    let mut text = answer.trim();
    if let Some(inner) = text.strip_prefix("```").and_then(|t| t.strip_suffix("```")) {
        text = inner.trim_start_matches(|c: char| c.is_alphanumeric()).trim();
    }
    for (open, close) in [('"', '"'), ('“', '”')] {
        if text.starts_with(open) && text.ends_with(close) && text.chars().count() > 1 {
            text = text[open.len_utf8()..text.len() - close.len_utf8()].trim();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_lose_their_wrapping() {
        assert_eq!(clean("  \"Hello world\"\n"), "Hello world");
        assert_eq!(clean("```text\nHello\n```"), "Hello");
        assert_eq!(clean("“Quoted”"), "Quoted");
        assert_eq!(clean("Plain \"inner\" quotes"), "Plain \"inner\" quotes");
    }

    #[test]
    fn prompts_name_the_platform_and_its_limit() {
        let prompt = instruction(SuggestAction::Translate, "Bluesky", 300, Some("German"));
        assert!(prompt.contains("into German") && prompt.contains("Bluesky") && prompt.contains("300"));
        let debug = format!(
            "{:?}",
            AiSettings { base_url: "http://m".into(), api_key: Some("sk-secret".into()), model: "m".into() }
        );
        assert!(!debug.contains("sk-secret"));
    }
}
