//! sea-orm entities, one per table. Repositories (`crate::repo`) are the
//! only users; the rest of Herald sees the `Model` structs as plain rows.

pub mod api_key;
pub mod connect_link;
pub mod customer;
pub mod email_outbox;
pub mod event;
pub mod feed;
pub mod feed_item;
pub mod integration;
pub mod invite;
pub mod job_cursor;
pub mod mcp_client;
pub mod mcp_code;
pub mod mcp_token;
pub mod media;
pub mod notification;
pub mod oauth_client;
pub mod oauth_pending;
pub mod oauth_state;
pub mod post;
pub mod post_comment;
pub mod post_set;
pub mod post_target;
pub mod preview_link;
pub mod session;
pub mod signature;
pub mod tag;
pub mod target_metric;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
pub mod workspace;
pub mod workspace_member;
