//! Import and export of posts as CSV or YAML ("content as code"). A row is
//! matched to a post by `externalId`, so importing the same folder again
//! changes nothing; every row is validated exactly like `POST /posts`; a
//! dry run (the default) saves nothing, and a real run saves all rows in
//! one transaction or none. Accounts are named by id, or by platform and
//! name (`mastodon:Ada's account`) so a file moves between instances.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use herald_core::api_key::Scope;
use herald_core::event::EventKind;
use herald_core::post::{PostStatus, PublishMode};
use herald_core::recurrence::{EvergreenInput, RecurrenceInput, Series};
use herald_core::schedule::parse_timestamp;
use herald_core::{ValidationError, ValidationErrors};
use herald_store::content::StoredMedia;
use herald_store::repo::{Integrations, Posts};
use herald_store::{IntegrationRow, PostRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::input::{CreatePostInput, ListPostsQuery, OverrideInput, ThreadItemInput};
use super::prepare::Valid;
use super::{fresh_status, in_flight, merge_update, stored_thread};
use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferFormat {
    Csv,
    Yaml,
}

impl TransferFormat {
    pub fn parse(raw: Option<&str>) -> Result<Self, ValidationError> {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            None | Some("yaml" | "yml") => Ok(Self::Yaml),
            Some("csv") => Ok(Self::Csv),
            Some(other) => Err(ValidationError::new("format", format!("`{other}` is not csv or yaml"))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Yaml => "application/yaml; charset=utf-8",
        }
    }

    /// `Content-Disposition` of an exported file.
    pub fn attachment(self) -> String {
        let extension = match self {
            Self::Csv => "csv",
            Self::Yaml => "yaml",
        };
        format!("attachment; filename=\"herald-posts.{extension}\"")
    }
}

/// An account as a file names it: an id, `platform:name`, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AccountRef {
    Text(String),
    Named {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

/// A reply: its text, or its text and media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThreadRecord {
    Text(String),
    Item {
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        media_urls: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        media_ids: Vec<Uuid>,
    },
}

/// Text or settings for one account (keyed like `platforms` entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
}

/// One post in a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostRecord {
    /// Your id for the post; importing it again updates that post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `DRAFT` or `SCHEDULED` (default: `SCHEDULED` with a time, else
    /// `DRAFT`); exported published posts say `PUBLISHED` and are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub platforms: Vec<AccountRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<ThreadRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_ids: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, OverrideRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<RecurrenceInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evergreen: Option<EvergreenInput>,
}

/// The YAML file: a list of posts, or `posts:` holding one.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum YamlFile {
    Wrapped { posts: Vec<PostRecord> },
    List(Vec<PostRecord>),
}

/// A CSV line: lists in one cell (accounts `; `-separated, replies
/// separated by a `---` line, tags by commas, media by spaces), overrides
/// and repetition as JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CsvLine {
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    scheduled_for: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    platforms: String,
    #[serde(default)]
    thread: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    media_urls: String,
    #[serde(default)]
    media_ids: String,
    #[serde(default)]
    overrides: String,
    #[serde(default)]
    recurrence: String,
    #[serde(default)]
    evergreen: String,
}

const THREAD_SEPARATOR: &str = "\n---\n";

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl CsvLine {
    fn into_record(self) -> Result<PostRecord, String> {
        let json = |name: &str, text: &str| -> Result<Option<serde_json::Value>, String> {
            match some(text) {
                None => Ok(None),
                Some(raw) => serde_json::from_str(&raw).map(Some).map_err(|e| format!("{name}: not JSON ({e})")),
            }
        };
        let overrides = match json("overrides", &self.overrides)? {
            None => BTreeMap::new(),
            Some(value) => serde_json::from_value(value).map_err(|e| format!("overrides: {e}"))?,
        };
        let recurrence = json("recurrence", &self.recurrence)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| format!("recurrence: {e}"))?;
        let evergreen = json("evergreen", &self.evergreen)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| format!("evergreen: {e}"))?;
        let media_ids = self
            .media_ids
            .split_whitespace()
            .map(|id| Uuid::parse_str(id).map_err(|_| format!("mediaIds: `{id}` is not an id")))
            .collect::<Result<_, _>>()?;
        Ok(PostRecord {
            external_id: some(&self.external_id),
            status: some(&self.status),
            scheduled_for: some(&self.scheduled_for),
            content: self.content,
            platforms: self.platforms.split(';').filter_map(some).map(AccountRef::Text).collect(),
            thread: if self.thread.trim().is_empty() {
                Vec::new()
            } else {
                self.thread
                    .replace("\r\n", "\n")
                    .split(THREAD_SEPARATOR)
                    .map(|t| ThreadRecord::Text(t.to_string()))
                    .collect()
            },
            tags: self.tags.split(',').filter_map(some).collect(),
            media_urls: self.media_urls.split_whitespace().map(str::to_string).collect(),
            media_ids,
            overrides,
            recurrence,
            evergreen,
        })
    }

    fn from_record(record: &PostRecord) -> Self {
        let text_of = |r: &AccountRef| match r {
            AccountRef::Text(text) => text.clone(),
            AccountRef::Named { id, platform, name } => match (platform, name) {
                (Some(p), Some(n)) => format!("{p}:{n}"),
                _ => id.map(|id| id.to_string()).unwrap_or_default(),
            },
        };
        let json = |value: Option<serde_json::Value>| value.map(|v| v.to_string()).unwrap_or_default();
        Self {
            external_id: record.external_id.clone().unwrap_or_default(),
            status: record.status.clone().unwrap_or_default(),
            scheduled_for: record.scheduled_for.clone().unwrap_or_default(),
            content: record.content.clone(),
            platforms: record.platforms.iter().map(text_of).collect::<Vec<_>>().join("; "),
            thread: record
                .thread
                .iter()
                .map(|t| match t {
                    ThreadRecord::Text(text) | ThreadRecord::Item { content: text, .. } => text.clone(),
                })
                .collect::<Vec<_>>()
                .join(THREAD_SEPARATOR),
            tags: record.tags.join(", "),
            media_urls: record.media_urls.join(" "),
            media_ids: record.media_ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(" "),
            overrides: if record.overrides.is_empty() {
                String::new()
            } else {
                json(serde_json::to_value(&record.overrides).ok())
            },
            recurrence: json(record.recurrence.as_ref().and_then(|r| serde_json::to_value(r).ok())),
            evergreen: json(record.evergreen.as_ref().and_then(|e| serde_json::to_value(e).ok())),
        }
    }
}

/// Reads a file into its rows; a row that cannot be read is an error of
/// that row, a file that cannot be read at all an error of `body`.
pub fn parse_file(format: TransferFormat, body: &str) -> Result<Vec<Result<PostRecord, String>>, ValidationError> {
    match format {
        TransferFormat::Yaml => {
            if body.trim().is_empty() {
                return Ok(Vec::new());
            }
            let file: YamlFile = serde_norway::from_str(body)
                .map_err(|e| ValidationError::new("body", format!("not a YAML list of posts: {e}")))?;
            let records = match file {
                YamlFile::Wrapped { posts } | YamlFile::List(posts) => posts,
            };
            Ok(records.into_iter().map(Ok).collect())
        }
        TransferFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body.as_bytes());
            let headers = reader.headers().map_err(|e| ValidationError::new("body", format!("not CSV: {e}")))?.clone();
            if !headers.iter().any(|h| h == "content") {
                return Err(ValidationError::new(
                    "body",
                    "the CSV needs a header line with at least a `content` column",
                ));
            }
            Ok(reader
                .deserialize::<CsvLine>()
                .map(|line| line.map_err(|e| format!("not a readable CSV line: {e}")).and_then(CsvLine::into_record))
                .collect())
        }
    }
}

/// Writes rows as a file.
pub fn write_file(format: TransferFormat, records: &[PostRecord]) -> AppResult<String> {
    match format {
        TransferFormat::Yaml => {
            serde_norway::to_string(&YamlFile::Wrapped { posts: records.to_vec() }).map_err(AppError::internal)
        }
        TransferFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            for record in records {
                writer.serialize(CsvLine::from_record(record)).map_err(AppError::internal)?;
            }
            if records.is_empty() {
                writer.serialize(CsvLine::default()).map_err(AppError::internal)?;
                // Only the header: drop the empty line written to get it.
                let bytes = writer.into_inner().map_err(AppError::internal)?;
                let text = String::from_utf8(bytes).map_err(AppError::internal)?;
                return Ok(text.lines().next().map(|h| format!("{h}\n")).unwrap_or_default());
            }
            let bytes = writer.into_inner().map_err(AppError::internal)?;
            String::from_utf8(bytes).map_err(AppError::internal)
        }
    }
}

/// Query of `POST /posts/import`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `csv` or `yaml` (default `yaml`, or `csv` for a `text/csv` body).
    #[param(pattern = "^(csv|yaml|yml)$")]
    pub format: Option<String>,
    /// `true` (the default) only checks; `false` saves, all rows or none.
    pub dry_run: Option<bool>,
}

/// Query of `GET /posts/export`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` or `yaml` (default `yaml`).
    #[param(pattern = "^(csv|yaml|yml)$")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub dry_run: bool,
    /// Every row can be imported (with `dryRun=false` they were).
    pub valid: bool,
    pub created: usize,
    pub updated: usize,
    pub skipped: usize,
    pub errors: usize,
    pub rows: Vec<ImportRow>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportRow {
    /// 1-based: the n-th post of the file (CSV: the n-th line after the header).
    pub row: usize,
    pub external_id: Option<String>,
    /// `created`, `updated`, `skipped` (unchanged, or already published) or `error`.
    pub status: &'static str,
    pub post_id: Option<Uuid>,
    pub errors: Vec<ValidationError>,
    /// Why a row was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a valid row will do.
enum Plan {
    Create { input: CreatePostInput, valid: Valid, external_id: Option<String> },
    Update { existing: Box<PostRow>, input: CreatePostInput, valid: Valid },
}

impl App {
    /// Every post of the workspace as a file, oldest first.
    pub async fn export_posts(&self, caller: &Caller, format: TransferFormat) -> AppResult<String> {
        caller.require(Scope::PostsRead)?;
        let integrations = Integrations(self.store.conn()).list(caller.workspace_id).await?;
        let mut posts = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .list_posts(caller, ListPostsQuery { limit: Some(100), cursor: cursor.clone(), ..Default::default() })
                .await?;
            posts.extend(page.posts);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        posts.reverse();
        let name_ref = |id: Uuid| -> AccountRef {
            match integrations.iter().find(|i| i.id == id) {
                Some(row) => AccountRef::Named {
                    id: Some(id),
                    platform: Some(row.platform.clone()),
                    name: Some(row.display_name.clone()),
                },
                None => AccountRef::Text(id.to_string()),
            }
        };
        let key_of = |id: Uuid| -> String {
            match integrations.iter().find(|i| i.id == id) {
                Some(row) => format!("{}:{}", row.platform, row.display_name),
                None => id.to_string(),
            }
        };
        let records = posts
            .iter()
            .map(|post| PostRecord {
                external_id: Some(post.external_id.clone().unwrap_or_else(|| post.id.to_string())),
                status: Some(post.status.as_str().to_string()),
                scheduled_for: post.scheduled_for.map(|t| t.to_rfc3339()),
                content: post.content.clone(),
                platforms: post.platforms.iter().map(|id| name_ref(*id)).collect(),
                thread: post
                    .thread
                    .iter()
                    .map(|t| {
                        if t.media_urls.is_empty() && t.media_ids.is_empty() {
                            ThreadRecord::Text(t.content.clone())
                        } else {
                            ThreadRecord::Item {
                                content: t.content.clone(),
                                media_urls: t.media_urls.clone(),
                                media_ids: t.media_ids.clone(),
                            }
                        }
                    })
                    .collect(),
                tags: post.tags.clone(),
                media_urls: post.media_urls.clone(),
                media_ids: post.media_ids.clone(),
                overrides: post
                    .targets
                    .iter()
                    .filter(|t| post.platforms.contains(&t.integration_id))
                    .filter(|t| t.content.is_some() || t.settings.as_object().is_some_and(|o| !o.is_empty()))
                    .map(|t| {
                        let settings =
                            Some(t.settings.clone()).filter(|s| s.as_object().is_some_and(|o| !o.is_empty()));
                        (key_of(t.integration_id), OverrideRecord { content: t.content.clone(), settings })
                    })
                    .collect(),
                recurrence: post.recurrence.as_ref().map(|r| RecurrenceInput {
                    rule: r.rule.clone(),
                    timezone: Some(r.timezone.clone()),
                    until: r.until.map(|t| t.to_rfc3339()),
                    count: r.count,
                }),
                evergreen: post
                    .evergreen
                    .as_ref()
                    .map(|e| EvergreenInput { every_days: e.every_days, until: e.until.map(|t| t.to_rfc3339()) }),
            })
            .collect::<Vec<_>>();
        write_file(format, &records)
    }

    /// Checks every row and, unless `dry_run`, saves them all in one
    /// transaction. `progress(done, total)` follows the rows.
    pub async fn import_posts(
        &self,
        caller: &Caller,
        rows: Vec<Result<PostRecord, String>>,
        dry_run: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> AppResult<ImportReport> {
        caller.require(Scope::PostsWrite)?;
        let now = self.now();
        let integrations = Integrations(self.store.conn()).list(caller.workspace_id).await?;
        let total = rows.len();
        let mut report = ImportReport {
            dry_run,
            valid: true,
            created: 0,
            updated: 0,
            skipped: 0,
            errors: 0,
            rows: Vec::with_capacity(total),
        };
        let mut plans: Vec<(usize, Plan)> = Vec::new();
        let mut seen_ids = HashSet::new();
        for (index, row) in rows.into_iter().enumerate() {
            let number = index + 1;
            let mut line = ImportRow {
                row: number,
                external_id: None,
                status: "error",
                post_id: None,
                errors: Vec::new(),
                note: None,
            };
            match row {
                Err(message) => line.errors.push(ValidationError::new("row", message)),
                Ok(record) => {
                    line.external_id = record.external_id.clone();
                    if let Some(id) = &record.external_id
                        && !seen_ids.insert(id.clone())
                    {
                        line.errors.push(ValidationError::new("externalId", "appears twice in this file"));
                    } else {
                        match self.plan_row(caller, &integrations, record, now).await? {
                            RowOutcome::Skip { post_id, note } => {
                                line.status = "skipped";
                                line.post_id = post_id;
                                line.note = Some(note);
                            }
                            RowOutcome::Invalid(errors) => line.errors = errors.0,
                            RowOutcome::Plan(plan) => {
                                match plan.as_ref() {
                                    Plan::Create { .. } => line.status = "created",
                                    Plan::Update { existing, .. } => {
                                        line.status = "updated";
                                        line.post_id = Some(existing.id);
                                    }
                                }
                                plans.push((index, *plan));
                            }
                        }
                    }
                }
            }
            if !line.errors.is_empty() {
                line.status = "error";
            }
            report.rows.push(line);
            progress(number, total);
        }
        for line in &report.rows {
            match line.status {
                "created" => report.created += 1,
                "updated" => report.updated += 1,
                "skipped" => report.skipped += 1,
                _ => report.errors += 1,
            }
        }
        report.valid = report.errors == 0;
        if dry_run || !report.valid {
            return Ok(report);
        }
        let saved = self.apply_import(caller, plans, now).await?;
        for (index, post_id) in saved {
            report.rows[index].post_id = Some(post_id);
        }
        Ok(report)
    }

    async fn plan_row(
        &self,
        caller: &Caller,
        integrations: &[IntegrationRow],
        record: PostRecord,
        now: DateTime<Utc>,
    ) -> AppResult<RowOutcome> {
        let posts = Posts(self.store.conn());
        let existing = match &record.external_id {
            None => None,
            Some(id) => match posts.by_external_id(caller.workspace_id, id).await? {
                Some(post) => Some(post),
                // An export of posts made here names them by their own id.
                None => match Uuid::parse_str(id) {
                    Ok(uuid) => posts.get(caller.workspace_id, uuid).await?.filter(|p| p.external_id.is_none()),
                    Err(_) => None,
                },
            },
        };
        let status = record.status.as_deref().map(str::to_ascii_uppercase);
        if let Some(status) = status.as_deref()
            && !matches!(status, "DRAFT" | "SCHEDULED")
        {
            if PostStatus::parse(status).is_some() {
                return Ok(RowOutcome::Skip {
                    post_id: existing.map(|p| p.id),
                    note: format!("a {} post is history: it is not imported", status.to_lowercase()),
                });
            }
            return Ok(RowOutcome::Invalid(
                ValidationError::new("status", format!("`{status}` is not DRAFT or SCHEDULED")).into(),
            ));
        }
        if let Some(post) = &existing
            && !matches!(post.status, PostStatus::Draft | PostStatus::Scheduled)
        {
            return Ok(RowOutcome::Skip {
                post_id: Some(post.id),
                note: format!("the post is {} and can no longer change", post.status.as_str().to_lowercase()),
            });
        }
        let external_id = record.external_id.clone();
        let input = match resolve(record, integrations) {
            Ok(input) => input,
            Err(errors) => return Ok(RowOutcome::Invalid(errors)),
        };
        if let Some(post) = &existing {
            let targets = posts.targets_of(&[post.id]).await?;
            let stored = merge_update(post, &targets, super::input::UpdatePostInput::default())?;
            if fingerprint(&stored) == fingerprint(&input) {
                return Ok(RowOutcome::Skip { post_id: Some(post.id), note: "unchanged".into() });
            }
        }
        let prepared = self.prepare(caller, &input, existing.as_ref().map(|p| p.id), now).await?;
        if !prepared.errors.is_empty() {
            return Ok(RowOutcome::Invalid(prepared.errors));
        }
        let valid = prepared.into_valid()?;
        if valid.mode != PublishMode::Draft && caller.require(Scope::PostsPublish).is_err() {
            return Ok(RowOutcome::Invalid(
                ValidationError::new("status", "scheduling needs the right to publish: import it as DRAFT").into(),
            ));
        }
        Ok(RowOutcome::Plan(Box::new(match existing {
            Some(existing) => Plan::Update { existing: Box::new(existing), input, valid },
            None => Plan::Create { input, valid, external_id },
        })))
    }

    /// Saves every planned row in one transaction: all or nothing.
    async fn apply_import(
        &self,
        caller: &Caller,
        plans: Vec<(usize, Plan)>,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<(usize, Uuid)>> {
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let mut events = Vec::new();
        let mut saved = Vec::new();
        for (index, plan) in plans {
            match plan {
                Plan::Create { input, valid, external_id } => {
                    let id = Uuid::now_v7();
                    let targets = valid.target_rows(id, now);
                    let row = PostRow {
                        id,
                        workspace_id: caller.workspace_id,
                        created_by: Some(caller.user_id),
                        api_key_id: caller.api_key_id(),
                        created_via: herald_core::post::CreatedVia::Import,
                        content: input.content,
                        media: serde_json::json!(StoredMedia { urls: input.media_urls, ids: input.media_ids }),
                        thread: serde_json::json!(stored_thread(input.thread)),
                        tags: serde_json::json!(input.tags),
                        status: fresh_status(valid.mode, &targets),
                        scheduled_for: valid.publish_at,
                        published_at: None,
                        error_message: None,
                        approval_state: None,
                        approval: None,
                        recurrence: valid.series.as_ref().map(Series::to_json),
                        series_id: None,
                        occurrence_at: None,
                        next_occurrence_at: valid.next_occurrence(),
                        external_id,
                        group_id: None,
                        created_at: now,
                        updated_at: now,
                    };
                    let post = posts.insert(row, targets).await?;
                    events.push(self.record(&txn, caller, EventKind::PostCreated, &post).await?);
                    if valid.mode != PublishMode::Draft {
                        events.push(self.record(&txn, caller, EventKind::PostScheduled, &post).await?);
                    }
                    saved.push((index, post.id));
                }
                Plan::Update { existing, input, valid } => {
                    let id = existing.id;
                    let targets = valid.target_rows(id, now);
                    if posts.replace_targets(id, targets.clone()).await?.is_err() {
                        return Err(in_flight());
                    }
                    let row = PostRow {
                        content: input.content,
                        media: serde_json::json!(StoredMedia { urls: input.media_urls, ids: input.media_ids }),
                        thread: serde_json::json!(stored_thread(input.thread)),
                        tags: serde_json::json!(input.tags),
                        status: fresh_status(valid.mode, &targets),
                        scheduled_for: valid.publish_at,
                        error_message: None,
                        recurrence: valid.series.as_ref().map(Series::to_json),
                        next_occurrence_at: valid.next_occurrence(),
                        updated_at: now,
                        ..*existing
                    };
                    let post = posts.update(row).await?;
                    events.push(self.record(&txn, caller, EventKind::PostUpdated, &post).await?);
                    saved.push((index, post.id));
                }
            }
        }
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(events).await;
        tracing::info!(posts = saved.len(), "posts imported");
        Ok(saved)
    }
}

enum RowOutcome {
    Skip { post_id: Option<Uuid>, note: String },
    Invalid(ValidationErrors),
    Plan(Box<Plan>),
}

/// A row as the body of `POST /posts`, its accounts found in the workspace.
fn resolve(record: PostRecord, integrations: &[IntegrationRow]) -> Result<CreatePostInput, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut platforms = Vec::new();
    for (i, account) in record.platforms.iter().enumerate() {
        match find_account(account, integrations) {
            Ok(id) => platforms.push(id),
            Err(message) => errors.push(format!("platforms[{i}]"), message),
        }
    }
    let mut overrides = BTreeMap::new();
    for (key, value) in record.overrides {
        match find_account(&AccountRef::Text(key.clone()), integrations) {
            Ok(id) => {
                overrides.insert(id.to_string(), OverrideInput { content: value.content, settings: value.settings });
            }
            Err(message) => errors.push(format!("overrides.{key}"), message),
        }
    }
    if let Some(raw) = &record.scheduled_for {
        errors.collect(parse_timestamp("scheduledFor", raw));
    }
    errors.into_result()?;
    let status = match record.status.map(|s| s.to_ascii_uppercase()) {
        Some(status) => status,
        None if record.scheduled_for.is_some() => "SCHEDULED".into(),
        None => "DRAFT".into(),
    };
    Ok(CreatePostInput {
        content: record.content,
        platforms,
        scheduled_for: record.scheduled_for,
        status: Some(status),
        media_urls: record.media_urls,
        media_ids: record.media_ids,
        thread: record
            .thread
            .into_iter()
            .map(|t| match t {
                ThreadRecord::Text(content) => ThreadItemInput { content, ..Default::default() },
                ThreadRecord::Item { content, media_urls, media_ids } => {
                    ThreadItemInput { content, media_ids, media_urls }
                }
            })
            .collect(),
        overrides,
        tags: record.tags,
        recurrence: record.recurrence,
        evergreen: record.evergreen,
        set_id: None,
    })
}

fn find_account(account: &AccountRef, integrations: &[IntegrationRow]) -> Result<Uuid, String> {
    let (id, platform, name) = match account {
        AccountRef::Text(text) => match Uuid::parse_str(text.trim()) {
            Ok(id) => (Some(id), None, None),
            Err(_) => match text.split_once(':') {
                Some((platform, name)) => (None, Some(platform.trim().to_string()), Some(name.trim().to_string())),
                None => return Err(format!("`{text}` is neither an integration id nor `platform:name`")),
            },
        },
        AccountRef::Named { id, platform, name } => (*id, platform.clone(), name.clone()),
    };
    if let Some(id) = id
        && integrations.iter().any(|i| i.id == id)
    {
        return Ok(id);
    }
    let (Some(platform), Some(name)) = (platform, name) else {
        return Err(format!(
            "no integration with id {} in this workspace",
            id.map(|i| i.to_string()).unwrap_or_default()
        ));
    };
    let matches: Vec<&IntegrationRow> = integrations
        .iter()
        .filter(|i| i.platform == platform && (i.display_name == name || i.platform_username == name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.id),
        [] => Err(format!("no {platform} account named “{name}” in this workspace")),
        _ => Err(format!("several {platform} accounts are named “{name}”: name it by id")),
    }
}

/// What makes two posts the same for an import: everything a row sets.
fn fingerprint(input: &CreatePostInput) -> serde_json::Value {
    let mut platforms: Vec<String> = input.platforms.iter().map(Uuid::to_string).collect();
    platforms.sort();
    let at = input.scheduled_for.as_deref().and_then(|raw| parse_timestamp("scheduledFor", raw).ok());
    let mut tags: Vec<&str> = input.tags.iter().map(|t| t.trim()).collect();
    tags.sort_unstable();
    serde_json::json!({
        "content": input.content,
        "platforms": platforms,
        "at": at,
        "status": input.status.as_deref().map(str::to_ascii_uppercase),
        "thread": input.thread.iter().map(|t| (&t.content, &t.media_ids, &t.media_urls)).collect::<Vec<_>>(),
        "tags": tags,
        "mediaUrls": input.media_urls,
        "mediaIds": input.media_ids,
        "overrides": input.overrides.iter().map(|(k, v)| (k, (&v.content, &v.settings))).collect::<BTreeMap<_, _>>(),
        "recurrence": input.recurrence,
        "evergreen": input.evergreen,
    })
}
