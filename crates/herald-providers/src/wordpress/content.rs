//! A target's settings and the body of `POST /wp/v2/posts` built from them.

use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ProviderError;
use crate::article::{escape_html, paragraphs_html, split_title};

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Post title; defaults to the post's first line (the rest is the body).
    #[garde(skip)]
    pub title: Option<String>,
    /// `future` schedules the post on WordPress at `date`.
    #[garde(skip)]
    #[schemars(extend("default" = "publish"))]
    pub status: Option<Status>,
    /// Publication time for status `future`.
    #[garde(custom(publication_date(&self.status)))]
    #[schemars(extend("format" = "date-time"))]
    pub date: Option<String>,
    #[garde(skip)]
    pub excerpt: Option<String>,
    #[garde(custom(slug_rule))]
    #[schemars(regex(pattern = r"^[a-z0-9-]+$"))]
    pub slug: Option<String>,
    /// Ids, or names looked up on the site (and created when missing).
    #[garde(custom(term_list))]
    pub categories: Option<Vec<TermRef>>,
    /// Ids, or names looked up on the site (and created when missing);
    /// defaults to the post's tags.
    #[garde(custom(term_list))]
    pub tags: Option<Vec<TermRef>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Publish,
    Draft,
    Pending,
    Private,
    Future,
}

/// A category or tag as a setting gives it: an id or a name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TermRef {
    Id(u64),
    Name(String),
}

fn publication_date(status: &Option<Status>) -> impl FnOnce(&Option<String>, &()) -> garde::Result + '_ {
    move |date, _| match (date, status) {
        (Some(date), _) if DateTime::parse_from_rfc3339(date).is_err() => {
            Err(garde::Error::new("must be an ISO 8601 date and time with its offset"))
        }
        (None, Some(Status::Future)) => Err(garde::Error::new("is required when status is `future`")),
        _ => Ok(()),
    }
}

fn slug_rule(slug: &Option<String>, _: &()) -> garde::Result {
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    match slug {
        Some(s) if !valid(s) => Err(garde::Error::new("must be lowercase letters, digits and hyphens")),
        _ => Ok(()),
    }
}

fn term_list(terms: &Option<Vec<TermRef>>, _: &()) -> garde::Result {
    let valid = |term: &TermRef| match term {
        TermRef::Id(id) => *id > 0,
        TermRef::Name(name) => !name.trim().is_empty(),
    };
    if terms.iter().flatten().all(valid) { Ok(()) } else { Err(garde::Error::new("must be a list of ids or names")) }
}

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

/// The terms a setting gives; the post's own tags when `fallback` is given
/// and the setting is absent.
pub fn terms(given: Option<&[TermRef]>, fallback: &[String]) -> Vec<Term> {
    let Some(given) = given else {
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
            TermRef::Id(id) => Some(Term::Id(*id)),
            TermRef::Name(s) if !s.trim().is_empty() => Some(match s.trim().parse::<u64>() {
                Ok(id) => Term::Id(id),
                Err(_) => Term::Name(s.trim().to_string()),
            }),
            TermRef::Name(_) => None,
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
    settings: &Settings,
    media: &[Uploaded],
    categories: &[u64],
    tags: &[u64],
) -> Result<Value, ProviderError> {
    let article = split_title(content, settings.title.as_deref());
    if article.title.is_empty() {
        return Err(ProviderError::invalid(
            "a WordPress post needs a title: set settings.title or start the post with a title line",
        ));
    }
    let status = settings.status.unwrap_or(Status::Publish);
    let mut post = Map::new();
    post.insert("title".into(), json!(article.title));
    post.insert("content".into(), json!(content_html(&article.body, media)));
    post.insert("status".into(), json!(status));
    if let Some(date) = settings.date.as_deref().and_then(|d| DateTime::parse_from_rfc3339(d).ok()) {
        post.insert("date_gmt".into(), json!(date.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%S").to_string()));
    }
    for (key, value) in [("excerpt", &settings.excerpt), ("slug", &settings.slug)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: Value) -> Settings {
        crate::declared::read("WordPress", &value).unwrap()
    }

    fn problems(value: Value) -> Vec<(String, String)> {
        crate::Declaration::of::<Settings>("WordPress").problems(&value)
    }

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
        let post = build_post("Hello <b>\nFirst para\n\nSecond", &read(settings), &media, &[3], &[4, 5]).unwrap();
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
        let plain = build_post("Just a title", &Settings::default(), &[], &[], &[]).unwrap();
        assert_eq!(plain, json!({"title": "Just a title", "content": "", "status": "publish"}));
        assert!(build_post(" ", &Settings::default(), &[], &[], &[]).is_err());
    }

    #[test]
    fn terms_come_from_settings_or_post_tags() {
        let settings = read(json!({"categories": [3, "12", "News"], "tags": []}));
        assert_eq!(terms(settings.categories.as_deref(), &[]), [Term::Id(3), Term::Id(12), Term::Name("News".into())]);
        assert!(terms(settings.tags.as_deref(), &["x".into()]).is_empty());
        assert_eq!(terms(None, &["#rust".into(), " ".into()]), [Term::Name("rust".into())]);
    }

    #[test]
    fn settings_are_checked() {
        assert!(problems(json!({"status": "draft", "tags": [1, "rust"], "slug": "a-b-1"})).is_empty());
        assert!(problems(json!({"status": "future", "date": "2026-12-01T10:00:00Z"})).is_empty());
        let found = problems(json!({"status": "future", "slug": "Not Valid", "categories": [0], "extra": 1}));
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["categories", "date", "extra", "slug"]);
        assert_eq!(problems(json!({"status": "scheduled"}))[0].0, "status");
        assert_eq!(problems(json!({"date": "tomorrow"}))[0].0, "date");
        let schema = crate::Declaration::of::<Settings>("WordPress").schema();
        assert_eq!(schema["properties"]["status"]["enum"], json!(["publish", "draft", "pending", "private", "future"]));
        assert_eq!(schema["properties"]["status"]["default"], "publish");
        assert_eq!(schema["properties"]["date"]["format"], "date-time");
    }
}
