//! What blog platforms (DEV, WordPress) share: an article needs a title
//! that a social post does not have, so one is taken from the settings or
//! from the post's first line; and both write HTML.

/// A post split into the title and body of an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub body: String,
}

/// `title` when given and not blank (the whole content is then the body),
/// else the first non-empty line without Markdown heading marks (the rest is
/// the body).
pub fn split_title(content: &str, title: Option<&str>) -> Article {
    if let Some(title) = title.map(str::trim).filter(|t| !t.is_empty()) {
        return Article { title: title.to_string(), body: content.trim().to_string() };
    }
    let content = content.trim_start();
    let (first, rest) = content.split_once('\n').unwrap_or((content, ""));
    let title = first.trim().trim_start_matches('#').trim().to_string();
    Article { title, body: rest.trim().to_string() }
}

/// Markdown as HTML, raw HTML in it shown as text (a post is not markup),
/// single line breaks kept as breaks.
pub fn markdown_html(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser =
        Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::SoftBreak => Event::HardBreak,
            other => other,
        });
    let mut rendered = String::new();
    html::push_html(&mut rendered, parser);
    rendered.trim_end().to_string()
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

    #[test]
    fn the_title_is_the_setting_or_the_first_line() {
        let post = "# Shipping Herald 1.0\n\nIt is out.\nEnjoy.";
        assert_eq!(
            split_title(post, None),
            Article { title: "Shipping Herald 1.0".into(), body: "It is out.\nEnjoy.".into() }
        );
        assert_eq!(split_title("\n\n  ## Only a title  ", None).title, "Only a title");
        assert_eq!(split_title("\n\n  ## Only a title  ", None).body, "");
        let given = split_title(post, Some("  Release notes "));
        assert_eq!(given.title, "Release notes");
        assert_eq!(given.body, post);
        // A blank title setting is no title.
        assert_eq!(split_title("First\nsecond", Some(" ")).title, "First");
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
    fn markdown_becomes_html_with_raw_html_escaped() {
        assert_eq!(markdown_html("a **b**\nc"), "<p>a <strong>b</strong><br />\nc</p>");
        assert_eq!(markdown_html("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
    }

    #[test]
    fn http_urls_are_recognised() {
        assert!(is_http_url("https://example.com/a.png"));
        assert!(!is_http_url("ftp://example.com/a.png"));
        assert!(!is_http_url("example.com"));
    }
}
