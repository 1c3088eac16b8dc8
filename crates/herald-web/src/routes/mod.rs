//! The REST API, one module per resource. Each exports `routes()`.

pub mod activity;
pub mod agency;
pub mod ai;
pub mod analytics;
pub mod api_keys;
pub mod auth;
pub mod channel_feeds;
pub mod connected_apps;
pub mod connections;
pub mod docs;
pub mod events;
pub mod feeds;
pub mod health;
pub mod integrations;
pub mod media;
pub mod platforms;
pub mod postiz;
pub mod posts;
pub mod queue;
pub mod teams;
pub mod transfer;
pub mod uploads;
pub mod webhooks;
