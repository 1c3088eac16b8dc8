//! Validation of a post as a whole: its text, thread, media, tags, schedule,
//! and how it fits each target platform. Pure: the caller resolves the
//! integrations first, so every entry point applies exactly these rules.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::platform::{self, MAX_STORED_CONTENT_CHARS, PlatformRules};
use crate::post::PublishMode;
use crate::schedule::check_publish_time;
use crate::{ValidationError, ValidationErrors};

pub const MAX_THREAD_ITEMS: usize = 25;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_MEDIA_URLS: usize = 20;
pub const MAX_TARGETS: usize = 50;

/// One follow-up item of a thread.
#[derive(Debug, Clone)]
pub struct ThreadItemDraft {
    pub content: String,
    pub media_count: usize,
}

/// A target integration as the caller resolved it from the workspace.
#[derive(Debug, Clone)]
pub struct TargetDraft {
    pub integration_id: Uuid,
    pub platform: String,
    pub active: bool,
    pub content_override: Option<String>,
    /// The target's per-post settings (some count toward the length, see
    /// [`PlatformRules::counted_setting`]).
    pub settings: serde_json::Value,
    /// The account's own length limit, where it has one (a Mastodon
    /// instance's, see [`platform::account_max_length`]).
    pub max_length: Option<usize>,
}

/// Everything about a post that validation looks at.
#[derive(Debug, Clone)]
pub struct PostDraft {
    pub content: String,
    pub mode: PublishMode,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub media_urls: Vec<String>,
    pub media_count: usize,
    pub thread: Vec<ThreadItemDraft>,
    pub tags: Vec<String>,
    pub targets: Vec<TargetDraft>,
}

/// How the post fits one target: what `POST /posts/validate` reports.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    pub integration_id: Uuid,
    pub platform: String,
    /// Length of the main text as this platform counts it.
    pub length: usize,
    pub max_length: usize,
    /// Length of each thread item as this platform counts it.
    pub thread_lengths: Vec<usize>,
    pub errors: Vec<ValidationError>,
    pub warnings: Vec<String>,
}

/// A text as duplicate detection compares it: case, spacing and the
/// punctuation at its ends do not make two posts different.
pub fn normalise_for_duplicates(text: &str) -> String {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace()).to_string()
}

/// The indexed key of a text for duplicate detection: a hash of its
/// normalised form, so finding earlier posts with the same text is one
/// index lookup however many posts an account has. `None` for a text that
/// normalises to nothing (never a duplicate). Equal keys are confirmed by
/// comparing the texts, so a collision costs a comparison, not a warning.
pub fn duplicate_key(text: &str) -> Option<String> {
    let normalised = normalise_for_duplicates(text);
    if normalised.is_empty() {
        return None;
    }
    Some(hex::encode(&Sha256::digest(normalised.as_bytes())[..16]))
}

/// Validates a post. Returns the per-target report even when there are
/// errors, so a dry run can show everything at once.
pub fn validate_post(draft: &PostDraft, now: DateTime<Utc>) -> (Vec<TargetReport>, ValidationErrors) {
    let mut errors = ValidationErrors::default();

    check_stored_text(&mut errors, "content", &draft.content);
    if draft.content.trim().is_empty() && draft.media_count == 0 && draft.mode != PublishMode::Draft {
        errors.push("content", "must not be empty (or attach media)");
    }
    for (i, item) in draft.thread.iter().enumerate() {
        let field = format!("thread[{i}].content");
        check_stored_text(&mut errors, &field, &item.content);
        if item.content.trim().is_empty() && item.media_count == 0 {
            errors.push(field, "must not be empty (or attach media)");
        }
    }
    if draft.thread.len() > MAX_THREAD_ITEMS {
        errors.push("thread", format!("at most {MAX_THREAD_ITEMS} follow-up items"));
    }
    check_tags(&mut errors, &draft.tags);
    check_media_urls(&mut errors, &draft.media_urls);
    check_schedule(&mut errors, draft, now);

    if draft.mode != PublishMode::Draft && draft.targets.is_empty() {
        errors.push("platforms", "choose at least one integration to schedule or publish (drafts may have none)");
    }
    if draft.targets.len() > MAX_TARGETS {
        errors.push("platforms", format!("at most {MAX_TARGETS} integrations per post"));
    }

    let reports = draft.targets.iter().map(|target| report_target(draft, target)).collect::<Vec<_>>();
    // A draft may be too long for now; it is checked again when scheduled.
    if draft.mode != PublishMode::Draft {
        for report in &reports {
            errors.0.extend(report.errors.iter().cloned());
        }
    }
    (reports, errors)
}

fn check_stored_text(errors: &mut ValidationErrors, field: &str, text: &str) {
    let chars = text.chars().count();
    if chars > MAX_STORED_CONTENT_CHARS {
        errors.push(field, format!("is {chars} characters; the most Herald stores is {MAX_STORED_CONTENT_CHARS}"));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        errors.push(field, "must not contain control characters");
    }
}

fn check_tags(errors: &mut ValidationErrors, tags: &[String]) {
    if tags.len() > MAX_TAGS {
        errors.push("tags", format!("at most {MAX_TAGS} tags"));
    }
    for (i, tag) in tags.iter().enumerate() {
        let chars = tag.trim().chars().count();
        if chars == 0 || chars > MAX_TAG_CHARS || tag.chars().any(char::is_control) {
            errors
                .push(format!("tags[{i}]"), format!("must be 1–{MAX_TAG_CHARS} characters without control characters"));
        }
    }
}

fn check_media_urls(errors: &mut ValidationErrors, urls: &[String]) {
    if urls.len() > MAX_MEDIA_URLS {
        errors.push("mediaUrls", format!("at most {MAX_MEDIA_URLS} media URLs"));
    }
    for (i, raw) in urls.iter().enumerate() {
        let ok = url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            errors.push(format!("mediaUrls[{i}]"), format!("`{raw}` is not an http(s) URL"));
        }
    }
}

fn check_schedule(errors: &mut ValidationErrors, draft: &PostDraft, now: DateTime<Utc>) {
    match (draft.mode, draft.scheduled_for) {
        (PublishMode::Scheduled, None) => errors.push("scheduledFor", "is required to schedule a post"),
        (PublishMode::Scheduled, Some(at)) => {
            errors.collect(check_publish_time("scheduledFor", at, now));
        }
        (PublishMode::Draft, Some(at)) => {
            // A draft's planned time may lie in the past; only the far-future check applies.
            errors.collect(check_publish_time("scheduledFor", at.max(now), now));
        }
        (PublishMode::Now | PublishMode::Draft, None) => {}
        (PublishMode::Now, Some(_)) => {
            errors.push("scheduledFor", "must be empty when publishing now (status NOW)");
        }
    }
}

fn report_target(draft: &PostDraft, target: &TargetDraft) -> TargetReport {
    let field = format!("platforms.{}", target.integration_id);
    let text = target.content_override.as_deref().unwrap_or(&draft.content);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let Some(rules) = platform::rules_for(&target.platform) else {
        errors.push(ValidationError::new(&field, format!("platform `{}` is not supported", target.platform)));
        return TargetReport {
            integration_id: target.integration_id,
            platform: target.platform.clone(),
            length: text.chars().count(),
            max_length: MAX_STORED_CONTENT_CHARS,
            thread_lengths: Vec::new(),
            errors,
            warnings,
        };
    };
    if !target.active {
        errors.push(ValidationError::new(
            &field,
            format!("the {} integration is not active; reconnect or enable it first", rules.name),
        ));
    }
    let field = match &target.content_override {
        Some(_) => format!("overrides.{}.content", target.integration_id),
        None => "content".to_string(),
    };
    let limit = target.max_length.unwrap_or(rules.max_length);
    let measure = Measure { rules, settings: &target.settings, limit };
    let length = measure.check(&mut errors, &field, text);
    let thread_lengths = draft
        .thread
        .iter()
        .enumerate()
        .map(|(i, item)| measure.check(&mut errors, &format!("thread[{i}].content"), &item.content))
        .collect();
    if !draft.thread.is_empty() && !rules.supports_threads {
        warnings.push(format!("{} has no threads: only the first item is published", rules.name));
    }
    if draft.media_count > rules.max_media {
        errors.push(ValidationError::new(
            "media",
            format!(
                "{} accepts at most {} media items; this post has {}",
                rules.name, rules.max_media, draft.media_count
            ),
        ));
    }
    if rules.requires_media && draft.media_count == 0 {
        errors.push(ValidationError::new("media", format!("{} needs at least one media item", rules.name)));
    }
    // Replies carry their own media; without threads they are not published at all.
    if rules.supports_threads {
        for (i, item) in draft.thread.iter().enumerate().filter(|(_, item)| item.media_count > rules.max_media) {
            errors.push(ValidationError::new(
                format!("thread[{i}].mediaIds"),
                format!(
                    "{} accepts at most {} media items; this reply has {}",
                    rules.name, rules.max_media, item.media_count
                ),
            ));
        }
    }
    TargetReport {
        integration_id: target.integration_id,
        platform: target.platform.clone(),
        length,
        max_length: limit,
        thread_lengths,
        errors,
        warnings,
    }
}

/// How one target measures its items: the platform's count, the target's
/// settings that count along, and the account's limit.
struct Measure<'a> {
    rules: &'a PlatformRules,
    settings: &'a serde_json::Value,
    limit: usize,
}

impl Measure<'_> {
    /// The item's length; an error when it is over the limit.
    fn check(&self, errors: &mut Vec<ValidationError>, field: &str, text: &str) -> usize {
        let length = self.rules.item_length(text, self.settings);
        if length > self.limit {
            let with = self
                .rules
                .counted_setting
                .filter(|name| self.settings.get(name).and_then(|v| v.as_str()).is_some_and(|v| !v.trim().is_empty()))
                .map(|name| format!(" (with its `{name}`)"))
                .unwrap_or_default();
            errors.push(ValidationError::new(
                field,
                format!("is {length} characters{with} as {} counts them; the limit is {}", self.rules.name, self.limit),
            ));
        }
        if let Some(max) = self.rules.max_text_bytes.filter(|max| text.len() > *max) {
            errors.push(ValidationError::new(
                field,
                format!("is {} bytes in UTF-8; {} takes at most {max}", text.len(), self.rules.name),
            ));
        }
        length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_ignore_case_spacing_and_end_punctuation() {
        assert_eq!(normalise_for_duplicates("  Big  News!\n"), normalise_for_duplicates("big news"));
        assert_ne!(normalise_for_duplicates("big news"), normalise_for_duplicates("big new"));
        assert_eq!(normalise_for_duplicates(" \n "), "");
    }

    #[test]
    fn duplicate_keys_follow_the_normalised_text() {
        assert_eq!(duplicate_key("  Big  News!\n"), duplicate_key("big news"));
        assert_ne!(duplicate_key("big news"), duplicate_key("big new"));
        assert_eq!(duplicate_key("big news").map(|k| k.len()), Some(32));
        assert_eq!(duplicate_key(" ... "), None);
    }
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        crate::schedule::parse_timestamp("t", "2026-06-01T12:00:00Z").unwrap()
    }

    fn target(platform: &str) -> TargetDraft {
        TargetDraft {
            integration_id: Uuid::nil(),
            platform: platform.into(),
            active: true,
            content_override: None,
            settings: serde_json::Value::Null,
            max_length: None,
        }
    }

    fn draft(mode: PublishMode, content: &str, targets: Vec<TargetDraft>) -> PostDraft {
        PostDraft {
            content: content.into(),
            mode,
            scheduled_for: (mode == PublishMode::Scheduled).then(|| now() + Duration::hours(1)),
            media_urls: vec![],
            media_count: 0,
            thread: vec![],
            tags: vec![],
            targets,
        }
    }

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_draft_needs_nothing_but_a_scheduled_post_needs_targets() {
        assert!(validate_post(&draft(PublishMode::Draft, "", vec![]), now()).1.is_empty());
        let (_, errors) = validate_post(&draft(PublishMode::Scheduled, "hi", vec![]), now());
        assert_eq!(fields(&errors), vec!["platforms"]);
        let (_, errors) = validate_post(&draft(PublishMode::Now, "", vec![target("webhook")]), now());
        assert_eq!(fields(&errors), vec!["content"]);
    }

    #[test]
    fn length_is_checked_per_platform_with_its_own_count() {
        let text = "é".repeat(301);
        let (reports, errors) =
            validate_post(&draft(PublishMode::Now, &text, vec![target("bluesky"), target("webhook")]), now());
        assert_eq!(reports[0].length, 301);
        assert_eq!(reports[0].max_length, 300);
        assert_eq!(reports[0].errors.len(), 1);
        assert!(reports[1].errors.is_empty());
        assert_eq!(fields(&errors), vec!["content"]);
        assert!(errors.0[0].message.contains("Bluesky"));
        // The same post as a draft is accepted, with the report still showing the problem.
        let (reports, errors) = validate_post(&draft(PublishMode::Draft, &text, vec![target("bluesky")]), now());
        assert!(errors.is_empty());
        assert_eq!(reports[0].errors.len(), 1);
    }

    #[test]
    fn overrides_are_measured_instead_of_the_main_text() {
        let mut t = target("bluesky");
        t.content_override = Some("short".into());
        let (reports, errors) = validate_post(&draft(PublishMode::Now, &"x".repeat(400), vec![t]), now());
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(reports[0].length, 5);
    }

    #[test]
    fn a_mastodon_content_warning_counts_toward_every_item() {
        let mut t = target("mastodon");
        t.settings = serde_json::json!({"spoilerText": "w".repeat(100)});
        let mut post = draft(PublishMode::Now, &"x".repeat(401), vec![t]);
        post.thread = vec![ThreadItemDraft { content: "y".repeat(400), media_count: 0 }];
        let (reports, errors) = validate_post(&post, now());
        assert_eq!(fields(&errors), vec!["content"]);
        assert!(errors.0[0].message.contains("501 characters (with its `spoilerText`)"), "{errors}");
        assert_eq!((reports[0].length, reports[0].thread_lengths.clone()), (501, vec![500]));
        // Without the warning the same text fits.
        post.targets[0].settings = serde_json::json!({});
        assert!(validate_post(&post, now()).1.is_empty());
    }

    #[test]
    fn an_account_with_its_own_limit_is_held_to_it() {
        let mut t = target("mastodon");
        t.max_length = Some(1000);
        let (reports, errors) = validate_post(&draft(PublishMode::Now, &"x".repeat(800), vec![t.clone()]), now());
        assert!(errors.is_empty(), "{errors}");
        assert_eq!((reports[0].length, reports[0].max_length), (800, 1000));
        let (_, errors) = validate_post(&draft(PublishMode::Now, &"x".repeat(1001), vec![t]), now());
        assert!(errors.0[0].message.ends_with("the limit is 1000"), "{errors}");
    }

    #[test]
    fn bluesky_also_limits_the_bytes_of_each_item() {
        // 200 graphemes fit in 300, but 200 ZWJ families are 3,600 bytes.
        let mut post = draft(PublishMode::Now, &"👨‍👩‍👧".repeat(200), vec![target("bluesky")]);
        post.thread = vec![ThreadItemDraft { content: "é".repeat(299), media_count: 0 }];
        let (reports, errors) = validate_post(&post, now());
        assert_eq!(fields(&errors), vec!["content"]);
        assert_eq!(errors.0[0].message, "is 3600 bytes in UTF-8; Bluesky takes at most 3000");
        assert_eq!(reports[0].length, 200);
        post.targets = vec![target("mastodon")];
        assert!(validate_post(&post, now()).1.is_empty(), "Mastodon has no byte limit");
    }

    #[test]
    fn schedule_rules() {
        let mut post = draft(PublishMode::Scheduled, "hi", vec![target("webhook")]);
        post.scheduled_for = Some(now() - Duration::minutes(5));
        assert_eq!(fields(&validate_post(&post, now()).1), vec!["scheduledFor"]);
        post.scheduled_for = None;
        assert_eq!(fields(&validate_post(&post, now()).1), vec!["scheduledFor"]);
        post.mode = PublishMode::Now;
        post.scheduled_for = Some(now());
        assert_eq!(fields(&validate_post(&post, now()).1), vec!["scheduledFor"]);
    }

    #[test]
    fn thread_tags_media_and_inactive_integrations() {
        let mut post = draft(PublishMode::Now, "hi", vec![TargetDraft { active: false, ..target("mastodon") }]);
        post.thread = vec![ThreadItemDraft { content: " ".into(), media_count: 0 }];
        post.tags = vec!["".into()];
        post.media_urls = vec!["ftp://example.com/a.png".into()];
        post.media_count = 5;
        let errors = validate_post(&post, now()).1;
        let got = fields(&errors);
        for expected in
            ["thread[0].content", "tags[0]", "mediaUrls[0]", "platforms.00000000-0000-0000-0000-000000000000", "media"]
        {
            assert!(got.contains(&expected), "{expected} missing in {got:?}");
        }
    }

    #[test]
    fn each_reply_is_held_to_the_media_limit_of_threaded_platforms() {
        let mut post = draft(PublishMode::Now, "hi", vec![target("mastodon")]);
        post.thread = vec![
            ThreadItemDraft { content: "ok".into(), media_count: 4 },
            ThreadItemDraft { content: "".into(), media_count: 5 },
        ];
        let (reports, errors) = validate_post(&post, now());
        assert_eq!(fields(&errors), vec!["thread[1].mediaIds"]);
        assert!(reports[0].errors[0].message.contains("this reply has 5"));
        // A platform without threads publishes no reply, so their media do not count.
        post.targets = vec![target("devto")];
        assert!(!fields(&validate_post(&post, now()).1).iter().any(|f| f.ends_with("mediaIds")));
    }

    #[test]
    fn unknown_platforms_and_huge_texts_are_refused() {
        let (_, errors) = validate_post(&draft(PublishMode::Now, "hi", vec![target("myspace")]), now());
        assert!(errors.0[0].message.contains("myspace"));
        let (_, errors) = validate_post(&draft(PublishMode::Draft, &"x".repeat(100_001), vec![]), now());
        assert_eq!(fields(&errors), vec!["content"]);
    }
}
