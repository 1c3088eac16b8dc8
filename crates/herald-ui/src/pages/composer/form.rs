//! The composer's form as submitted (url-encoded, or multipart when a file
//! was chosen without JavaScript), read into a [`Draft`]; and a stored post
//! read into the same shape for the edit page.

use herald_core::post::{PublishMode, TargetStatus};
use std::collections::BTreeMap;

use axum::Form;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use herald_app::posts::{CreatePostInput, OverrideInput, ThreadItemInput};
use herald_app::views::PostView;
use herald_core::recurrence::{EvergreenInput, RecurrenceInput};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::settings::SettingsDraft;
use crate::error::UiError;
use crate::fmt;

/// One field of the submitted form, in document order: which reply a
/// `thread_media` or `thread_file` belongs to is given by the `thread`
/// field before it (each reply's inputs follow its text box). That keeps
/// working whatever order script put the replies in.
pub enum Part {
    Text(String, String),
    File(String, Bytes),
}

pub struct ComposerForm {
    pub parts: Vec<Part>,
}

impl<S: Send + Sync> FromRequest<S> for ComposerForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(Self { parts: pairs.into_iter().map(|(name, value)| Part::Text(name, value)).collect() });
        }
        let mut form = Multipart::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let mut parts = Vec::new();
        let too_large = |_| UiError::TooLarge.into_response();
        while let Some(field) = form.next_field().await.map_err(too_large)? {
            let name = field.name().unwrap_or_default().to_string();
            if matches!(name.as_str(), "media_file" | "thread_file") {
                let bytes = field.bytes().await.map_err(too_large)?;
                // An empty file input still sends a part.
                if !bytes.is_empty() {
                    parts.push(Part::File(name, bytes));
                }
            } else {
                parts.push(Part::Text(name, field.text().await.map_err(too_large)?));
            }
        }
        Ok(Self { parts })
    }
}

/// A file chosen without JavaScript: stored when the form arrives.
pub struct PendingFile {
    /// The reply it was chosen for; `None` for the post's own media.
    pub reply: Option<usize>,
    pub bytes: Bytes,
}

/// A follow-up item and its own media.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplyDraft {
    pub text: String,
    pub media: Vec<Uuid>,
}

/// One account's suggestion from the model, as the composer shows it.
#[derive(Debug, Clone)]
pub struct AiSuggestion {
    pub integration_id: Uuid,
    pub platform: String,
    pub content: String,
    pub valid: bool,
    pub problem: String,
}

/// What the form holds, parsed from its fields (or from a stored post).
#[derive(Debug, Default, Clone)]
pub struct Draft {
    pub content: String,
    pub platforms: Vec<Uuid>,
    pub overrides: BTreeMap<Uuid, String>,
    /// Per-account settings forms, as typed. No entry: the platform defaults.
    pub settings: BTreeMap<Uuid, SettingsDraft>,
    pub thread: Vec<ReplyDraft>,
    pub media: Vec<Uuid>,
    /// Alt texts typed beside attached files, by media id.
    pub alt_texts: BTreeMap<Uuid, String>,
    /// `datetime-local` value in the viewer's zone.
    pub scheduled_for: String,
    pub tags: String,
    /// RRULE of a repeating post (empty: does not repeat).
    pub repeat_rule: String,
    /// How many posts the series makes in all (empty: no end).
    pub repeat_count: String,
    /// "Evergreen": publish again every this many days (empty: never).
    pub evergreen_days: String,
    /// Language for the AI "Translate" action.
    pub ai_language: String,
    /// The model's suggestions shown under the text (not sent back).
    pub ai_suggestions: Vec<AiSuggestion>,
    /// Suggestion texts sent back with the form, by account: "Use" takes one.
    pub ai_texts: BTreeMap<Uuid, String>,
    pub action: String,
    pub media_from_url: String,
    /// Alt text for the next file uploaded or fetched.
    pub media_alt: String,
}

impl Draft {
    /// Reads the submitted fields. Repeated names (`platforms`, `thread`,
    /// `media`) and per-account or per-file names (`override.<id>`,
    /// `settings.<id>.<field>`, `media_alt.<id>`) need the raw list.
    pub fn from_parts(parts: Vec<Part>) -> (Self, Vec<PendingFile>) {
        let mut draft = Self::default();
        let mut files = Vec::new();
        for part in parts {
            let (name, value) = match part {
                Part::File(name, bytes) => {
                    let reply = match name.as_str() {
                        "thread_file" => match draft.thread.len().checked_sub(1) {
                            Some(last) => Some(last),
                            None => continue,
                        },
                        _ => None,
                    };
                    files.push(PendingFile { reply, bytes });
                    continue;
                }
                Part::Text(name, value) => (name, value),
            };
            match name.as_str() {
                "content" => draft.content = value,
                "platforms" => draft.platforms.extend(Uuid::parse_str(&value).ok()),
                "thread" => draft.thread.push(ReplyDraft { text: value, media: Vec::new() }),
                "thread_media" => {
                    if let (Some(reply), Ok(id)) = (draft.thread.last_mut(), Uuid::parse_str(&value)) {
                        reply.media.push(id);
                    }
                }
                "media" => draft.media.extend(Uuid::parse_str(&value).ok()),
                "scheduled_for" => draft.scheduled_for = value,
                "tags" => draft.tags = value,
                "repeat_rule" => draft.repeat_rule = value,
                "repeat_count" => draft.repeat_count = value,
                "evergreen_days" => draft.evergreen_days = value,
                "ai_language" => draft.ai_language = value,
                "action" => draft.action = value,
                "media_from_url" => draft.media_from_url = value,
                "media_alt" => draft.media_alt = value,
                other => draft.read_keyed(other, value),
            }
        }
        draft.media.dedup();
        // An emptied reply without media is removed (the no-script way to
        // delete one), unless a file was just chosen for it.
        let keep: Vec<bool> = (0..draft.thread.len())
            .map(|i| {
                let reply = &draft.thread[i];
                !reply.text.trim().is_empty() || !reply.media.is_empty() || files.iter().any(|f| f.reply == Some(i))
            })
            .collect();
        for file in &mut files {
            file.reply = file.reply.map(|i| keep[..i].iter().filter(|k| **k).count());
        }
        let mut kept = keep.iter();
        draft.thread.retain(|_| kept.next().copied().unwrap_or(false));
        (draft, files)
    }

    /// Names that carry an id: `override.<id>`, `settings.<id>.<field>`,
    /// `settings_extra.<id>`, `media_alt.<id>`. Anything else is ignored.
    fn read_keyed(&mut self, name: &str, value: String) {
        let (prefix, rest) = name.split_once('.').unwrap_or((name, ""));
        let (id, field) = rest.split_once('.').unwrap_or((rest, ""));
        let Ok(id) = Uuid::parse_str(id) else { return };
        match (prefix, field) {
            ("override", "") if !value.trim().is_empty() => {
                self.overrides.insert(id, value);
            }
            ("settings", field) if !field.is_empty() => {
                self.settings.entry(id).or_default().values.insert(field.to_string(), value);
            }
            // Always sent with an account's settings form: an unchecked box
            // then reads as "off", not as "never shown".
            ("settings_extra", "") => {
                self.settings.entry(id).or_default().extra =
                    serde_json::from_str::<Map<String, Value>>(&value).unwrap_or_default();
            }
            ("media_alt", "") => {
                self.alt_texts.insert(id, value);
            }
            ("ai_text", "") => {
                self.ai_texts.insert(id, value);
            }
            _ => {}
        }
    }

    /// The edit page's form for a stored post; `schema_of` gives the
    /// settings schema of an integration.
    pub fn from_post(post: &PostView, tz: chrono_tz::Tz, schema_of: impl Fn(Uuid) -> Value) -> Self {
        let live = || post.targets.iter().filter(|t| t.status != TargetStatus::Cancelled);
        Self {
            content: post.content.clone(),
            platforms: post.platforms.clone(),
            overrides: live().filter_map(|t| t.content.clone().map(|c| (t.integration_id, c))).collect(),
            settings: live()
                .map(|t| (t.integration_id, SettingsDraft::from_settings(&schema_of(t.integration_id), &t.settings)))
                .collect(),
            thread: post
                .thread
                .iter()
                .map(|t| ReplyDraft { text: t.content.clone(), media: t.media_ids.clone() })
                .collect(),
            media: post.media_ids.clone(),
            scheduled_for: post.scheduled_for.map(|at| fmt::input_value(at, tz)).unwrap_or_default(),
            tags: post.tags.join(", "),
            repeat_rule: post.recurrence.as_ref().map(|r| r.rule.clone()).unwrap_or_default(),
            repeat_count: post.recurrence.as_ref().and_then(|r| r.count).map(|c| c.to_string()).unwrap_or_default(),
            evergreen_days: post.evergreen.as_ref().map(|e| e.every_days.to_string()).unwrap_or_default(),
            ..Self::default()
        }
    }

    /// The series the form asks for. A count that is not a number becomes
    /// 0, which validation reports on its field.
    pub fn recurrence(&self) -> Option<RecurrenceInput> {
        let rule = self.repeat_rule.trim();
        (!rule.is_empty()).then(|| RecurrenceInput {
            rule: rule.to_string(),
            count: match self.repeat_count.trim() {
                "" => None,
                raw => Some(raw.parse().unwrap_or(0)),
            },
            ..Default::default()
        })
    }

    pub fn evergreen(&self) -> Option<EvergreenInput> {
        match self.evergreen_days.trim() {
            "" => None,
            raw => Some(EvergreenInput { every_days: raw.parse().unwrap_or(0), until: None }),
        }
    }

    /// Takes the model's text for one account: the post's text when it
    /// goes to that account alone, else that account's own text.
    pub fn use_suggestion(&mut self, id: Uuid) {
        let Some(text) = self.ai_texts.get(&id).cloned() else { return };
        if self.platforms == [id] {
            self.content = text;
        } else {
            self.overrides.insert(id, text);
        }
    }

    /// Every media id the form shows, the post's and its replies'.
    pub fn media_ids(&self) -> Vec<Uuid> {
        self.media.iter().chain(self.thread.iter().flat_map(|r| &r.media)).copied().collect()
    }

    /// Detaches a file from the post and from every reply.
    pub fn remove_media(&mut self, id: Uuid) {
        self.media.retain(|m| *m != id);
        self.thread.iter_mut().for_each(|r| r.media.retain(|m| *m != id));
    }

    fn tags(&self) -> Vec<String> {
        self.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
    }

    /// Text and settings per selected account; accounts with neither are left out.
    fn overrides(&self, schema_of: &impl Fn(Uuid) -> Value) -> BTreeMap<String, OverrideInput> {
        self.platforms
            .iter()
            .filter_map(|id| {
                let content = self.overrides.get(id).cloned();
                let settings = self.settings.get(id).and_then(|s| s.to_settings(&schema_of(*id)));
                (content.is_some() || settings.is_some()).then(|| (id.to_string(), OverrideInput { content, settings }))
            })
            .collect()
    }

    fn thread(&self) -> Vec<ThreadItemInput> {
        self.thread
            .iter()
            .map(|r| ThreadItemInput { content: r.text.clone(), media_ids: r.media.clone(), ..Default::default() })
            .collect()
    }

    /// The API body this form stands for.
    pub fn input(&self, mode: PublishMode, at: Option<String>, schema_of: impl Fn(Uuid) -> Value) -> CreatePostInput {
        CreatePostInput {
            content: self.content.clone(),
            platforms: self.platforms.clone(),
            scheduled_for: at,
            status: Some(mode.as_str().into()),
            media_ids: self.media.clone(),
            thread: self.thread(),
            overrides: self.overrides(&schema_of),
            tags: self.tags(),
            recurrence: self.recurrence(),
            evergreen: self.evergreen(),
            ..Default::default()
        }
    }

    /// Status and time the chosen button asks for; `Err` holds a field error.
    pub fn mode(&self, tz: chrono_tz::Tz) -> Result<(PublishMode, Option<String>), (String, String)> {
        let at = match self.scheduled_for.trim() {
            "" => None,
            raw => Some(fmt::parse_local(raw, tz).ok_or_else(|| {
                ("scheduledFor".to_string(), format!("`{raw}` is not a time that exists in {}", tz.name()))
            })?),
        };
        match self.action.as_str() {
            // A submitted post stays a draft until approved, with its time.
            "draft" | "submit" => Ok((PublishMode::Draft, at.map(|at| at.to_rfc3339()))),
            "now" => Ok((PublishMode::Now, None)),
            // The queue picks each account's time.
            "queue" => Ok((PublishMode::Scheduled, None)),
            _ => match at {
                Some(at) => Ok((PublishMode::Scheduled, Some(at.to_rfc3339()))),
                None => Err(("scheduledFor".into(), "pick a date and time to schedule the post".into())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(pairs: &[(&str, &str)]) -> Vec<Part> {
        pairs.iter().map(|(k, v)| Part::Text((*k).to_string(), (*v).to_string())).collect()
    }

    #[test]
    fn form_pairs_become_a_draft() {
        let id = Uuid::new_v4();
        let override_name = format!("override.{id}");
        let (draft, files) = Draft::from_parts(text(&[
            ("content", "hello"),
            ("platforms", &id.to_string()),
            ("platforms", "not-an-id"),
            ("thread", "second"),
            ("thread", "  "),
            (&override_name, "short"),
            ("action", "schedule"),
            ("scheduled_for", "2030-01-02T09:00"),
        ]));
        assert!(files.is_empty());
        assert_eq!(draft.platforms, vec![id]);
        assert_eq!(draft.thread, vec![ReplyDraft { text: "second".into(), media: vec![] }]);
        let input = draft.input(PublishMode::Scheduled, None, |_| json!({}));
        assert_eq!(input.overrides[&id.to_string()].content.as_deref(), Some("short"));
        assert_eq!(input.overrides[&id.to_string()].settings, None);
        let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let (status, at) = draft.mode(tz).unwrap();
        assert_eq!(status, PublishMode::Scheduled);
        assert_eq!(at.as_deref(), Some("2030-01-02T08:00:00+00:00"));
    }

    #[test]
    fn each_reply_keeps_its_own_media_and_files() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut parts = text(&[("thread", "first"), ("thread_media", &a.to_string()), ("thread", "")]);
        // An empty reply with a file chosen is kept; the empty one before it is not.
        parts.extend(text(&[("thread", " ")]));
        parts.push(Part::File("thread_file".into(), Bytes::from_static(b"png")));
        parts.extend(text(&[("thread", ""), ("thread_media", &b.to_string())]));
        parts.push(Part::File("media_file".into(), Bytes::from_static(b"png")));
        let (draft, files) = Draft::from_parts(parts);
        assert_eq!(draft.thread.iter().map(|r| r.media.clone()).collect::<Vec<_>>(), vec![vec![a], vec![], vec![b]]);
        assert_eq!(files.iter().map(|f| f.reply).collect::<Vec<_>>(), vec![Some(1), None]);
        assert_eq!(draft.media_ids(), vec![a, b]);
        let input = draft.input(PublishMode::Draft, None, |_| json!({}));
        assert_eq!(input.thread[2].media_ids, vec![b]);
    }

    #[test]
    fn settings_and_alt_texts_are_read_by_id() {
        let id = Uuid::new_v4();
        let media = Uuid::new_v4();
        let schema = json!({ "properties": {
            "spoilerText": { "type": "string" }, "sensitive": { "type": "boolean" }, "loud": { "type": "boolean", "default": true }
        } });
        let (draft, _) = Draft::from_parts(text(&[
            ("platforms", &id.to_string()),
            (&format!("settings.{id}.spoilerText"), "cw"),
            (&format!("settings_extra.{id}"), r#"{"fromApi":1}"#),
            (&format!("media_alt.{media}"), "A cat"),
        ]));
        assert_eq!(draft.alt_texts[&media], "A cat");
        let input = draft.input(PublishMode::Draft, None, |_| schema.clone());
        // The unchecked default-on box is sent as off; the extra key is kept.
        assert_eq!(
            input.overrides[&id.to_string()].settings,
            Some(json!({"spoilerText": "cw", "loud": false, "fromApi": 1}))
        );
        // Accounts not selected send nothing.
        let (unselected, _) = Draft::from_parts(text(&[(&format!("settings.{id}.spoilerText"), "cw")]));
        assert!(unselected.input(PublishMode::Draft, None, |_| schema.clone()).overrides.is_empty());
    }

    #[test]
    fn scheduling_needs_a_time_and_drafts_do_not() {
        let tz = chrono_tz::Tz::UTC;
        let schedule = Draft { action: "schedule".into(), ..Draft::default() };
        assert_eq!(schedule.mode(tz).unwrap_err().0, "scheduledFor");
        let draft = Draft { action: "draft".into(), ..Draft::default() };
        assert_eq!(draft.mode(tz).unwrap(), (PublishMode::Draft, None));
        let now = Draft { action: "now".into(), scheduled_for: "2030-01-01T00:00".into(), ..Draft::default() };
        assert_eq!(now.mode(tz).unwrap(), (PublishMode::Now, None));
    }
}
