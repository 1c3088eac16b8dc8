//! `/`: what goes out next, what just went out, and what needs a hand.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use herald_app::posts::ListPostsQuery;
use herald_app::views::PostView;
use herald_core::integration::IntegrationStatus;
use herald_core::post::{PostStatus, TargetStatus};

use crate::UiState;
use crate::chrome::Chrome;
use crate::error::UiResult;
use crate::pages::Notice;
use crate::pages::view::{PostItem, excerpt};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new().route("/", get(dashboard))
}

/// One thing to fix, with the action that fixes it.
pub struct Attention {
    pub what: String,
    pub detail: String,
    pub action_href: String,
    pub action_label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    upcoming: Vec<PostItem>,
    recent: Vec<PostItem>,
    attention: Vec<Attention>,
    integrations: usize,
}

async fn list(state: &UiState, viewer: &Viewer, status: PostStatus, limit: u64) -> UiResult<Vec<PostView>> {
    let query = ListPostsQuery { status: Some(status.as_str().into()), limit: Some(limit), ..Default::default() };
    Ok(state.app.list_posts(&viewer.caller, query).await?.posts)
}

async fn dashboard(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(notice): Query<Notice>,
) -> UiResult<DashboardPage> {
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let mut upcoming = list(&state, &viewer, PostStatus::Publishing, 20).await?;
    upcoming.extend(list(&state, &viewer, PostStatus::Scheduled, 100).await?);
    upcoming.sort_by_key(|p| p.scheduled_for);
    let failed = list(&state, &viewer, PostStatus::Failed, 20).await?;
    let mut recent = list(&state, &viewer, PostStatus::Published, 10).await?;
    recent.extend(failed.iter().cloned());
    recent.sort_by_key(|p| std::cmp::Reverse(p.published_at.or(p.scheduled_for).unwrap_or(p.updated_at)));

    let mut attention: Vec<Attention> = integrations
        .iter()
        .filter(|i| i.status == IntegrationStatus::NeedsReconnect)
        .map(|i| Attention {
            what: format!("{} ({}) needs reconnecting", i.name, i.platform),
            detail: "Its credentials stopped working; nothing is published to it until you reconnect.".into(),
            action_href: format!("/integrations#integration-{}", i.id),
            action_label: "Reconnect",
        })
        .collect();
    for post in &failed {
        for target in
            post.targets.iter().filter(|t| matches!(t.status, TargetStatus::Failed | TargetStatus::Unconfirmed))
        {
            let unconfirmed = target.status == TargetStatus::Unconfirmed;
            attention.push(Attention {
                what: format!(
                    "“{}” {} on {}",
                    excerpt(&post.content, 60),
                    if unconfirmed { "may not have been published" } else { "failed" },
                    target.integration_name
                ),
                detail: match (&target.last_error, unconfirmed) {
                    (_, true) => {
                        "Herald lost track while publishing. Check the account; if the post is missing, send it again."
                            .into()
                    }
                    (Some(error), false) => error.message.clone(),
                    (None, false) => "The platform refused it.".into(),
                },
                action_href: format!("/posts/new?from={}", post.id),
                action_label: "Fix and send again",
            });
        }
    }

    Ok(DashboardPage {
        c: Chrome::new(&viewer, "dashboard", "Dashboard").with_notice(notice.notice.as_deref()),
        upcoming: upcoming.iter().take(8).map(|p| PostItem::from_view(p, viewer.tz)).collect(),
        recent: recent.iter().take(8).map(|p| PostItem::from_view(p, viewer.tz)).collect(),
        attention,
        integrations: integrations.len(),
    })
}
