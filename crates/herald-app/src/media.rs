//! Media: files fetched from a URL (uploads by form come with the web UI),
//! their type sniffed from the bytes, stored under the uploads directory
//! and served at `/uploads/{key}`.

use chrono::{DateTime, Utc};
use herald_core::api_key::Scope;
use herald_providers::TargetGuard;
use herald_store::repo::Media;
use herald_store::{MediaRow, now};
use serde::Serialize;
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

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

/// The type of a file from its first bytes; the extension it is stored with.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some(("image/png", "png")),
        [0xff, 0xd8, 0xff, ..] => Some(("image/jpeg", "jpg")),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(("image/gif", "gif")),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(("image/webp", "webp")),
        [0x1a, 0x45, 0xdf, 0xa3, ..] => Some(("video/webm", "webm")),
        [_, _, _, _, b'f', b't', b'y', b'p', b'q', b't', b' ', b' ', ..] => Some(("video/quicktime", "mov")),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some(("video/mp4", "mp4")),
        _ => None,
    }
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
        let guard = TargetGuard { allow_private: self.settings.allow_private_targets };
        let url = guard.check_url(url.trim()).map_err(invalid)?;
        if let Some(alt) = &alt_text
            && alt.chars().count() > 1500
        {
            return Err(herald_core::ValidationError::new("altText", "must be at most 1500 characters").into());
        }
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
                return Err(invalid(format!("the file is larger than {} MB", MAX_MEDIA_BYTES / 1024 / 1024)));
            }
            bytes.extend_from_slice(&chunk);
        }
        let (mime, extension) =
            sniff(&bytes).ok_or_else(|| invalid("the file is not a PNG, JPEG, GIF, WebP, MP4, MOV or WebM".into()))?;
        let id = Uuid::now_v7();
        let key = format!("{id}.{extension}");
        self.store_file(&key, &bytes).await?;
        let row = Media(self.store.conn())
            .insert(MediaRow {
                id,
                workspace_id: caller.workspace_id,
                created_by: Some(caller.user_id),
                storage_key: key,
                mime: mime.to_string(),
                size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                width: None,
                height: None,
                alt_text,
                created_at: now(),
            })
            .await?;
        tracing::info!(media_id = %row.id, mime, size = row.size, "media stored");
        Ok(self.media_view(&row))
    }

    /// Writes a file under the uploads directory, atomically.
    async fn store_file(&self, key: &str, bytes: &[u8]) -> AppResult<()> {
        let dir = &self.settings.uploads_dir;
        tokio::fs::create_dir_all(dir).await.map_err(AppError::internal)?;
        let partial = dir.join(format!(".{key}.part"));
        tokio::fs::write(&partial, bytes).await.map_err(AppError::internal)?;
        tokio::fs::rename(&partial, dir.join(key)).await.map_err(AppError::internal)
    }

    pub fn media_view(&self, row: &MediaRow) -> MediaView {
        MediaView {
            id: row.id,
            url: format!("{}/uploads/{}", self.settings.main_url.trim_end_matches('/'), row.storage_key),
            mime: row.mime.clone(),
            size: row.size,
            alt_text: row.alt_text.clone(),
            created_at: row.created_at,
        }
    }

    /// The caller's media among `ids`, in the order asked (the composer
    /// shows thumbnails of a post's attachments). Unknown ids are skipped.
    pub async fn media_by_ids(&self, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<MediaView>> {
        caller.require(Scope::PostsRead)?;
        let rows = Media(self.store.conn()).find_many(caller.workspace_id, ids).await?;
        Ok(ids.iter().filter_map(|id| rows.iter().find(|row| row.id == *id)).map(|row| self.media_view(row)).collect())
    }

    /// The bytes and type of a stored file, for `/uploads/{key}`.
    pub async fn read_upload(&self, key: &str) -> Option<(Vec<u8>, &'static str)> {
        if !is_storage_key(key) {
            return None;
        }
        let bytes = tokio::fs::read(self.settings.uploads_dir.join(key)).await.ok()?;
        let (mime, _) = sniff(&bytes)?;
        Some((bytes, mime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(("image/png", "png")));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some(("image/jpeg", "jpg")));
        assert_eq!(sniff(b"GIF89a.."), Some(("image/gif", "gif")));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(("image/webp", "webp")));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42"), Some(("video/mp4", "mp4")));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  "), Some(("video/quicktime", "mov")));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn storage_keys_cannot_escape_the_directory() {
        assert!(is_storage_key("01a21703-ad2b-7760-9476-a2a76bd4122a.png"));
        assert!(!is_storage_key("../secrets.toml"));
        assert!(!is_storage_key("01a21703-ad2b-7760-9476-a2a76bd4122a.png/../../x"));
        assert!(!is_storage_key("01a21703-ad2b-7760-9476-a2a76bd4122a.exe"));
    }
}
