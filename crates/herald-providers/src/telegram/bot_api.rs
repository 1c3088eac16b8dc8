//! The Bot API's side of the conversation: its answer envelope and how a
//! refusal is classified, the message and chat objects Herald reads, and
//! the small JSON pieces requests share.

use reqwest::multipart::Form;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ErrorClass, ProviderError};

/// The Bot API's envelope: `{ok:true, result}` or `{ok:false, error_code, description, parameters}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Answer {
    pub(super) ok: bool,
    pub(super) result: Value,
    pub(super) error_code: Option<u16>,
    pub(super) description: Option<String>,
    pub(super) parameters: Option<ResponseParameters>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ResponseParameters {
    retry_after: Option<u64>,
    migrate_to_chat_id: Option<i64>,
}

/// Maps a failed answer to an error class (unit-tested below).
pub(super) fn classify(status: u16, answer: &Answer) -> ProviderError {
    let code = answer.error_code.unwrap_or(status);
    let description = answer.description.clone().unwrap_or_else(|| format!("HTTP {status}"));
    let parameters = answer.parameters.as_ref();
    if let Some(new_id) = parameters.and_then(|p| p.migrate_to_chat_id) {
        return ProviderError::invalid(format!(
            "Telegram: the group was upgraded to a supergroup with chat id {new_id}; reconnect Telegram with chatId {new_id}"
        ));
    }
    let lower = description.to_lowercase();
    match code {
        429 => ProviderError::new(
            ErrorClass::Retryable { after: parameters.and_then(|p| p.retry_after).map(std::time::Duration::from_secs) },
            format!("Telegram: {description}"),
        ),
        401 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "Telegram: {description} — the bot token is invalid or was revoked; get a new one from @BotFather and reconnect"
            ),
        ),
        // A bad token answers 401; 404 means the method is unknown, i.e. the
        // request did not reach the Bot API it was meant for.
        404 => ProviderError::invalid(format!(
            "Telegram: {description} — unknown Bot API method; check the API base URL (HERALD_PROVIDER_TELEGRAM_API_BASE)"
        )),
        403 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "Telegram: {description} — add the bot back to the chat (as an admin allowed to post, for channels) and reconnect"
            ),
        ),
        400 if lower.contains("chat not found") => ProviderError::new(
            ErrorClass::Revoked,
            format!("Telegram: {description} — the chat is gone or the bot cannot see it; reconnect"),
        ),
        400..=499 => ProviderError::invalid(format!("Telegram: {description}")),
        500..=599 => ProviderError::new(ErrorClass::Retryable { after: None }, format!("Telegram: {description}")),
        _ => ProviderError::new(ErrorClass::Unknown, format!("Telegram: {description}")),
    }
}

/// How a request carries its parameters.
pub(super) enum Params {
    Query(Vec<(&'static str, String)>),
    Json(Value),
    Multipart(Form),
}

/// A sent message, as much of it as Herald needs.
#[derive(Debug, Deserialize)]
pub(super) struct Message {
    pub(super) message_id: i64,
    pub(super) chat: Chat,
}

#[derive(Debug, Deserialize)]
pub(super) struct Chat {
    pub(super) id: i64,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) title: Option<String>,
    pub(super) username: Option<String>,
    pub(super) first_name: Option<String>,
    pub(super) last_name: Option<String>,
}

impl Chat {
    pub(super) fn name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()].into_iter().flatten();
        let person = person.collect::<Vec<_>>().join(" ");
        self.title.clone().filter(|t| !t.is_empty()).unwrap_or(person)
    }
}

/// Public link of a message: `t.me/<username>/<id>` for public chats,
/// `t.me/c/<id>/<id>` (members only) for private channels and supergroups,
/// none for private chats and basic groups, which have no message links.
pub(super) fn message_url(message: &Message) -> Option<String> {
    let chat = &message.chat;
    if let Some(username) = chat.username.as_deref().filter(|u| !u.is_empty()) {
        return Some(format!("https://t.me/{username}/{}", message.message_id));
    }
    let internal = chat.id.to_string();
    let internal = internal.strip_prefix("-100")?;
    matches!(chat.kind.as_str(), "channel" | "supergroup")
        .then(|| format!("https://t.me/c/{internal}/{}", message.message_id))
}

/// Whether a `ChatMember` may post in a chat of this type; the problem if it
/// positively may not. A status this code does not know passes.
pub(super) fn may_post(chat_kind: &str, member: &Value) -> Result<(), &'static str> {
    let channel = chat_kind == "channel";
    match member["status"].as_str().unwrap_or_default() {
        "creator" => Ok(()),
        "administrator" if channel && member["can_post_messages"] == json!(false) => {
            Err("is an administrator of the channel but may not post messages: allow it to post")
        }
        "administrator" => Ok(()),
        "member" if !channel => Ok(()),
        "restricted" if member["can_send_messages"] != json!(false) && !channel => Ok(()),
        "member" | "restricted" if channel => Err("must be an administrator of the channel, allowed to post messages"),
        "restricted" => Err("is not allowed to send messages in this chat"),
        "left" | "kicked" => {
            Err("is not a member of this chat: add it (as an administrator allowed to post, for a channel)")
        }
        _ => Ok(()),
    }
}

pub(super) fn message(result: Value) -> Result<Message, ProviderError> {
    serde_json::from_value(result)
        .map_err(|_| ProviderError::new(ErrorClass::Unknown, "Telegram answered without the sent message"))
}

/// Numeric ids go as JSON numbers, usernames as strings.
pub(super) fn chat_id_json(chat_id: &str) -> Value {
    chat_id.parse::<i64>().map_or_else(|_| json!(chat_id), |id| json!(id))
}

/// Thread items answer the previous item; if it was deleted meanwhile, the
/// item is still posted rather than failing the rest of the thread.
pub(super) fn reply_parameters(message_id: i64) -> Value {
    json!({ "message_id": message_id, "allow_sending_without_reply": true })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Value) -> Answer {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn errors_are_classified_as_the_bot_api_documents_them() {
        let limited = classify(
            429,
            &answer(
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
            ),
        );
        assert_eq!(limited.class, ErrorClass::Retryable { after: Some(std::time::Duration::from_secs(7)) });
        let bad = classify(
            400,
            &answer(json!({"ok": false, "error_code": 400, "description": "Bad Request: message is too long"})),
        );
        assert_eq!(bad.class, ErrorClass::Invalid);
        assert_eq!(bad.message, "Telegram: Bad Request: message is too long");
        let unauthorized =
            classify(401, &answer(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})));
        assert_eq!(unauthorized.class, ErrorClass::Revoked);
        let unknown_method =
            classify(404, &answer(json!({"ok": false, "error_code": 404, "description": "Not Found"})));
        assert_eq!(unknown_method.class, ErrorClass::Invalid);
        assert!(unknown_method.message.contains("unknown Bot API method"), "{}", unknown_method.message);
        let kicked = classify(
            403,
            &answer(
                json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was kicked from the channel chat"}),
            ),
        );
        assert_eq!(kicked.class, ErrorClass::Revoked);
        assert!(kicked.message.contains("bot was kicked"));
        let migrated = classify(
            400,
            &answer(
                json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1009876}}),
            ),
        );
        assert_eq!(migrated.class, ErrorClass::Invalid);
        assert!(migrated.message.contains("chatId -1009876"));
        let gone = classify(
            400,
            &answer(json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})),
        );
        assert_eq!(gone.class, ErrorClass::Revoked);
        let down = classify(502, &Answer::default());
        assert_eq!(down.class, ErrorClass::Retryable { after: None });
    }

    #[test]
    fn message_links_exist_for_public_chats_and_members_of_private_channels() {
        let message = |chat: Value| serde_json::from_value::<Message>(json!({"message_id": 42, "chat": chat})).unwrap();
        let public = message(json!({"id": -1001, "type": "channel", "username": "herald_news", "title": "News"}));
        assert_eq!(message_url(&public).as_deref(), Some("https://t.me/herald_news/42"));
        let private = message(json!({"id": -1001234567890_i64, "type": "channel", "title": "Secret"}));
        assert_eq!(message_url(&private).as_deref(), Some("https://t.me/c/1234567890/42"));
        let dm = message(json!({"id": 777, "type": "private", "first_name": "Ada"}));
        assert_eq!(message_url(&dm), None);
        let group = message(json!({"id": -4242, "type": "group", "title": "Friends"}));
        assert_eq!(message_url(&group), None);
    }

    #[test]
    fn only_members_allowed_to_post_pass() {
        assert!(may_post("channel", &json!({"status": "creator"})).is_ok());
        assert!(may_post("channel", &json!({"status": "administrator", "can_post_messages": true})).is_ok());
        assert!(may_post("channel", &json!({"status": "administrator", "can_post_messages": false})).is_err());
        assert!(may_post("channel", &json!({"status": "member"})).is_err());
        assert!(may_post("supergroup", &json!({"status": "member"})).is_ok());
        assert!(may_post("group", &json!({"status": "restricted", "can_send_messages": false})).is_err());
        assert!(may_post("group", &json!({"status": "restricted", "can_send_messages": true})).is_ok());
        assert!(may_post("supergroup", &json!({"status": "left"})).unwrap_err().contains("not a member"));
        assert!(may_post("channel", &json!({"status": "kicked"})).is_err());
        assert!(may_post("channel", &json!({"status": "some_future_status"})).is_ok(), "only a clear no refuses");
    }
}
