//! The id of the request being handled, set by the HTTP layer for the
//! whole request, so that every entry point's error bodies (REST, MCP over
//! HTTP) can quote it.

tokio::task_local! {
    pub static REQUEST_ID: String;
}

/// The current request's id; empty outside a request.
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}
