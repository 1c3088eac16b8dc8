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

/// Largest file accepted (a short video).
pub const MAX_MEDIA_BYTES: usize = 50 * 1024 * 1024;

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
            if bytes.len() + chunk.len() > MAX_MEDIA_BYTES {
                return Err(invalid(too_large()));
            }
            bytes.extend_from_slice(&chunk);
        }
        self.store_media(caller, "url", Bytes::from(bytes), alt_text).await
    }

    /// `POST /media` (multipart): a file sent by the user.
    pub async fn upload_media(&self, caller: &Caller, bytes: Bytes, alt_text: Option<String>) -> AppResult<MediaView> {
        caller.require(Scope::PostsWrite)?;
        check_alt_text(alt_text.as_deref())?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(herald_core::ValidationError::new("file", too_large()).into());
        }
        if bytes.is_empty() {
            return Err(herald_core::ValidationError::new("file", "is empty").into());
        }
        self.store_media(caller, "file", bytes, alt_text).await
    }

    /// Checks the type from the bytes, stores the file, records it.
    async fn store_media(
        &self,
        caller: &Caller,
        field: &str,
        bytes: Bytes,
        alt_text: Option<String>,
    ) -> AppResult<MediaView> {
        let (mime, extension) = match identify(&bytes) {
            Sniffed::Supported { mime, extension } => (mime, extension),
            Sniffed::Unsupported(what) => {
                let message = format!("the file is {what}; Herald takes PNG, JPEG, GIF, WebP, MP4, MOV or WebM");
                return Err(herald_core::ValidationError::new(field, message).into());
            }
            Sniffed::Unknown => {
                let message = "the file is not a PNG, JPEG, GIF, WebP, MP4, MOV or WebM";
                return Err(herald_core::ValidationError::new(field, message).into());
            }
        };
        let id = Uuid::now_v7();
        let key = format!("{id}.{extension}");
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let (width, height) = image_size(&key, &bytes);
        self.media.put(&key, bytes).await.map_err(AppError::internal)?;
        let row = Media(self.store.conn())
            .insert(MediaRow {
                id,
                workspace_id: caller.workspace_id,
                created_by: Some(caller.user_id),
                storage_key: key,
                mime: mime.to_string(),
                size,
                width,
                height,
                alt_text: alt_text.filter(|alt| !alt.trim().is_empty()),
                created_at: self.now(),
            })
            .await?;
        tracing::info!(media_id = %row.id, mime, size = row.size, "media stored");
        Ok(self.media_view(&row))
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

    /// The bytes and type of a stored file, for `/uploads/{key}`.
    pub async fn read_upload(&self, key: &str) -> Option<(Bytes, &'static str)> {
        if !is_storage_key(key) {
            return None;
        }
        let bytes = match self.media.get(key).await {
            Ok(bytes) => bytes?,
            Err(error) => {
                tracing::error!(%error, key, "reading an upload failed");
                return None;
            }
        };
        let (mime, _) = sniff(&bytes)?;
        Some((bytes, mime))
    }
}

/// Where a stored file is served publicly.
pub fn public_media_url(main_url: &str, key: &str) -> String {
    format!("{}/uploads/{key}", main_url.trim_end_matches('/'))
}

fn too_large() -> String {
    format!("the file is larger than {} MB", MAX_MEDIA_BYTES / 1024 / 1024)
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
