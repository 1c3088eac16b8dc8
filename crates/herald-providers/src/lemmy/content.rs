//! What a Lemmy post is made of: its title (given, or the first line of the
//! text, within Lemmy's own rules), the per-post settings, and the bodies of
//! `POST /api/v3/post` and `POST /api/v3/comment`.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Community, CommunityRef};
use crate::declared;
use crate::{ProviderError, PublishRequest, PublishedItem};

/// Lemmy refuses longer post titles (`post_title_too_long`).
pub(super) const MAX_TITLE_CHARS: usize = 200;

/// Why Lemmy would refuse a post title (`invalid_post_title`), if it would:
/// its `is_valid_post_title` wants no newline and a match of `.*\S{3,200}.*`,
/// i.e. three non-space characters in a row somewhere.
pub(super) fn title_problem(title: &str) -> Option<String> {
    if title.contains('\n') {
        return Some("must be a single line".into());
    }
    if title.trim().chars().count() > MAX_TITLE_CHARS {
        return Some(format!("at most {MAX_TITLE_CHARS} characters"));
    }
    let mut run = 0;
    let has_word = title.chars().any(|c| {
        run = if c.is_whitespace() { 0 } else { run + 1 };
        run >= 3
    });
    (!has_word).then(|| "needs at least 3 non-space characters in a row (Lemmy's rule)".into())
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct Settings {
    /// Post title, one line with at least 3 non-space characters in a row;
    /// defaults to the first line of the text.
    #[garde(custom(title_rule))]
    #[schemars(length(max = MAX_TITLE_CHARS), regex(pattern = "^[^\n]*\\S{3}[^\n]*$"))]
    title: Option<String>,
    /// Post to this community instead (number or name).
    #[garde(custom(community_rule))]
    pub(super) community_id: Option<Community>,
    /// Link of a link post; defaults to the first media URL.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    url: Option<String>,
    #[garde(skip)]
    nsfw: Option<bool>,
    /// Lemmy language id.
    #[garde(skip)]
    #[schemars(range(min = 0))]
    language_id: Option<i64>,
}

fn title_rule(title: &Option<String>, _: &()) -> garde::Result {
    title.as_deref().and_then(title_problem).map_or(Ok(()), |problem| Err(garde::Error::new(problem)))
}

fn community_rule(community: &Option<Community>, _: &()) -> garde::Result {
    match community {
        Some(given) if CommunityRef::from_given(given).is_none() => {
            Err(garde::Error::new("must be a community number or name"))
        }
        _ => Ok(()),
    }
}

pub(super) fn settings(value: &Value) -> Result<Settings, ProviderError> {
    declared::read("Lemmy", value).map_err(ProviderError::invalid)
}

/// The post's title: `settings.title`, else the first line of the text.
/// The second value is whether the whole first line made it into the title.
pub(super) fn title_for(content: &str, settings: &Settings) -> (String, bool) {
    if let Some(title) = settings.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        return (truncate(title), false);
    }
    let first = content.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
    if first.is_empty() {
        return ("Untitled".into(), false);
    }
    let title = truncate(first);
    let whole = title == first;
    (title, whole)
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_TITLE_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_TITLE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `POST /api/v3/post` body. The text becomes the body; when the title was
/// taken whole from the first line, the body is the rest (not repeated).
pub(super) fn post_body(request: &PublishRequest, settings: &Settings, community_id: i64) -> Value {
    let (name, whole_first_line) = title_for(&request.content, settings);
    let body = if whole_first_line {
        let trimmed = request.content.trim_start();
        trimmed.split_once('\n').map(|(_, rest)| rest.trim().to_string()).unwrap_or_default()
    } else {
        request.content.trim().to_string()
    };
    let link = settings.url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_string);
    let mut media = request.media_urls.iter().cloned();
    let url = link.or_else(|| media.next());
    let mut body = body;
    // Media past the one the post links to go into the body as images.
    for extra in media {
        body.push_str(&format!("\n\n![]({extra})"));
    }
    let mut post = Map::new();
    post.insert("name".into(), json!(name));
    post.insert("community_id".into(), json!(community_id));
    let body = body.trim().to_string();
    if !body.is_empty() {
        post.insert("body".into(), json!(body));
    }
    if let Some(url) = url {
        // Lemmy 0.19.4+ describes an image link with `alt_text` (older
        // versions ignore the field). Only attachments carry alt text.
        let alt = request.media.iter().find(|file| file.url == url).and_then(|file| file.alt_text.as_deref());
        if let Some(alt) = alt.map(str::trim).filter(|alt| !alt.is_empty()) {
            post.insert("alt_text".into(), json!(alt));
        }
        post.insert("url".into(), json!(url));
    }
    if let Some(nsfw) = settings.nsfw {
        post.insert("nsfw".into(), json!(nsfw));
    }
    if let Some(language) = settings.language_id {
        post.insert("language_id".into(), json!(language));
    }
    Value::Object(post)
}

/// `POST /api/v3/comment` body: replies to the post, or to the previous comment.
pub(super) fn comment_body(request: &PublishRequest, settings: &Settings) -> Result<Value, ProviderError> {
    let number = |item: &PublishedItem| {
        item.id.parse::<i64>().map_err(|_| ProviderError::invalid(format!("`{}` is not a Lemmy id", item.id)))
    };
    let root = request.root.as_ref().ok_or_else(|| ProviderError::invalid("a reply without the post it belongs to"))?;
    let mut content = request.content.trim().to_string();
    for url in &request.media_urls {
        content.push_str(&format!("\n\n![]({url})"));
    }
    let mut comment = json!({ "content": content.trim(), "post_id": number(root)? });
    if let Some(parent) = request.reply_to.as_ref().filter(|parent| request.item_index > 1 && parent.id != root.id) {
        comment["parent_id"] = json!(number(parent)?);
    }
    if let Some(language) = settings.language_id {
        comment["language_id"] = json!(language);
    }
    Ok(comment)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::lemmy::Lemmy;
    use crate::{ErrorClass, HttpClient, Provider};

    fn read(value: &Value) -> Settings {
        declared::read("Lemmy", value).unwrap()
    }

    fn request(index: usize, content: &str, settings: Value) -> PublishRequest {
        PublishRequest {
            target_id: Uuid::now_v7(),
            post_id: Uuid::now_v7(),
            integration_id: Uuid::now_v7(),
            integration_name: "l".into(),
            credentials: json!({}),
            settings,
            item_index: index,
            item_count: 3,
            content: content.into(),
            media_urls: Vec::new(),
            media: Vec::new(),
            tags: Vec::new(),
            scheduled_for: None,
            root: None,
            reply_to: None,
            idempotency_key: String::new(),
            pending: None,
            interrupted: false,
        }
    }

    #[test]
    fn titles_come_from_settings_or_the_first_line() {
        assert_eq!(title_for("\n  Hello world \nmore", &read(&json!({}))), ("Hello world".to_string(), true));
        assert_eq!(title_for("text", &read(&json!({"title": " Mine "}))), ("Mine".to_string(), false));
        let long = "x".repeat(250);
        let (title, whole) = title_for(&long, &read(&json!({})));
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with('…') && !whole);
        assert_eq!(title_for("", &read(&json!({}))).0, "Untitled");
    }

    #[test]
    fn titles_follow_lemmys_rule() {
        // The cases of Lemmy's own `regex_checks` and `test_valid_post_title`.
        assert!(title_problem("hi").is_some());
        assert!(title_problem("him").is_none());
        assert!(title_problem("n\n\n\n\nanother").is_some());
        assert!(title_problem("hello there!\n this is a test.").is_some());
        assert!(title_problem("hello there! this is a test.").is_none());
        assert!(title_problem("   POST TITLE 😃😃😃😃😃").is_none());
        assert!(title_problem("\n \n \n \n    \t\t").is_some());
        assert!(title_problem("a b c d e").is_some(), "three in a row, not three in all");
        assert!(title_problem(&"x".repeat(201)).is_some());
    }

    #[test]
    fn post_bodies_follow_the_api() {
        let req = request(0, "Headline\n\nThe story.", json!({}));
        assert_eq!(
            post_body(&req, &read(&req.settings), 7),
            json!({"name": "Headline", "community_id": 7, "body": "The story."})
        );
        let mut req = request(
            0,
            "Just one line",
            json!({"title": "Tee", "url": "https://a.example", "nsfw": true, "languageId": 37}),
        );
        req.media_urls = vec!["https://cdn.example/1.png".into()];
        assert_eq!(
            post_body(&req, &read(&req.settings), 7),
            json!({"name": "Tee", "community_id": 7, "body": "Just one line\n\n![](https://cdn.example/1.png)", "url": "https://a.example", "nsfw": true, "language_id": 37})
        );
        let mut req = request(0, "Photo", json!({}));
        req.media_urls = vec!["https://cdn.example/1.png".into()];
        assert_eq!(
            post_body(&req, &read(&req.settings), 2),
            json!({"name": "Photo", "community_id": 2, "url": "https://cdn.example/1.png"})
        );
        req.media = vec![crate::Attachment {
            url: "https://cdn.example/1.png".into(),
            mime: "image/png".into(),
            alt_text: Some(" A red pixel ".into()),
            ..crate::Attachment::loaded(bytes::Bytes::new())
        }];
        assert_eq!(
            post_body(&req, &read(&req.settings), 2),
            json!({"name": "Photo", "community_id": 2, "url": "https://cdn.example/1.png", "alt_text": "A red pixel"})
        );
        req.settings = json!({"url": "https://a.example"});
        assert!(
            post_body(&req, &read(&req.settings), 2).get("alt_text").is_none(),
            "the alt text describes the image, not a link"
        );
    }

    #[test]
    fn comments_chain_under_the_post() {
        let mut first = request(1, "reply one", json!({}));
        first.root = Some(PublishedItem { id: "10".into(), url: None });
        first.reply_to = first.root.clone();
        assert_eq!(comment_body(&first, &Settings::default()).unwrap(), json!({"content": "reply one", "post_id": 10}));
        let mut second = request(2, "reply two", json!({}));
        second.root = first.root.clone();
        second.reply_to = Some(PublishedItem { id: "55".into(), url: None });
        assert_eq!(
            comment_body(&second, &Settings::default()).unwrap(),
            json!({"content": "reply two", "post_id": 10, "parent_id": 55})
        );
        second.root = Some(PublishedItem { id: "abc".into(), url: None });
        assert_eq!(comment_body(&second, &Settings::default()).unwrap_err().class, ErrorClass::Invalid);
    }

    #[test]
    fn settings_are_checked() {
        let lemmy = Lemmy::new(HttpClient::new(&crate::ProviderSettings::default()), false);
        assert!(
            lemmy
                .settings()
                .problems(
                    &json!({"title": "The title", "communityId": "rust", "url": "https://x.example", "nsfw": false})
                )
                .is_empty()
        );
        let problems = lemmy.settings().problems(
            &json!({"title": "x".repeat(201), "communityId": 0, "url": "ftp://x", "nsfw": "yes", "flair": 1}),
        );
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["communityId", "flair", "nsfw", "title", "url"]);
        assert_eq!(lemmy.settings().problems(&json!({"title": "Hi"})).len(), 1);
        assert_eq!(lemmy.settings().problems(&json!({"title": "Two\nlines"})).len(), 1);
    }
}
