//! Media: files uploaded (multipart) or fetched from a URL, their type
//! sniffed from the bytes, stored in the blob store (local disk or S3) and
//! served at `/uploads/{key}`.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use herald_core::api_key::Scope;
use herald_providers::TargetGuard;
use herald_store::MediaRow;
use herald_store::repo::Media;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use herald_core::media::sniff;
use herald_core::media::{Sniffed, identify};

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::pages::{Cursor, cut_page, parse_page};

/// Largest file held in memory whole: an image, a file fetched from a URL,
/// a file sent through the web form.
pub const MAX_BUFFERED_BYTES: usize = 50 * 1024 * 1024;
/// Largest video `POST /media` takes; it is streamed to the store, never
/// held in memory whole.
pub const MAX_MEDIA_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Bytes read before a file's type is decided.
const HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaView {
    pub id: Uuid,
    /// Public URL of the file.
    pub url: String,
    pub mime: String,
    pub size: i64,
    pub alt_text: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A page of the media library.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaPage {
    pub media: Vec<MediaView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Paging of `GET /media`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListMediaQuery {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `nextCursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

/// A storage key as Herald writes them: `<uuid>.<extension>`. Anything else
/// (`..`, slashes) is refused before it reaches the file system.
pub fn is_storage_key(key: &str) -> bool {
    key.split_once('.').is_some_and(|(id, ext)| {
        Uuid::parse_str(id).is_ok() && matches!(ext, "png" | "jpg" | "gif" | "webp" | "webm" | "mov" | "mp4")
    })
}

impl App {
    pub async fn upload_media_from_url(
        &self,
        caller: &Caller,
        url: &str,
        alt_text: Option<String>,
    ) -> AppResult<MediaView> {
        caller.require(Scope::PostsWrite)?;
        let invalid = |message: String| AppError::from(herald_core::ValidationError::new("url", message));
        let guard = TargetGuard::new(self.settings.allow_private_targets);
        let url = guard.check_url(url.trim()).map_err(invalid)?;
        check_alt_text(alt_text.as_deref())?;
        let response = self
            .fetcher
            .send(self.fetcher.inner().get(url.as_str()))
            .await
            .map_err(|e| invalid(format!("could not download it: {}", e.message)))?;
        if !response.status().is_success() {
            return Err(invalid(format!("downloading it answered {}", response.status())));
        }
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| invalid(format!("the download failed: {e}")))? {
            if bytes.len() + chunk.len() > MAX_BUFFERED_BYTES {
                return Err(invalid(too_large(MAX_BUFFERED_BYTES as u64)));
            }
            bytes.extend_from_slice(&chunk);
        }
        self.store_media(caller, "url", Bytes::from(bytes), alt_text).await
    }

    /// A file sent whole (the web form's upload).
    pub async fn upload_media(&self, caller: &Caller, bytes: Bytes, alt_text: Option<String>) -> AppResult<MediaView> {
        let pieces = futures::stream::iter([Ok::<_, AppError>(bytes)]);
        let stored = self.store_upload(caller, pieces).await?;
        self.record_upload(caller, stored, alt_text).await
    }

    /// `POST /media`, first half: stores a file arriving in `pieces`. An
    /// image (at most 50 MB) is read whole; a video (at most 2 GB) goes to
    /// the store piece by piece, so memory stays flat whatever its size.
    /// [`App::record_upload`] then adds it to the library.
    pub async fn store_upload(
        &self,
        caller: &Caller,
        mut pieces: impl futures::Stream<Item = Result<Bytes, AppError>> + Unpin + Send,
    ) -> AppResult<StoredUpload> {
        use futures::StreamExt;
        caller.require(Scope::PostsWrite)?;
        let mut head = Vec::new();
        while head.len() < HEAD_BYTES {
            match pieces.next().await {
                Some(piece) => head.extend_from_slice(&piece?),
                None => break,
            }
        }
        if head.is_empty() {
            return Err(herald_core::ValidationError::new("file", "is empty").into());
        }
        let (mime, extension) = sniffed("file", &head)?;
        let key = format!("{}.{extension}", Uuid::now_v7());
        if !mime.starts_with("video/") {
            while let Some(piece) = pieces.next().await {
                let piece = piece?;
                if head.len() + piece.len() > MAX_BUFFERED_BYTES {
                    return Err(AppError::TooLarge(too_large(MAX_BUFFERED_BYTES as u64)));
                }
                head.extend_from_slice(&piece);
            }
            let (width, height) = image_size(&key, &head);
            let size = head.len() as u64;
            self.media.put(&key, Bytes::from(head)).await.map_err(AppError::internal)?;
            return Ok(StoredUpload { key, mime, size, width, height });
        }
        let mut received = 0u64;
        let limited = futures::stream::iter([Ok(Bytes::from(head))]).chain(pieces).map(move |piece| {
            let piece = piece?;
            received += piece.len() as u64;
            if received > MAX_MEDIA_BYTES {
                return Err(AppError::TooLarge(too_large(MAX_MEDIA_BYTES)));
            }
            Ok(piece)
        });
        match self.media.put_stream(&key, Box::pin(limited)).await {
            Ok(size) => Ok(StoredUpload { key, mime, size, width: None, height: None }),
            Err(herald_store::blobs::PutStreamError::Source(error)) => Err(error),
            Err(herald_store::blobs::PutStreamError::Store(error)) => Err(AppError::internal(error)),
        }
    }

    /// `POST /media`, second half: the stored file in the library, with its
    /// alt text (which a form may send after the file). On failure the file
    /// is deleted again.
    pub async fn record_upload(
        &self,
        caller: &Caller,
        stored: StoredUpload,
        alt_text: Option<String>,
    ) -> AppResult<MediaView> {
        let recorded = match check_alt_text(alt_text.as_deref()) {
            Ok(()) => self.insert_media(caller, &stored, alt_text).await,
            Err(error) => Err(error),
        };
        if recorded.is_err()
            && let Err(error) = self.media.delete(&stored.key).await
        {
            tracing::warn!(%error, key = stored.key, "an upload that was refused could not be deleted");
        }
        recorded
    }

    async fn insert_media(
        &self,
        caller: &Caller,
        stored: &StoredUpload,
        alt_text: Option<String>,
    ) -> AppResult<MediaView> {
        let row = Media(self.store.conn())
            .insert(MediaRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                created_by: Some(caller.user_id),
                storage_key: stored.key.clone(),
                mime: stored.mime.to_string(),
                size: i64::try_from(stored.size).unwrap_or(i64::MAX),
                width: stored.width,
                height: stored.height,
                alt_text: alt_text.filter(|alt| !alt.trim().is_empty()),
                created_at: self.now(),
            })
            .await?;
        tracing::info!(media_id = %row.id, mime = stored.mime, size = row.size, "media stored");
        Ok(self.media_view(&row))
    }

    /// Checks the type from the bytes, stores the file, records it.
    async fn store_media(
        &self,
        caller: &Caller,
        field: &str,
        bytes: Bytes,
        alt_text: Option<String>,
    ) -> AppResult<MediaView> {
        let (mime, extension) = sniffed(field, &bytes)?;
        let key = format!("{}.{extension}", Uuid::now_v7());
        let (width, height) = image_size(&key, &bytes);
        let size = bytes.len() as u64;
        self.media.put(&key, bytes).await.map_err(AppError::internal)?;
        self.record_upload(caller, StoredUpload { key, mime, size, width, height }, alt_text).await
    }

    /// `PATCH /media/{id}`: replaces the alt text (`None` or blank clears
    /// it). Media of another workspace answers "not found", like a missing one.
    pub async fn update_media_alt_text(
        &self,
        caller: &Caller,
        id: Uuid,
        alt_text: Option<String>,
    ) -> AppResult<MediaView> {
        caller.require(Scope::PostsWrite)?;
        check_alt_text(alt_text.as_deref())?;
        let alt_text = alt_text.filter(|alt| !alt.trim().is_empty());
        let row = Media(self.store.conn())
            .set_alt_text(caller.workspace_id, id, alt_text)
            .await?
            .ok_or(AppError::NotFound("media"))?;
        tracing::info!(media_id = %row.id, "alt text updated");
        Ok(self.media_view(&row))
    }

    pub fn media_view(&self, row: &MediaRow) -> MediaView {
        MediaView {
            id: row.id,
            url: public_media_url(&self.settings.main_url, &row.storage_key),
            mime: row.mime.clone(),
            size: row.size,
            alt_text: row.alt_text.clone(),
            created_at: row.created_at,
        }
    }

    /// `GET /media`: the workspace's media library, newest first.
    pub async fn list_media(&self, caller: &Caller, query: ListMediaQuery) -> AppResult<MediaPage> {
        caller.require(Scope::PostsRead)?;
        let mut errors = herald_core::ValidationErrors::default();
        let (limit, after) = parse_page(query.limit, query.cursor.as_deref(), &mut errors);
        errors.into_result()?;
        let after = after.map(|cursor| (cursor.created_at, cursor.id));
        let mut rows = Media(self.store.conn()).list(caller.workspace_id, after, limit + 1).await?;
        let next_cursor = cut_page(&mut rows, limit, |last| Cursor { created_at: last.created_at, id: last.id });
        Ok(MediaPage { media: rows.iter().map(|row| self.media_view(row)).collect(), next_cursor })
    }

    /// The caller's media among `ids`, in the order asked (the composer
    /// shows thumbnails of a post's attachments). Unknown ids are skipped.
    pub async fn media_by_ids(&self, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<MediaView>> {
        caller.require(Scope::PostsRead)?;
        let rows = Media(self.store.conn()).find_many(caller.workspace_id, ids).await?;
        Ok(ids.iter().filter_map(|id| rows.iter().find(|row| row.id == *id)).map(|row| self.media_view(row)).collect())
    }

    /// A stored file for `/uploads/{key}`, streamed, whole or the byte
    /// `range` asked for; `None` when there is no such file.
    pub async fn open_upload(&self, key: &str, range: Option<std::ops::Range<u64>>) -> Option<OpenUpload> {
        if !is_storage_key(key) {
            return None;
        }
        // The extension was given from the sniffed type when the file was stored.
        let mime = mime_of_key(key)?;
        match self.media.stream(key, range).await {
            Ok(Some((body, size))) => Some(OpenUpload { body, size, mime }),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, key, "reading an upload failed");
                None
            }
        }
    }

    /// The length of a stored file (to answer a range request).
    pub async fn upload_size(&self, key: &str) -> Option<u64> {
        if !is_storage_key(key) {
            return None;
        }
        self.media.size(key).await.ok().flatten()
    }
}

/// Where a stored file is served publicly.
pub fn public_media_url(main_url: &str, key: &str) -> String {
    format!("{}/uploads/{key}", main_url.trim_end_matches('/'))
}

/// A stored file being served.
pub struct OpenUpload {
    pub body: herald_store::blobs::BlobStream,
    /// The whole file's length.
    pub size: u64,
    pub mime: &'static str,
}

fn mime_of_key(key: &str) -> Option<&'static str> {
    Some(match key.rsplit('.').next()? {
        "png" => "image/png",
        "jpg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        _ => return None,
    })
}

/// A file in the media store, not yet in the library.
#[derive(Debug)]
pub struct StoredUpload {
    key: String,
    mime: &'static str,
    size: u64,
    width: Option<i32>,
    height: Option<i32>,
}

/// The type and extension of a file, from its first bytes.
fn sniffed(field: &str, head: &[u8]) -> AppResult<(&'static str, &'static str)> {
    match identify(head) {
        Sniffed::Supported { mime, extension } => Ok((mime, extension)),
        Sniffed::Unsupported(what) => {
            let message = format!("the file is {what}; Herald takes PNG, JPEG, GIF, WebP, MP4, MOV or WebM");
            Err(herald_core::ValidationError::new(field, message).into())
        }
        Sniffed::Unknown => {
            let message = "the file is not a PNG, JPEG, GIF, WebP, MP4, MOV or WebM";
            Err(herald_core::ValidationError::new(field, message).into())
        }
    }
}

pub fn too_large(limit: u64) -> String {
    format!("the file is larger than {} MB", limit / 1024 / 1024)
}

fn check_alt_text(alt_text: Option<&str>) -> AppResult<()> {
    if alt_text.is_some_and(|alt| alt.chars().count() > 1500) {
        return Err(herald_core::ValidationError::new("altText", "must be at most 1500 characters").into());
    }
    Ok(())
}

/// Pixel size of PNG, GIF and JPEG images, read from their headers
/// (thumbnails and platform limits want it; videos are left unknown).
fn image_size(key: &str, bytes: &[u8]) -> (Option<i32>, Option<i32>) {
    let le16 = |at: usize| bytes.get(at..at + 2).map(|b| i32::from(u16::from_le_bytes([b[0], b[1]])));
    let be32 = |at: usize| {
        bytes.get(at..at + 4).and_then(|b| i32::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok())
    };
    match key.rsplit('.').next() {
        Some("png") => (be32(16), be32(20)),
        Some("gif") => (le16(6), le16(8)),
        Some("jpg") => jpeg_size(bytes).map_or((None, None), |(w, h)| (Some(w), Some(h))),
        _ => (None, None),
    }
}

/// Walks the JPEG segments to the start-of-frame marker.
fn jpeg_size(bytes: &[u8]) -> Option<(i32, i32)> {
    let mut at = 2;
    while at + 9 < bytes.len() {
        if bytes[at] != 0xff {
            return None;
        }
        let marker = bytes[at + 1];
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        if matches!(marker, 0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf) {
            let height = i32::from(u16::from_be_bytes([bytes[at + 5], bytes[at + 6]]));
            let width = i32::from(u16::from_be_bytes([bytes[at + 7], bytes[at + 8]]));
            return Some((width, height));
        }
        at += 2 + length;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_sizes_come_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size("a.png", &png), (Some(640), Some(480)));
        assert_eq!(image_size("a.gif", b"GIF89a\x20\x03\x58\x02"), (Some(800), Some(600)));
        let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 17, 8, 0, 100, 0, 200, 3];
        assert_eq!(image_size("a.jpg", &jpeg), (Some(200), Some(100)));
        assert_eq!(image_size("a.mp4", b"whatever"), (None, None));
        assert_eq!(image_size("a.png", b"short"), (None, None));
    }

    #[test]
    fn storage_keys_cannot_escape_the_directory() {
        assert!(is_storage_key("01a21703-ad2b-7760-9476-a2a76bd4122a.png"));
        assert!(!is_storage_key("../secrets.toml"));
        assert!(!is_storage_key("01a21703-ad2b-7760-9476-a2a76bd4122a.png/../../x"));
        assert!(!is_storage_key("01a21703-ad2b-7760-9476-a2a76bd4122a.exe"));
    }
}
