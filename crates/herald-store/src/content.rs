//! The shapes of the JSON columns of `posts`, shared by the use cases that
//! write them and the engine that reads them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Media attached to the first item, as stored in `posts.media`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredMedia {
    pub urls: Vec<String>,
    pub ids: Vec<Uuid>,
}

impl StoredMedia {
    pub fn from_json(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }
}

/// A follow-up item, as stored in `posts.thread`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredThreadItem {
    pub content: String,
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    #[serde(default)]
    pub media_urls: Vec<String>,
}

/// The follow-up items of a post, as stored in `posts.thread`.
pub fn thread_of(value: &serde_json::Value) -> Vec<StoredThreadItem> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}
