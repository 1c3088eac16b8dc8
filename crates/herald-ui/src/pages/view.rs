//! View models shared by several pages: posts and their targets as the
//! lists show them, with times already in the viewer's zone.

use chrono_tz::Tz;
use herald_app::views::{PostView, TargetView};
use herald_core::integration::IntegrationStatus;
use herald_core::post::{PostStatus, TargetStatus};

use crate::fmt;

pub struct PostItem {
    pub id: String,
    pub excerpt: String,
    pub status: PostStatus,
    pub status_label: &'static str,
    /// When it goes (or went) out, in the viewer's zone; empty for undated drafts.
    pub when: String,
    pub thread_len: usize,
    pub media_count: usize,
    pub editable: bool,
    pub error: Option<String>,
    pub targets: Vec<TargetItem>,
    /// "Waiting for approval", "Approved", "Sent back: <note>".
    pub approval: Option<String>,
}

pub struct TargetItem {
    /// `<post id>:<integration id>`: stable when a post is edited (its
    /// target rows are replaced), so live updates still find it.
    pub key: String,
    pub platform: String,
    pub name: String,
    pub status: TargetStatus,
    pub status_label: &'static str,
    pub url: Option<String>,
    pub error: Option<String>,
    /// What the platform is doing with it, e.g. "processing the video".
    pub processing: Option<String>,
}

/// How a status reads on the pages; its stored text (`{{ status }}`)
/// names its CSS class (`st-PUBLISHED`). Matches are exhaustive, so a new
/// status cannot go unlabelled.
pub trait StatusLabel {
    fn label(self) -> &'static str;
}

impl StatusLabel for PostStatus {
    fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Scheduled => "Scheduled",
            Self::Publishing => "Publishing",
            Self::Published => "Published",
            Self::Failed => "Failed",
        }
    }
}

impl StatusLabel for TargetStatus {
    fn label(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Publishing => "Publishing",
            Self::Published => "Published",
            Self::Failed => "Failed",
            Self::Unconfirmed => "Unconfirmed",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl StatusLabel for IntegrationStatus {
    fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::NeedsReconnect => "Needs reconnect",
            Self::Disabled => "Disabled",
        }
    }
}

/// The first line of a text, cut at a word near `max` characters.
pub fn excerpt(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if line.chars().count() <= max {
        return if line.is_empty() { "(no text)".into() } else { line.to_string() };
    }
    let cut: String = line.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head).to_string();
    format!("{cut}…")
}

impl TargetItem {
    pub fn from_view(post_id: uuid::Uuid, t: &TargetView) -> Self {
        Self {
            key: format!("{post_id}:{}", t.integration_id),
            platform: t.platform.clone(),
            name: t.integration_name.clone(),
            status: t.status,
            status_label: t.status.label(),
            url: t.url.clone(),
            error: t.last_error.as_ref().map(|e| e.message.clone()),
            processing: t.processing.as_ref().map(|p| {
                let platform = herald_core::platform::rules_for(&t.platform).map_or(t.platform.as_str(), |r| r.name);
                format!("{platform}: {}", p.stage)
            }),
        }
    }
}

impl PostItem {
    pub fn from_view(post: &PostView, tz: Tz) -> Self {
        let when = post.published_at.or(post.scheduled_for);
        let approval = post.approval.as_ref().map(|a| match a.state {
            herald_core::post::ApprovalState::Requested => "Waiting for approval".to_string(),
            herald_core::post::ApprovalState::Approved => "Approved".to_string(),
            herald_core::post::ApprovalState::Rejected => {
                format!("Sent back{}", a.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default())
            }
        });
        Self {
            approval,
            id: post.id.to_string(),
            excerpt: excerpt(&post.content, 110),
            status: post.status,
            status_label: post.status.label(),
            when: fmt::local_opt(when, tz),
            thread_len: post.thread.len(),
            media_count: post.media_ids.len() + post.media_urls.len(),
            editable: matches!(post.status, PostStatus::Draft | PostStatus::Scheduled),
            error: post.error_message.clone(),
            targets: post
                .targets
                .iter()
                .filter(|t| t.status != TargetStatus::Cancelled)
                .map(|t| TargetItem::from_view(post.id, t))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_at_a_word() {
        assert_eq!(excerpt("hello world", 20), "hello world");
        assert_eq!(excerpt("\n\nsecond line first", 50), "second line first");
        assert_eq!(excerpt("one two three four", 10), "one two…");
        assert_eq!(excerpt("", 10), "(no text)");
    }
}
