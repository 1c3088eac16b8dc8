//! The media of an item as a provider receives them: uploaded files (by
//! id, with their alt text) read from the blob store piece by piece as the
//! provider uploads them, then outside URLs, downloaded through the
//! SSRF-guarded client when the platform wants an upload rather than a link.

use std::sync::Arc;

use bytes::Bytes;
use herald_providers::{Attachment, ErrorClass, HttpClient, MediaBody, MediaReader, ProviderError};
use herald_store::blobs::Blobs;
use herald_store::repo::Media;
use uuid::Uuid;

use crate::Engine;

/// Largest outside file fetched for a platform upload.
const MAX_DOWNLOAD_BYTES: usize = 100 * 1024 * 1024;

/// Where the engine finds media.
#[derive(Clone)]
pub struct MediaSource {
    pub blobs: Blobs,
    /// Public base URL: uploaded files are served at `<url>/uploads/<key>`.
    pub public_url: String,
    /// For outside URLs (guarded like every user-given address).
    pub fetcher: HttpClient,
}

/// The media of one item, URLs always, bytes when asked for.
pub(crate) struct ItemMedia {
    pub urls: Vec<String>,
    pub attachments: Vec<Attachment>,
}

impl Engine {
    pub(crate) async fn item_media(
        &self,
        workspace_id: Uuid,
        media_ids: &[Uuid],
        media_urls: &[String],
        with_bytes: bool,
    ) -> Result<ItemMedia, ProviderError> {
        let storage = |error: &dyn std::fmt::Display| {
            ProviderError::new(ErrorClass::Retryable { after: None }, format!("reading the media failed: {error}"))
        };
        let rows = Media(self.store.conn()).find_many(workspace_id, media_ids).await.map_err(|e| storage(&e))?;
        let mut media = ItemMedia { urls: Vec::new(), attachments: Vec::new() };
        for id in media_ids {
            let row = rows.iter().find(|row| row.id == *id).ok_or_else(|| {
                ProviderError::invalid(format!("media {id} was deleted from the library; edit the post"))
            })?;
            let url = format!("{}/uploads/{}", self.media.public_url.trim_end_matches('/'), row.storage_key);
            // Providers that link media by URL still get its type and alt text.
            let body = if with_bytes {
                // A file that is gone will not come back by retrying.
                if !self.media.blobs.exists(&row.storage_key).await.map_err(|e| storage(&e))? {
                    return Err(ProviderError::invalid(format!("the file of media {id} is missing from storage")));
                }
                let reader = StoredFile { blobs: self.media.blobs.clone(), key: row.storage_key.clone() };
                MediaBody::Stored(Arc::new(reader))
            } else {
                MediaBody::None
            };
            media.attachments.push(Attachment {
                url: url.clone(),
                mime: row.mime.clone(),
                alt_text: row.alt_text.clone(),
                size: u64::try_from(row.size).unwrap_or_default(),
                body,
            });
            media.urls.push(url);
        }
        for url in media_urls {
            if with_bytes {
                let (data, mime) = self.download(url).await?;
                media.attachments.push(Attachment {
                    url: url.clone(),
                    mime: mime.to_string(),
                    ..Attachment::loaded(data)
                });
            }
            media.urls.push(url.clone());
        }
        Ok(media)
    }

    /// An outside file, its type checked from the bytes.
    async fn download(&self, url: &str) -> Result<(Bytes, &'static str), ProviderError> {
        let fetcher = &self.media.fetcher;
        let mut response = fetcher.send(fetcher.inner().get(url)).await?;
        let status = response.status();
        if !status.is_success() {
            let class = herald_providers::classify_status(status, None);
            // A missing file will not appear by retrying.
            let class = if status.as_u16() == 404 || status.as_u16() == 410 { ErrorClass::Invalid } else { class };
            return Err(ProviderError::new(class, format!("downloading the media {url} answered {status}")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            ProviderError::new(
                ErrorClass::Retryable { after: None },
                format!("downloading the media {url} failed: {e}"),
            )
        })? {
            if bytes.len() + chunk.len() > MAX_DOWNLOAD_BYTES {
                return Err(ProviderError::invalid(format!("the media {url} is larger than 100 MB")));
            }
            bytes.extend_from_slice(&chunk);
        }
        let mime = herald_core::media::sniff_mime(&bytes)
            .ok_or_else(|| ProviderError::invalid(format!("the media {url} is not an image or video Herald knows")))?;
        Ok((Bytes::from(bytes), mime))
    }
}

/// A file of the media store, read range by range as a provider uploads it.
struct StoredFile {
    blobs: Blobs,
    key: String,
}

#[async_trait::async_trait]
impl MediaReader for StoredFile {
    async fn read(&self, range: std::ops::Range<u64>) -> Result<Bytes, String> {
        self.blobs.get_range(&self.key, range).await.map_err(|error| error.to_string())
    }
}
