//! Fake platforms for end-to-end tests, each written from the platform's
//! documentation: same paths, bodies, status codes and error answers.

pub mod bluesky;
pub mod lemmy;
pub mod mastodon;
pub mod nostr_relay;
mod recorded;

pub use recorded::{Part, Recorded};
