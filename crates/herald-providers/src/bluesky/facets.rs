//! Rich-text facets: Bluesky does not find links, mentions or hashtags in
//! the text itself; the client marks them with UTF-8 *byte* ranges. The
//! detection follows the official client (`@atproto/api` rich-text
//! `detectFacets`): links with an http(s) scheme (in any case) or bare
//! domains ending in a real top-level domain (`example.com/x` links to
//! `https://example.com/x`), `@handle` mentions whose handle is a domain
//! name, and `#tags` that are not all digits or punctuation. Offsets are
//! byte offsets because Rust string indices are.

/// What a facet points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feature {
    Link(String),
    /// A handle (lower-cased, without `@`): resolved to a DID before posting.
    Mention(String),
    /// The tag without its `#`.
    Tag(String),
}

/// A detected facet: `text[start..end]` (byte offsets) is the decorated run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub feature: Feature,
}

/// Longest tag Bluesky indexes.
const MAX_TAG_CHARS: usize = 64;
/// The top-level domains a bare domain must end in, one per line.
const TLDS: &str = include_str!("tlds.txt");

pub fn detect(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut skip_until = 0;
    for (at, c) in text.char_indices() {
        if at < skip_until {
            continue;
        }
        let previous = text[..at].chars().next_back();
        let after_space = previous.is_none_or(char::is_whitespace);
        let after_space_or_paren = after_space || previous == Some('(');
        let found = match c {
            c if c.is_ascii_alphabetic() && after_space_or_paren => link_at(text, at),
            '@' if after_space_or_paren => mention_at(text, at),
            '#' | '＃' if after_space => tag_at(text, at),
            _ => None,
        };
        if let Some(span) = found {
            skip_until = span.end;
            spans.push(span);
        }
    }
    spans
}

fn word_end(text: &str, from: usize) -> usize {
    text[from..].find(char::is_whitespace).map_or(text.len(), |n| from + n)
}

fn link_at(text: &str, at: usize) -> Option<Span> {
    let mut linked = &text[at..word_end(text, at)];
    // Prose punctuation after a link is not part of it.
    if linked.ends_with(['.', ',', ';', ':', '!', '?']) {
        linked = &linked[..linked.len() - 1];
    }
    if linked.ends_with(')') && !linked.contains('(') {
        linked = &linked[..linked.len() - 1];
    }
    let uri = match scheme_len(linked) {
        Some(scheme) if linked.len() > scheme => {
            format!("{}{}", linked[..scheme].to_ascii_lowercase(), &linked[scheme..])
        }
        Some(_) => return None,
        None if starts_with_domain(linked) => format!("https://{linked}"),
        None => return None,
    };
    Some(Span { start: at, end: at + linked.len(), feature: Feature::Link(uri) })
}

/// Length of a leading `http://` or `https://`, in any case.
fn scheme_len(text: &str) -> Option<usize> {
    ["https://", "http://"]
        .into_iter()
        .find(|scheme| text.get(..scheme.len()).is_some_and(|start| start.eq_ignore_ascii_case(scheme)))
        .map(str::len)
}

/// Whether `text` starts with a domain name whose last label is a real
/// top-level domain: labels of ASCII letters and digits (inner hyphens
/// allowed), the first starting with a letter, at least two of them. The
/// official client checks the lower-case list as it is, so `Hello.World`
/// stays prose.
fn starts_with_domain(text: &str) -> bool {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).unwrap_or(text.len());
    let mut labels: Vec<&str> = text[..end].split('.').collect();
    // A dot not followed by a label ends the domain (`example.com..`).
    if let Some(empty) = labels.iter().position(|label| label.is_empty()) {
        labels.truncate(empty);
    }
    // A label cut short by a hyphen ends it too (`example.com-ish`).
    if let Some(bad) = labels.iter().position(|label| label.starts_with('-') || label.ends_with('-')) {
        labels.truncate(bad);
    }
    labels.len() >= 2
        && labels[0].starts_with(|c: char| c.is_ascii_alphabetic())
        && labels.last().is_some_and(|tld| TLDS.lines().any(|known| known == *tld))
}

fn mention_at(text: &str, at: usize) -> Option<Span> {
    let handle_start = at + 1;
    let run = text[handle_start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .map_or(&text[handle_start..], |n| &text[handle_start..handle_start + n]);
    let handle = run.trim_end_matches(['.', '-']);
    if !is_handle(handle) {
        return None;
    }
    let end = handle_start + handle.len();
    Some(Span { start: at, end, feature: Feature::Mention(handle.to_ascii_lowercase()) })
}

/// A domain name of at least two labels whose last label starts with a letter.
fn is_handle(handle: &str) -> bool {
    let labels: Vec<&str> = handle.split('.').collect();
    labels.len() >= 2
        && handle.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Invisible characters that end a tag, as in the official client.
fn ends_tag(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{2060}' | '\u{200A}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{20E2}')
}

/// Unicode punctuation, closely enough for trimming tags: ASCII, general
/// punctuation, CJK and full-width punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c as u32,
            0x00A1 | 0x00A7 | 0x00AB | 0x00B6 | 0x00B7 | 0x00BB | 0x00BF
            | 0x2010..=0x2027 | 0x2030..=0x205E
            | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F
            | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

fn tag_at(text: &str, at: usize) -> Option<Span> {
    let hash_len = text[at..].chars().next()?.len_utf8();
    let body_start = at + hash_len;
    // `#️⃣` (keycap) is an emoji, not a tag.
    if text[body_start..].starts_with('\u{FE0F}') {
        return None;
    }
    let run_end = text[body_start..].find(ends_tag).map_or(text.len(), |n| body_start + n);
    let tag = text[body_start..run_end].trim_end_matches(is_punctuation);
    let meaningful = tag.chars().any(|c| !c.is_ascii_digit() && !is_punctuation(c));
    if tag.is_empty() || !meaningful || tag.chars().count() > MAX_TAG_CHARS {
        return None;
    }
    Some(Span { start: at, end: body_start + tag.len(), feature: Feature::Tag(tag.to_string()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slices(text: &str) -> Vec<&str> {
        detect(text).iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn offsets_are_utf8_bytes_after_emoji_cjk_and_combining_marks() {
        // 18 bytes of family emoji (3 × 4 + 2 ZWJ × 3), 9 of CJK, 3 of e + U+0301.
        let text = "👨‍👩‍👧 日本語 e\u{301} https://example.com/ü?q=1 #café @alice.bsky.social";
        let spans = detect(text);
        assert_eq!(spans.len(), 3);
        assert_eq!((spans[0].start, spans[0].end), (33, 33 + "https://example.com/ü?q=1".len()));
        assert_eq!(spans[0].feature, Feature::Link("https://example.com/ü?q=1".into()));
        assert_eq!(spans[1].start, spans[0].end + 1);
        assert_eq!(spans[1].end, spans[1].start + "#café".len());
        assert_eq!(spans[1].feature, Feature::Tag("café".into()));
        assert_eq!(&text.as_bytes()[spans[2].start..spans[2].end], "@alice.bsky.social".as_bytes());
        assert_eq!(spans[2].feature, Feature::Mention("alice.bsky.social".into()));
        // Byte offsets, not character or UTF-16 offsets.
        assert_ne!(spans[0].start, text[..spans[0].start].chars().count());
        assert_ne!(spans[0].start, text[..spans[0].start].encode_utf16().count());
    }

    #[test]
    fn links_drop_trailing_prose_punctuation() {
        assert_eq!(slices("see https://a.example/x."), ["https://a.example/x"]);
        assert_eq!(slices("(https://a.example/x)"), ["https://a.example/x"]);
        assert_eq!(
            slices("https://en.wikipedia.org/wiki/Rust_(language)"),
            ["https://en.wikipedia.org/wiki/Rust_(language)"]
        );
        assert!(slices("xhttps://glued.example https:// alone").is_empty());
    }

    #[test]
    fn schemes_match_in_any_case_and_are_written_lower_case() {
        let spans = detect("HTTPS://Example.com/Path and Http://x.io");
        assert_eq!(spans[0].feature, Feature::Link("https://Example.com/Path".into()));
        assert_eq!((spans[0].start, spans[0].end), (0, 24));
        assert_eq!(spans[1].feature, Feature::Link("http://x.io".into()));
        assert_eq!(detect("HTTPS:// alone").len(), 0);
    }

    #[test]
    fn bare_domains_with_a_real_tld_become_https_links() {
        let links = |text: &str| -> Vec<String> {
            detect(text)
                .into_iter()
                .filter_map(|span| match span.feature {
                    Feature::Link(uri) => Some(uri),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(links("visit example.com today"), ["https://example.com"]);
        assert_eq!(links("see bsky.app/profile/alice.test."), ["https://bsky.app/profile/alice.test"]);
        assert_eq!(links("(my-site.co.uk/a?b=1)"), ["https://my-site.co.uk/a?b=1"]);
        assert_eq!(links("Example.com, or WWW.EXAMPLE.ORG"), ["https://Example.com"]);
        // Not domains: no real TLD, an upper-case one, a file name, an address, a number.
        for text in ["e.g. this", "node.js", "Hello.World", "notes.txt", "me@example.com", "v1.2", "a.b", ".com"] {
            assert!(links(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn bare_domain_offsets_are_utf8_bytes_after_emoji() {
        // 🎉 is 4 bytes, the family 18, each space 1.
        let text = "🎉👨‍👩‍👧 example.org/ü #tag";
        let spans = detect(text);
        assert_eq!((spans[0].start, spans[0].end), (23, 23 + "example.org/ü".len()));
        assert_eq!(&text[spans[0].start..spans[0].end], "example.org/ü");
        assert_eq!(spans[0].feature, Feature::Link("https://example.org/ü".into()));
        assert_eq!(spans[1].start, spans[0].end + 1);
    }

    #[test]
    fn mentions_need_a_domain_handle() {
        assert_eq!(slices("hi @Bob.example.com."), ["@Bob.example.com"]);
        assert_eq!(detect("hi @Bob.example.com")[0].feature, Feature::Mention("bob.example.com".into()));
        assert!(slices("mail me@example.com or @nodot or @1.2").is_empty());
        assert_eq!(slices("(@carol.test)"), ["@carol.test"]);
    }

    #[test]
    fn tags_skip_numbers_keycaps_and_trailing_punctuation() {
        assert_eq!(slices("#rust, #日本語! #42 #️⃣ a#b #v2"), ["#rust", "#日本語", "#v2"]);
        assert_eq!(detect("＃全角")[0].feature, Feature::Tag("全角".into()));
        assert!(slices(&format!("#{}", "a".repeat(65))).is_empty());
        assert_eq!(detect("#tag\u{200B}x")[0].end, 4);
    }
}
