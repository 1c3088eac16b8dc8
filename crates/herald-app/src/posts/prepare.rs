//! Resolves a post body against the workspace (integrations, media) and
//! runs the core validation on it.

use herald_core::integration::IntegrationStatus;
use herald_core::post::TargetStatus;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::ValidationErrors;
use herald_core::compose::{
    PostDraft, TargetDraft, TargetReport, ThreadItemDraft, duplicate_key, normalise_for_duplicates, validate_post,
};
use herald_core::platform::PlatformRules;
use herald_core::post::PublishMode;
use herald_core::recurrence::{Evergreen, RuleSeries, Series};
use herald_core::schedule::parse_timestamp;
use herald_store::repo::{Integrations, Media, Posts, Users};
use herald_store::{IntegrationRow, MediaRow, TargetRow};
use uuid::Uuid;

use super::input::CreatePostInput;
use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

/// How far apart two identical posts to one account are still duplicates.
const DUPLICATE_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// A warning about a post that does not stop it: `DUPLICATE_CONTENT`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostWarning {
    /// `DUPLICATE_CONTENT`.
    pub code: &'static str,
    pub message: String,
    pub integration_id: Uuid,
    /// The earlier post with the same text.
    pub post_id: Uuid,
}

impl App {
    /// Warns when the same normalised text went, or is due to go, to the
    /// same account within 30 days of this one's time.
    async fn duplicates(
        &self,
        input: &CreatePostInput,
        post_id: Option<Uuid>,
        at: DateTime<Utc>,
        reports: &mut [TargetReport],
    ) -> AppResult<Vec<PostWarning>> {
        let texts: Vec<(Uuid, String)> = reports
            .iter()
            .map(|report| {
                let text = input
                    .overrides
                    .get(&report.integration_id.to_string())
                    .and_then(|o| o.content.clone())
                    .unwrap_or_else(|| input.content.clone());
                (report.integration_id, normalise_for_duplicates(&text))
            })
            .collect();
        // One pair per account: `reports` holds each account once.
        let wanted: Vec<(Uuid, String)> =
            texts.iter().filter_map(|(id, text)| Some((*id, duplicate_key(text)?))).collect();
        let sent =
            Posts(self.store.conn()).same_texts(&wanted, at - DUPLICATE_WINDOW, at + DUPLICATE_WINDOW, post_id).await?;
        let mut warnings = Vec::new();
        for (report, (_, normalised)) in reports.iter_mut().zip(&texts) {
            if normalised.is_empty() {
                continue;
            }
            // Equal keys, confirmed on the texts themselves.
            let earlier = sent
                .iter()
                .filter(|s| s.integration_id == report.integration_id)
                .find(|s| normalise_for_duplicates(&s.text) == *normalised);
            if let Some(earlier) = earlier {
                let verb = if earlier.published { "went" } else { "is scheduled to go" };
                let message = format!(
                    "DUPLICATE_CONTENT: the same text {verb} to this account on {} (post {}); platforms often refuse or hide repeats",
                    earlier.at.format("%Y-%m-%d %H:%M UTC"),
                    earlier.post_id
                );
                report.warnings.push(message.clone());
                warnings.push(PostWarning {
                    code: "DUPLICATE_CONTENT",
                    message,
                    integration_id: report.integration_id,
                    post_id: earlier.post_id,
                });
            }
        }
        Ok(warnings)
    }
}

/// Largest accepted per-integration settings object, serialized.
const MAX_SETTINGS_BYTES: usize = 16 * 1024;

pub(super) struct Prepared {
    pub mode: Option<PublishMode>,
    /// Texts that already went, or are due to go, to the same account.
    pub duplicates: Vec<PostWarning>,
    /// When the post goes out (`NOW` → now); a draft's planned time.
    pub publish_at: Option<DateTime<Utc>>,
    pub errors: ValidationErrors,
    pub reports: Vec<TargetReport>,
    /// The series the post starts, if it repeats.
    pub series: Option<Series>,
    targets: Vec<ResolvedTarget>,
}

pub(super) struct Valid {
    pub mode: PublishMode,
    pub duplicates: Vec<PostWarning>,
    pub publish_at: Option<DateTime<Utc>>,
    pub series: Option<Series>,
    targets: Vec<ResolvedTarget>,
}

struct ResolvedTarget {
    integration_id: Uuid,
    content_override: Option<String>,
    /// `duplicate_key` of the text this target publishes.
    content_key: Option<String>,
    settings: serde_json::Value,
}

impl Prepared {
    pub fn into_valid(self) -> AppResult<Valid> {
        self.errors.into_result()?;
        let mode = self.mode.ok_or_else(|| AppError::Internal("valid post without a mode".into()))?;
        Ok(Valid {
            mode,
            duplicates: self.duplicates,
            publish_at: self.publish_at,
            series: self.series,
            targets: self.targets,
        })
    }
}

impl Valid {
    /// When the series' second occurrence is due, for a post that is
    /// scheduled (a draft's series does not run yet).
    pub fn next_occurrence(&self) -> Option<DateTime<Utc>> {
        let start = self.publish_at?;
        if self.mode == PublishMode::Draft {
            return None;
        }
        self.series.as_ref()?.next_after(start, start)
    }

    /// Fresh target rows: queued, due at the publish time (drafts are not due).
    pub fn target_rows(&self, post_id: Uuid, now: DateTime<Utc>) -> Vec<TargetRow> {
        let due = if self.mode == PublishMode::Draft { None } else { self.publish_at };
        self.targets
            .iter()
            .map(|t| TargetRow {
                id: Uuid::now_v7(),
                post_id,
                integration_id: t.integration_id,
                content_override: t.content_override.clone(),
                content_key: t.content_key.clone(),
                settings: t.settings.clone(),
                status: TargetStatus::Queued,
                attempts: 0,
                next_attempt_at: due,
                lease_owner: None,
                lease_expires_at: None,
                platform_post_ids: serde_json::json!([]),
                url: None,
                last_error_class: None,
                last_error_message: None,
                published_at: None,
                pending: None,
                created_at: now,
                updated_at: now,
            })
            .collect()
    }
}

impl App {
    /// Outside media URLs are fetched at publishing time, through the SSRF
    /// guard; an internal address is refused already now, with its field.
    fn check_media_urls(&self, input: &CreatePostInput, errors: &mut ValidationErrors) {
        let guard = herald_providers::TargetGuard::new(self.settings.allow_private_targets);
        let items = std::iter::once(("mediaUrls".to_string(), &input.media_urls)).chain(
            input.thread.iter().enumerate().map(|(i, item)| (format!("thread[{i}].mediaUrls"), &item.media_urls)),
        );
        for (field, urls) in items {
            for (j, raw) in urls.iter().enumerate() {
                // Syntax is core's to report; only the address is checked here.
                if let Ok(url) = url::Url::parse(raw)
                    && let Err(reason) = guard.check_host(&url)
                {
                    errors.push(format!("{field}[{j}]"), reason);
                }
            }
        }
    }

    /// A platform that downloads media from Herald (Instagram, Threads,
    /// Google Business, TikTok pulling by URL) can reach only a public https address: with `MAIN_URL` on this
    /// machine or the LAN, the post is refused now rather than failing at
    /// its time.
    fn check_media_reachable(
        &self,
        input: &CreatePostInput,
        integrations: &[IntegrationRow],
        errors: &mut ValidationErrors,
    ) {
        let has_library_media =
            !input.media_ids.is_empty() || input.thread.iter().any(|item| !item.media_ids.is_empty());
        if !has_library_media
            || self.settings.allow_private_targets
            || herald_providers::is_public_https(&self.settings.main_url)
        {
            return;
        }
        for (i, id) in input.platforms.iter().enumerate() {
            let Some(integration) = integrations.iter().find(|integration| integration.id == *id) else { continue };
            let Some(provider) = self.providers.get(&integration.platform) else { continue };
            let rules = provider.rules();
            let settings = input.overrides.get(&id.to_string()).and_then(|o| o.settings.clone()).unwrap_or_default();
            if provider.fetches_media(&settings) {
                errors.push(
                    format!("platforms[{i}]"),
                    format!(
                        "{} downloads media from Herald's address, and MAIN_URL ({}) is not a public https address it can reach; set MAIN_URL to one",
                        rules.name, self.settings.main_url
                    ),
                );
            }
        }
    }

    /// `post_id`: the post being edited, which does not duplicate itself.
    pub(super) async fn prepare(
        &self,
        caller: &Caller,
        input: &CreatePostInput,
        post_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> AppResult<Prepared> {
        let mut errors = ValidationErrors::default();

        let scheduled_for =
            input.scheduled_for.as_deref().and_then(|raw| errors.collect(parse_timestamp("scheduledFor", raw)));
        let mode = match input.status.as_deref() {
            Some(raw) => {
                let mode = PublishMode::parse(&raw.to_uppercase());
                if mode.is_none() {
                    errors.push("status", format!("`{raw}` is not one of DRAFT, SCHEDULED, NOW, QUEUE"));
                }
                mode
            }
            None if input.scheduled_for.is_some() => Some(PublishMode::Scheduled),
            None => Some(PublishMode::Now),
        };
        let publish_at = if mode == Some(PublishMode::Now) { Some(now) } else { scheduled_for };

        // Integrations: each id must exist in the caller's workspace. Another
        // workspace's id is reported exactly like an id that does not exist.
        let mut ids: Vec<Uuid> = Vec::new();
        for id in &input.platforms {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        let integrations = Integrations(self.store.conn()).find_many(caller.workspace_id, &ids).await?;
        let by_id: BTreeMap<Uuid, _> = integrations.iter().map(|i| (i.id, i)).collect();
        for (i, id) in input.platforms.iter().enumerate() {
            if !by_id.contains_key(id) {
                errors.push(format!("platforms[{i}]"), format!("no integration with id {id} in this workspace"));
            }
        }

        let mut overrides = BTreeMap::new();
        for (key, value) in &input.overrides {
            let field = format!("overrides.{key}");
            match Uuid::parse_str(key) {
                Ok(id) if ids.contains(&id) => {
                    if let Some(settings) = &value.settings {
                        if !settings.is_object() {
                            errors.push(format!("{field}.settings"), "must be a JSON object");
                        } else if settings.to_string().len() > MAX_SETTINGS_BYTES {
                            errors.push(format!("{field}.settings"), "must be at most 16 KiB");
                        }
                    }
                    overrides.insert(id, value);
                }
                Ok(_) => errors.push(field, "overrides an integration that is not in `platforms`"),
                Err(_) => errors.push(field, "keys of `overrides` must be integration ids (UUIDs)"),
            }
        }

        let media = self.check_media_ids(caller, input, &mut errors).await?;
        self.check_media_urls(input, &mut errors);
        self.check_media_reachable(input, &integrations, &mut errors);

        let draft = PostDraft {
            content: input.content.clone(),
            mode: mode.unwrap_or(PublishMode::Draft),
            // `NOW` with a time is contradictory: core reports it.
            scheduled_for,
            media_urls: input.media_urls.clone(),
            media_count: input.media_urls.len() + input.media_ids.len(),
            thread: input
                .thread
                .iter()
                .map(|item| ThreadItemDraft {
                    content: item.content.clone(),
                    media_count: item.media_ids.len() + item.media_urls.len(),
                })
                .collect(),
            tags: input.tags.clone(),
            targets: ids
                .iter()
                .filter_map(|id| by_id.get(id))
                .map(|integration| TargetDraft {
                    integration_id: integration.id,
                    platform: integration.platform.clone(),
                    active: integration.status == IntegrationStatus::Active,
                    content_override: overrides.get(&integration.id).and_then(|o| o.content.clone()),
                    settings: overrides
                        .get(&integration.id)
                        .and_then(|o| o.settings.clone())
                        .unwrap_or(serde_json::Value::Null),
                    max_length: herald_core::platform::account_max_length(&integration.settings),
                })
                .collect(),
        };
        let (mut reports, core_errors) = validate_post(&draft, now);
        // An account that cannot be renewed and ends before the post goes out.
        for report in &mut reports {
            let ends = by_id.get(&report.integration_id).and_then(|i| i.access_ends_at);
            if let (Some(ends), Some(at)) = (ends, publish_at)
                && ends <= at
            {
                report.warnings.push(format!(
                    "this account's access ends on {} and cannot be renewed: reconnect it before the post goes out, or it will fail",
                    ends.format("%Y-%m-%d %H:%M UTC")
                ));
            }
        }
        let duplicates = self.duplicates(input, post_id, publish_at.unwrap_or(now), &mut reports).await?;
        errors.0.extend(core_errors.0);
        for integration in ids.iter().filter_map(|id| by_id.get(id)) {
            let Some(provider) = self.providers.get(&integration.platform) else { continue };
            let rules = provider.rules();
            let field = format!("overrides.{}.settings", integration.id);
            if let Some(settings) = overrides.get(&integration.id).and_then(|o| o.settings.as_ref()) {
                for (key, message) in provider.settings().problems(settings) {
                    errors.push(if key.is_empty() { field.clone() } else { format!("{field}.{key}") }, message);
                }
            }
            check_media_rules(&mut errors, rules, "media", &media.main);
            if rules.supports_threads {
                for (i, rows) in media.replies.iter().enumerate() {
                    check_media_rules(&mut errors, rules, &format!("thread[{i}].mediaIds"), rows);
                }
            }
        }

        let targets = ids
            .iter()
            .filter(|id| by_id.contains_key(id))
            .map(|id| {
                let over = overrides.get(id);
                let content_override = over.and_then(|o| o.content.clone());
                ResolvedTarget {
                    integration_id: *id,
                    content_key: duplicate_key(content_override.as_deref().unwrap_or(&input.content)),
                    content_override,
                    settings: over.and_then(|o| o.settings.clone()).unwrap_or_else(|| serde_json::json!({})),
                }
            })
            .collect();
        let series = self.check_series(caller, input, publish_at.unwrap_or(now), &mut errors).await?;
        Ok(Prepared { mode, duplicates, publish_at, errors, reports, series, targets })
    }

    /// `recurrence` or `evergreen`, read in the author's time zone unless
    /// the rule names one.
    async fn check_series(
        &self,
        caller: &Caller,
        input: &CreatePostInput,
        start: DateTime<Utc>,
        errors: &mut ValidationErrors,
    ) -> AppResult<Option<Series>> {
        match (&input.recurrence, &input.evergreen) {
            (Some(_), Some(_)) => {
                errors.push("evergreen", "a post repeats by `recurrence` or `evergreen`, not both");
                Ok(None)
            }
            (Some(recurrence), None) => {
                let zone = match Users(self.store.conn()).by_id(caller.user_id).await? {
                    Some(user) => user.timezone,
                    None => "UTC".to_string(),
                };
                match RuleSeries::parse(recurrence, &zone, start) {
                    Ok(series) => Ok(Some(Series::Rule(series))),
                    Err(problems) => {
                        errors.0.extend(problems.0);
                        Ok(None)
                    }
                }
            }
            (None, Some(evergreen)) => match Evergreen::parse(evergreen) {
                Ok(series) => Ok(Some(Series::Evergreen(series))),
                Err(problems) => {
                    errors.0.extend(problems.0);
                    Ok(None)
                }
            },
            (None, None) => Ok(None),
        }
    }

    /// Resolves `mediaIds` and each reply's `mediaIds` in the workspace;
    /// unknown ids (or another workspace's) are reported by their path.
    async fn check_media_ids(
        &self,
        caller: &Caller,
        input: &CreatePostInput,
        errors: &mut ValidationErrors,
    ) -> AppResult<AttachedMedia> {
        let mut wanted: Vec<(String, Uuid)> =
            input.media_ids.iter().enumerate().map(|(i, id)| (format!("mediaIds[{i}]"), *id)).collect();
        for (t, item) in input.thread.iter().enumerate() {
            wanted.extend(item.media_ids.iter().enumerate().map(|(i, id)| (format!("thread[{t}].mediaIds[{i}]"), *id)));
        }
        if wanted.is_empty() {
            return Ok(AttachedMedia::default());
        }
        let ids: Vec<Uuid> = wanted.iter().map(|(_, id)| *id).collect();
        let found = Media(self.store.conn()).find_many(caller.workspace_id, &ids).await?;
        for (field, id) in wanted {
            if !found.iter().any(|m| m.id == id) {
                errors.push(field, format!("no uploaded media with id {id} in this workspace"));
            }
        }
        let rows_of = |ids: &[Uuid]| -> Vec<MediaRow> {
            ids.iter().filter_map(|id| found.iter().find(|m| m.id == *id)).cloned().collect()
        };
        Ok(AttachedMedia {
            main: rows_of(&input.media_ids),
            replies: input.thread.iter().map(|item| rows_of(&item.media_ids)).collect(),
        })
    }
}

/// The uploaded media a post uses: the first item's and each reply's.
#[derive(Default)]
struct AttachedMedia {
    main: Vec<MediaRow>,
    replies: Vec<Vec<MediaRow>>,
}

/// Type and size of one item's media against a platform's rules.
fn check_media_rules(errors: &mut ValidationErrors, rules: &PlatformRules, field: &str, rows: &[MediaRow]) {
    for row in rows {
        if !rules.accepts_media_type(&row.mime) {
            errors.push(field, format!("{} does not accept {} files", rules.name, row.mime));
        } else if u64::try_from(row.size).unwrap_or(u64::MAX) > rules.max_bytes_for(&row.mime) {
            errors.push(
                field,
                format!(
                    "{} accepts {} files up to {:.1} MB; this one is {:.1} MB",
                    rules.name,
                    row.mime,
                    rules.max_bytes_for(&row.mime) as f64 / 1_048_576.0,
                    row.size as f64 / 1_048_576.0
                ),
            );
        }
    }
}
