//! What each platform accepts, and how it counts the length of a post.
//!
//! Platforms do not agree on what a "character" is: Mastodon counts grapheme
//! clusters but every URL as 23 and a remote mention `@user@domain` as
//! `@user`, with the content warning, Bluesky counts grapheme clusters, Telegram
//! counts UTF-16 code units, X weighs most non-Latin characters double. A
//! post that fits by one count can be rejected by another, so validation
//! counts the way each target platform does.

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

/// How an account is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthKind {
    /// `POST /integrations` with credentials the user already has.
    Credentials,
    /// An OAuth authorization flow with app credentials from the operator.
    Oauth,
}

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
    /// Grapheme clusters, with every http(s) URL counted as 23 and a remote
    /// mention `@user@domain` as `@user` (Mastodon's `StatusLengthValidator`:
    /// the grapheme length after rewriting those entities).
    GraphemesUrlsAs23,
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
    /// A per-post setting whose text the platform counts with each item's
    /// own, as plain graphemes (Mastodon's content warning, `spoilerText`).
    pub counted_setting: Option<&'static str>,
    /// Most UTF-8 bytes an item's text may take, where the platform also
    /// limits that (Bluesky's lexicon: 3000, besides 300 graphemes).
    pub max_text_bytes: Option<usize>,
    /// The platform downloads media from Herald's public address (`MAIN_URL`)
    /// instead of taking an upload (Instagram, Threads): that address must
    /// be one it can reach.
    pub fetches_media: bool,
}

/// What most platforms take.
const COMMON_MEDIA: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4"];
/// Everything Herald recognises (platforms that pass links on).
const ANY_MEDIA: &[&str] =
    &["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/quicktime", "video/webm"];
const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
/// What X's media upload takes (a video or GIF alone in its post).
const X_MEDIA: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/quicktime"];
/// What Reddit's image posts take.
const REDDIT_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif"];
/// What Pinterest makes a Pin of.
const PNG_JPEG: &[&str] = &["image/png", "image/jpeg"];
/// What LinkedIn's Images and Videos APIs take (a video alone in its post).
const LINKEDIN_MEDIA: &[&str] = &["image/png", "image/jpeg", "image/gif", "video/mp4"];
/// Video files (YouTube, TikTok).
const VIDEOS: &[&str] = &["video/mp4", "video/quicktime", "video/webm"];
/// What a Facebook Page post takes (a video alone in its post).
const FACEBOOK_MEDIA: &[&str] = &["image/png", "image/jpeg", "image/gif", "video/mp4", "video/quicktime"];
/// What Instagram fetches for a post (JPEG images only; MP4 and MOV videos).
const INSTAGRAM_MEDIA: &[&str] = &["image/jpeg", "video/mp4", "video/quicktime"];
/// What Threads fetches for a post (JPEG and PNG images, MP4 and MOV videos).
const THREADS_MEDIA: &[&str] = &["image/png", "image/jpeg", "video/mp4", "video/quicktime"];
/// What VK's wall photo upload takes.
const PNG_JPEG_GIF: &[&str] = &["image/png", "image/jpeg", "image/gif"];
/// What Medium's image upload takes (TIFF aside).
const MEDIUM_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif"];
/// Images and MP4 videos, embedded by URL.
const IMAGES_AND_MP4: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4"];
/// What an Adaptive Card's `Image` shows in Teams.
const TEAMS_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif"];
const MB: u64 = 1024 * 1024;

impl PlatformRules {
    /// Same rules with the platform's media limits.
    const fn media(mut self, types: &'static [&'static str], max_image_bytes: u64, max_video_bytes: u64) -> Self {
        self.media_types = types;
        self.max_image_bytes = max_image_bytes;
        self.max_video_bytes = max_video_bytes;
        self
    }

    const fn fetching_media(mut self) -> Self {
        self.fetches_media = true;
        self
    }

    const fn caption(mut self, max: usize) -> Self {
        self.max_caption_length = Some(max);
        self
    }

    const fn text_bytes(mut self, max: usize) -> Self {
        self.max_text_bytes = Some(max);
        self
    }

    const fn counting_setting(mut self, name: &'static str) -> Self {
        self.counted_setting = Some(name);
        self
    }

    /// The length of an item as the platform counts it, with the text of
    /// the counted setting (if any) in the target's `settings`.
    pub fn item_length(&self, text: &str, settings: &serde_json::Value) -> usize {
        let extra = self
            .counted_setting
            .and_then(|name| settings.get(name)?.as_str())
            .filter(|value| !value.trim().is_empty())
            .map_or(0, |value| value.graphemes(true).count());
        count_length(text, self.counting) + extra
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
        counted_setting: None,
        max_text_bytes: None,
        fetches_media: false,
    }
}

use LengthCounting::{Characters, Graphemes, GraphemesUrlsAs23, Utf16, XWeighted};

/// Every platform Herald knows, with its documented limits (platforms.md).
pub const PLATFORMS: &[PlatformRules] = &[
    rules("webhook", "Webhook", 100_000, Characters, 10, false, true).media(ANY_MEDIA, 50 * MB, 50 * MB),
    rules("mastodon", "Mastodon", 500, GraphemesUrlsAs23, 4, false, true)
        .media(COMMON_MEDIA, 16 * MB, 99 * MB)
        .counting_setting("spoilerText"),
    rules("bluesky", "Bluesky", 300, Graphemes, 4, false, true).media(IMAGES, 1_000_000, 50 * MB).text_bytes(3000),
    rules("telegram", "Telegram", 4096, Utf16, 10, false, true).media(COMMON_MEDIA, 10 * MB, 50 * MB).caption(1024),
    rules("discord", "Discord", 2000, Characters, 10, false, true).media(COMMON_MEDIA, 10 * MB, 10 * MB),
    rules("slack", "Slack", 40_000, Characters, 0, false, true).media(&[], 0, 0),
    rules("nostr", "Nostr", 10_000, Characters, 4, false, true).media(ANY_MEDIA, 50 * MB, 50 * MB),
    rules("lemmy", "Lemmy", 10_000, Characters, 1, false, true).media(IMAGES, 8 * MB, 0),
    rules("devto", "DEV", 100_000, Characters, 1, false, false).media(IMAGES, 8 * MB, 0),
    rules("wordpress", "WordPress", 100_000, Characters, 10, false, false),
    rules("x", "X", 280, XWeighted, 4, false, true).media(X_MEDIA, 5 * MB, 512 * MB),
    rules("linkedin", "LinkedIn", 3000, Characters, 9, false, true).media(LINKEDIN_MEDIA, 8 * MB, 500 * MB),
    rules("linkedin-page", "LinkedIn Page", 3000, Characters, 9, false, true).media(LINKEDIN_MEDIA, 8 * MB, 500 * MB),
    rules("facebook", "Facebook Pages", 63_206, Characters, 10, false, true).media(FACEBOOK_MEDIA, 10 * MB, 2048 * MB),
    rules("instagram", "Instagram", 2200, Characters, 10, true, true)
        .media(INSTAGRAM_MEDIA, 8 * MB, 300 * MB)
        .fetching_media(),
    rules("instagram-standalone", "Instagram (Instagram Login)", 2200, Characters, 10, true, true)
        .media(INSTAGRAM_MEDIA, 8 * MB, 300 * MB)
        .fetching_media(),
    rules("threads", "Threads", 500, Characters, 20, false, true)
        .media(THREADS_MEDIA, 8 * MB, 1024 * MB)
        .fetching_media(),
    rules("youtube", "YouTube", 5000, Characters, 1, true, false).media(VIDEOS, 0, 2048 * MB),
    rules("tiktok", "TikTok", 2200, Utf16, 1, true, false).media(VIDEOS, 0, 2048 * MB),
    rules("reddit", "Reddit", 40_000, Characters, 1, false, true).media(REDDIT_IMAGES, 20 * MB, 0),
    rules("pinterest", "Pinterest", 500, Characters, 1, true, false).media(PNG_JPEG, 20 * MB, 0),
    rules("gmb", "Google Business Profile", 1500, Characters, 1, false, false)
        .media(PNG_JPEG, 5 * MB, 0)
        .fetching_media(),
    // A shot is one image (400×300, 800×600 or 1600×1200; 8 MB).
    rules("dribbble", "Dribbble", 10_000, Characters, 1, true, false).media(PNG_JPEG_GIF, 8 * MB, 0),
    // A wall post holds 16,384 characters and 10 attachments.
    rules("vk", "VK", 16_384, Characters, 10, false, true).media(PNG_JPEG_GIF, 50 * MB, 0),
    rules("tumblr", "Tumblr", 100_000, Characters, 10, false, false).media(IMAGES, 10 * MB, 0),
    // Misskey's `maxNoteTextLength` and its 16 files a note by default.
    rules("misskey", "Misskey", 3000, Characters, 16, false, true).media(ANY_MEDIA, 30 * MB, 30 * MB),
    // Pixelfed: `max_caption_length` and `max_album_length` by default; a
    // post is a photo or video (replies are comments and need none).
    rules("pixelfed", "Pixelfed", 500, Characters, 4, true, true).media(COMMON_MEDIA, 15 * MB, 15 * MB),
    // GoToSocial's defaults: `statuses-max-chars`, `statuses-media-max-files`,
    // `media-image-max-size` and `media-video-max-size`.
    rules("gotosocial", "GoToSocial", 5000, Characters, 6, false, true).media(COMMON_MEDIA, 10 * MB, 40 * MB),
    // Akkoma's and Pleroma's `limit` and `upload_limit` by default.
    rules("akkoma", "Akkoma / Pleroma", 5000, Graphemes, 10, false, true)
        .media(COMMON_MEDIA, 16 * MB, 16 * MB)
        .counting_setting("spoilerText"),
    // Synapse takes events up to 64 KB and files up to `max_upload_size` (50 MB by default).
    rules("matrix", "Matrix", 30_000, Characters, 10, false, true).media(ANY_MEDIA, 50 * MB, 50 * MB),
    // Herald's own RSS/Atom channel: any file, linked as an enclosure.
    rules("feed", "Feed (RSS/Atom)", 100_000, Characters, 10, false, true).media(ANY_MEDIA, 100 * MB, 100 * MB),
    // Ghost's default `imageOptimization` limits aside, 10 images a post.
    rules("ghost", "Ghost", 100_000, Characters, 10, false, false).media(IMAGES, 10 * MB, 0),
    // Medium's API takes Markdown; images are uploaded (PNG, JPEG, GIF, TIFF; 25 MB).
    rules("medium", "Medium", 100_000, Characters, 10, false, false).media(MEDIUM_IMAGES, 25 * MB, 0),
    // Hashnode takes images by URL: they are linked from MAIN_URL.
    rules("hashnode", "Hashnode", 100_000, Characters, 10, false, false).media(IMAGES, 10 * MB, 0).fetching_media(),
    rules("listmonk", "listmonk", 100_000, Characters, 10, false, false).media(IMAGES, 10 * MB, 0),
    rules("buttondown", "Buttondown", 100_000, Characters, 10, false, false).media(IMAGES, 10 * MB, 0),
    // 320 bytes (1,024 for Pro accounts, whose limit is read when connecting); two embeds.
    rules("farcaster", "Farcaster", 1024, Characters, 2, false, true)
        .media(IMAGES_AND_MP4, 10 * MB, 50 * MB)
        .text_bytes(1024)
        .fetching_media(),
    rules("mattermost", "Mattermost", 16_383, Characters, 10, false, true).media(ANY_MEDIA, 100 * MB, 100 * MB),
    rules("zulip", "Zulip", 10_000, Characters, 10, false, true).media(ANY_MEDIA, 25 * MB, 25 * MB),
    rules("googlechat", "Google Chat", 4096, Characters, 0, false, true).media(&[], 0, 0),
    // A card travels in one request of at most 28 KB.
    rules("teams", "Microsoft Teams", 12_000, Characters, 10, false, true)
        .media(TEAMS_IMAGES, 4 * MB, 0)
        .fetching_media(),
];

/// Upper bound on any stored text, whatever the platform: keeps one request
/// from filling the database.
pub const MAX_STORED_CONTENT_CHARS: usize = 100_000;

pub fn rules_for(platform: &str) -> Option<&'static PlatformRules> {
    PLATFORMS.iter().find(|rules| rules.id == platform)
}

/// An account's own length limit, from its integration's settings
/// (`maxLength`: a Mastodon instance's `max_characters`, read when the
/// account is connected), when it is a sensible one.
pub fn account_max_length(settings: &serde_json::Value) -> Option<usize> {
    let limit = usize::try_from(settings.get("maxLength")?.as_u64()?).ok()?;
    (1..=MAX_STORED_CONTENT_CHARS).contains(&limit).then_some(limit)
}

/// URLs count as this many characters on Mastodon and X.
const SHORT_URL_LEN: usize = 23;

pub fn count_length(text: &str, counting: LengthCounting) -> usize {
    match counting {
        Characters => text.chars().count(),
        Graphemes => text.graphemes(true).count(),
        Utf16 => text.encode_utf16().count(),
        GraphemesUrlsAs23 => {
            count_with_short_urls(&without_mention_domains(text), |segment| segment.graphemes(true).count())
        }
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

/// The text with the `@domain` of each remote mention removed: Mastodon
/// counts `@user@domain` as `@user` (its `Account::MENTION_RE`: not after a
/// word character, `=` or `/`; a user name of word characters joined by `.`
/// or `-`; a domain the same, with any word characters).
fn without_mention_domains(text: &str) -> std::borrow::Cow<'_, str> {
    let mut kept = String::new();
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        if at < copied || text[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "_=/".contains(c)) {
            continue;
        }
        let user_end = at + 1 + dotted_run(&text[at + 1..], |c| c.is_ascii_alphanumeric() || c == '_');
        if user_end == at + 1 || !text[user_end..].starts_with('@') {
            continue;
        }
        let domain_len = dotted_run(&text[user_end + 1..], |c| c.is_alphanumeric() || c == '_');
        if domain_len > 0 {
            kept.push_str(&text[copied..user_end]);
            copied = user_end + 1 + domain_len;
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    kept.push_str(&text[copied..]);
    std::borrow::Cow::Owned(kept)
}

/// Byte length of the longest prefix of `text` made of runs of `word`
/// characters joined by `.` or `-` (never ending on a joiner).
fn dotted_run(text: &str, word: fn(char) -> bool) -> usize {
    let mut end = 0;
    for (at, c) in text.char_indices() {
        if word(c) {
            end = at + c.len_utf8();
        } else if !((c == '.' || c == '-') && end > 0) {
            break;
        }
    }
    end
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
    fn an_account_limit_comes_from_its_settings_when_sensible() {
        assert_eq!(account_max_length(&serde_json::json!({"maxLength": 11000})), Some(11000));
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"maxLength": 0}),
            serde_json::json!({"maxLength": "1000"}),
            serde_json::json!({"maxLength": -5}),
            serde_json::json!({"maxLength": 100_001}),
            serde_json::Value::Null,
        ] {
            assert_eq!(account_max_length(&bad), None, "{bad}");
        }
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
        assert_eq!(count_length(&format!("see {long}"), GraphemesUrlsAs23), 4 + 23);
        assert_eq!(count_length("see https://x.io.", GraphemesUrlsAs23), 4 + 23 + 1);
        assert_eq!(count_length("two http://a.b and https://c.d", GraphemesUrlsAs23), 4 + 23 + 5 + 23);
        // Not a URL: no host after the scheme, or glued to a word.
        assert_eq!(count_length("https:// x", GraphemesUrlsAs23), 10);
        assert_eq!(count_length("xhttps://a.b", GraphemesUrlsAs23), 12);
        assert_eq!(count_length("(https://a.b)", GraphemesUrlsAs23), 1 + 23 + 1);
    }

    #[test]
    fn mastodon_counts_a_remote_mention_as_its_user_name() {
        let count = |text: &str| count_length(text, GraphemesUrlsAs23);
        assert_eq!(count("hi @alice@mastodon.social"), count("hi @alice"));
        assert_eq!(count("@bob.smith@social.example-host.org!"), count("@bob.smith!"));
        assert_eq!(count("@alice"), 6, "local mentions count as written");
        // Not mentions: inside a word, after `=` or `/`, or without a user or domain.
        for text in ["mail me@alice@example.com", "a=@b@c.d", "see /@b@c.d", "@@c.d", "@b@ x", "@b@.d"] {
            assert_eq!(count(text), text.chars().count(), "{text}");
        }
        // A mention inside a URL is part of the URL, which counts 23 anyway.
        assert_eq!(count("https://example.com/@alice@mastodon.social"), 23);
        assert_eq!(count("@a@b.c and https://x.io/y @d@e.f."), 2 + 5 + 23 + 1 + 2 + 1);
        assert_eq!(count("日本 @ユーザー@例え.jp"), 3 + 11, "non-ASCII user names are not Mastodon's: kept whole");
        assert_eq!(count("日本 @user_1@例え.jp"), 3 + 7);
    }

    #[test]
    fn mastodon_counts_the_content_warning_with_each_item() {
        let rules = rules_for("mastodon").unwrap();
        let settings = serde_json::json!({"spoilerText": "CW: food 🍕 https://x.io"});
        let text = "pizza @alice@example.com https://example.com/very/long";
        // The warning counts as plain graphemes (its URL is not shortened).
        assert_eq!(rules.item_length(text, &settings), 23 + 6 + 7 + 23);
        assert_eq!(rules.item_length(text, &serde_json::json!({"spoilerText": "  "})), 6 + 7 + 23);
        assert_eq!(rules.item_length(text, &serde_json::Value::Null), 6 + 7 + 23);
        let bluesky = rules_for("bluesky").unwrap();
        assert_eq!(bluesky.item_length("hi", &settings), 2, "only Mastodon counts a setting");
    }

    #[test]
    fn mastodon_and_bluesky_count_emoji_cjk_and_combining_marks_as_people_see_them() {
        for counting in [GraphemesUrlsAs23, Graphemes] {
            assert_eq!(count_length("👨‍👩‍👧", counting), 1, "a ZWJ family is one");
            assert_eq!(count_length("🇫🇷👍🏽", counting), 2, "a flag and a skin-toned thumb");
            assert_eq!(count_length("日本語のテキスト", counting), 8, "CJK: one each");
            assert_eq!(count_length("e\u{301}a\u{308}\u{304}", counting), 2, "combining marks join their base");
            assert_eq!(count_length("한국어", counting), 3);
            assert_eq!(count_length("\u{1100}\u{1161}\u{11A8}", counting), 1, "conjoining jamo form one syllable");
        }
        // Only Mastodon shortens URLs; Bluesky counts the link text itself.
        let text = "👨‍👩‍👧 日本語 https://example.com/ü";
        assert_eq!(count_length(text, GraphemesUrlsAs23), 1 + 1 + 3 + 1 + 23);
        assert_eq!(count_length(text, Graphemes), 1 + 1 + 3 + 1 + 21);
        assert_eq!(count_length(&"👍🏽".repeat(500), GraphemesUrlsAs23), 500);
        assert_eq!(count_length(&"e\u{301}".repeat(300), Graphemes), 300);
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
