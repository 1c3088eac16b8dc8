//! Fake platform servers for end-to-end tests, each written from the
//! platform's documentation.

pub mod bluesky;
pub mod mastodon;
mod recorded;

pub use recorded::{Part, Recorded};
