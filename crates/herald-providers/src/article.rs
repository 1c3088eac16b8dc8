//! What blog platforms (DEV, WordPress) share: an article needs a title
//! that a social post does not have, so one is taken from the settings or
//! from the post's first line; and per-post settings are read leniently
//! here because `check_settings` already refused malformed ones.

use serde_json::Value;

/// A post split into the title and body of an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub body: String,
}

/// `settings.title` when given (the whole content is then the body), else
/// the first non-empty line without Markdown heading marks (the rest is the body).
pub fn split_title(content: &str, settings: &Value) -> Article {
    if let Some(title) = text_setting(settings, "title") {
        return Article { title, body: content.trim().to_string() };
    }
    let content = content.trim_start();
    let (first, rest) = content.split_once('\n').unwrap_or((content, ""));
    let title = first.trim().trim_start_matches('#').trim().to_string();
    Article { title, body: rest.trim().to_string() }
}

/// A non-empty string setting, trimmed.
pub fn text_setting(settings: &Value, key: &str) -> Option<String> {
    settings.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Keys of `settings` that `schema` (a JSON Schema object with
/// `properties`) does not know, as `check_settings` problems.
pub fn unknown_keys(settings: &Value, schema: &Value) -> Vec<(String, String)> {
    let Some(object) = settings.as_object() else {
        return vec![(String::new(), "settings must be a JSON object".into())];
    };
    let known = schema.get("properties").and_then(Value::as_object);
    object
        .keys()
        .filter(|key| !known.is_some_and(|k| k.contains_key(*key)))
        .map(|key| (key.clone(), "is not a setting of this platform".to_string()))
        .collect()
}

/// Whether `raw` is an absolute http(s) URL.
pub fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Plain text as HTML: blank lines separate paragraphs, single line breaks
/// stay line breaks. Everything is escaped: a post is text, not markup.
pub fn paragraphs_html(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n");
    let mut paragraphs = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in normalised.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.trim_end());
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
        .iter()
        .map(|lines| {
            let escaped: Vec<String> = lines.iter().map(|line| escape_html(line)).collect();
            format!("<p>{}</p>", escaped.join("<br />\n"))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_title_is_the_setting_or_the_first_line() {
        let post = "# Shipping Herald 1.0\n\nIt is out.\nEnjoy.";
        assert_eq!(
            split_title(post, &json!({})),
            Article { title: "Shipping Herald 1.0".into(), body: "It is out.\nEnjoy.".into() }
        );
        assert_eq!(split_title("\n\n  ## Only a title  ", &json!({})).title, "Only a title");
        assert_eq!(split_title("\n\n  ## Only a title  ", &json!({})).body, "");
        let given = split_title(post, &json!({"title": "  Release notes "}));
        assert_eq!(given.title, "Release notes");
        assert_eq!(given.body, post);
        // A blank title setting is no title.
        assert_eq!(split_title("First\nsecond", &json!({"title": " "})).title, "First");
    }

    #[test]
    fn text_becomes_escaped_paragraphs() {
        let html = paragraphs_html("Hello <world> & \"friends\"\nline two\r\n\r\n\n  \nSecond 'para'\n");
        assert_eq!(
            html,
            "<p>Hello &lt;world&gt; &amp; &quot;friends&quot;<br />\nline two</p>\n\n<p>Second &#39;para&#39;</p>"
        );
        assert_eq!(paragraphs_html("  \n\n"), "");
    }

    #[test]
    fn unknown_keys_are_reported() {
        let schema = json!({"properties": {"title": {}}});
        assert!(unknown_keys(&json!({"title": "x"}), &schema).is_empty());
        assert_eq!(unknown_keys(&json!({"titel": "x"}), &schema)[0].0, "titel");
        assert_eq!(unknown_keys(&json!([1]), &schema).len(), 1);
        assert!(is_http_url("https://example.com/a.png"));
        assert!(!is_http_url("ftp://example.com/a.png"));
        assert!(!is_http_url("example.com"));
    }
}
