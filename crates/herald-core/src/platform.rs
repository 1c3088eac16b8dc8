//! What each platform accepts, and how it counts the length of a post.
//!
//! Platforms do not agree on what a "character" is: Mastodon counts code
//! points but every URL as 23, Bluesky counts grapheme clusters, Telegram
//! counts UTF-16 code units, X weighs most non-Latin characters double. A
//! post that fits by one count can be rejected by another, so validation
//! counts the way each target platform does.

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

/// How a platform measures text length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LengthCounting {
    /// Unicode scalar values (what most APIs mean by "characters").
    Characters,
    /// User-perceived characters (extended grapheme clusters).
    Graphemes,
    /// UTF-16 code units, as JavaScript's `String.length`.
    Utf16,
    /// Characters, with every http(s) URL counted as 23.
    CharactersUrlsAs23,
    /// X's weighted count: URLs 23, Latin-range characters 1, others 2.
    XWeighted,
}

/// The rules validation applies to one platform.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformRules {
    pub id: &'static str,
    pub name: &'static str,
    pub max_length: usize,
    pub counting: LengthCounting,
    pub max_media: usize,
    pub requires_media: bool,
    pub supports_threads: bool,
    /// MIME types the platform takes as attachments.
    pub media_types: &'static [&'static str],
    /// Largest image file, in bytes.
    pub max_image_bytes: u64,
    /// Largest video file, in bytes.
    pub max_video_bytes: u64,
    /// Shorter limit for the text of an item that carries media, where the
    /// platform has one (Telegram captions).
    pub max_caption_length: Option<usize>,
}

/// What most platforms take.
const COMMON_MEDIA: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4"];
/// Everything Herald recognises (platforms that pass links on).
const ANY_MEDIA: &[&str] =
    &["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/quicktime", "video/webm"];
const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
const MB: u64 = 1024 * 1024;

impl PlatformRules {
    /// Same rules with the platform's media limits.
    const fn media(mut self, types: &'static [&'static str], max_image_bytes: u64, max_video_bytes: u64) -> Self {
        self.media_types = types;
        self.max_image_bytes = max_image_bytes;
        self.max_video_bytes = max_video_bytes;
        self
    }

    const fn caption(mut self, max: usize) -> Self {
        self.max_caption_length = Some(max);
        self
    }

    pub fn accepts_media_type(&self, mime: &str) -> bool {
        self.media_types.contains(&mime)
    }

    /// Largest file of this type, in bytes.
    pub fn max_bytes_for(&self, mime: &str) -> u64 {
        if mime.starts_with("video/") { self.max_video_bytes } else { self.max_image_bytes }
    }
}

const fn rules(
    id: &'static str,
    name: &'static str,
    max_length: usize,
    counting: LengthCounting,
    max_media: usize,
    requires_media: bool,
    supports_threads: bool,
) -> PlatformRules {
    PlatformRules {
        id,
        name,
        max_length,
        counting,
        max_media,
        requires_media,
        supports_threads,
        media_types: COMMON_MEDIA,
        max_image_bytes: 8 * MB,
        max_video_bytes: 50 * MB,
        max_caption_length: None,
    }
}

use LengthCounting::{Characters, CharactersUrlsAs23, Graphemes, Utf16, XWeighted};

/// Every platform Herald knows, with its documented limits (platforms.md).
pub const PLATFORMS: &[PlatformRules] = &[
    rules("webhook", "Webhook", 100_000, Characters, 10, false, true).media(ANY_MEDIA, 50 * MB, 50 * MB),
    rules("mastodon", "Mastodon", 500, CharactersUrlsAs23, 4, false, true).media(COMMON_MEDIA, 16 * MB, 99 * MB),
    rules("bluesky", "Bluesky", 300, Graphemes, 4, false, true).media(IMAGES, 1_000_000, 50 * MB),
    rules("telegram", "Telegram", 4096, Utf16, 10, false, true).media(COMMON_MEDIA, 10 * MB, 50 * MB).caption(1024),
    rules("discord", "Discord", 2000, Characters, 10, false, true).media(COMMON_MEDIA, 10 * MB, 10 * MB),
    rules("slack", "Slack", 40_000, Characters, 0, false, true).media(&[], 0, 0),
    rules("nostr", "Nostr", 10_000, Characters, 4, false, true).media(ANY_MEDIA, 50 * MB, 50 * MB),
    rules("lemmy", "Lemmy", 10_000, Characters, 1, false, true).media(IMAGES, 8 * MB, 0),
    rules("devto", "DEV", 100_000, Characters, 1, false, false).media(IMAGES, 8 * MB, 0),
    rules("wordpress", "WordPress", 100_000, Characters, 10, false, false),
    rules("x", "X", 280, XWeighted, 4, false, true),
    rules("linkedin", "LinkedIn", 3000, Characters, 9, false, true),
    rules("facebook", "Facebook Pages", 63_206, Characters, 10, false, true),
    rules("instagram", "Instagram", 2200, Characters, 10, true, true),
    rules("threads", "Threads", 500, Characters, 10, false, true),
    rules("youtube", "YouTube", 5000, Characters, 1, true, false),
    rules("tiktok", "TikTok", 2200, Utf16, 1, true, false),
    rules("reddit", "Reddit", 40_000, Characters, 1, false, true),
    rules("pinterest", "Pinterest", 500, Characters, 1, true, false),
    rules("gmb", "Google Business Profile", 1500, Characters, 1, false, false),
    rules("tumblr", "Tumblr", 100_000, Characters, 10, false, true),
];

/// Upper bound on any stored text, whatever the platform: keeps one request
/// from filling the database.
pub const MAX_STORED_CONTENT_CHARS: usize = 100_000;

pub fn rules_for(platform: &str) -> Option<&'static PlatformRules> {
    PLATFORMS.iter().find(|rules| rules.id == platform)
}

/// URLs count as this many characters on Mastodon and X.
const SHORT_URL_LEN: usize = 23;

pub fn count_length(text: &str, counting: LengthCounting) -> usize {
    match counting {
        Characters => text.chars().count(),
        Graphemes => text.graphemes(true).count(),
        Utf16 => text.encode_utf16().count(),
        CharactersUrlsAs23 => count_with_short_urls(text, |segment| segment.chars().count()),
        XWeighted => count_with_short_urls(text, x_weight),
    }
}

/// Splits `text` into URL and non-URL runs; URLs count 23, the rest by `count`.
fn count_with_short_urls(text: &str, count: fn(&str) -> usize) -> usize {
    let mut total = 0;
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        total += count(&rest[..start]);
        let url_len = rest[start..].find(char::is_whitespace).unwrap_or(rest.len() - start);
        // Trailing punctuation is prose, not part of the link.
        let url = rest[start..start + url_len].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
        total += SHORT_URL_LEN;
        rest = &rest[start + url.len()..];
    }
    total + count(rest)
}

/// Byte offset of the next `http://` or `https://` that starts a word.
fn find_url_start(text: &str) -> Option<usize> {
    let mut offset = 0;
    while let Some(found) = text[offset..].find("http") {
        let at = offset + found;
        let after = &text[at..];
        let starts_word = text[..at].chars().next_back().is_none_or(|c| c.is_whitespace() || "([\"'".contains(c));
        let scheme = if after.starts_with("https://") {
            8
        } else if after.starts_with("http://") {
            7
        } else {
            0
        };
        if starts_word && scheme > 0 && after[scheme..].chars().next().is_some_and(|c| c.is_alphanumeric()) {
            return Some(at);
        }
        offset = at + 4;
    }
    None
}

/// X's weighting (twitter-text v3): code points in the Latin-centric ranges
/// weigh 1, everything else 2, and an emoji sequence weighs 2 in total.
fn x_weight(text: &str) -> usize {
    text.graphemes(true)
        .map(|grapheme| {
            if grapheme.chars().any(is_emoji) {
                2
            } else {
                grapheme.chars().map(|c| if is_light(c) { 1 } else { 2 }).sum()
            }
        })
        .sum()
}

fn is_light(c: char) -> bool {
    matches!(c as u32, 0x0000..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037)
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_has_unique_id_and_a_positive_limit() {
        for (i, rules) in PLATFORMS.iter().enumerate() {
            assert!(rules.max_length > 0);
            assert!(PLATFORMS[i + 1..].iter().all(|other| other.id != rules.id), "duplicate {}", rules.id);
        }
        assert_eq!(rules_for("bluesky").unwrap().max_length, 300);
        assert!(rules_for("myspace").is_none());
    }

    #[test]
    fn characters_graphemes_and_utf16_differ_on_emoji_and_combining_marks() {
        let family = "👨‍👩‍👧"; // three people joined by zero-width joiners
        assert_eq!(count_length(family, Characters), 5);
        assert_eq!(count_length(family, Graphemes), 1);
        assert_eq!(count_length(family, Utf16), 8);

        let decomposed = "e\u{301}"; // e + combining acute accent
        assert_eq!(count_length(decomposed, Characters), 2);
        assert_eq!(count_length(decomposed, Graphemes), 1);
        assert_eq!(count_length(decomposed, Utf16), 2);

        let cjk = "日本語";
        assert_eq!(count_length(cjk, Characters), 3);
        assert_eq!(count_length(cjk, Utf16), 3);
        assert_eq!(count_length("𝕏", Utf16), 2);
    }

    #[test]
    fn mastodon_counts_each_url_as_23() {
        let long = format!("https://example.com/{}", "a".repeat(100));
        assert_eq!(count_length(&format!("see {long}"), CharactersUrlsAs23), 4 + 23);
        assert_eq!(count_length("see https://x.io.", CharactersUrlsAs23), 4 + 23 + 1);
        assert_eq!(count_length("two http://a.b and https://c.d", CharactersUrlsAs23), 4 + 23 + 5 + 23);
        // Not a URL: no host after the scheme, or glued to a word.
        assert_eq!(count_length("https:// x", CharactersUrlsAs23), 10);
        assert_eq!(count_length("xhttps://a.b", CharactersUrlsAs23), 12);
        assert_eq!(count_length("(https://a.b)", CharactersUrlsAs23), 1 + 23 + 1);
    }

    #[test]
    fn x_weighs_cjk_and_emoji_double() {
        assert_eq!(count_length("hello", XWeighted), 5);
        assert_eq!(count_length("日本語", XWeighted), 6);
        assert_eq!(count_length("👍", XWeighted), 2);
        assert_eq!(count_length("👨‍👩‍👧", XWeighted), 2);
        assert_eq!(count_length("café https://example.com/very/long/path", XWeighted), 5 + 23);
    }
}
