//! The body of `POST /wp/v2/posts` and the checks on a target's settings.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::ProviderError;
use crate::article::{escape_html, paragraphs_html, split_title, text_setting, unknown_keys};

pub const STATUSES: &[&str] = &["publish", "draft", "pending", "private", "future"];

/// A file uploaded to the site's media library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub id: u64,
    pub source_url: String,
    pub alt_text: Option<String>,
    pub is_image: bool,
}

/// A category or tag, by id or by name (looked up, created when missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Id(u64),
    Name(String),
}

/// `settings[key]` as terms; the post's own tags when `fallback` is given and the setting is absent.
pub fn terms(settings: &Value, key: &str, fallback: &[String]) -> Vec<Term> {
    let Some(given) = settings.get(key).and_then(Value::as_array) else {
        return fallback
            .iter()
            .map(|t| t.trim().trim_start_matches('#'))
            .filter(|t| !t.is_empty())
            .map(|t| Term::Name(t.to_string()))
            .collect();
    };
    given
        .iter()
        .filter_map(|term| match term {
            Value::Number(n) => n.as_u64().map(Term::Id),
            Value::String(s) if !s.trim().is_empty() => Some(match s.trim().parse::<u64>() {
                Ok(id) => Term::Id(id),
                Err(_) => Term::Name(s.trim().to_string()),
            }),
            _ => None,
        })
        .collect()
}

/// HTML of the post: its text as paragraphs, then its media as figures.
pub fn content_html(body: &str, media: &[Uploaded]) -> String {
    let mut parts = Vec::new();
    let text = paragraphs_html(body);
    if !text.is_empty() {
        parts.push(text);
    }
    for file in media {
        let src = escape_html(&file.source_url);
        if file.is_image {
            let alt = escape_html(file.alt_text.as_deref().unwrap_or_default());
            parts.push(format!("<figure class=\"wp-block-image\"><img src=\"{src}\" alt=\"{alt}\" /></figure>"));
        } else {
            parts.push(format!("<figure class=\"wp-block-video\"><video controls src=\"{src}\"></video></figure>"));
        }
    }
    parts.join("\n\n")
}

/// The JSON body of `POST /wp/v2/posts`.
pub fn build_post(
    content: &str,
    settings: &Value,
    media: &[Uploaded],
    categories: &[u64],
    tags: &[u64],
) -> Result<Value, ProviderError> {
    let article = split_title(content, settings);
    if article.title.is_empty() {
        return Err(ProviderError::invalid(
            "a WordPress post needs a title: set settings.title or start the post with a title line",
        ));
    }
    let status = text_setting(settings, "status").unwrap_or_else(|| "publish".into());
    let mut post = Map::new();
    post.insert("title".into(), json!(article.title));
    post.insert("content".into(), json!(content_html(&article.body, media)));
    post.insert("status".into(), json!(status));
    if let Some(date) = settings.get("date").and_then(Value::as_str).and_then(|d| DateTime::parse_from_rfc3339(d).ok())
    {
        post.insert("date_gmt".into(), json!(date.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%S").to_string()));
    }
    for key in ["excerpt", "slug"] {
        if let Some(value) = text_setting(settings, key) {
            post.insert(key.into(), json!(value));
        }
    }
    if let Some(featured) = media.iter().find(|m| m.is_image) {
        post.insert("featured_media".into(), json!(featured.id));
    }
    if !categories.is_empty() {
        post.insert("categories".into(), json!(categories));
    }
    if !tags.is_empty() {
        post.insert("tags".into(), json!(tags));
    }
    Ok(Value::Object(post))
}

pub fn settings_schema() -> Value {
    // Ids, or names looked up on the site (and created when missing). Tags default to the post's tags.
    let terms = json!({ "type": "array", "items": { "oneOf": [
        { "type": "integer", "minimum": 1 }, { "type": "string", "minLength": 1 }
    ] } });
    json!({
        "type": "object",
        "properties": {
            "title": { "type": "string", "description": "Post title; defaults to the post's first line (the rest is the body)." },
            "status": { "type": "string", "enum": STATUSES, "default": "publish",
                "description": "`future` schedules the post on WordPress at `date`." },
            "date": { "type": "string", "format": "date-time", "description": "Publication time for status `future`." },
            "excerpt": { "type": "string" },
            "slug": { "type": "string", "pattern": "^[a-z0-9-]+$" },
            "categories": terms.clone(),
            "tags": terms
        },
        "additionalProperties": false
    })
}

pub fn check_settings(settings: &Value) -> Vec<(String, String)> {
    let mut problems = unknown_keys(settings, &settings_schema());
    if !settings.is_object() {
        return problems;
    }
    let status = settings.get("status");
    if let Some(status) = status
        && !status.as_str().is_some_and(|s| STATUSES.contains(&s))
    {
        problems.push(("status".into(), format!("must be one of {}", STATUSES.join(", "))));
    }
    let date = settings.get("date");
    if let Some(date) = date
        && date.as_str().is_none_or(|d| DateTime::parse_from_rfc3339(d).is_err())
    {
        problems.push(("date".into(), "must be an ISO 8601 date and time with its offset".into()));
    }
    if date.is_none() && status.and_then(Value::as_str) == Some("future") {
        problems.push(("date".into(), "is required when status is `future`".into()));
    }
    for key in ["title", "excerpt"] {
        if settings.get(key).is_some_and(|v| !v.is_string()) {
            problems.push((key.into(), "must be text".into()));
        }
    }
    if let Some(slug) = settings.get("slug")
        && !slug.as_str().is_some_and(|s| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
    {
        problems.push(("slug".into(), "must be lowercase letters, digits and hyphens".into()));
    }
    for key in ["categories", "tags"] {
        if let Some(value) = settings.get(key) {
            let valid = value.as_array().is_some_and(|items| {
                items
                    .iter()
                    .all(|t| t.as_u64().is_some_and(|id| id > 0) || t.as_str().is_some_and(|s| !s.trim().is_empty()))
            });
            if !valid {
                problems.push((key.into(), "must be a list of ids or names".into()));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_carry_html_media_and_settings() {
        let media = [
            Uploaded {
                id: 7,
                source_url: "https://s.example/a.png".into(),
                alt_text: Some("A \"cat\"".into()),
                is_image: true,
            },
            Uploaded { id: 8, source_url: "https://s.example/b.mp4".into(), alt_text: None, is_image: false },
        ];
        let settings =
            json!({"status": "future", "date": "2026-12-01T10:00:00+01:00", "excerpt": "short", "slug": "hello"});
        let post = build_post("Hello <b>\nFirst para\n\nSecond", &settings, &media, &[3], &[4, 5]).unwrap();
        assert_eq!(
            post,
            json!({
                "title": "Hello <b>",
                "content": "<p>First para</p>\n\n<p>Second</p>\n\n<figure class=\"wp-block-image\"><img src=\"https://s.example/a.png\" alt=\"A &quot;cat&quot;\" /></figure>\n\n<figure class=\"wp-block-video\"><video controls src=\"https://s.example/b.mp4\"></video></figure>",
                "status": "future",
                "date_gmt": "2026-12-01T09:00:00",
                "excerpt": "short",
                "slug": "hello",
                "featured_media": 7,
                "categories": [3],
                "tags": [4, 5]
            })
        );
        let plain = build_post("Just a title", &json!({}), &[], &[], &[]).unwrap();
        assert_eq!(plain, json!({"title": "Just a title", "content": "", "status": "publish"}));
        assert!(build_post(" ", &json!({}), &[], &[], &[]).is_err());
    }

    #[test]
    fn terms_come_from_settings_or_post_tags() {
        let settings = json!({"categories": [3, "12", "News"], "tags": []});
        assert_eq!(terms(&settings, "categories", &[]), [Term::Id(3), Term::Id(12), Term::Name("News".into())]);
        assert!(terms(&settings, "tags", &["x".into()]).is_empty());
        assert_eq!(terms(&json!({}), "tags", &["#rust".into(), " ".into()]), [Term::Name("rust".into())]);
    }

    #[test]
    fn settings_are_checked() {
        assert!(check_settings(&json!({"status": "draft", "tags": [1, "rust"], "slug": "a-b-1"})).is_empty());
        assert!(check_settings(&json!({"status": "future", "date": "2026-12-01T10:00:00Z"})).is_empty());
        let problems = check_settings(&json!({"status": "future", "slug": "Not Valid", "categories": [0], "extra": 1}));
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["extra", "date", "slug", "categories"]);
        assert_eq!(check_settings(&json!({"status": "scheduled"}))[0].0, "status");
        assert_eq!(check_settings(&json!({"date": "tomorrow"}))[0].0, "date");
    }
}
