//! Media files, behind object_store: a directory on local disk by default
//! (under the data dir), or any S3-compatible bucket by configuration. The
//! database holds the metadata; this holds the bytes.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("media storage is misconfigured: {0}")]
    Config(String),
    #[error("media storage failed: {0}")]
    Io(#[from] object_store::Error),
}

/// The pieces of a file as the store reads them.
pub type BlobStream = futures::stream::BoxStream<'static, Result<Bytes, object_store::Error>>;

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// For logs and `herald doctor`: `local:<dir>` or the bucket URL.
    location: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("location", &self.location).finish()
    }
}

impl Blobs {
    /// Files under `dir`, created if missing.
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| BlobError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self { store: Arc::new(store), location: format!("local:{}", dir.display()) })
    }

    /// An S3-compatible bucket, `s3://bucket[/prefix]`; credentials, region
    /// and endpoint come from the usual `AWS_*` variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ENDPOINT` for MinIO, R2 and the like).
    pub fn s3(url: &str) -> Result<Self, BlobError> {
        let parsed = url::Url::parse(url).map_err(|_| BlobError::Config(format!("`{url}` is not a URL")))?;
        if parsed.scheme() != "s3" {
            return Err(BlobError::Config(format!("`{url}` must start with s3://")));
        }
        let store = AmazonS3Builder::from_env().with_url(url).build()?;
        let prefix = parsed.path().trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(store)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        Ok(Self { store, location: url.to_string() })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        // Local writes go to a temporary file renamed into place, so a
        // reader never sees half a file.
        self.store.put(&ObjectPath::from(key), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// The file, or `None` when there is no such key.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// The bytes of `range` (end exclusive) of a file: what chunked uploads
    /// read, so that no file is ever held in memory whole.
    pub async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes, BlobError> {
        Ok(self.store.get_range(&ObjectPath::from(key), range).await?)
    }

    /// A file as a stream of pieces and its length, or `None` when there
    /// is no such key: for serving a file of any size.
    pub async fn stream(
        &self,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Option<(BlobStream, u64)>, BlobError> {
        let options = object_store::GetOptions { range: range.map(Into::into), ..Default::default() };
        match self.store.get_opts(&ObjectPath::from(key), options).await {
            Ok(result) => {
                let size = result.meta.size;
                Ok(Some((result.into_stream(), size)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(&dir.path().join("uploads")).unwrap();
        assert_eq!(blobs.get("a.png").await.unwrap(), None);
        blobs.put("a.png", Bytes::from_static(b"png")).await.unwrap();
        assert_eq!(blobs.get("a.png").await.unwrap().as_deref(), Some(&b"png"[..]));
        assert!(dir.path().join("uploads/a.png").exists());
        blobs.delete("a.png").await.unwrap();
        blobs.delete("a.png").await.unwrap();
        assert_eq!(blobs.get("a.png").await.unwrap(), None);
    }

    #[test]
    fn s3_urls_are_checked() {
        assert!(matches!(Blobs::s3("https://bucket"), Err(BlobError::Config(_))));
    }
}
