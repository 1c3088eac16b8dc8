//! `/posts`: every post with its per-account status, errors and links;
//! search, filters, and bulk deletion of drafts.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::posts::ListPostsQuery;
use herald_core::post::PostStatus;
use serde::Deserialize;
use uuid::Uuid;

use crate::UiState;
use crate::chrome::Chrome;
use crate::error::{UiId, UiResult};
use crate::pages::see_other;
use crate::pages::view::PostItem;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/posts", get(list))
        .route("/posts/delete", post(bulk_delete))
        .route("/posts/{id}/delete", post(delete_one))
        .route("/posts/{id}/publish", post(publish_now))
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    q: Option<String>,
    status: Option<String>,
    integration: Option<String>,
    customer: Option<String>,
    tag: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/posts.html")]
struct PostsPage {
    c: Chrome,
    posts: Vec<PostItem>,
    q: String,
    statuses: Vec<Choice>,
    integrations: Vec<Choice>,
    customers: Vec<Choice>,
    tags: Vec<Choice>,
    next_url: Option<String>,
    has_drafts: bool,
}

/// The status filter's choices, in the order a post goes through them.
const STATUSES: &[(PostStatus, &str)] = &[
    (PostStatus::Draft, "Drafts"),
    (PostStatus::Scheduled, "Scheduled"),
    (PostStatus::Publishing, "Publishing"),
    (PostStatus::Published, "Published"),
    (PostStatus::Failed, "Failed"),
];

async fn list(State(state): State<UiState>, viewer: Viewer, Query(filters): Query<Filters>) -> UiResult<PostsPage> {
    let status = filters.status.clone().filter(|s| !s.is_empty());
    let integration = filters.integration.clone().filter(|s| !s.is_empty());
    let customer = filters.customer.clone().filter(|s| !s.is_empty());
    let tag = filters.tag.clone().filter(|s| !s.is_empty());
    let query = ListPostsQuery {
        status: status.clone(),
        integration: integration.clone(),
        customer: customer.clone(),
        tag: tag.clone(),
        cursor: filters.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(50),
        ..Default::default()
    };
    let page = state.app.list_posts(&viewer.caller, query).await?;
    let q = filters.q.clone().unwrap_or_default();
    let needle = q.trim().to_lowercase();
    let posts: Vec<PostItem> = page
        .posts
        .iter()
        .filter(|p| {
            needle.is_empty()
                || p.content.to_lowercase().contains(&needle)
                || p.thread.iter().any(|t| t.content.to_lowercase().contains(&needle))
                || p.tags.iter().any(|t| t.to_lowercase().contains(&needle))
        })
        .map(|p| PostItem::from_view(p, viewer.tz))
        .collect();
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let customers = state.app.list_customers(&viewer.caller).await?;
    let tags = state.app.list_tags(&viewer.caller).await?;
    let next_url = page.next_cursor.map(|cursor| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("q", &q).append_pair("status", status.as_deref().unwrap_or(""));
        url.append_pair("integration", integration.as_deref().unwrap_or(""));
        url.append_pair("customer", customer.as_deref().unwrap_or("")).append_pair("tag", tag.as_deref().unwrap_or(""));
        url.append_pair("cursor", &cursor);
        format!("/posts?{}", url.finish())
    });
    Ok(PostsPage {
        c: Chrome::new(&viewer, "posts", "Posts").with_notice(filters.notice.as_deref()),
        has_drafts: posts.iter().any(|p| p.status == PostStatus::Draft),
        posts,
        q,
        statuses: std::iter::once(Choice {
            value: String::new(),
            label: "Any status".into(),
            selected: status.is_none(),
        })
        .chain(STATUSES.iter().map(|(value, label)| Choice {
            value: value.as_str().into(),
            label: (*label).into(),
            selected: status.as_deref() == Some(value.as_str()),
        }))
        .collect(),
        integrations: std::iter::once(Choice { value: String::new(), label: "Any account".into(), selected: false })
            .chain(integrations.iter().map(|i| Choice {
                value: i.id.to_string(),
                label: format!("{} ({})", i.name, i.platform),
                selected: integration.as_deref() == Some(i.id.to_string().as_str()),
            }))
            .collect(),
        customers: std::iter::once(Choice { value: String::new(), label: "Any customer".into(), selected: false })
            .chain(customers.iter().map(|c| Choice {
                value: c.id.to_string(),
                label: c.name.clone(),
                selected: customer.as_deref() == Some(c.id.to_string().as_str()),
            }))
            .collect(),
        tags: std::iter::once(Choice { value: String::new(), label: "Any tag".into(), selected: false })
            .chain(tags.iter().map(|t| Choice {
                value: t.name.clone(),
                label: t.name.clone(),
                selected: tag.as_deref() == Some(t.name.as_str()),
            }))
            .collect(),
        next_url,
    })
}

async fn bulk_delete(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let ids: Vec<Uuid> =
        pairs.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| Uuid::parse_str(v).ok()).collect();
    for id in ids {
        // Bulk deletion is for drafts only: scheduled posts are deleted one by one, on purpose.
        let post = state.app.get_post(&viewer.caller, id).await?;
        if post.status == PostStatus::Draft {
            state.app.delete_post(&viewer.caller, id).await?;
        }
    }
    Ok(see_other("/posts?notice=deleted"))
}

async fn delete_one(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    state.app.delete_post(&viewer.caller, id).await?;
    Ok(see_other("/posts?notice=deleted"))
}

async fn publish_now(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    state.app.publish_post_now(&viewer.caller, id).await?;
    Ok(see_other("/posts?notice=publishing"))
}
