//! Fake platforms for end-to-end tests, each written from the platform's
//! documentation: same paths, bodies, status codes and error answers.

pub mod lemmy;
pub mod nostr_relay;
