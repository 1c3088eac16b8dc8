//! What the layout around every page needs: title, navigation, the CSRF
//! token for its forms, the signed-in user and a one-line notice.

use herald_app::AppError;

use crate::assets;
use crate::session::Viewer;

pub struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub csrf: String,
    pub user_name: String,
    pub signed_in: bool,
    pub tz: String,
    pub notice: Option<&'static str>,
    pub asset_version: &'static str,
    /// (id, name, is current) of the person's workspaces.
    pub workspaces: Vec<(String, String, bool)>,
    pub unread: u64,
}

const NAV: &[(&str, &str, &str)] = &[
    ("/", "Dashboard", "dashboard"),
    ("/posts/new", "New post", "compose"),
    ("/calendar", "Calendar", "calendar"),
    ("/posts", "Posts", "posts"),
    ("/queue", "Queue", "queue"),
    ("/feeds", "Feeds", "feeds"),
    ("/approvals", "Approvals", "approvals"),
    ("/integrations", "Accounts", "integrations"),
    ("/analytics", "Analytics", "analytics"),
    ("/settings", "Settings", "settings"),
];

impl Chrome {
    pub fn new(viewer: &Viewer, nav: &'static str, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            nav,
            csrf: viewer.csrf.clone(),
            user_name: viewer.user.name.clone(),
            signed_in: true,
            tz: viewer.tz.name().to_string(),
            notice: None,
            asset_version: assets::version(),
            workspaces: viewer.workspaces.iter().map(|w| (w.id.to_string(), w.name.clone(), w.current)).collect(),
            unread: viewer.unread,
        }
    }

    pub fn anonymous(csrf: String, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            nav: "",
            csrf,
            user_name: String::new(),
            signed_in: false,
            tz: "UTC".into(),
            notice: None,
            asset_version: assets::version(),
            workspaces: Vec::new(),
            unread: 0,
        }
    }

    /// A notice named by `?notice=` after a redirect (fixed texts only: a
    /// link cannot make the page say anything else).
    pub fn with_notice(mut self, code: Option<&str>) -> Self {
        self.notice = code.and_then(notice_text);
        self
    }

    /// (href, label, is the current page)
    pub fn nav_items(&self) -> Vec<(&'static str, &'static str, bool)> {
        NAV.iter().map(|(href, label, key)| (*href, *label, *key == self.nav)).collect()
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed-out" => "You are signed out.",
        "signed-out-everywhere" => "You are signed out on every device.",
        "welcome" => "Welcome to Herald! Connect a first account to publish to.",
        "saved" => "Saved.",
        "draft" => "Draft saved.",
        "scheduled" => "Post scheduled.",
        "publishing" => "Publishing now — the status updates on its own.",
        "deleted" => "Deleted.",
        "connected" => "Account connected.",
        "password" => "Password changed.",
        "revoked" => "API key revoked.",
        "app-disconnected" => "App disconnected. Its open sessions end within seconds.",
        "moved" => "Post moved.",
        "user-created" => "User created.",
        "submitted" => "Submitted for approval.",
        "approved" => "Approved and scheduled.",
        "approved-all" => "All approved and scheduled.",
        "rejected" => "Sent back to its author.",
        "joined" => "You joined the workspace.",
        "switched" => "Workspace switched.",
        "role-changed" => "Role changed.",
        "member-removed" => "Member removed.",
        "left" => "You left the workspace.",
        "invite-revoked" => "Invite revoked.",
        "workspace-created" => "Workspace created.",
        "all-read" => "All caught up.",
        "redelivering" => "Queued to be sent again.",
        "shuffled" => "Queue shuffled.",
        "queued" => "Added to the queue.",
        "compacted" => "Gaps closed.",
        _ => return None,
    })
}

/// Field errors of a form, shown beside their fields.
#[derive(Default)]
pub struct FieldErrors {
    pub fields: Vec<(String, String)>,
    /// An error not about one field (wrong password, registration disabled…).
    pub general: Option<String>,
}

impl FieldErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// Errors whose field starts with `prefix` (e.g. `thread[1]`).
    pub fn under(&self, prefix: &str) -> Vec<&str> {
        self.fields.iter().filter(|(f, _)| f.starts_with(prefix)).map(|(_, m)| m.as_str()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    pub fn general(message: impl Into<String>) -> Self {
        Self { fields: Vec::new(), general: Some(message.into()) }
    }

    /// Splits a use-case error into field errors and a general message;
    /// `None` for errors a form cannot show (the caller turns them into a page).
    pub fn from_app(error: AppError) -> Result<Self, AppError> {
        match error {
            AppError::Validation { errors, message } => {
                let fields: Vec<(String, String)> = errors.into_iter().map(|e| (e.field, e.message)).collect();
                let general = fields.is_empty().then_some(message);
                Ok(Self { fields, general })
            }
            AppError::Conflict(message) | AppError::PlatformUnavailable(message) => Ok(Self::general(message)),
            AppError::Forbidden { message, .. } => Ok(Self::general(message)),
            other => Err(other),
        }
    }
}
