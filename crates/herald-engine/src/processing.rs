//! A target whose platform is still processing an item (a container, an
//! upload session, a publish id). The provider's handle is stored on the
//! target before the worker lets go of it, so whoever claims it next —
//! this process after the wait, or another after a crash — continues from
//! the handle and never starts a second container.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Longest a platform may take to process an item before Herald gives up
/// (Instagram and Threads containers expire after 24 hours).
pub(crate) const MAX_PROCESSING: Duration = Duration::from_secs(24 * 60 * 60);

/// Waits this short are spent holding the lease (the handle is saved
/// first): a text container is usually ready within a second.
pub(crate) const WAIT_IN_CLAIM: Duration = Duration::from_secs(3);

/// At most this many such short waits per claim, then the lease is released.
pub(crate) const WAITS_PER_CLAIM: u32 = 5;

/// `post_targets.pending`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Processing {
    /// Which item of the thread (0: the post itself).
    pub item: usize,
    /// What the provider answered; `null` when a crash interrupted the item
    /// before the provider had one.
    pub handle: Value,
    /// For people: what the platform is doing.
    pub stage: String,
    /// When the platform took the item.
    pub since: DateTime<Utc>,
    /// How many times the platform was asked.
    pub polls: u32,
    /// A delivery of the item stopped mid-call: the provider must look on
    /// the platform before it sends anything.
    #[serde(default)]
    pub interrupted: bool,
}

impl Processing {
    /// The stored state, if any; an unreadable one is an error, since
    /// ignoring it could start a second container.
    pub(crate) fn read(stored: Option<&Value>) -> Result<Option<Self>, serde_json::Error> {
        match stored {
            None | Some(Value::Null) => Ok(None),
            Some(value) => Self::deserialize(value).map(Some),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The handle to continue from, when there is one.
    pub(crate) fn handle(&self) -> Option<Value> {
        (!self.handle.is_null()).then(|| self.handle.clone())
    }
}

/// The target's processing state marked interrupted: the stored handle
/// kept, or (none stored) the item the delivery stopped at, so that the
/// provider looks on the platform before it sends anything.
pub(crate) fn interrupted(target: &herald_store::TargetRow, now: DateTime<Utc>) -> Value {
    let stored = Processing::read(target.pending.as_ref()).ok().flatten();
    let state = match stored {
        Some(processing) => Processing { interrupted: true, ..processing },
        None => Processing {
            item: herald_store::content::decode::<Vec<String>>(
                &target.platform_post_ids,
                "post_targets.platform_post_ids",
                target.id,
            )
            .map_or(0, |done| done.len()),
            handle: Value::Null,
            stage: "checking whether it arrived".into(),
            since: now,
            polls: 0,
            interrupted: true,
        },
    };
    state.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_stored_state_round_trips_and_a_broken_one_is_an_error() {
        let state = Processing {
            item: 1,
            handle: json!({"container": "17"}),
            stage: "processing video".into(),
            since: DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").unwrap().to_utc(),
            polls: 3,
            interrupted: false,
        };
        assert_eq!(Processing::read(Some(&state.to_json())).unwrap(), Some(state.clone()));
        assert_eq!(state.handle(), Some(json!({"container": "17"})));
        assert_eq!(Processing::read(None).unwrap(), None);
        assert_eq!(Processing::read(Some(&Value::Null)).unwrap(), None);
        assert!(Processing::read(Some(&json!({"item": "x"}))).is_err());
        let crashed = Processing { handle: Value::Null, ..state };
        assert_eq!(crashed.handle(), None);
    }
}
