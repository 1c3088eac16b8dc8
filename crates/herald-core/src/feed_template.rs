//! The text a feed item becomes: a template with `{title}`, `{link}`,
//! `{summary}` and `{author}`, shortened to fit an account's limit by
//! trimming the prose (summary first, then title, then author), never
//! the link.

use unicode_segmentation::UnicodeSegmentation;

use crate::ValidationError;

pub const DEFAULT_TEMPLATE: &str = "{title} {link}";
const PLACEHOLDERS: [&str; 4] = ["title", "link", "summary", "author"];
const ELLIPSIS: &str = "…";

/// What an item offers the template, as plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedItem {
    pub title: String,
    pub link: String,
    pub summary: String,
    pub author: String,
}

/// Refuses an empty template, one that names an unknown placeholder, or
/// one with no placeholder at all (every item would post the same text).
pub fn check_template(template: &str) -> Result<(), ValidationError> {
    if template.trim().is_empty() {
        return Err(ValidationError::new("template", "give a template such as \"{title} {link}\""));
    }
    if template.chars().count() > 2000 {
        return Err(ValidationError::new("template", "at most 2,000 characters"));
    }
    let mut used = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(ValidationError::new(
                "template",
                format!("unknown placeholder {{{name}}}: use {{title}}, {{link}}, {{summary}} or {{author}}"),
            ));
        }
        used += 1;
        rest = &after[close + 1..];
    }
    if used == 0 {
        return Err(ValidationError::new("template", "use at least one of {title}, {link}, {summary}, {author}"));
    }
    Ok(())
}

fn fill(template: &str, item: &FeedItem) -> String {
    template
        .replace("{title}", &item.title)
        .replace("{link}", &item.link)
        .replace("{summary}", &item.summary)
        .replace("{author}", &item.author)
        .trim()
        .to_string()
}

/// The item's text, shortened until `fits` accepts it; `None` when even
/// without prose it does not fit (a link longer than the limit).
pub fn render(template: &str, item: &FeedItem, fits: impl Fn(&str) -> bool) -> Option<String> {
    let full = fill(template, item);
    if fits(&full) {
        return Some(full);
    }
    let mut item = item.clone();
    for field in [Field::Summary, Field::Title, Field::Author] {
        let original = field.of(&item).to_string();
        // Prefixes ending at a word boundary, shortest first (the whole text excluded: it did not fit).
        let prefixes: Vec<&str> = original.split_word_bound_indices().skip(1).map(|(i, _)| &original[..i]).collect();
        // The longest that fits, by binary search; 0 stands for none at all.
        let (mut low, mut high) = (0, prefixes.len());
        while low < high {
            let mid = (low + high).div_ceil(2);
            *field.of_mut(&mut item) = shortened(prefixes[mid - 1]);
            if fits(&fill(template, &item)) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        *field.of_mut(&mut item) = if low == 0 { String::new() } else { shortened(prefixes[low - 1]) };
        let text = fill(template, &item);
        if fits(&text) {
            return Some(text);
        }
    }
    None
}

fn shortened(prefix: &str) -> String {
    let trimmed = prefix.trim_end().trim_end_matches([',', ';', ':', '-', '–', '—']);
    if trimmed.is_empty() { String::new() } else { format!("{trimmed}{ELLIPSIS}") }
}

#[derive(Clone, Copy)]
enum Field {
    Summary,
    Title,
    Author,
}

impl Field {
    fn of(self, item: &FeedItem) -> &str {
        match self {
            Self::Summary => &item.summary,
            Self::Title => &item.title,
            Self::Author => &item.author,
        }
    }

    fn of_mut(self, item: &mut FeedItem) -> &mut String {
        match self {
            Self::Summary => &mut item.summary,
            Self::Title => &mut item.title,
            Self::Author => &mut item.author,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> FeedItem {
        FeedItem {
            title: "Herald 1.0 is out".into(),
            link: "https://blog.example.com/posts/herald-1-0-is-out-with-a-long-slug".into(),
            summary: "Today we ship the first stable release, with queues, feeds and webhooks.".into(),
            author: "Ada".into(),
        }
    }

    fn within(limit: usize) -> impl Fn(&str) -> bool {
        move |text: &str| text.graphemes(true).count() <= limit
    }

    #[test]
    fn fills_every_placeholder() {
        let text = render("{title} by {author}: {summary} {link}", &item(), |_| true).unwrap();
        assert_eq!(
            text,
            "Herald 1.0 is out by Ada: Today we ship the first stable release, with queues, feeds and webhooks. https://blog.example.com/posts/herald-1-0-is-out-with-a-long-slug"
        );
    }

    #[test]
    fn shortens_the_prose_never_the_link() {
        let template = "{title}: {summary} {link}";
        let text = render(template, &item(), within(110)).unwrap();
        assert!(text.graphemes(true).count() <= 110, "{text}");
        assert!(text.ends_with(&item().link), "{text}");
        assert!(text.contains('…'), "{text}");
        assert!(text.starts_with("Herald 1.0 is out: Today"), "{text}");
        // Tighter: the summary goes entirely, then the title shrinks.
        let text = render(template, &item(), within(80)).unwrap();
        assert!(text.ends_with(&item().link) && text.graphemes(true).count() <= 80, "{text}");
        // A link longer than the limit cannot be posted.
        assert_eq!(render(template, &item(), within(30)), None);
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("{title} {link}").is_ok());
        assert!(check_template("").is_err());
        assert!(check_template("no placeholder").is_err());
        assert!(check_template("{title} {url}").unwrap_err().message.contains("{url}"));
    }
}
