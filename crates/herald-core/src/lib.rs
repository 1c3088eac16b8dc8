//! Herald's domain: validated newtypes, the post/target state machine,
//! platform rules and scheduling math. No I/O lives here, so every rule is
//! unit-tested in the file that defines it and shared by every entry point
//! (REST, MCP, CLI, web UI).

pub mod account;
pub mod api_key;
pub mod compose;
pub mod platform;
pub mod post;
pub mod schedule;
pub mod validation;

pub use validation::{ValidationError, ValidationErrors};
