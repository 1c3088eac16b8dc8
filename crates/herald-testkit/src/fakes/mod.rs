//! Fake platform servers for end-to-end tests, each written from the
//! platform's documentation: same paths, methods, auth headers, bodies,
//! status codes and error answers.

pub mod devto;
pub mod lemmy;
pub mod nostr_relay;
pub mod recording;
pub mod wordpress;
