//! One repository per aggregate. Each wraps a borrowed connection or
//! transaction: `Users(store.conn())`, `Posts(&txn)`.

mod agencies;
mod api_keys;
mod engagement;
mod events;
mod feeds;
mod integrations;
mod invites;
mod mcp_auth;
mod media;
mod notifications;
mod oauth;
mod posts;
mod queue;
mod sessions;
mod sql;
mod users;
mod webhooks;

pub use agencies::{ConnectLinks, Customers, PostComments, PostSets, PreviewLinks, Signatures, Tags};
pub use api_keys::{ApiKeys, NewApiKeyRow};

/// `last_used_at` of keys and MCP clients is written at most this often,
/// so that using one does not turn every read request into a write.
const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);
pub use engagement::Engagement;
pub use events::{AuditFilter, Events, NewEvent};
pub use feeds::Feeds;
pub use integrations::{AccessEnd, Integrations};
pub use invites::{Invites, NewInvite};
pub use mcp_auth::{ACCESS as MCP_ACCESS, McpClients, McpCodes, McpTokens, REFRESH as MCP_REFRESH};
pub use media::Media;
pub use notifications::{JobCursors, NewEmail, NewNotification, Notifications, Outbox};
pub use oauth::{OAuthClients, OAuthStates, PendingConnections, oauth_client_id};
pub use posts::{DerivedStatus, InFlight, PostCursor, PostFilter, Posts, SentText, TargetWithIntegration};
pub use queue::{ClaimRequest, DueTarget, Queue};
pub use sessions::Sessions;
pub use users::{Member, Membership, NewUser, Standing, Users};
pub use webhooks::{
    FAILED as DELIVERY_FAILED, NewDelivery, PENDING as DELIVERY_PENDING, SUCCEEDED as DELIVERY_SUCCEEDED, Webhooks,
};
