//! The event log's vocabulary: what happened, and who did it. Events are
//! the audit trail and the source of live updates (SSE, MCP notifications).

use crate::string_enum::string_enum;

string_enum!(
    /// What an event records.
    EventKind {
        PostCreated => "post_created",
        PostUpdated => "post_updated",
        PostDeleted => "post_deleted",
        PostScheduled => "post_scheduled",
        /// One target was published.
        PostPublished => "post_published",
        /// Every target of the post is published.
        PostCompleted => "post_completed",
        PostRetrying => "post_retrying",
        PostFailed => "post_failed",
        PostUnconfirmed => "post_unconfirmed",
        IntegrationConnected => "integration_connected",
        IntegrationDeleted => "integration_deleted",
        IntegrationNeedsReconnect => "integration_needs_reconnect",
        /// The account's access ends soon and cannot be renewed (7 and 1 days ahead).
        IntegrationExpiring => "integration_expiring",
        /// A draft waits for someone who may publish to approve it.
        ApprovalRequested => "approval_requested",
        ApprovalApproved => "approval_approved",
        ApprovalRejected => "approval_rejected",
        /// Someone commented on a post: a team member, or a visitor of its
        /// preview page (who may approve it or ask for changes).
        PostCommented => "post_commented",
        MemberInvited => "member_invited",
        MemberJoined => "member_joined",
        MemberRoleChanged => "member_role_changed",
        MemberRemoved => "member_removed",
        InviteRevoked => "invite_revoked",
        WorkspaceCreated => "workspace_created",
        WorkspaceUpdated => "workspace_updated",
        /// An outbound webhook was turned off after failing again and again.
        WebhookDisabled => "webhook_disabled",
    }
);

string_enum!(
    /// Who caused an event.
    ActorType { User => "USER", ApiKey => "API_KEY", Mcp => "MCP", System => "SYSTEM" }
);
