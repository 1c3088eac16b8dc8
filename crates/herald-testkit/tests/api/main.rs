#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! End-to-end tests of the REST API: the real server on a random port,
//! each test on a fresh SQLite database and (when configured) PostgreSQL.

mod accounts;
mod api_keys;
mod approvals;
mod browser;
mod duplicates;
mod email;
mod engagement;
mod engine;
mod feeds;
mod http;
mod integrations;
mod mcp_rpc;
mod media;
mod oauth_platforms;
mod posts;
mod provider_bluesky;
mod provider_devto;
mod provider_discord;
mod provider_facebook;
mod provider_gmb;
mod provider_instagram;
mod provider_lemmy;
mod provider_linkedin;
mod provider_mastodon;
mod provider_nostr;
mod provider_pinterest;
mod provider_reddit;
mod provider_slack;
mod provider_support;
mod provider_telegram;
mod provider_threads;
mod provider_tiktok;
mod provider_tumblr;
mod provider_wordpress;
mod provider_x;
mod provider_youtube;
mod queue;
mod recurring;
mod security;
mod teams;
mod ui;
mod ui_composer;
mod ui_team;
mod webhooks;
