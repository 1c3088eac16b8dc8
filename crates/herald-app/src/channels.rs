//! Herald's own feed channels (the `feed` platform): what a channel's RSS
//! and Atom documents show, read from its published posts. Public by
//! design — anyone with the address may read it — so only what the posts
//! say is shown: no ids of the workspace, no author, no draft.

use chrono::{DateTime, Utc};
use herald_core::integration::IntegrationStatus;
use herald_providers::article::{markdown_html, split_title};
use herald_providers::feed;
use herald_store::content::{StoredMedia, thread_of};
use herald_store::repo::{Integrations, Media, Posts};
use uuid::Uuid;

use crate::{App, AppResult};

/// Items a feed document shows, newest first.
const ITEMS_SHOWN: u64 = 50;

/// A channel as its feed documents show it.
#[derive(Debug, Clone)]
pub struct FeedDocument {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// The website the feed belongs to.
    pub site: String,
    /// Herald's public address, without a trailing slash.
    pub base: String,
    /// When the newest item was published (the channel's creation otherwise).
    pub updated: DateTime<Utc>,
    pub items: Vec<FeedEntry>,
}

#[derive(Debug, Clone)]
pub struct FeedEntry {
    /// The delivery's id: stable, and unique to this channel.
    pub id: Uuid,
    pub title: String,
    /// The post (and its thread) as HTML.
    pub html: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub enclosures: Vec<Enclosure>,
}

#[derive(Debug, Clone)]
pub struct Enclosure {
    pub url: String,
    pub mime: String,
    pub size: i64,
}

impl FeedDocument {
    pub fn rss_url(&self) -> String {
        format!("{}/feeds/{}.xml", self.base, self.slug)
    }

    pub fn atom_url(&self) -> String {
        format!("{}/feeds/{}.atom", self.base, self.slug)
    }

    /// A validator for HTTP caches: changes whenever what is shown may.
    pub fn etag(&self) -> String {
        let newest = self.items.first().map(|item| item.id.to_string()).unwrap_or_default();
        let seed = format!(
            "{}|{}|{}|{}|{}",
            self.title,
            self.description,
            self.updated.timestamp_micros(),
            self.items.len(),
            newest
        );
        let digest = herald_core::api_key::hash_key(&seed);
        format!("\"{}\"", &digest[..32])
    }
}

/// The first http(s) URL in a text, where a post links to what it is about.
fn first_link(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|word| word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']))
        .find(|word| herald_providers::article::is_http_url(word))
        .map(str::to_string)
}

impl App {
    /// The feed document of the channel `slug`, or `None` when there is no
    /// such active channel.
    pub async fn public_feed(&self, slug: &str) -> AppResult<Option<FeedDocument>> {
        if !feed::is_slug(slug) {
            return Ok(None);
        }
        let conn = self.store.conn();
        let Some(row) = Integrations(conn).by_platform_account("feed", slug).await? else { return Ok(None) };
        if row.status != IntegrationStatus::Active {
            return Ok(None);
        }
        let Some(channel) = feed::channel(&self.stored_credentials(&row)?) else { return Ok(None) };
        let base = self.settings.main_url.trim_end_matches('/').to_string();
        let published = Posts(conn).published_to(row.id, ITEMS_SHOWN).await?;
        let mut media_ids: Vec<Uuid> = Vec::new();
        let mut entries = Vec::with_capacity(published.len());
        for (target, post) in &published {
            let media = StoredMedia::of_post(&post.media, post.id)?;
            let thread = thread_of(&post.thread, post.id)?;
            media_ids.extend(media.ids.iter().chain(thread.iter().flat_map(|item| item.media_ids.iter())));
            entries.push((target, post, media, thread));
        }
        let files = Media(conn).find_many(row.workspace_id, &media_ids).await?;
        let file_of = |id: &Uuid| {
            files.iter().find(|file| file.id == *id).map(|file| Enclosure {
                url: format!("{base}/uploads/{}", file.storage_key),
                mime: file.mime.clone(),
                size: file.size,
            })
        };
        let mut items = Vec::with_capacity(entries.len());
        for (target, post, media, thread) in entries {
            let settings = feed::item_settings(&target.settings);
            let content = target.content_override.clone().unwrap_or_else(|| post.content.clone());
            let article = split_title(&content, settings.title.as_deref());
            let mut markdown = article.body.clone();
            for item in &thread {
                markdown.push_str("\n\n");
                markdown.push_str(&item.content);
            }
            let mut enclosures: Vec<Enclosure> = media
                .ids
                .iter()
                .chain(thread.iter().flat_map(|item| item.media_ids.iter()))
                .filter_map(file_of)
                .collect();
            // Outside files are linked as they are; their size is not known.
            enclosures.extend(media.urls.iter().map(|url| Enclosure {
                url: url.clone(),
                mime: String::new(),
                size: 0,
            }));
            items.push(FeedEntry {
                id: target.id,
                link: settings.link.clone().or_else(|| first_link(&content)),
                title: if article.title.is_empty() { "(untitled)".into() } else { article.title },
                html: markdown_html(&markdown),
                published: target.published_at.unwrap_or(target.updated_at),
                enclosures,
            });
        }
        let updated = items.first().map_or(row.created_at, |item| item.published).max(row.updated_at);
        Ok(Some(FeedDocument {
            slug: channel.slug,
            title: row.display_name.clone(),
            description: channel.description.unwrap_or_else(|| format!("{} — published with Herald", row.display_name)),
            site: channel.link.unwrap_or_else(|| base.clone()),
            base,
            updated,
            items,
        }))
    }
}
