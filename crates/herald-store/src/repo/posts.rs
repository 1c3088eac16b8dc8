//! Posts and their targets: created together, listed and read within a
//! workspace, edited only while nothing is in flight, and their status
//! derived from their targets' after every change.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IntoActiveModel, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    Statement,
};
use uuid::Uuid;

use std::collections::HashMap;

use herald_core::post::{ApprovalState, PostStatus, TargetState, TargetStatus, aggregate_status};

use super::sql::{Params, ROWS_PER_STATEMENT, padded, sqlite_json};
use crate::entity::{integration, post, post_target};
use crate::{PostRow, StoreResult, TargetRow};

/// Target statuses that mean "a worker may be talking to the platform right
/// now": such a post can be neither edited nor deleted.
const IN_FLIGHT: TargetStatus = TargetStatus::Publishing;

/// A post could not be changed because one of its targets is being
/// published at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight;

/// Position in a post list: the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Filters of `GET /posts`. `from`/`to` bound `scheduled_for` (inclusive, exclusive).
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub status: Option<PostStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub integration_id: Option<Uuid>,
    /// Only posts that target an account of this customer.
    pub customer_id: Option<Uuid>,
    /// Only posts carrying this tag (exact name).
    pub tag: Option<String>,
    pub approval: Option<ApprovalState>,
    pub after: Option<PostCursor>,
    /// Only posts without a date yet (the calendar's undated drafts).
    pub undated: bool,
    pub limit: u64,
}

/// A text that went, or is due to go, to an integration.
#[derive(Debug, Clone)]
pub struct SentText {
    pub integration_id: Uuid,
    pub post_id: Uuid,
    pub text: String,
    pub at: DateTime<Utc>,
    pub published: bool,
}

/// A target with what a reader needs to know of its integration.
#[derive(Debug, Clone)]
pub struct TargetWithIntegration {
    pub target: TargetRow,
    pub platform: String,
    pub integration_name: String,
}

/// A target row and its account's names, as [`Posts::targets_of`] reads them.
#[derive(FromQueryResult)]
struct NamedTarget {
    #[sea_orm(nested)]
    target: TargetRow,
    integration_platform: Option<String>,
    integration_display_name: Option<String>,
}

/// Earlier posts with the same duplicate key read per account: one is
/// enough to warn, a few more only guard against a key collision, and the
/// check stays as cheap with 100,000 identical posts queued as with one.
const SAME_TEXT_CANDIDATES: u64 = 4;

/// Posts and their targets. Every read is scoped by workspace.
pub struct Posts<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Posts<'_, C> {
    pub async fn insert(&self, row: PostRow, targets: Vec<TargetRow>) -> StoreResult<PostRow> {
        let active = row.into_active_model().reset_all();
        let post = active.insert(self.0).await?;
        self.insert_targets(targets).await?;
        Ok(post)
    }

    async fn insert_targets(&self, targets: Vec<TargetRow>) -> StoreResult<()> {
        if targets.is_empty() {
            return Ok(());
        }
        let rows = targets.into_iter().map(|t| t.into_active_model().reset_all());
        post_target::Entity::insert_many(rows).exec_without_returning(self.0).await?;
        Ok(())
    }

    /// Any post by id, whatever its workspace (for the engine).
    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<PostRow>> {
        Ok(post::Entity::find_by_id(id).one(self.0).await?)
    }

    pub async fn get(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<PostRow>> {
        Ok(post::Entity::find_by_id(id).filter(post::Column::WorkspaceId.eq(workspace_id)).one(self.0).await?)
    }

    /// Newest first; returns up to `limit` rows after the cursor.
    pub async fn list(&self, workspace_id: Uuid, filter: &PostFilter) -> StoreResult<Vec<PostRow>> {
        let mut query = post::Entity::find().filter(post::Column::WorkspaceId.eq(workspace_id));
        if let Some(status) = filter.status {
            query = query.filter(post::Column::Status.eq(status));
        }
        if let Some(from) = filter.from {
            query = query.filter(post::Column::ScheduledFor.gte(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(post::Column::ScheduledFor.lt(to));
        }
        if let Some(integration_id) = filter.integration_id {
            let with_target = post_target::Entity::find()
                .select_only()
                .column(post_target::Column::PostId)
                .filter(post_target::Column::IntegrationId.eq(integration_id))
                .into_query();
            query = query.filter(post::Column::Id.in_subquery(with_target));
        }
        if let Some(customer_id) = filter.customer_id {
            let customers_target = post_target::Entity::find()
                .select_only()
                .column(post_target::Column::PostId)
                .join(JoinType::InnerJoin, post_target::Relation::Integration.def())
                .filter(integration::Column::CustomerId.eq(customer_id))
                .into_query();
            query = query.filter(post::Column::Id.in_subquery(customers_target));
        }
        if let Some(tag) = &filter.tag {
            query = query.filter(has_tag(self.0.get_database_backend(), tag));
        }
        if let Some(approval) = filter.approval {
            query = query.filter(post::Column::ApprovalState.eq(approval));
        }
        if filter.undated {
            query = query.filter(post::Column::ScheduledFor.is_null());
        }
        if let Some(cursor) = filter.after {
            query = query.filter(Condition::any().add(post::Column::CreatedAt.lt(cursor.created_at)).add(
                Condition::all().add(post::Column::CreatedAt.eq(cursor.created_at)).add(post::Column::Id.lt(cursor.id)),
            ));
        }
        Ok(query
            .order_by_desc(post::Column::CreatedAt)
            .order_by_desc(post::Column::Id)
            .limit(filter.limit)
            .all(self.0)
            .await?)
    }

    /// Replaces a post's approval record (its state stays).
    pub async fn set_approval(&self, id: Uuid, approval: serde_json::Value, now: DateTime<Utc>) -> StoreResult<()> {
        post::Entity::update_many()
            .col_expr(post::Column::Approval, Expr::value(approval))
            .col_expr(post::Column::UpdatedAt, Expr::value(now))
            .filter(post::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }

    /// Renames a tag on every post of the workspace that carries it.
    pub async fn rename_tag(&self, workspace_id: Uuid, from: &str, to: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        let tagged = post::Entity::find()
            .filter(post::Column::WorkspaceId.eq(workspace_id))
            .filter(has_tag(self.0.get_database_backend(), from))
            .all(self.0)
            .await?;
        let count = tagged.len() as u64;
        for row in tagged {
            let mut names: Vec<String> = serde_json::from_value(row.tags.clone()).unwrap_or_default();
            for name in &mut names {
                if name == from {
                    *name = to.to_string();
                }
            }
            let mut seen = std::collections::HashSet::new();
            names.retain(|name| seen.insert(name.clone()));
            post::Entity::update_many()
                .col_expr(post::Column::Tags, Expr::value(serde_json::json!(names)))
                .col_expr(post::Column::UpdatedAt, Expr::value(now))
                .filter(post::Column::Id.eq(row.id))
                .exec(self.0)
                .await?;
        }
        Ok(count)
    }

    /// The targets of the given posts with their integrations, in creation order.
    pub async fn targets_of(&self, post_ids: &[Uuid]) -> StoreResult<Vec<TargetWithIntegration>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Only the names a post view shows: joining whole integration rows
        // (credentials, settings) to every target was two thirds of listing
        // posts; two columns cost nothing, and a statement less than reading
        // the names apart.
        let rows = post_target::Entity::find()
            .filter(post_target::Column::PostId.is_in(padded(post_ids)))
            .join(JoinType::LeftJoin, post_target::Relation::Integration.def())
            .column_as(integration::Column::Platform, "integration_platform")
            .column_as(integration::Column::DisplayName, "integration_display_name")
            .order_by_asc(post_target::Column::CreatedAt)
            .order_by_asc(post_target::Column::Id)
            .into_model::<NamedTarget>()
            .all(self.0)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| TargetWithIntegration {
                target: row.target,
                platform: row.integration_platform.unwrap_or_default(),
                integration_name: row.integration_display_name.unwrap_or_default(),
            })
            .collect())
    }

    /// What went, or is due to go, to each integration between `from` and
    /// `to` (published or due in that window) with its duplicate key, other
    /// than `except`: a few candidates per account, each found through
    /// `idx_post_targets_integration_content_key` however many posts the
    /// account has. Each row: integration, post, its text there, when.
    pub async fn same_texts(
        &self,
        wanted: &[(Uuid, String)],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        except: Option<Uuid>,
    ) -> StoreResult<Vec<SentText>> {
        type Candidate = (
            Uuid,
            Uuid,
            Option<String>,
            String,
            TargetStatus,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let mut sent = Vec::new();
        for (integration_id, key) in wanted {
            let mut query = post_target::Entity::find()
                .select_only()
                .columns([
                    post_target::Column::IntegrationId,
                    post_target::Column::PostId,
                    post_target::Column::ContentOverride,
                ])
                .column(post::Column::Content)
                .column(post_target::Column::Status)
                .column(post_target::Column::PublishedAt)
                .column_as(post::Column::PublishedAt, "post_published_at")
                .column(post::Column::ScheduledFor)
                .join(JoinType::InnerJoin, post_target::Relation::Post.def())
                .filter(post_target::Column::IntegrationId.eq(*integration_id))
                .filter(post_target::Column::ContentKey.eq(key.as_str()))
                .filter(post_target::Column::Status.is_in([
                    TargetStatus::Queued,
                    TargetStatus::Publishing,
                    TargetStatus::Published,
                    TargetStatus::Unconfirmed,
                ]))
                .filter(post::Column::Status.ne(PostStatus::Draft))
                .filter(
                    Condition::any()
                        .add(post::Column::ScheduledFor.between(from, to))
                        .add(post::Column::PublishedAt.between(from, to))
                        .add(post_target::Column::PublishedAt.between(from, to)),
                );
            if let Some(except) = except {
                query = query.filter(post_target::Column::PostId.ne(except));
            }
            let rows: Vec<Candidate> = query.limit(SAME_TEXT_CANDIDATES).into_tuple().all(self.0).await?;
            sent.extend(rows.into_iter().filter_map(
                |(integration_id, post_id, text, content, status, published_at, post_published_at, scheduled_for)| {
                    Some(SentText {
                        integration_id,
                        post_id,
                        text: text.unwrap_or(content),
                        at: published_at.or(post_published_at).or(scheduled_for)?,
                        published: status == TargetStatus::Published,
                    })
                },
            ));
        }
        Ok(sent)
    }

    /// Writes every column of the post row back.
    pub async fn update(&self, row: PostRow) -> StoreResult<PostRow> {
        let active = row.into_active_model().reset_all();
        Ok(active.update(self.0).await?)
    }

    /// Re-derives a post's status from its targets after they changed:
    /// `publishedAt` when every target is published, an error summary when
    /// the post failed. Returns the new status when it changed.
    pub async fn recompute_status(&self, post_id: Uuid, at: DateTime<Utc>) -> StoreResult<Option<DerivedStatus>> {
        let mut changed = self.recompute_statuses(&[post_id], at).await?;
        Ok(changed.remove(&post_id))
    }

    /// `recompute_status` for many posts at once, in two statements whatever
    /// their number (the engine recomputes a whole outcome batch). Reads
    /// only the columns the derivation needs. Returns the posts whose status
    /// changed, by id.
    pub async fn recompute_statuses(
        &self,
        post_ids: &[Uuid],
        at: DateTime<Utc>,
    ) -> StoreResult<HashMap<Uuid, DerivedStatus>> {
        let mut changed = HashMap::new();
        let mut written = Vec::new();
        for chunk in post_ids.chunks(ROWS_PER_STATEMENT) {
            for (id, current, targets) in self.status_inputs(&padded(chunk)).await? {
                let derived = derive_status(&current, &targets);
                if derived.status != current.status
                    || derived.published_at != current.published_at
                    || derived.error_message != current.error_message
                {
                    written.push((id, derived.clone()));
                    changed.insert(id, derived);
                }
            }
        }
        self.write_statuses(&written, at).await?;
        Ok(changed)
    }

    /// The posts' current derived columns and their targets' states, in
    /// target creation order, in one statement.
    async fn status_inputs(&self, post_ids: &[Uuid]) -> StoreResult<Vec<(Uuid, DerivedStatus, Vec<TargetSummary>)>> {
        let mut params = Params::new(self.0.get_database_backend());
        let ids = params.list(post_ids, |id| *id);
        // Each post's targets looked up by its id. Without fresh statistics
        // (a backlog just inserted) PostgreSQL expects hundreds of targets
        // per post and hashes a full scan of post_targets instead, at every
        // batch; a LATERAL subquery kept apart by OFFSET 0 can only be run
        // per post, through uq_targets_post_integration.
        let targets = match self.0.get_database_backend() {
            DbBackend::Postgres => {
                "LEFT JOIN LATERAL (SELECT id, integration_id, status, attempts, published_at, last_error_message, \
                 created_at FROM post_targets WHERE post_id = p.id OFFSET 0) t ON true"
            }
            _ => "LEFT JOIN post_targets t ON t.post_id = p.id",
        };
        let sql = format!(
            "SELECT p.id, p.workspace_id, p.status, p.published_at, p.error_message, \
             t.status, t.attempts, t.published_at, t.last_error_message, i.platform, i.display_name \
             FROM posts p {targets} LEFT JOIN integrations i ON i.id = t.integration_id \
             WHERE p.id IN ({ids}) ORDER BY p.id, t.created_at, t.id"
        );
        let mut posts: Vec<(Uuid, DerivedStatus, Vec<TargetSummary>)> = Vec::new();
        for row in self.0.query_all_raw(params.statement(sql)).await? {
            let id: Uuid = row.try_get_by_index(0)?;
            if posts.last().is_none_or(|(last, _, _)| *last != id) {
                let current = DerivedStatus {
                    workspace_id: row.try_get_by_index(1)?,
                    status: row.try_get_by_index(2)?,
                    published_at: row.try_get_by_index(3)?,
                    error_message: row.try_get_by_index(4)?,
                };
                posts.push((id, current, Vec::new()));
            }
            let Some(status) = row.try_get_by_index::<Option<TargetStatus>>(5)? else {
                continue; // a post without targets
            };
            let target = TargetSummary {
                status,
                attempts: row.try_get_by_index(6)?,
                published_at: row.try_get_by_index(7)?,
                last_error_message: row.try_get_by_index(8)?,
                platform: row.try_get_by_index::<Option<String>>(9)?.unwrap_or_default(),
                integration_name: row.try_get_by_index::<Option<String>>(10)?.unwrap_or_default(),
            };
            if let Some((_, _, targets)) = posts.last_mut() {
                targets.push(target);
            }
        }
        Ok(posts)
    }

    /// Claimed posts are publishing: a claimed target is neither final nor
    /// queued, so the derivation gives PUBLISHING whatever the others are
    /// (drafts have no claimable targets, and are left alone all the same).
    /// One statement, without reading the targets back.
    pub async fn mark_publishing(&self, post_ids: &[Uuid], at: DateTime<Utc>) -> StoreResult<()> {
        for chunk in post_ids.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.0.get_database_backend());
            let updated_at = params.bind(at);
            let ids = params.list(&padded(chunk), |id| *id);
            let sql = format!(
                "UPDATE posts SET status = '{publishing}', published_at = NULL, error_message = NULL, \
                 updated_at = {updated_at} WHERE id IN ({ids}) AND status NOT IN ('{publishing}', '{draft}')",
                publishing = PostStatus::Publishing.as_str(),
                draft = PostStatus::Draft.as_str(),
            );
            self.0.execute_raw(params.statement(sql)).await?;
        }
        Ok(())
    }

    /// Writes the derived columns of posts in one statement, the rows as one
    /// JSON parameter (see `sqlite_json`).
    async fn write_statuses(&self, posts: &[(Uuid, DerivedStatus)], updated_at: DateTime<Utc>) -> StoreResult<()> {
        if posts.is_empty() {
            return Ok(());
        }
        if self.0.get_database_backend() == DbBackend::Postgres {
            let batch: Vec<serde_json::Value> = posts
                .iter()
                .map(|(id, p)| {
                    serde_json::json!({
                        "id": id, "status": p.status, "published_at": p.published_at, "error_message": p.error_message,
                    })
                })
                .collect();
            let sql = "UPDATE posts AS p SET status = u.status, published_at = u.published_at, \
                 error_message = u.error_message, updated_at = $2 \
                 FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, status text, published_at timestamptz, \
                 error_message text) WHERE p.id = u.id";
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [serde_json::Value::Array(batch).into(), updated_at.into()],
            );
            self.0.execute_raw(statement).await?;
            return Ok(());
        }
        let batch: Vec<serde_json::Value> = posts
            .iter()
            .map(|(id, p)| {
                serde_json::json!([
                    sqlite_json::uuid(*id),
                    p.status,
                    sqlite_json::opt_time(p.published_at),
                    p.error_message,
                ])
            })
            .collect();
        let sql = "UPDATE posts SET status = u.status, published_at = u.published_at, \
             error_message = u.error_message, updated_at = ? \
             FROM (SELECT unhex(value->>0) AS id, value->>1 AS status, value->>2 AS published_at, \
             value->>3 AS error_message FROM json_each(?)) AS u WHERE posts.id = u.id";
        let statement = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [updated_at.into(), serde_json::Value::Array(batch).to_string().into()],
        );
        self.0.execute_raw(statement).await?;
        Ok(())
    }

    /// Posts by id, whatever their workspace (for the engine).
    pub async fn by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<PostRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(post::Entity::find().filter(post::Column::Id.is_in(padded(ids))).all(self.0).await?)
    }

    /// The posts of a group (made together by one request of Postiz's
    /// public API), oldest first.
    pub async fn in_group(&self, workspace_id: Uuid, group_id: Uuid) -> StoreResult<Vec<PostRow>> {
        Ok(post::Entity::find()
            .filter(post::Column::WorkspaceId.eq(workspace_id))
            .filter(post::Column::GroupId.eq(group_id))
            .order_by_asc(post::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// A target by its own id, if its post is in the workspace.
    pub async fn target_in(&self, workspace_id: Uuid, target_id: Uuid) -> StoreResult<Option<TargetRow>> {
        Ok(post_target::Entity::find_by_id(target_id)
            .join(JoinType::InnerJoin, post_target::Relation::Post.def())
            .filter(post::Column::WorkspaceId.eq(workspace_id))
            .one(self.0)
            .await?)
    }

    /// Writes every column of a target row back.
    pub async fn update_target(&self, row: TargetRow) -> StoreResult<TargetRow> {
        Ok(row.into_active_model().reset_all().update(self.0).await?)
    }

    /// Replaces all targets of a post that has not started publishing. The
    /// delete only touches queued targets; if any other remains, a worker
    /// got there first and the caller must roll back.
    pub async fn replace_targets(&self, post_id: Uuid, targets: Vec<TargetRow>) -> StoreResult<Result<(), InFlight>> {
        post_target::Entity::delete_many()
            .filter(post_target::Column::PostId.eq(post_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::Attempts.eq(0))
            .exec(self.0)
            .await?;
        let remaining =
            post_target::Entity::find().filter(post_target::Column::PostId.eq(post_id)).count(self.0).await?;
        if remaining > 0 {
            return Ok(Err(InFlight));
        }
        self.insert_targets(targets).await?;
        Ok(Ok(()))
    }

    /// Deletes a post and its targets unless one is being published right
    /// now. `Ok(None)` when the post does not exist in the workspace.
    pub async fn delete(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<Result<(), InFlight>>> {
        if self.get(workspace_id, id).await?.is_none() {
            return Ok(None);
        }
        post_target::Entity::delete_many()
            .filter(post_target::Column::PostId.eq(id))
            .filter(post_target::Column::Status.ne(IN_FLIGHT))
            .exec(self.0)
            .await?;
        let remaining = post_target::Entity::find().filter(post_target::Column::PostId.eq(id)).count(self.0).await?;
        if remaining > 0 {
            return Ok(Some(Err(InFlight)));
        }
        post::Entity::delete_by_id(id).exec(self.0).await?;
        Ok(Some(Ok(())))
    }

    /// Inserts one occurrence of a series; false when another process (or
    /// an earlier round) already made the post for that occurrence.
    pub async fn insert_occurrence(&self, row: PostRow, targets: Vec<TargetRow>) -> StoreResult<bool> {
        let inserted = post::Entity::insert(row.into_active_model().reset_all())
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([post::Column::SeriesId, post::Column::OccurrenceAt])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.0)
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        self.insert_targets(targets).await?;
        Ok(true)
    }

    /// Series whose next occurrence is due by `by`, soonest first.
    pub async fn due_series(&self, by: DateTime<Utc>, limit: u64) -> StoreResult<Vec<PostRow>> {
        Ok(post::Entity::find()
            .filter(post::Column::NextOccurrenceAt.lte(by))
            .order_by_asc(post::Column::NextOccurrenceAt)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    /// Moves a series on from `from` to `to` (`None` ends it); false when
    /// another process moved it first.
    pub async fn advance_series(
        &self,
        post_id: Uuid,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let result = post::Entity::update_many()
            .col_expr(post::Column::NextOccurrenceAt, Expr::value(to))
            .filter(post::Column::Id.eq(post_id))
            .filter(post::Column::NextOccurrenceAt.eq(from))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The posts a series made so far, in occurrence order.
    pub async fn occurrences_of(&self, series_id: Uuid) -> StoreResult<Vec<PostRow>> {
        Ok(post::Entity::find()
            .filter(post::Column::SeriesId.eq(series_id))
            .order_by_asc(post::Column::OccurrenceAt)
            .all(self.0)
            .await?)
    }

    /// Deletes the occurrences of a series that have not gone out (the
    /// series is being stopped); published ones stay as history. Returns
    /// how many were deleted, or `InFlight` when one is going out now.
    pub async fn delete_pending_occurrences(
        &self,
        workspace_id: Uuid,
        series_id: Uuid,
    ) -> StoreResult<Result<usize, InFlight>> {
        let pending = post::Entity::find()
            .filter(post::Column::SeriesId.eq(series_id))
            .filter(post::Column::Status.is_in([PostStatus::Draft, PostStatus::Scheduled]))
            .all(self.0)
            .await?;
        for occurrence in &pending {
            if let Some(Err(in_flight)) = self.delete(workspace_id, occurrence.id).await? {
                return Ok(Err(in_flight));
            }
        }
        Ok(Ok(pending.len()))
    }

    /// The post imported under `external_id` in a workspace, if any.
    pub async fn by_external_id(&self, workspace_id: Uuid, external_id: &str) -> StoreResult<Option<PostRow>> {
        Ok(post::Entity::find()
            .filter(post::Column::WorkspaceId.eq(workspace_id))
            .filter(post::Column::ExternalId.eq(external_id))
            .one(self.0)
            .await?)
    }

    /// An integration's queue: its targets waiting to go out at or after
    /// `from` (queued, never tried, not leased), in time order, with their posts.
    pub async fn queue_of(&self, integration_id: Uuid, from: DateTime<Utc>) -> StoreResult<Vec<(TargetRow, PostRow)>> {
        Ok(post_target::Entity::find()
            .filter(post_target::Column::IntegrationId.eq(integration_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::Attempts.eq(0))
            .filter(post_target::Column::LeaseOwner.is_null())
            .filter(post_target::Column::NextAttemptAt.gte(from))
            .order_by_asc(post_target::Column::NextAttemptAt)
            .order_by_asc(post_target::Column::Id)
            .find_also_related(post::Entity)
            .all(self.0)
            .await?
            .into_iter()
            .filter_map(|(target, post)| post.map(|p| (target, p)))
            .collect())
    }

    /// Moves a queued target to another time; false when it is no longer
    /// waiting (a worker took it meanwhile).
    pub async fn move_queued_target(&self, target_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let result = post_target::Entity::update_many()
            .col_expr(post_target::Column::NextAttemptAt, Expr::value(at))
            .filter(post_target::Column::Id.eq(target_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::Attempts.eq(0))
            .filter(post_target::Column::LeaseOwner.is_null())
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Sets a post's time to the earliest of its queued targets'.
    pub async fn align_scheduled_for(&self, post_id: Uuid) -> StoreResult<()> {
        let earliest = post_target::Entity::find()
            .select_only()
            .column(post_target::Column::NextAttemptAt)
            .filter(post_target::Column::PostId.eq(post_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::NextAttemptAt.is_not_null())
            .order_by_asc(post_target::Column::NextAttemptAt)
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.0)
            .await?
            .flatten();
        if let Some(at) = earliest {
            post::Entity::update_many()
                .col_expr(post::Column::ScheduledFor, Expr::value(at))
                .filter(post::Column::Id.eq(post_id))
                .exec(self.0)
                .await?;
        }
        Ok(())
    }

    /// Due times of the queued targets of an integration (its taken slots).
    pub async fn queued_times(&self, integration_id: Uuid) -> StoreResult<Vec<DateTime<Utc>>> {
        Ok(post_target::Entity::find()
            .select_only()
            .column(post_target::Column::NextAttemptAt)
            .filter(post_target::Column::IntegrationId.eq(integration_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::NextAttemptAt.is_not_null())
            .into_tuple::<Option<DateTime<Utc>>>()
            .all(self.0)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Ids of the posts with a target on the integration, and whether any of
    /// those targets is being published right now.
    pub async fn posts_targeting(&self, integration_id: Uuid) -> StoreResult<(Vec<Uuid>, bool)> {
        let rows: Vec<(Uuid, TargetStatus)> = post_target::Entity::find()
            .select_only()
            .column(post_target::Column::PostId)
            .column(post_target::Column::Status)
            .filter(post_target::Column::IntegrationId.eq(integration_id))
            .into_tuple()
            .all(self.0)
            .await?;
        let in_flight = rows.iter().any(|(_, status)| *status == IN_FLIGHT);
        Ok((rows.into_iter().map(|(id, _)| id).collect(), in_flight))
    }

    /// Targets of an integration finished (published, failed or
    /// unconfirmed) since `since`: what its daily activity is made of.
    pub async fn finished_targets_of(&self, integration_id: Uuid, since: DateTime<Utc>) -> StoreResult<Vec<TargetRow>> {
        Ok(post_target::Entity::find()
            .filter(post_target::Column::IntegrationId.eq(integration_id))
            .filter(post_target::Column::Status.is_in([
                TargetStatus::Published,
                TargetStatus::Failed,
                TargetStatus::Unconfirmed,
            ]))
            .filter(post_target::Column::UpdatedAt.gte(since))
            .all(self.0)
            .await?)
    }

    /// The newest `limit` published deliveries to an integration, with
    /// their posts, newest first.
    pub async fn published_to(&self, integration_id: Uuid, limit: u64) -> StoreResult<Vec<(TargetRow, PostRow)>> {
        let rows = post_target::Entity::find()
            .filter(post_target::Column::IntegrationId.eq(integration_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Published))
            .order_by_desc(post_target::Column::PublishedAt)
            .order_by_desc(post_target::Column::Id)
            .limit(limit)
            .find_also_related(post::Entity)
            .all(self.0)
            .await?;
        Ok(rows.into_iter().filter_map(|(target, post)| Some((target, post?))).collect())
    }

    /// Number of due targets and the oldest due time: the queue lag.
    pub async fn due_summary(&self, now: DateTime<Utc>) -> StoreResult<(u64, Option<DateTime<Utc>>)> {
        let due = post_target::Entity::find()
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::NextAttemptAt.lte(now));
        let count = due.clone().count(self.0).await?;
        let oldest = due
            .select_only()
            .column_as(Expr::col(post_target::Column::NextAttemptAt).min(), "oldest")
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.0)
            .await?
            .flatten();
        Ok((count, oldest))
    }
}

/// A post's derived columns: its status, `publishedAt` and error summary as
/// its targets make them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedStatus {
    pub workspace_id: Uuid,
    pub status: PostStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
}

/// What the derivation reads of a target.
struct TargetSummary {
    status: TargetStatus,
    attempts: i32,
    published_at: Option<DateTime<Utc>>,
    last_error_message: Option<String>,
    platform: String,
    integration_name: String,
}

fn derive_status(current: &DerivedStatus, targets: &[TargetSummary]) -> DerivedStatus {
    let states: Vec<TargetState> =
        targets.iter().map(|t| TargetState { status: t.status, attempted: t.attempts > 0 }).collect();
    let status = aggregate_status(current.status == PostStatus::Draft, &states);
    let published_at = match status {
        PostStatus::Published => targets.iter().filter_map(|t| t.published_at).max(),
        _ => None,
    };
    let error_message = match status {
        PostStatus::Failed => Some(
            targets
                .iter()
                .filter(|t| matches!(t.status, TargetStatus::Failed | TargetStatus::Unconfirmed))
                .map(|t| {
                    let why = t.last_error_message.as_deref().unwrap_or("failed");
                    format!("{} ({}): {why}", t.integration_name, t.platform)
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    };
    DerivedStatus { workspace_id: current.workspace_id, status, published_at, error_message }
}

/// `posts.tags` (a JSON array of names) holds `tag`: containment on
/// PostgreSQL's `jsonb`, `json_each` on SQLite.
fn has_tag(backend: DbBackend, tag: &str) -> sea_orm::sea_query::SimpleExpr {
    match backend {
        DbBackend::Postgres => {
            Expr::cust_with_values("\"posts\".\"tags\" @> CAST($1 AS jsonb)", [serde_json::json!([tag]).to_string()])
        }
        _ => Expr::cust_with_values("EXISTS (SELECT 1 FROM json_each(\"posts\".\"tags\") WHERE value = ?)", [tag]),
    }
}
