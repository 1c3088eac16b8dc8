//! Herald's domain: validated newtypes, the post/target state machine,
//! platform rules and scheduling math. No I/O lives here, so every rule is
//! unit-tested in the file that defines it and shared by every entry point
//! (REST, MCP, CLI, web UI).

pub mod account;
pub mod api_key;
pub mod clock;
pub mod compose;
pub mod event;
pub mod feed_template;
pub mod html;
pub mod integration;
pub mod mcp_auth;
pub mod media;
pub mod notice;
pub mod platform;
pub mod post;
pub mod recurrence;
pub mod redact;
pub mod retry;
pub mod schedule;
pub mod secret;
mod string_enum;
pub mod validation;
pub mod vault;

pub use validation::{ValidationError, ValidationErrors};
