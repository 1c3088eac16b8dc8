//! The shapes of the JSON columns, shared by the use cases that write them
//! and the engine that reads them, and the one way to read such a column:
//! [`decode`], which turns a value that does not fit into an error naming
//! the column and the row — never into a silent empty default.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{StoreError, StoreResult};

/// Reads the JSON column `column` (`"posts.thread"`) of the row `row`.
pub fn decode<T: DeserializeOwned>(value: &serde_json::Value, column: &'static str, row: Uuid) -> StoreResult<T> {
    T::deserialize(value).map_err(|error| StoreError::Corrupt { column, row, reason: error.to_string() })
}

/// Media attached to the first item, as stored in `posts.media`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredMedia {
    pub urls: Vec<String>,
    pub ids: Vec<Uuid>,
}

impl StoredMedia {
    /// The `media` column of the post `post_id`.
    pub fn of_post(value: &serde_json::Value, post_id: Uuid) -> StoreResult<Self> {
        decode(value, "posts.media", post_id)
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

/// The follow-up items of the post `post_id`, as stored in `posts.thread`.
pub fn thread_of(value: &serde_json::Value, post_id: Uuid) -> StoreResult<Vec<StoredThreadItem>> {
    decode(value, "posts.thread", post_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_that_does_not_fit_is_an_error_naming_the_row() {
        let row = Uuid::now_v7();
        let thread = thread_of(&serde_json::json!([{"content": "x", "mediaIds": []}]), row).unwrap();
        assert_eq!(thread[0].content, "x");
        let error = thread_of(&serde_json::json!({"not": "a list"}), row).unwrap_err();
        assert!(matches!(&error, StoreError::Corrupt { column: "posts.thread", row: r, .. } if *r == row), "{error}");
        assert!(error.to_string().contains(&row.to_string()), "{error}");
    }
}
