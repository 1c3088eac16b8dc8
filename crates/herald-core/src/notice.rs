//! What Herald tells people who are not looking: the bell's notifications
//! and e-mails, written from events. Pure text building — who receives
//! them and how they travel is the engine's business.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::WorkspaceRole;
use crate::event::EventKind;

/// One notification: a line, a sentence, and where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    /// A path of the web UI.
    pub link: String,
    pub topic: Topic,
}

/// The groups a person turns e-mails on or off by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    PostFailed,
    Integrations,
    Approvals,
}

/// A person's e-mail choices; everything is on until turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct EmailPreferences {
    /// A post failed or could not be confirmed.
    pub post_failed: bool,
    /// An account needs reconnecting or loses access soon.
    pub integrations: bool,
    /// Approval requested (for reviewers) and decided (for authors).
    pub approvals: bool,
}

impl Default for EmailPreferences {
    fn default() -> Self {
        Self { post_failed: true, integrations: true, approvals: true }
    }
}

impl EmailPreferences {
    pub fn wants(&self, topic: Topic) -> bool {
        match topic {
            Topic::PostFailed => self.post_failed,
            Topic::Integrations => self.integrations,
            Topic::Approvals => self.approvals,
        }
    }
}

/// The kinds of events that notify anyone.
pub const NOTIFYING: &[EventKind] = &[
    EventKind::PostFailed,
    EventKind::PostUnconfirmed,
    EventKind::IntegrationNeedsReconnect,
    EventKind::IntegrationExpiring,
    EventKind::ApprovalRequested,
    EventKind::ApprovalApproved,
    EventKind::ApprovalRejected,
    EventKind::PostCommented,
    EventKind::IntegrationConnected,
];

/// Who hears of an event: the workspace's owners (with editors, for what
/// they can act on), and the author of the post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Owners, and the post's author.
    OwnersAndAuthor,
    /// Owners and editors: they can reconnect accounts and approve posts.
    Managers,
    /// The author who asked for approval.
    Requester,
    /// Owners and editors, and the post's author: what a client says
    /// concerns who decides and who writes.
    ManagersAndAuthor,
}

pub fn audience(kind: EventKind) -> Option<Audience> {
    Some(match kind {
        EventKind::PostFailed | EventKind::PostUnconfirmed => Audience::OwnersAndAuthor,
        EventKind::IntegrationNeedsReconnect | EventKind::IntegrationExpiring | EventKind::ApprovalRequested => {
            Audience::Managers
        }
        EventKind::ApprovalApproved | EventKind::ApprovalRejected => Audience::Requester,
        EventKind::PostCommented => Audience::ManagersAndAuthor,
        // Only a client's own connection (through a connect link) notifies.
        EventKind::IntegrationConnected => Audience::Managers,
        _ => return None,
    })
}

pub fn is_manager(role: WorkspaceRole) -> bool {
    role.can_publish()
}

/// What the event says, for the people it concerns. `excerpt` is the start
/// of the post's text; `account` the integration's name.
pub fn notice(
    kind: EventKind,
    data: &serde_json::Value,
    post_id: Option<Uuid>,
    excerpt: &str,
    account: &str,
) -> Option<Notice> {
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let post_link = post_id.map_or_else(|| "/posts".to_string(), |id| format!("/posts/{id}/edit"));
    let platform = text("platform");
    let on = if account.is_empty() { platform.clone() } else { format!("{account} ({platform})") };
    Some(match kind {
        EventKind::PostFailed => Notice {
            title: format!("A post failed on {on}"),
            body: format!("“{excerpt}” was not published: {}", or(&text("error"), "the platform refused it")),
            link: post_link,
            topic: Topic::PostFailed,
        },
        EventKind::PostUnconfirmed => Notice {
            title: format!("A post may not have gone out on {on}"),
            body: format!(
                "Herald could not confirm whether “{excerpt}” was published ({}). Check the account before retrying.",
                or(&text("error"), "no answer")
            ),
            link: post_link,
            topic: Topic::PostFailed,
        },
        EventKind::IntegrationNeedsReconnect => Notice {
            title: format!("{on} needs reconnecting"),
            body: format!(
                "Herald can no longer publish there ({}). Reconnect it; its queued posts wait until then.",
                or(&text("reason"), "access was revoked")
            ),
            link: "/integrations".into(),
            topic: Topic::Integrations,
        },
        EventKind::IntegrationExpiring => Notice {
            title: format!("{} loses access soon", or(account, "An account")),
            body: or(&text("message"), "Its access ends soon and cannot be renewed: reconnect it."),
            link: "/integrations".into(),
            topic: Topic::Integrations,
        },
        EventKind::ApprovalRequested => Notice {
            title: "A post waits for approval".into(),
            body: format!("“{excerpt}” was submitted for approval."),
            link: "/approvals".into(),
            topic: Topic::Approvals,
        },
        EventKind::ApprovalApproved => Notice {
            title: "Your post was approved".into(),
            body: format!("“{excerpt}” is scheduled."),
            link: post_link,
            topic: Topic::Approvals,
        },
        EventKind::PostCommented => {
            let author = or(&text("author"), "Someone");
            let said = text("excerpt");
            let (title, body) = match text("verdict").as_str() {
                "REQUEST_CHANGES" => (format!("{author} asked for changes"), format!("On “{excerpt}”: {said}")),
                "APPROVE" => (format!("{author} approved a preview"), format!("“{excerpt}” looks right to them.")),
                _ => (format!("{author} commented"), format!("On “{excerpt}”: {said}")),
            };
            Notice { title, body, link: post_link, topic: Topic::Approvals }
        }
        EventKind::IntegrationConnected => {
            // Connections made by members are their own doing: no news.
            let customer = data.get("customer").and_then(|v| v.as_str())?;
            Notice {
                title: format!("{customer} connected {on}"),
                body: format!("{customer} connected an account through their connect link; it is ready to post to."),
                link: "/integrations".into(),
                topic: Topic::Integrations,
            }
        }
        EventKind::ApprovalRejected => {
            let note = data.pointer("/approval/note").and_then(|v| v.as_str()).unwrap_or_default();
            Notice {
                title: "Your post was sent back".into(),
                body: if note.is_empty() {
                    format!("“{excerpt}” was not approved.")
                } else {
                    format!("“{excerpt}” was not approved: {note}")
                },
                link: post_link,
                topic: Topic::Approvals,
            }
        }
        _ => return None,
    })
}

fn or(value: &str, fallback: &str) -> String {
    if value.is_empty() { fallback.to_string() } else { value.to_string() }
}

/// The start of a post's text, for a notice: one line, at most 80 characters.
pub fn excerpt(content: &str) -> String {
    let line = content.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 80 { line } else { format!("{}…", line.chars().take(79).collect::<String>()) }
}

/// An e-mail: subject, plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The e-mail of a notice.
pub fn email(notice: &Notice, workspace: &str, main_url: &str) -> Email {
    let url = format!("{}{}", main_url.trim_end_matches('/'), notice.link);
    let footer = "You receive this because of your Herald notification settings (Settings → E-mail notifications).";
    Email {
        subject: format!("[{workspace}] {}", notice.title),
        text: format!("{}\n\n{}\n\nOpen: {url}\n\n-- \n{footer}\n", notice.title, notice.body),
        html: html_page(
            &notice.title,
            &format!("<p>{}</p><p><a href=\"{}\">Open in Herald</a></p>", escape(&notice.body), escape(&url)),
            footer,
        ),
    }
}

/// The e-mail that carries an invite link.
pub fn invite(inviter: &str, workspace: &str, role: WorkspaceRole, url: &str, expires_at: DateTime<Utc>) -> Email {
    let role = role.as_str().to_lowercase();
    let until = expires_at.format("%Y-%m-%d %H:%M UTC");
    let title = format!("{inviter} invited you to {workspace} on Herald");
    let footer = "If you did not expect this invitation, ignore this e-mail.";
    Email {
        subject: title.clone(),
        text: format!(
            "{title}.\n\nYou would join as {role}. Accept the invitation (it works once, until {until}):\n{url}\n\n-- \n{footer}\n"
        ),
        html: html_page(
            &title,
            &format!(
                "<p>You would join as <strong>{}</strong>.</p><p><a href=\"{}\">Accept the invitation</a></p>\
                 <p>The link works once, until {until}.</p>",
                escape(&role),
                escape(url)
            ),
            footer,
        ),
    }
}

fn html_page(title: &str, body: &str, footer: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#1d2430\">\
         <h1 style=\"font-size:1.2em\">{}</h1>{body}<hr><p style=\"color:#667;font-size:.85em\">{}</p></body></html>",
        escape(title),
        escape(footer)
    )
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_the_account_and_the_error_and_escapes_html() {
        let data = serde_json::json!({ "platform": "x", "error": "<b>duplicate</b>" });
        let n = notice(EventKind::PostFailed, &data, Some(Uuid::nil()), "Hello", "Ada").unwrap();
        assert_eq!(n.title, "A post failed on Ada (x)");
        assert!(n.body.contains("<b>duplicate</b>"));
        let mail = email(&n, "Team", "https://h.example/");
        assert!(mail.text.contains("https://h.example/posts/00000000-0000-0000-0000-000000000000/edit"));
        assert!(mail.html.contains("&lt;b&gt;duplicate&lt;/b&gt;"));
        assert!(!mail.html.contains("<b>duplicate"));
        assert_eq!(mail.subject, "[Team] A post failed on Ada (x)");
    }

    #[test]
    fn only_workflow_events_notify_and_rejections_carry_the_note() {
        assert!(notice(EventKind::PostPublished, &serde_json::json!({}), None, "", "").is_none());
        let data = serde_json::json!({ "approval": { "note": "tone it down" } });
        let n = notice(EventKind::ApprovalRejected, &data, None, "Big news", "").unwrap();
        assert!(n.body.ends_with("tone it down"));
        assert_eq!(audience(EventKind::ApprovalRequested), Some(Audience::Managers));
        for kind in NOTIFYING {
            assert!(audience(*kind).is_some());
        }
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("a\n\nb"), "a b");
        assert_eq!(excerpt(&"é".repeat(100)).chars().count(), 80);
        let prefs: EmailPreferences = serde_json::from_value(serde_json::json!({ "approvals": false })).unwrap();
        assert!(prefs.post_failed && !prefs.wants(Topic::Approvals));
    }
}
