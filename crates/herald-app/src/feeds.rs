//! RSS/Atom auto-posting (DESIGN §11): a feed is polled with conditional
//! GET through the SSRF guard; the first poll only marks what is there as
//! seen; each later new item becomes one post, made with the rights of the
//! person who added the feed. An item is claimed by its key before its post
//! is made, so two processes (or a restart) never post it twice; a broken
//! feed shows its error and is polled again at its next time.

use chrono::{DateTime, Duration, Utc};
use herald_core::api_key::Scope;
use herald_core::feed_template::{DEFAULT_TEMPLATE, FeedItem, check_template, render};
use herald_core::html::html_to_text;
use herald_core::platform::{account_max_length, rules_for};
use herald_core::post::CreatedVia;
use herald_core::{ValidationError, ValidationErrors};
use herald_store::repo::{Feeds, Integrations};
use herald_store::{FeedRow, IntegrationRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::posts::{CreatePostInput, OverrideInput};

/// Largest feed document read.
const MAX_FEED_BYTES: usize = 5 * 1024 * 1024;
/// How long one poll may hold its feed.
const POLL_LEASE: Duration = Duration::minutes(2);
/// Feeds polled per round.
const BATCH: u64 = 20;
/// New items made into posts per poll: a feed that suddenly shows 500 new
/// items (a CMS migration) must not flood the accounts; the rest wait.
const MAX_NEW_PER_POLL: usize = 10;

/// `POST /feeds` (also the MCP tool `create_feed`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFeedInput {
    /// The RSS 2.0 or Atom feed's http(s) URL.
    pub url: String,
    /// Integration ids each new item is posted to.
    pub platforms: Vec<Uuid>,
    /// With `{title}`, `{link}`, `{summary}`, `{author}` (default `{title} {link}`).
    pub template: Option<String>,
    /// `DRAFT` (a draft per item), `QUEUE` (each account's next free slot,
    /// the default) or `NOW`.
    pub mode: Option<String>,
    /// Minutes between polls, at least 5 (default 30).
    #[schema(minimum = 5, maximum = 1440)]
    #[schemars(range(min = 5, max = 1440))]
    pub poll_minutes: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedView {
    pub id: Uuid,
    pub url: String,
    pub platforms: Vec<Uuid>,
    pub template: String,
    pub mode: String,
    pub poll_minutes: i32,
    /// False until the first poll marked the items already there as seen.
    pub primed: bool,
    pub next_poll_at: DateTime<Utc>,
    pub last_polled_at: Option<DateTime<Utc>>,
    /// HTTP status of the last poll.
    pub last_status: Option<i32>,
    /// Why the last poll failed; `null` after a good one.
    pub last_error: Option<String>,
    /// Items that became posts.
    pub items_posted: i32,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// The answer of `POST /feeds/{id}/poll`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollReport {
    pub feed: FeedView,
    /// `NOT_MODIFIED`, `PRIMED` (first poll: items marked seen), `POLLED` or `FAILED`.
    pub outcome: String,
    /// Items in the document (0 when not modified or failed).
    pub items_in_feed: usize,
    /// Items seen for the first time in this poll.
    pub new_items: Vec<NewItemView>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewItemView {
    pub title: String,
    pub link: String,
    /// The post it became.
    pub post_id: Option<Uuid>,
    /// Why it did not become a post.
    pub error: Option<String>,
}

/// One item of a parsed feed.
struct Item {
    key: String,
    content: FeedItem,
}

enum Fetched {
    NotModified,
    Document { bytes: Vec<u8>, etag: Option<String>, last_modified: Option<String> },
}

enum Mode {
    Draft,
    Queue,
    Now,
}

impl Mode {
    fn parse(raw: Option<&str>) -> Result<Self, ValidationError> {
        match raw.map(str::to_ascii_uppercase).as_deref() {
            None | Some("QUEUE") => Ok(Self::Queue),
            Some("DRAFT") => Ok(Self::Draft),
            Some("NOW") => Ok(Self::Now),
            Some(other) => Err(ValidationError::new("mode", format!("`{other}` is not one of DRAFT, QUEUE, NOW"))),
        }
    }

    fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Queue => "QUEUE",
            Self::Now => "NOW",
        }
    }
}

impl App {
    pub async fn create_feed(&self, caller: &Caller, input: CreateFeedInput) -> AppResult<FeedView> {
        caller.require(Scope::PostsWrite)?;
        let mut errors = ValidationErrors::default();
        let mode = errors.collect(Mode::parse(input.mode.as_deref()));
        if let Some(mode) = &mode
            && !matches!(mode, Mode::Draft)
        {
            // Items that go out by themselves need the right to publish.
            caller.require(Scope::PostsPublish)?;
        }
        let template = input.template.clone().unwrap_or_else(|| DEFAULT_TEMPLATE.to_string());
        errors.collect(check_template(&template));
        let poll_minutes = input.poll_minutes.unwrap_or(30);
        if !(5..=1440).contains(&poll_minutes) {
            errors.push("pollMinutes", "between 5 and 1440 minutes");
        }
        if input.platforms.is_empty() {
            errors.push("platforms", "name at least one account to post the items to");
        }
        let found = Integrations(self.store.conn()).find_many(caller.workspace_id, &input.platforms).await?;
        for (i, id) in input.platforms.iter().enumerate() {
            if !found.iter().any(|row| row.id == *id) {
                errors.push(format!("platforms[{i}]"), format!("no integration with id {id} in this workspace"));
            }
        }
        let url = errors.collect(self.check_public_url(&input.url).await);
        errors.into_result()?;
        let (Some(mode), Some(url)) = (mode, url) else {
            return Err(AppError::Internal("valid feed without mode or url".into()));
        };
        let mut platforms = input.platforms.clone();
        platforms.dedup();
        let now = self.now();
        let row = FeedRow {
            id: Uuid::now_v7(),
            workspace_id: caller.workspace_id,
            created_by: caller.user_id,
            url,
            platforms: serde_json::json!(platforms),
            template,
            mode: mode.as_str().to_string(),
            poll_minutes: poll_minutes as i32,
            etag: None,
            last_modified: None,
            primed: false,
            // The first poll, which only marks what is there, comes at once.
            next_poll_at: now,
            lease_until: None,
            last_polled_at: None,
            last_status: None,
            last_error: None,
            items_posted: 0,
            created_at: now,
            updated_at: now,
        };
        let row = Feeds(self.store.conn()).insert(row).await?;
        tracing::info!(feed_id = %row.id, "feed added");
        Ok(feed_view(&row))
    }

    pub async fn list_feeds(&self, caller: &Caller) -> AppResult<Vec<FeedView>> {
        caller.require(Scope::PostsRead)?;
        Ok(Feeds(self.store.conn()).list(caller.workspace_id).await?.iter().map(feed_view).collect())
    }

    pub async fn delete_feed(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        let repo = Feeds(self.store.conn());
        let row = repo.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("feed"))?;
        require_for_mode(caller, &row)?;
        repo.delete(caller.workspace_id, id).await?;
        tracing::info!(feed_id = %id, "feed deleted");
        Ok(())
    }

    /// Polls a feed now and answers with what it found.
    pub async fn poll_feed_now(&self, caller: &Caller, id: Uuid) -> AppResult<PollReport> {
        let repo = Feeds(self.store.conn());
        let row = repo.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("feed"))?;
        require_for_mode(caller, &row)?;
        let now = self.now();
        let Some(claimed) = repo.claim(row.id, now, now + POLL_LEASE).await? else {
            return Err(AppError::Conflict("this feed is being polled right now; try again in a moment".into()));
        };
        self.poll(claimed).await
    }

    /// Polls the feeds that are due; returns how many were polled. Safe in
    /// any number of processes at once.
    pub async fn poll_due_feeds_once(&self) -> AppResult<usize> {
        let now = self.now();
        let mut polled = 0;
        for id in Feeds(self.store.conn()).due(now, BATCH).await? {
            let Some(row) = Feeds(self.store.conn()).claim(id, now, now + POLL_LEASE).await? else { continue };
            match self.poll(row).await {
                Ok(_) => polled += 1,
                Err(error) => tracing::warn!(feed_id = %id, %error, "feed poll failed"),
            }
        }
        Ok(polled)
    }

    async fn poll(&self, mut row: FeedRow) -> AppResult<PollReport> {
        let now = self.now();
        row.last_polled_at = Some(now);
        row.next_poll_at = now + Duration::minutes(i64::from(row.poll_minutes));
        row.lease_until = None;
        row.updated_at = now;
        let mut report = PollReport {
            feed: feed_view(&row),
            outcome: "FAILED".into(),
            items_in_feed: 0,
            new_items: Vec::new(),
            error: None,
        };
        match self.fetch(&row).await {
            Err((status, error)) => {
                tracing::warn!(feed_id = %row.id, %error, "feed unreadable");
                row.last_status = status;
                row.last_error = Some(error.clone());
                report.error = Some(error);
            }
            Ok((status, Fetched::NotModified)) => {
                row.last_status = Some(status);
                row.last_error = None;
                report.outcome = "NOT_MODIFIED".into();
            }
            Ok((status, Fetched::Document { bytes, etag, last_modified })) => {
                row.last_status = Some(status);
                match parse_items(&bytes) {
                    Err(error) => {
                        row.last_error = Some(error.clone());
                        report.error = Some(error);
                    }
                    Ok(items) => {
                        // Validators only from a document that was read: a
                        // broken one is fetched in full next time.
                        row.etag = etag;
                        row.last_modified = last_modified;
                        report.items_in_feed = items.len();
                        row.last_error = None;
                        if row.primed {
                            report.outcome = "POLLED".into();
                            report.new_items = self.post_new_items(&mut row, items).await?;
                        } else {
                            let seen: Vec<(String, String)> =
                                items.into_iter().map(|item| (item.key, item.content.title)).collect();
                            Feeds(self.store.conn()).mark_seen(row.id, &seen, now).await?;
                            row.primed = true;
                            report.outcome = "PRIMED".into();
                        }
                    }
                }
            }
        }
        let saved = match Feeds(self.store.conn()).save(row.clone()).await {
            Ok(saved) => saved,
            // Deleted while it was being polled: nothing left to record.
            Err(_) if Feeds(self.store.conn()).get(row.workspace_id, row.id).await?.is_none() => row,
            Err(error) => return Err(error.into()),
        };
        report.feed = feed_view(&saved);
        Ok(report)
    }

    /// GET with the stored validators, through the SSRF guard (every
    /// redirect hop checked), at most [`MAX_FEED_BYTES`].
    async fn fetch(&self, row: &FeedRow) -> Result<(i32, Fetched), (Option<i32>, String)> {
        use reqwest::header;
        let mut request = self
            .fetcher
            .inner()
            .get(&row.url)
            .header(header::ACCEPT, "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5")
            .header(header::USER_AGENT, concat!("Herald/", env!("CARGO_PKG_VERSION"), " (feed reader)"));
        if let Some(etag) = &row.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &row.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified);
        }
        let mut response =
            self.fetcher.send(request).await.map_err(|e| (None, format!("could not fetch the feed: {e}")))?;
        let status = i32::from(response.status().as_u16());
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok((status, Fetched::NotModified));
        }
        if !response.status().is_success() {
            return Err((Some(status), format!("the feed answered HTTP {status}")));
        }
        let header_text =
            |name| response.headers().get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).map(str::to_string);
        let (etag, last_modified) = (header_text(header::ETAG), header_text(header::LAST_MODIFIED));
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_FEED_BYTES {
                        return Err((Some(status), "the feed is larger than 5 MB".into()));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return Err((Some(status), "the feed's answer broke off".into())),
            }
        }
        Ok((status, Fetched::Document { bytes, etag, last_modified }))
    }

    /// Makes a post of each item not seen before, oldest first.
    async fn post_new_items(&self, row: &mut FeedRow, items: Vec<Item>) -> AppResult<Vec<NewItemView>> {
        let repo = Feeds(self.store.conn());
        let platforms: Vec<Uuid> = serde_json::from_value(row.platforms.clone()).unwrap_or_default();
        let integrations = Integrations(self.store.conn()).find_many(row.workspace_id, &platforms).await?;
        // Whose rights the posts are made with: looked up once per poll.
        let caller = self.feed_caller(row).await.map_err(|error| error.to_string());
        let mut new_items = Vec::new();
        for item in items {
            if new_items.len() == MAX_NEW_PER_POLL {
                break;
            }
            if !repo.claim_item(row.id, &item.key, &item.content.title, self.now()).await? {
                continue;
            }
            let outcome = match &caller {
                Ok(caller) => {
                    self.post_item(caller, row, &integrations, &item.content).await.map_err(|e| e.to_string())
                }
                Err(error) => Err(error.clone()),
            };
            let mut view = NewItemView {
                title: item.content.title.clone(),
                link: item.content.link.clone(),
                post_id: None,
                error: None,
            };
            match outcome {
                Ok(post_id) => {
                    repo.set_item_post(row.id, &item.key, post_id).await?;
                    row.items_posted += 1;
                    view.post_id = Some(post_id);
                }
                Err(message) => {
                    tracing::warn!(feed_id = %row.id, error = %message, "feed item not posted");
                    row.last_error = Some(format!("item “{}” was not posted: {message}", item.content.title));
                    view.error = Some(message);
                }
            }
            new_items.push(view);
        }
        Ok(new_items)
    }

    /// The item's post: the text for the roomiest account, and a shorter
    /// one for each account whose limit needs it.
    async fn post_item(
        &self,
        caller: &Caller,
        row: &FeedRow,
        integrations: &[IntegrationRow],
        item: &FeedItem,
    ) -> AppResult<Uuid> {
        let mut texts = Vec::new();
        for integration in integrations {
            let Some(rules) = rules_for(&integration.platform) else { continue };
            let limit = account_max_length(&integration.settings).unwrap_or(rules.max_length);
            let fits = |text: &str| rules.item_length(text, &serde_json::json!({})) <= limit;
            let text = render(&row.template, item, fits).ok_or_else(|| {
                AppError::from(ValidationError::new(
                    "template",
                    format!("even shortened, the item does not fit {}'s {limit} characters", rules.name),
                ))
            })?;
            texts.push((integration.id, limit, text));
        }
        let Some((_, _, content)) = texts.iter().max_by_key(|(_, limit, _)| *limit) else {
            return Err(ValidationError::new("platforms", "none of the feed's accounts is connected any more").into());
        };
        let content = content.clone();
        let overrides = texts
            .iter()
            .filter(|(_, _, text)| *text != content)
            .map(|(id, _, text)| (id.to_string(), OverrideInput { content: Some(text.clone()), settings: None }))
            .collect();
        let input = CreatePostInput {
            content,
            platforms: texts.iter().map(|(id, _, _)| *id).collect(),
            status: Some(row.mode.clone()),
            overrides,
            ..Default::default()
        };
        Ok(self.create_post(caller, input, CreatedVia::Feed).await?.id)
    }

    /// The feed's author, with their role in the workspace today.
    async fn feed_caller(&self, row: &FeedRow) -> AppResult<Caller> {
        self.member_caller(row.created_by, row.workspace_id)
            .await?
            .ok_or_else(|| AppError::Conflict("the person who added this feed is no longer in the workspace".into()))
    }
}

/// Deleting or polling an auto-publishing feed needs the right to publish.
fn require_for_mode(caller: &Caller, row: &FeedRow) -> AppResult<()> {
    caller.require(Scope::PostsWrite)?;
    if row.mode != "DRAFT" {
        caller.require(Scope::PostsPublish)?;
    }
    Ok(())
}

/// The items of an RSS 2.0 or Atom document, oldest first.
fn parse_items(bytes: &[u8]) -> Result<Vec<Item>, String> {
    let feed = feed_rs::parser::parse(bytes).map_err(|e| format!("not a readable RSS or Atom feed: {e}"))?;
    let mut items: Vec<(Option<DateTime<Utc>>, Item)> = feed
        .entries
        .into_iter()
        .filter_map(|entry| {
            let link = entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
                .or(entry.links.first())
                .map(|l| l.href.trim().to_string())
                .unwrap_or_default();
            let key = if entry.id.trim().is_empty() { link.clone() } else { entry.id.trim().to_string() };
            if key.is_empty() {
                return None;
            }
            let summary =
                entry.summary.map(|s| s.content).or_else(|| entry.content.and_then(|c| c.body)).unwrap_or_default();
            let content = FeedItem {
                title: entry.title.map(|t| html_to_text(&t.content)).unwrap_or_default(),
                link,
                summary: html_to_text(&summary),
                author: entry.authors.first().and_then(|a| a.name.clone()).unwrap_or_default(),
            };
            Some((entry.published.or(entry.updated), Item { key, content }))
        })
        .collect();
    // Feeds list newest first; with dates on every item, date order wins.
    items.reverse();
    if items.iter().all(|(at, _)| at.is_some()) {
        items.sort_by_key(|(at, _)| *at);
    }
    Ok(items.into_iter().map(|(_, item)| item).collect())
}

fn feed_view(row: &FeedRow) -> FeedView {
    FeedView {
        id: row.id,
        url: row.url.clone(),
        platforms: serde_json::from_value(row.platforms.clone()).unwrap_or_default(),
        template: row.template.clone(),
        mode: row.mode.clone(),
        poll_minutes: row.poll_minutes,
        primed: row.primed,
        next_poll_at: row.next_poll_at,
        last_polled_at: row.last_polled_at,
        last_status: row.last_status,
        last_error: row.last_error.clone(),
        items_posted: row.items_posted,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_and_atom_items_come_oldest_first_keyed_by_guid_or_link() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>
            <item><title>Second &amp; last</title><link>https://b.example/2</link><description>&lt;p&gt;Two&lt;/p&gt;</description></item>
            <item><title>First</title><link>https://b.example/1</link><guid>tag:b,1</guid></item>
            </channel></rss>"#;
        let items = parse_items(rss).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].content.title, "First");
        assert_eq!(items[0].key, "tag:b,1");
        assert_eq!(items[1].content.title, "Second & last");
        assert_eq!(items[1].content.summary, "Two");
        let atom = br#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2027-01-02T00:00:00Z</updated>
            <entry><title>New</title><id>urn:a:2</id><updated>2027-01-02T00:00:00Z</updated><link href="https://a.example/2"/><author><name>Ada</name></author></entry>
            <entry><title>Old</title><id>urn:a:1</id><updated>2027-01-01T00:00:00Z</updated><link href="https://a.example/1"/></entry>
            </feed>"#;
        let items = parse_items(atom).unwrap();
        assert_eq!(items.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["urn:a:1", "urn:a:2"]);
        assert_eq!(items[1].content.author, "Ada");
        assert!(parse_items(b"<html>not a feed</html>").is_err());
    }
}
