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

/// Why [`Blobs::put_stream`] stored nothing.
#[derive(Debug)]
pub enum PutStreamError<E> {
    /// The pieces stopped coming (the client went away, a limit was passed).
    Source(E),
    Store(BlobError),
}

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

    /// Stores a file that arrives in pieces, holding only a few of them in
    /// memory at a time (S3 multipart upload; locally a temporary file
    /// renamed into place). Nothing is left behind when `pieces` fails.
    pub async fn put_stream<E: std::fmt::Display>(
        &self,
        key: &str,
        mut pieces: impl futures::Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> Result<u64, PutStreamError<E>> {
        use futures::StreamExt;
        let upload =
            self.store.put_multipart(&ObjectPath::from(key)).await.map_err(|e| PutStreamError::Store(e.into()))?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut size = 0u64;
        while let Some(piece) = pieces.next().await {
            let piece = match piece {
                Ok(piece) => piece,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(PutStreamError::Source(error));
                }
            };
            size += piece.len() as u64;
            // At most two parts in flight: memory stays bounded whatever the size.
            if let Err(error) = writer.wait_for_capacity(2).await {
                return Err(PutStreamError::Store(error.into()));
            }
            writer.put(piece);
        }
        writer.finish().await.map_err(|e| PutStreamError::Store(e.into()))?;
        Ok(size)
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
        Ok(self.size(key).await?.is_some())
    }

    /// A file's length, or `None` when there is no such key.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
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

        let pieces = futures::stream::iter((0..4u8).map(|i| Ok::<_, String>(Bytes::from(vec![i; 3 * 1024 * 1024]))));
        assert_eq!(blobs.put_stream("big.mp4", pieces).await.unwrap(), 12 * 1024 * 1024);
        assert_eq!(blobs.get_range("big.mp4", 3 * 1024 * 1024..3 * 1024 * 1024 + 2).await.unwrap().as_ref(), &[1, 1]);
        let (_, size) = blobs.stream("big.mp4", None).await.unwrap().unwrap();
        assert_eq!(size, 12 * 1024 * 1024);
        let failing = futures::stream::iter([Ok(Bytes::from_static(b"part")), Err("gone".to_string())]);
        assert!(matches!(blobs.put_stream("half.mp4", failing).await, Err(PutStreamError::Source(_))));
        assert!(!blobs.exists("half.mp4").await.unwrap());
        blobs.delete("a.png").await.unwrap();
        assert_eq!(blobs.get("a.png").await.unwrap(), None);
    }

    #[test]
    fn s3_urls_are_checked() {
        assert!(matches!(Blobs::s3("https://bucket"), Err(BlobError::Config(_))));
    }
}
