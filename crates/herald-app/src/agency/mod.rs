//! For agencies (issue #26, DESIGN §12): customers grouping the accounts,
//! links that let a client connect their own accounts, public preview
//! pages that take a client's comments into the approval queue,
//! signatures, saved sets of accounts, and coloured tags.

pub mod connect;
pub mod customers;
pub mod previews;
pub mod sets;
pub mod signatures;
pub mod tags;

use herald_core::account::DisplayName;
use herald_core::{ValidationError, ValidationErrors};

/// Comments, or connection attempts, one public link takes per hour.
pub const LINK_ACTIONS_PER_HOUR: u32 = 30;

/// A resource's name: 1–100 characters, no control characters.
fn name(field: &str, raw: &str) -> Result<String, ValidationError> {
    Ok(DisplayName::parse(field, raw)?.as_str().to_string())
}

/// Days a link lives: 1–90, 14 by default.
fn lifetime_days(field: &str, days: Option<i64>) -> Result<chrono::Duration, ValidationError> {
    match days.unwrap_or(14) {
        days @ 1..=90 => Ok(chrono::Duration::days(days)),
        other => Err(ValidationError::new(field, format!("must be 1 to 90 days (got {other})"))),
    }
}

/// Two checked fields, or the errors of both.
fn both<A, B>(a: Result<A, ValidationError>, b: Result<B, ValidationError>) -> Result<(A, B), ValidationErrors> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(ValidationErrors([a.err(), b.err()].into_iter().flatten().collect())),
    }
}
