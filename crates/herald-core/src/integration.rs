//! A connected social account's standing.

use crate::string_enum::string_enum;

string_enum!(
    /// Whether Herald may publish to an integration.
    IntegrationStatus {
        Active => "ACTIVE",
        /// Its access was revoked or expired for good: the user must
        /// connect it again; deliveries to it fail until then.
        NeedsReconnect => "NEEDS_RECONNECT",
        /// Turned off by the user: kept, but not offered for new posts.
        Disabled => "DISABLED",
    }
);

string_enum!(
    /// The statuses a user may set an integration to (`PATCH
    /// /integrations/{id}`); only reconnecting lifts `NEEDS_RECONNECT`.
    IntegrationSwitch { Active => "ACTIVE", Disabled => "DISABLED" }
);

impl From<IntegrationSwitch> for IntegrationStatus {
    fn from(switch: IntegrationSwitch) -> Self {
        match switch {
            IntegrationSwitch::Active => Self::Active,
            IntegrationSwitch::Disabled => Self::Disabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_is_the_status_of_the_same_name() {
        for switch in IntegrationSwitch::ALL {
            assert_eq!(IntegrationStatus::from(*switch).as_str(), switch.as_str());
        }
    }
}
