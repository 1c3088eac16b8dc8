//! `POST /public/v1/posts` as Postiz clients send it, turned into Herald's
//! own `CreatePostInput`s. Postiz keeps one post per account with its own
//! items; Herald keeps one post with per-account overrides. Accounts whose
//! media and replies are the same share one Herald post (their texts and
//! settings become overrides); accounts that differ there get a post each,
//! made together as a group.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use herald_core::ValidationErrors;
use herald_core::recurrence::EvergreenInput;

use crate::posts::{CreatePostInput, OverrideInput, ThreadItemInput};

/// The body of `POST /public/v1/posts`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizCreatePost {
    /// `schedule` (at `date`), `draft`, or `now`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(schedule|draft|now)$")]
    pub kind: String,
    /// ISO 8601; without an offset it is UTC, as Postiz reads it.
    #[serde(default)]
    pub date: Option<String>,
    /// Accepted; Herald has no link shortener yet, so links go out as written
    /// (the answer says so).
    #[serde(default)]
    pub short_link: bool,
    /// Postiz's `{value, label}` tags, stored as Herald's tags.
    #[serde(default)]
    pub tags: Vec<PostizTag>,
    /// Repeat every this many days after it went out (Herald's evergreen);
    /// 0 or absent: once.
    #[serde(default)]
    #[schema(maximum = 365)]
    pub inter: Option<u32>,
    /// One entry per account.
    #[schema(min_items = 1)]
    pub posts: Vec<PostizEntry>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizTag {
    pub value: Option<String>,
    pub label: Option<String>,
}

/// One account's post: its items (the post, then comments/thread replies)
/// and its provider settings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizEntry {
    pub integration: PostizIntegrationRef,
    pub value: Vec<PostizItem>,
    /// Provider settings as Postiz names them (`__type` optional).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// Postiz's group. Naming an existing post's group (Postiz's edit) is
    /// refused: edit with `PUT /api/posts/{id}`, or delete and create.
    #[serde(default)]
    pub group: Option<String>,
}

/// The account; other fields (a whole entry of `GET /integrations`, as
/// scripts pass it) describe it and are ignored, as Postiz does.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizIntegrationRef {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizItem {
    /// Plain text, or the HTML Postiz's editor writes (paragraphs become lines).
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub image: Vec<PostizImage>,
    /// Minutes to wait before this reply. Herald publishes replies right
    /// after each other: only 0 is accepted for now.
    #[serde(default)]
    pub delay: Option<f64>,
    /// Postiz's id of an item; a new post's items get Herald's own.
    #[serde(default)]
    pub id: Option<String>,
}

/// A media item; other fields (the whole answer of `upload`, as scripts
/// pass it: `name`, `type`, `size` …) describe it and are ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizImage {
    /// Clients send random ids; the `path` is what counts.
    #[serde(default)]
    pub id: Option<String>,
    /// A `path` `POST /public/v1/upload` returned, or a public URL.
    pub path: String,
    #[serde(default)]
    pub alt: Option<String>,
    #[serde(default)]
    pub thumbnail: Option<String>,
    #[serde(default)]
    pub thumbnail_timestamp: Option<f64>,
}

/// An account of the workspace, as the conversion needs it.
pub struct Account {
    pub platform: String,
    /// The provider's own setting names.
    pub setting_names: Vec<String>,
    /// The provider takes settings of any name (webhooks).
    pub open_settings: bool,
    /// The channel a chat account's webhook posts to, where known (Discord).
    pub channel: Option<String>,
}

/// What an image `path` turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaRef {
    /// A file of this workspace's library.
    Upload(Uuid),
    /// An outside URL, fetched through the SSRF guard when published.
    Url(String),
}

/// The Herald posts a request makes, each with the request's entries it carries.
pub struct Plan {
    pub posts: Vec<(CreatePostInput, Vec<usize>)>,
}

/// Media of one item, as Herald's inputs hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct ItemMedia {
    ids: Vec<Uuid>,
    urls: Vec<String>,
}

/// Replies and first-item media: what must be equal to share a Herald post.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SharedShape {
    media: ItemMedia,
    thread: Vec<(String, ItemMedia)>,
}

/// An account's part of a shared post: its entry index, id, text and settings.
type Member = (usize, Uuid, String, serde_json::Map<String, Value>);

/// Converts a request; `accounts` are the workspace's by id, `media` the
/// resolved image paths (a path missing there is refused).
pub fn plan(
    body: &PostizCreatePost,
    accounts: &HashMap<Uuid, Account>,
    media: &HashMap<String, Result<MediaRef, String>>,
    errors: &mut ValidationErrors,
) -> Plan {
    let (status, scheduled_for) = mode(body, errors);
    let evergreen = match body.inter {
        Some(days) if days > 0 => Some(EvergreenInput { every_days: days, until: None }),
        _ => None,
    };
    let tags: Vec<String> = body
        .tags
        .iter()
        .filter_map(|t| t.label.clone().or_else(|| t.value.clone()))
        .filter(|t| !t.trim().is_empty())
        .collect();
    if body.posts.is_empty() {
        errors.push("posts", "name at least one integration to post to");
    }

    let mut groups: Vec<(SharedShape, Vec<Member>)> = Vec::new();
    let mut seen = HashMap::new();
    for (index, entry) in body.posts.iter().enumerate() {
        let at = format!("posts[{index}]");
        let Some((id, account)) = account_of(&entry.integration.id, accounts) else {
            errors.push(
                format!("{at}.integration.id"),
                format!(
                    "no integration `{}` in this workspace (GET /public/v1/integrations lists them)",
                    entry.integration.id
                ),
            );
            continue;
        };
        if let Some(first) = seen.insert(id, index) {
            errors.push(format!("{at}.integration.id"), format!("is already posted to by posts[{first}]"));
            continue;
        }
        let settings = super::settings::translate(
            account,
            entry.settings.as_ref().unwrap_or(&Value::Null),
            &format!("{at}.settings"),
            errors,
        );
        let Some((first, replies)) = entry.value.split_first() else {
            errors.push(format!("{at}.value"), "needs at least one item (the post's text and images)");
            continue;
        };
        let item_media = |item: &PostizItem, item_at: &str, errors: &mut ValidationErrors| {
            let mut out = ItemMedia::default();
            for (i, image) in item.image.iter().enumerate() {
                let image_at = format!("{item_at}.image[{i}]");
                if image.thumbnail.as_deref().is_some_and(|t| !t.is_empty()) {
                    errors.push(format!("{image_at}.thumbnail"), "Herald does not set video thumbnails");
                }
                match media.get(image.path.trim()) {
                    Some(Ok(MediaRef::Upload(id))) => out.ids.push(*id),
                    Some(Ok(MediaRef::Url(url))) => out.urls.push(url.clone()),
                    Some(Err(message)) => errors.push(format!("{image_at}.path"), message.clone()),
                    None => errors.push(format!("{image_at}.path"), "could not be resolved"),
                }
            }
            out
        };
        let first_at = format!("{at}.value[0]");
        let shape = SharedShape {
            media: item_media(first, &first_at, errors),
            thread: replies
                .iter()
                .enumerate()
                .map(|(k, item)| {
                    let item_at = format!("{at}.value[{}]", k + 1);
                    if item.delay.is_some_and(|d| d > 0.0) {
                        errors.push(
                            format!("{item_at}.delay"),
                            "Herald publishes replies right after each other; per-reply delays are not supported yet (send 0)",
                        );
                    }
                    (text_of(&item.content), item_media(item, &item_at, errors))
                })
                .collect(),
        };
        let content = text_of(&first.content);
        match groups.iter_mut().find(|(existing, _)| *existing == shape) {
            Some((_, members)) => members.push((index, id, content, settings)),
            None => groups.push((shape, vec![(index, id, content, settings)])),
        }
    }

    let posts = groups
        .into_iter()
        .map(|(shape, members)| {
            let content = members.first().map(|m| m.2.clone()).unwrap_or_default();
            let mut overrides = BTreeMap::new();
            for (_, id, text, settings) in &members {
                let override_input = OverrideInput {
                    content: (*text != content).then(|| text.clone()),
                    settings: (!settings.is_empty()).then(|| Value::Object(settings.clone())),
                };
                if override_input.content.is_some() || override_input.settings.is_some() {
                    overrides.insert(id.to_string(), override_input);
                }
            }
            let input = CreatePostInput {
                content,
                platforms: members.iter().map(|m| m.1).collect(),
                scheduled_for: scheduled_for.clone(),
                status: Some(status.to_string()),
                media_urls: shape.media.urls,
                media_ids: shape.media.ids,
                thread: shape
                    .thread
                    .into_iter()
                    .map(|(content, media)| ThreadItemInput { content, media_ids: media.ids, media_urls: media.urls })
                    .collect(),
                overrides,
                tags: tags.clone(),
                recurrence: None,
                evergreen: evergreen.clone(),
                set_id: None,
            };
            (input, members.iter().map(|m| m.0).collect())
        })
        .collect();
    Plan { posts }
}

/// Herald's status and time for Postiz's `type` and `date`.
fn mode(body: &PostizCreatePost, errors: &mut ValidationErrors) -> (&'static str, Option<String>) {
    let date = body.date.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(with_offset);
    match body.kind.as_str() {
        "schedule" => {
            if date.is_none() {
                errors.push("date", "is required to schedule a post (ISO 8601, e.g. 2026-12-31T12:00:00Z)");
            }
            ("SCHEDULED", date)
        }
        "draft" => ("DRAFT", date),
        "now" => ("NOW", None),
        other => {
            errors.push("type", format!("`{other}` is not one of schedule, draft, now"));
            ("DRAFT", None)
        }
    }
}

/// Postiz reads a time without an offset as UTC; Herald wants one.
pub(super) fn with_offset(date: &str) -> String {
    let has_offset = date.ends_with('Z')
        || date.ends_with('z')
        || date.rsplit_once('T').is_some_and(|(_, time)| time.contains('+') || time.contains('-'));
    if has_offset || !date.contains('T') { date.to_string() } else { format!("{date}Z") }
}

fn account_of<'a>(raw: &str, accounts: &'a HashMap<Uuid, Account>) -> Option<(Uuid, &'a Account)> {
    let id = Uuid::parse_str(raw.trim()).ok()?;
    accounts.get(&id).map(|account| (id, account))
}

/// Plain text of an item: Postiz's editor writes HTML paragraphs (each
/// becomes a line); plain text passes unchanged.
pub fn text_of(content: &str) -> String {
    let trimmed = content.trim();
    let lower = trimmed.to_ascii_lowercase();
    if !(lower.starts_with('<') && (lower.contains("</p>") || lower.contains("<br"))) {
        return content.to_string();
    }
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut rest = trimmed;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        current.push_str(&rest[..open]);
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let closing = tag.starts_with('/');
        let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap_or_default();
        // A line ends at `</p>`, `</div>` and `<br>`; other tags just go.
        if (closing && matches!(name, "p" | "div")) || name == "br" {
            lines.push(std::mem::take(&mut current));
        }
        rest = &rest[open + close + 1..];
    }
    current.push_str(rest);
    if !current.trim().is_empty() {
        lines.push(current);
    }
    let lines: Vec<String> = lines.iter().map(|line| herald_core::html::html_to_text(line)).collect();
    lines.join("\n").trim_end().to_string()
}

/// Maps a Herald validation field of planned post `post` back to where it
/// came from in the Postiz request.
pub fn postiz_field(field: &str, plan: &[(CreatePostInput, Vec<usize>)]) -> String {
    let (post, rest) = match field.strip_prefix("posts[").and_then(|r| r.split_once("].")) {
        Some((n, rest)) if plan.len() > 1 => (n.parse::<usize>().unwrap_or(0), rest),
        _ => (0, field),
    };
    let Some((input, entries)) = plan.get(post) else { return field.to_string() };
    let first = entries.first().copied().unwrap_or(0);
    let entry_of = |id: &str| -> usize {
        input.platforms.iter().position(|p| p.to_string() == id).and_then(|i| entries.get(i).copied()).unwrap_or(first)
    };
    let (head, tail) = rest.split_once('.').unwrap_or((rest, ""));
    let join = |base: String, tail: &str| if tail.is_empty() { base } else { format!("{base}.{tail}") };
    match head {
        "content" => format!("posts[{first}].value[0].content"),
        "scheduledFor" => "date".into(),
        "tags" => "tags".into(),
        "evergreen" => "inter".into(),
        "media" => format!("posts[{first}].value[0].image"),
        h if h.starts_with("mediaIds") || h.starts_with("mediaUrls") => format!("posts[{first}].value[0].image"),
        h if h.starts_with("thread[") => {
            let n = h.trim_start_matches("thread[").trim_end_matches(']').parse::<usize>().unwrap_or(0);
            let tail = if tail.starts_with("media") { "image" } else { tail };
            join(format!("posts[{first}].value[{}]", n + 1), tail)
        }
        h if h.starts_with("platforms[") => {
            let n = h.trim_start_matches("platforms[").trim_end_matches(']').parse::<usize>().unwrap_or(0);
            format!("posts[{}].integration.id", entries.get(n).copied().unwrap_or(first))
        }
        "overrides" | "platforms" => {
            let (id, tail) = tail.split_once('.').unwrap_or((tail, ""));
            let entry = entry_of(id);
            match tail {
                "content" => format!("posts[{entry}].value[0].content"),
                t if t.starts_with("settings") => {
                    join(format!("posts[{entry}].settings"), t.trim_start_matches("settings").trim_start_matches('.'))
                }
                t => join(format!("posts[{entry}]"), t),
            }
        }
        _ => field.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn accounts(ids: &[(Uuid, &str)]) -> HashMap<Uuid, Account> {
        ids.iter()
            .map(|(id, p)| {
                (
                    *id,
                    Account {
                        platform: (*p).to_string(),
                        setting_names: Vec::new(),
                        open_settings: false,
                        channel: None,
                    },
                )
            })
            .collect()
    }

    fn body(value: Value) -> PostizCreatePost {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_clis_body_becomes_one_post_with_a_thread() {
        let (x, li) = (Uuid::now_v7(), Uuid::now_v7());
        let upload = Uuid::now_v7();
        let media = HashMap::from([
            ("https://h.example/uploads/a.png".to_string(), Ok(MediaRef::Upload(upload))),
            ("https://cdn.example/b.jpg".to_string(), Ok(MediaRef::Url("https://cdn.example/b.jpg".into()))),
        ]);
        let value = json!([
            {"content": "Main", "image": [{"id": "r4nd0m", "path": "https://h.example/uploads/a.png"}], "delay": 0},
            {"content": "Reply", "image": [{"id": "x", "path": "https://cdn.example/b.jpg"}], "delay": 0}
        ]);
        let request = body(
            json!({"type": "schedule", "date": "2030-01-01T10:00:00", "shortLink": true, "tags": [{"value": "v", "label": "Launch"}],
            "posts": [{"integration": {"id": x.to_string()}, "value": value}, {"integration": {"id": li.to_string()}, "value": value}]}),
        );
        let mut errors = ValidationErrors::default();
        let plan = plan(&request, &accounts(&[(x, "x"), (li, "linkedin")]), &media, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.0);
        assert_eq!(plan.posts.len(), 1);
        let (input, entries) = &plan.posts[0];
        assert_eq!(entries, &[0, 1]);
        assert_eq!(input.platforms, vec![x, li]);
        assert_eq!(input.status.as_deref(), Some("SCHEDULED"));
        assert_eq!(input.scheduled_for.as_deref(), Some("2030-01-01T10:00:00Z"));
        assert_eq!(input.media_ids, vec![upload]);
        assert_eq!(input.thread[0].content, "Reply");
        assert_eq!(input.thread[0].media_urls, vec!["https://cdn.example/b.jpg".to_string()]);
        assert_eq!(input.tags, vec!["Launch".to_string()]);
        assert!(input.overrides.is_empty());
    }

    #[test]
    fn different_texts_are_overrides_and_different_replies_separate_posts() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let request = body(json!({"type": "now", "posts": [
            {"integration": {"id": a.to_string()}, "value": [{"content": "<p>Hello</p><p>world &amp; all</p>"}, {"content": "more"}]},
            {"integration": {"id": b.to_string()}, "value": [{"content": "Hi"}, {"content": "more"}]},
            {"integration": {"id": c.to_string()}, "value": [{"content": "Hello"}]}
        ]}));
        let mut errors = ValidationErrors::default();
        let plan =
            plan(&request, &accounts(&[(a, "x"), (b, "bluesky"), (c, "mastodon")]), &HashMap::new(), &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.0);
        assert_eq!(plan.posts.len(), 2);
        let (first, entries) = &plan.posts[0];
        assert_eq!(entries, &[0, 1]);
        assert_eq!(first.content, "Hello\nworld & all");
        assert_eq!(first.overrides[&b.to_string()].content.as_deref(), Some("Hi"));
        assert_eq!(plan.posts[1].1, vec![2]);
        assert!(plan.posts[1].0.thread.is_empty());
        // Errors of the second Herald post point at the third entry.
        assert_eq!(postiz_field("posts[1].content", &plan.posts), "posts[2].value[0].content");
        assert_eq!(postiz_field(&format!("posts[0].overrides.{b}.content"), &plan.posts), "posts[1].value[0].content");
        assert_eq!(postiz_field("posts[0].thread[0].content", &plan.posts), "posts[0].value[1].content");
        assert_eq!(postiz_field("scheduledFor", &plan.posts), "date");
    }

    #[test]
    fn what_cannot_be_honoured_is_named() {
        let a = Uuid::now_v7();
        let request = body(json!({"type": "later", "posts": [
            {"integration": {"id": "nope"}, "value": [{"content": "x"}]},
            {"integration": {"id": a.to_string()}, "value": [{"content": "x", "image": [{"path": "photo.jpg"}]}, {"content": "y", "delay": 5}]},
        ]}));
        let media = HashMap::from([("photo.jpg".to_string(), Err("upload the file first".to_string()))]);
        let mut errors = ValidationErrors::default();
        plan(&request, &accounts(&[(a, "x")]), &media, &mut errors);
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["type", "posts[0].integration.id", "posts[1].value[0].image[0].path", "posts[1].value[1].delay"]
        );
        let mut errors = ValidationErrors::default();
        plan(&body(json!({"type": "schedule", "posts": []})), &HashMap::new(), &HashMap::new(), &mut errors);
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["date", "posts"]);
    }

    #[test]
    fn offsets_are_added_only_when_missing() {
        assert_eq!(with_offset("2030-01-01T10:00:00"), "2030-01-01T10:00:00Z");
        assert_eq!(with_offset("2030-01-01T10:00:00.274Z"), "2030-01-01T10:00:00.274Z");
        assert_eq!(with_offset("2030-01-01T10:00:00+02:00"), "2030-01-01T10:00:00+02:00");
        assert_eq!(with_offset("2030-01-01T10:00:00-05:00"), "2030-01-01T10:00:00-05:00");
    }
}
