#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! End-to-end tests of the REST API: the real server on a random port,
//! each test on a fresh SQLite database and (when configured) PostgreSQL.

mod accounts;
mod api_keys;
mod engine;
mod http;
mod integrations;
mod media;
mod posts;
mod provider_devto;
mod provider_lemmy;
mod provider_nostr;
mod provider_wordpress;
