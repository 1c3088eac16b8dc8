//! The post and post-target state machine.
//!
//! A post's status is not stored independently of its targets: it is derived
//! from them with [`aggregate_status`] every time a target changes, so the two
//! can never disagree.

use crate::string_enum::string_enum;

string_enum!(
    /// Aggregate status of a post (the seed's enum).
    PostStatus {
        Draft => "DRAFT",
        Scheduled => "SCHEDULED",
        Publishing => "PUBLISHING",
        Published => "PUBLISHED",
        Failed => "FAILED",
    }
);

string_enum!(
    /// Status of one (post, integration) delivery.
    TargetStatus {
        Queued => "QUEUED",
        Publishing => "PUBLISHING",
        Published => "PUBLISHED",
        Failed => "FAILED",
        Unconfirmed => "UNCONFIRMED",
        Cancelled => "CANCELLED",
    }
);

impl TargetStatus {
    /// No further delivery will happen for a target in this state.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Published | Self::Failed | Self::Unconfirmed | Self::Cancelled)
    }
}

string_enum!(
    /// What the author asked for: keep as a draft, publish at `scheduledFor`,
    /// or publish right away.
    PublishMode { Draft => "DRAFT", Scheduled => "SCHEDULED", Now => "NOW" }
);

string_enum!(
    /// Where a post stands in the approval workflow (DESIGN §11).
    ApprovalState { Requested => "REQUESTED", Approved => "APPROVED", Rejected => "REJECTED" }
);

string_enum!(
    /// Which entry point created a post.
    CreatedVia { Ui => "UI", Api => "API", Mcp => "MCP", Cli => "CLI", Import => "IMPORT", Feed => "FEED" }
);

/// A target as the aggregate rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct TargetState {
    pub status: TargetStatus,
    /// At least one delivery attempt was made (a queued target with attempts
    /// is waiting for a retry, so publishing has started).
    pub attempted: bool,
}

/// The post status that follows from its targets (DESIGN §3). Cancelled
/// targets do not count; a non-draft post without live targets is a draft.
pub fn aggregate_status(is_draft: bool, targets: &[TargetState]) -> PostStatus {
    if is_draft {
        return PostStatus::Draft;
    }
    let live: Vec<&TargetState> = targets.iter().filter(|t| t.status != TargetStatus::Cancelled).collect();
    if live.is_empty() {
        return PostStatus::Draft;
    }
    if live.iter().all(|t| t.status.is_final()) {
        return if live.iter().all(|t| t.status == TargetStatus::Published) {
            PostStatus::Published
        } else {
            PostStatus::Failed
        };
    }
    let started = live.iter().any(|t| t.attempted || t.status != TargetStatus::Queued);
    if started { PostStatus::Publishing } else { PostStatus::Scheduled }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetStatus::*;

    fn t(status: TargetStatus, attempted: bool) -> TargetState {
        TargetState { status, attempted }
    }

    #[test]
    fn drafts_stay_drafts() {
        assert_eq!(aggregate_status(true, &[t(Queued, false)]), PostStatus::Draft);
        assert_eq!(aggregate_status(false, &[]), PostStatus::Draft);
        assert_eq!(aggregate_status(false, &[t(Cancelled, false)]), PostStatus::Draft);
    }

    #[test]
    fn queued_targets_mean_scheduled_until_an_attempt() {
        assert_eq!(aggregate_status(false, &[t(Queued, false), t(Queued, false)]), PostStatus::Scheduled);
        assert_eq!(aggregate_status(false, &[t(Queued, true)]), PostStatus::Publishing);
        assert_eq!(aggregate_status(false, &[t(Publishing, true), t(Queued, false)]), PostStatus::Publishing);
        assert_eq!(aggregate_status(false, &[t(Published, true), t(Queued, false)]), PostStatus::Publishing);
    }

    #[test]
    fn finished_posts_are_published_only_when_every_target_is() {
        assert_eq!(aggregate_status(false, &[t(Published, true), t(Published, true)]), PostStatus::Published);
        assert_eq!(aggregate_status(false, &[t(Published, true), t(Failed, true)]), PostStatus::Failed);
        assert_eq!(aggregate_status(false, &[t(Published, true), t(Unconfirmed, true)]), PostStatus::Failed);
        assert_eq!(aggregate_status(false, &[t(Published, true), t(Cancelled, false)]), PostStatus::Published);
    }

    #[test]
    fn only_final_states_are_final() {
        assert!(!Queued.is_final());
        assert!(!Publishing.is_final());
        assert!(Unconfirmed.is_final());
    }
}
