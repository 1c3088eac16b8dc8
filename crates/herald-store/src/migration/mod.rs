//! The one migration set, for SQLite and PostgreSQL alike. sea-query turns
//! each column type into the backend's native type: `uuid`, `timestamptz`
//! and `jsonb` on PostgreSQL; text/blob affinities on SQLite.
//!
//! Migrations are forward-only: a released migration is never edited, a
//! change is a new file.

use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_target_metrics;
mod m20261126_000003_queue_claim_order;
mod m20261204_000001_sessions;
mod m20261204_000002_integration_profile_pending;
mod m20261205_000001_oauth;
mod m20261205_000002_access_ends;
mod m20261205_000003_pending_steps;
mod m20261206_000001_teams;
mod m20261206_000002_webhooks;
mod m20261207_000001_automation;
mod m20261208_000001_mcp_auth;
mod m20261209_000001_posts_published_index;
mod m20261210_000001_target_content_key;
mod m20261211_000001_post_groups;
mod m20261212_000001_agencies;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_target_metrics::Migration),
            Box::new(m20261126_000003_queue_claim_order::Migration),
            Box::new(m20261204_000001_sessions::Migration),
            Box::new(m20261204_000002_integration_profile_pending::Migration),
            Box::new(m20261205_000001_oauth::Migration),
            Box::new(m20261205_000002_access_ends::Migration),
            Box::new(m20261205_000003_pending_steps::Migration),
            Box::new(m20261206_000001_teams::Migration),
            Box::new(m20261206_000002_webhooks::Migration),
            Box::new(m20261207_000001_automation::Migration),
            Box::new(m20261208_000001_mcp_auth::Migration),
            Box::new(m20261209_000001_posts_published_index::Migration),
            Box::new(m20261210_000001_target_content_key::Migration),
            Box::new(m20261211_000001_post_groups::Migration),
            Box::new(m20261212_000001_agencies::Migration),
        ]
    }
}
