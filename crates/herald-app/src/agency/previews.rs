//! Preview links and comments. A team member makes an unguessable,
//! expiring, revocable link to one post; whoever opens it sees that post as
//! each of its platforms will show it — and nothing else of the workspace —
//! and, giving a name, comments, approves, or asks for changes.
//!
//! Better than a comment box: a client's verdict is part of the approval
//! workflow. "Request changes" on a post waiting for approval blocks its
//! approval until the post is edited (the client then looks again) or the
//! client approves after all; every verdict is on the post
//! (`approval.clientVerdict`) and in the approval queue.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::ValidationError;
use herald_core::api_key::Scope;
use herald_core::event::{ActorType, EventKind};
use herald_core::post::ApprovalState;
use herald_store::repo::{Events, Integrations, Media, NewEvent, PostComments, Posts, PreviewLinks, Users};
use herald_store::{PostCommentRow, PostRow, PreviewLinkRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::posts::{ApprovalView, approval_of};
use crate::views::PostView;

const MAX_COMMENT_CHARS: usize = 5000;

/// What a comment says about the post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Just a remark.
    Comment,
    /// The client is happy with it as it is.
    Approve,
    /// The client wants it changed: a post waiting for approval cannot be
    /// approved until it is edited.
    RequestChanges,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Comment => "COMMENT",
            Self::Approve => "APPROVE",
            Self::RequestChanges => "REQUEST_CHANGES",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Comment, Self::Approve, Self::RequestChanges].into_iter().find(|v| v.as_str() == raw)
    }
}

/// A client's latest verdict on a post waiting for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientVerdict {
    /// `APPROVE` or `REQUEST_CHANGES`.
    pub verdict: Verdict,
    /// The name the visitor gave.
    pub by: String,
    pub at: DateTime<Utc>,
    pub comment_id: Uuid,
}

/// `POST /posts/{id}/preview-links`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePreviewLinkInput {
    /// 1–90 days (default 14).
    #[schema(minimum = 1, maximum = 90)]
    #[serde(default, deserialize_with = "crate::schema::whole::option")]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewLinkView {
    pub id: Uuid,
    pub post_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Neither expired nor revoked.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A new link: its URL is shown once (only its hash is kept).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPreviewLinkView {
    /// `{MAIN_URL}/p/{token}`: no sign-in needed.
    pub url: String,
    #[serde(flatten)]
    pub link: PreviewLinkView,
}

/// `POST /p/{token}/comments`: a visitor, who gives a name.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentInput {
    /// The visitor's name (1–100 characters).
    pub name: Option<String>,
    /// 1–5000 characters of plain text (may be empty to approve).
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub body: String,
    /// `COMMENT` (default), `APPROVE` or `REQUEST_CHANGES`.
    pub verdict: Option<Verdict>,
}

/// `POST /posts/{id}/comments`: a team member's remark (they approve or
/// reject through the workflow itself).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamCommentInput {
    /// 1–5000 characters of plain text.
    #[schema(min_length = 1, max_length = 5000, pattern = r"^[^\x00]*\S[^\x00]*$")]
    pub body: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    pub id: Uuid,
    pub post_id: Uuid,
    /// The visitor's name, or the team member's.
    pub author: String,
    /// Left on a preview page (not by a signed-in member).
    pub from_preview: bool,
    pub body: String,
    pub verdict: Verdict,
    pub created_at: DateTime<Utc>,
}

/// One platform's look of the post, as the composer draws it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformPreview {
    pub platform: String,
    pub platform_name: String,
    pub account: PreviewAccount,
    pub text: String,
    pub media: Vec<PreviewMedia>,
    pub replies: Vec<PreviewReply>,
    pub settings: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewAccount {
    pub name: String,
    pub handle: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewMedia {
    /// Same-origin `/uploads/…` for uploads; outside URLs as given.
    pub url: String,
    pub mime: String,
    pub alt_text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewReply {
    pub text: String,
    pub media: Vec<PreviewMedia>,
}

/// What the public page shows: the one post, and its comments.
#[derive(Debug, Clone)]
pub struct PreviewPage {
    pub content: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The post's status in words a client understands.
    pub state: &'static str,
    pub previews: Vec<PlatformPreview>,
    pub comments: Vec<CommentView>,
    pub client_verdict: Option<ClientVerdict>,
    pub expires_at: DateTime<Utc>,
}

fn link_view(row: &PreviewLinkRow, now: DateTime<Utc>) -> PreviewLinkView {
    PreviewLinkView {
        id: row.id,
        post_id: row.post_id,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        active: row.revoked_at.is_none() && row.expires_at > now,
        created_at: row.created_at,
    }
}

fn comment_view(row: PostCommentRow) -> CommentView {
    CommentView {
        id: row.id,
        post_id: row.post_id,
        author: row.author_name,
        from_preview: row.preview_link_id.is_some(),
        body: row.body,
        verdict: Verdict::parse(&row.verdict).unwrap_or(Verdict::Comment),
        created_at: row.created_at,
    }
}

/// Checks a comment: the body as plain text (it is only ever shown
/// escaped), required unless approving.
fn comment_body(input: &CommentInput) -> Result<(String, Verdict), ValidationError> {
    let verdict = input.verdict.unwrap_or(Verdict::Comment);
    let body = input.body.trim().to_string();
    if body.is_empty() && verdict != Verdict::Approve {
        let why = if verdict == Verdict::RequestChanges { "say what should change" } else { "must not be empty" };
        return Err(ValidationError::new("body", why));
    }
    let chars = body.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(ValidationError::new(
            "body",
            format!("must be at most {MAX_COMMENT_CHARS} characters (got {chars})"),
        ));
    }
    // Text is shown escaped, whatever it holds; only NUL cannot be stored.
    if body.contains('\0') {
        return Err(ValidationError::new("body", "must not contain NUL characters"));
    }
    Ok((body, verdict))
}

/// The approval with the client's verdict in it, for a post waiting for
/// approval; `None` when the post is not waiting (the verdict is then only
/// a comment).
fn with_client_verdict(post: &PostRow, verdict: ClientVerdict) -> Option<serde_json::Value> {
    if post.approval_state != Some(ApprovalState::Requested) {
        return None;
    }
    let mut approval: ApprovalView = approval_of(post)?;
    approval.client_verdict = Some(verdict);
    Some(serde_json::json!(approval))
}

fn state_in_words(post: &PostRow) -> &'static str {
    use herald_core::post::PostStatus;
    match (post.status, post.approval_state) {
        (PostStatus::Draft, Some(ApprovalState::Requested)) => "Waiting for approval",
        (PostStatus::Draft, Some(ApprovalState::Rejected)) => "Sent back for changes",
        (PostStatus::Draft, _) => "Draft",
        (PostStatus::Scheduled, _) => "Scheduled",
        (PostStatus::Publishing, _) => "Being published",
        (PostStatus::Published, _) => "Published",
        (PostStatus::Failed, _) => "Not published",
    }
}

impl App {
    /// Makes a preview link to a post (anyone who may write posts).
    pub async fn create_preview_link(
        &self,
        caller: &Caller,
        post_id: Uuid,
        input: CreatePreviewLinkInput,
    ) -> AppResult<CreatedPreviewLinkView> {
        caller.require(Scope::PostsWrite)?;
        let lifetime = super::lifetime_days("expiresInDays", input.expires_in_days)?;
        Posts(self.store.conn()).get(caller.workspace_id, post_id).await?.ok_or(AppError::NotFound("post"))?;
        let (token, token_hash) = herald_core::api_key::new_link_token();
        let now = self.now();
        let row = PreviewLinks(self.store.conn())
            .insert(PreviewLinkRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                post_id,
                token_hash,
                created_by: Some(caller.user_id),
                expires_at: now + lifetime,
                revoked_at: None,
                created_at: now,
            })
            .await?;
        let url = format!("{}/p/{token}", self.settings.main_url.trim_end_matches('/'));
        Ok(CreatedPreviewLinkView { url, link: link_view(&row, now) })
    }

    pub async fn list_preview_links(&self, caller: &Caller, post_id: Uuid) -> AppResult<Vec<PreviewLinkView>> {
        caller.require(Scope::PostsRead)?;
        Posts(self.store.conn()).get(caller.workspace_id, post_id).await?.ok_or(AppError::NotFound("post"))?;
        let now = self.now();
        let links = PreviewLinks(self.store.conn()).of_post(caller.workspace_id, post_id).await?;
        Ok(links.iter().map(|row| link_view(row, now)).collect())
    }

    pub async fn revoke_preview_link(&self, caller: &Caller, post_id: Uuid, link_id: Uuid) -> AppResult<()> {
        caller.require(Scope::PostsWrite)?;
        if !PreviewLinks(self.store.conn()).revoke(caller.workspace_id, post_id, link_id, self.now()).await? {
            return Err(AppError::NotFound("preview link"));
        }
        Ok(())
    }

    pub async fn list_comments(&self, caller: &Caller, post_id: Uuid) -> AppResult<Vec<CommentView>> {
        caller.require(Scope::PostsRead)?;
        Posts(self.store.conn()).get(caller.workspace_id, post_id).await?.ok_or(AppError::NotFound("post"))?;
        let rows = PostComments(self.store.conn()).of_post(caller.workspace_id, post_id).await?;
        Ok(rows.into_iter().map(comment_view).collect())
    }

    /// Comments of several posts of the caller's workspace, by post (the
    /// approval queue shows them).
    pub async fn comments_of(&self, caller: &Caller, post_ids: &[Uuid]) -> AppResult<BTreeMap<Uuid, Vec<CommentView>>> {
        caller.require(Scope::PostsRead)?;
        let mut by_post: BTreeMap<Uuid, Vec<CommentView>> = BTreeMap::new();
        for row in PostComments(self.store.conn()).of_posts(caller.workspace_id, post_ids).await? {
            by_post.entry(row.post_id).or_default().push(comment_view(row));
        }
        Ok(by_post)
    }

    /// A team member's comment (their verdict is their own business: team
    /// members approve or reject through the workflow).
    pub async fn add_comment(&self, caller: &Caller, post_id: Uuid, input: TeamCommentInput) -> AppResult<CommentView> {
        caller.require(Scope::PostsRead)?;
        let input = CommentInput { name: None, body: input.body, verdict: None };
        let (body, verdict) = comment_body(&input)?;
        let post =
            Posts(self.store.conn()).get(caller.workspace_id, post_id).await?.ok_or(AppError::NotFound("post"))?;
        let user = Users(self.store.conn()).by_id(caller.user_id).await?;
        let author = user
            .map_or_else(|| "A team member".to_string(), |u| if u.name.trim().is_empty() { u.email } else { u.name });
        let row = self.save_comment(&post, None, author, body, verdict, caller.actor()).await?;
        Ok(comment_view(row))
    }

    /// Writes a comment, its verdict into a waiting approval, and the
    /// event, in one transaction.
    async fn save_comment(
        &self,
        post: &PostRow,
        link: Option<&PreviewLinkRow>,
        author: String,
        body: String,
        verdict: Verdict,
        (actor_type, actor_id): (ActorType, Uuid),
    ) -> AppResult<PostCommentRow> {
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let row = PostComments(&txn)
            .insert(PostCommentRow {
                id: Uuid::now_v7(),
                workspace_id: post.workspace_id,
                post_id: post.id,
                preview_link_id: link.map(|l| l.id),
                user_id: (actor_type != ActorType::System).then_some(actor_id),
                author_name: author.clone(),
                body: body.clone(),
                verdict: verdict.as_str().to_string(),
                created_at: now,
            })
            .await?;
        let mut blocked = false;
        if link.is_some() && verdict != Verdict::Comment {
            // Read again inside the transaction: an edit may have come in.
            let current = Posts(&txn).get(post.workspace_id, post.id).await?.ok_or(AppError::NotFound("post"))?;
            let client = ClientVerdict { verdict, by: author.clone(), at: now, comment_id: row.id };
            if let Some(approval) = with_client_verdict(&current, client) {
                blocked = verdict == Verdict::RequestChanges;
                Posts(&txn).set_approval(current.id, approval, now).await?;
            }
        }
        let event = Events(&txn)
            .append(NewEvent {
                at: now,
                workspace_id: post.workspace_id,
                kind: EventKind::PostCommented,
                post_id: Some(post.id),
                integration_id: None,
                actor_type,
                actor_id: Some(actor_id),
                data: serde_json::json!({
                    "commentId": row.id,
                    "author": author,
                    "verdict": verdict.as_str(),
                    "fromPreview": link.is_some(),
                    "approvalBlocked": blocked,
                    "excerpt": herald_core::notice::excerpt(&body),
                }),
            })
            .await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        Ok(row)
    }

    /// The live link behind a token, or 404 — the same answer for a token
    /// that never existed, expired or was revoked, so a page tells nothing
    /// to someone guessing.
    async fn open_preview_link(&self, token: &str) -> AppResult<(PreviewLinkRow, PostRow)> {
        let hash = herald_core::api_key::hash_key(token.trim());
        let link = PreviewLinks(self.store.conn()).by_token_hash(&hash).await?.ok_or(AppError::NotFound("preview"))?;
        if link.revoked_at.is_some() || link.expires_at <= self.now() {
            return Err(AppError::NotFound("preview"));
        }
        let post = Posts(self.store.conn())
            .get(link.workspace_id, link.post_id)
            .await?
            .ok_or(AppError::NotFound("preview"))?;
        Ok((link, post))
    }

    /// What `/p/{token}` shows.
    pub async fn preview_page(&self, token: &str) -> AppResult<PreviewPage> {
        let (link, post) = self.open_preview_link(token).await?;
        let view = self.views_of(std::slice::from_ref(&post)).await?.pop().ok_or(AppError::NotFound("preview"))?;
        let previews = self.platform_previews(&post, &view).await?;
        let comments = PostComments(self.store.conn()).of_post(post.workspace_id, post.id).await?;
        Ok(PreviewPage {
            content: view.content.clone(),
            scheduled_for: view.scheduled_for,
            state: state_in_words(&post),
            previews,
            comments: comments.into_iter().map(comment_view).collect(),
            client_verdict: view.approval.and_then(|a| a.client_verdict),
            expires_at: link.expires_at,
        })
    }

    /// A visitor's comment on a preview page.
    pub async fn comment_on_preview(&self, token: &str, input: CommentInput) -> AppResult<CommentView> {
        let (link, post) = self.open_preview_link(token).await?;
        let name = match input.name.as_deref() {
            Some(raw) => super::name("name", raw),
            None => Err(ValidationError::new("name", "say who you are")),
        };
        let (name, (body, verdict)) = super::both(name, comment_body(&input))?;
        self.link_budget.spend(&format!("preview:{}", link.id))?;
        let row = self.save_comment(&post, Some(&link), name, body, verdict, (ActorType::System, link.id)).await?;
        tracing::info!(post_id = %post.id, verdict = verdict.as_str(), "comment left on a preview page");
        Ok(comment_view(row))
    }

    /// Each target's look: its own text or the post's, media as the
    /// composer shows them, the replies where the platform has threads.
    async fn platform_previews(&self, post: &PostRow, view: &PostView) -> AppResult<Vec<PlatformPreview>> {
        let mut ids: Vec<Uuid> = view.media_ids.clone();
        ids.extend(view.thread.iter().flat_map(|t| t.media_ids.iter().copied()));
        let stored = Media(self.store.conn()).find_many(post.workspace_id, &ids).await?;
        let media_of = |ids: &[Uuid], urls: &[String]| -> Vec<PreviewMedia> {
            let mut out: Vec<PreviewMedia> = ids
                .iter()
                .filter_map(|id| stored.iter().find(|m| m.id == *id))
                .map(|m| PreviewMedia {
                    url: format!("/uploads/{}", m.storage_key),
                    mime: m.mime.clone(),
                    alt_text: m.alt_text.clone().unwrap_or_default(),
                })
                .collect();
            out.extend(urls.iter().map(|url| PreviewMedia {
                url: url.clone(),
                mime: String::new(),
                alt_text: String::new(),
            }));
            out
        };
        let integration_ids: Vec<Uuid> = view.targets.iter().map(|t| t.integration_id).collect();
        let accounts = Integrations(self.store.conn()).find_many(post.workspace_id, &integration_ids).await?;
        let media = media_of(&view.media_ids, &view.media_urls);
        Ok(view
            .targets
            .iter()
            .map(|target| {
                // The static rules: the page needs a name and whether threads exist.
                let rules = herald_core::platform::rules_for(&target.platform);
                let threads = rules.is_none_or(|r| r.supports_threads);
                let account = accounts.iter().find(|a| a.id == target.integration_id);
                PlatformPreview {
                    platform: target.platform.clone(),
                    platform_name: rules.map_or_else(|| target.platform.clone(), |r| r.name.to_string()),
                    account: PreviewAccount {
                        name: target.integration_name.clone(),
                        handle: account.map(|a| a.platform_username.clone()).unwrap_or_default(),
                    },
                    text: target.content.clone().unwrap_or_else(|| view.content.clone()),
                    media: media.clone(),
                    replies: if threads {
                        view.thread
                            .iter()
                            .map(|t| PreviewReply {
                                text: t.content.clone(),
                                media: media_of(&t.media_ids, &t.media_urls),
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                    settings: target.settings.clone(),
                }
            })
            .collect())
    }
}
