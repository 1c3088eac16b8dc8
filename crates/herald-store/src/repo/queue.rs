//! The publishing queue is the `post_targets` table itself: a due target is
//! claimed with a lease in one statement, its progress and outcome are
//! written back only while the lease is still ours, and expired leases and
//! missed windows are found for the scheduler to resolve.

use chrono::{DateTime, Utc};
use herald_core::integration::IntegrationStatus;
use herald_core::post::TargetStatus;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::sql::{Params, ROWS_PER_STATEMENT, padded, sqlite_json, status_filter};
use crate::entity::{integration, post_target};
use crate::{StoreResult, TargetRow};

/// What a claim may take.
#[derive(Debug, Clone)]
pub struct ClaimRequest<'a> {
    pub worker: &'a str,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    /// Targets due before this are missed windows, left to the scheduler.
    pub not_before: DateTime<Utc>,
    pub limit: u64,
    /// Platforms at their concurrency limit in this process.
    pub skip_platforms: &'a [String],
    /// Integrations not to claim from (their rate budget is checked apart).
    pub skip_integrations: &'a [Uuid],
    /// Claim only from this integration.
    pub only_integration: Option<Uuid>,
}

/// A due target as a claim sees it.
#[derive(Debug, Clone)]
pub struct DueTarget {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub platform: String,
}

pub struct Queue<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Queue<'_, C> {
    /// Claims up to `limit` due targets of active integrations, oldest due
    /// first: [`Queue::due`] then [`Queue::take`] (the caller holds a write
    /// transaction, `Store::begin_write`).
    pub async fn claim(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<TargetRow>> {
        let due: Vec<Uuid> = self.due(request).await?.into_iter().map(|t| t.id).collect();
        self.take(&due, request.worker, request.lease_until, request.now).await
    }

    /// Makes the rest of the caller's transaction reach rows through their
    /// indexes, whatever the statistics say. Planned from stale ones (a
    /// burst of posts just created, not yet analysed, looks like an empty
    /// table), PostgreSQL wrote a batch of 64 outcomes by comparing each
    /// with every target in a sequential scan — 673 ms with 20,000 queued,
    /// against 3.9 ms through the primary key — and claimed 64 targets by
    /// reading and sorting all 20,000 through a bitmap: 26 ms against
    /// 0.8 ms walking `idx_targets_due` in order (bench/README.md). For
    /// the delivery loop's transactions, whose statements all go by id or
    /// by that index; nothing on SQLite.
    pub async fn prefer_index_scans(&self) -> StoreResult<()> {
        if self.0.get_database_backend() == DbBackend::Postgres {
            self.0.execute_unprepared("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off").await?;
        }
        Ok(())
    }

    /// Up to `limit` due targets of active integrations, oldest due first,
    /// with their platform, for the caller to choose from within each
    /// platform's concurrency. On PostgreSQL the rows are locked until the
    /// transaction ends and rows another worker locked are skipped; on SQLite
    /// the caller holds the write lock (`Store::begin_write`), which
    /// serialises claims.
    pub async fn due(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<DueTarget>> {
        let mut p = Params::new(self.0.get_database_backend());
        // Placeholders are numbered in binding order: build front to back.
        let now = p.bind(request.now);
        let not_before = p.bind(request.not_before);
        let mut extra = String::new();
        if !request.skip_platforms.is_empty() {
            let list: Vec<String> = request.skip_platforms.iter().map(|id| p.bind(id.as_str())).collect();
            extra.push_str(&format!(" AND i.platform NOT IN ({})", list.join(", ")));
        }
        if !request.skip_integrations.is_empty() {
            let list: Vec<String> = request.skip_integrations.iter().map(|id| p.bind(*id)).collect();
            // A target the platform already holds goes on: it counted when it started.
            extra.push_str(&format!(" AND (t.integration_id NOT IN ({}) OR t.pending IS NOT NULL)", list.join(", ")));
        }
        if let Some(id) = request.only_integration {
            extra.push_str(&format!(" AND t.integration_id = {}", p.bind(id)));
        }
        let limit = p.bind(i64::try_from(request.limit).unwrap_or(i64::MAX));
        let lock =
            if self.0.get_database_backend() == DbBackend::Postgres { " FOR UPDATE OF t SKIP LOCKED" } else { "" };
        let sql = format!(
            "SELECT t.id, t.integration_id, i.platform FROM post_targets t JOIN integrations i ON i.id = t.integration_id \
             WHERE t.status = '{queued}' AND t.next_attempt_at <= {now} \
             AND (t.next_attempt_at >= {not_before} OR t.pending IS NOT NULL) \
             AND i.status = '{active}'{extra} ORDER BY t.next_attempt_at, t.id LIMIT {limit}{lock}",
            queued = TargetStatus::Queued.as_str(),
            active = IntegrationStatus::Active.as_str(),
        );
        let mut due = Vec::new();
        for row in self.0.query_all_raw(p.statement(sql)).await? {
            due.push(DueTarget {
                id: row.try_get_by_index(0)?,
                integration_id: row.try_get_by_index(1)?,
                platform: row.try_get_by_index(2)?,
            });
        }
        Ok(due)
    }

    /// Claims these due targets (from [`Queue::due`], in the same
    /// transaction): each becomes PUBLISHING with the worker's lease and one
    /// more attempt, in one statement per chunk.
    pub async fn take(
        &self,
        ids: &[Uuid],
        worker: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<TargetRow>> {
        let mut taken = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut p = Params::new(self.0.get_database_backend());
            let worker = p.bind(worker);
            let lease = p.bind(lease_until);
            let now = p.bind(now);
            let ids = p.list(&padded(chunk), |id| *id);
            let current_status = status_filter(self.0.get_database_backend(), "status");
            let sql = format!(
                "UPDATE post_targets SET status = '{publishing}', lease_owner = {worker}, lease_expires_at = {lease}, \
                 attempts = attempts + 1, updated_at = {now} WHERE id IN ({ids}) AND {current_status} = '{queued}' RETURNING *",
                publishing = TargetStatus::Publishing.as_str(),
                queued = TargetStatus::Queued.as_str(),
            );
            taken.extend(post_target::Entity::find().from_raw_sql(p.statement(sql)).all(self.0).await?);
        }
        Ok(taken)
    }

    /// When the next queued target of an active integration is due.
    pub async fn next_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(post_target::Entity::find()
            .select_only()
            .column_as(Expr::col((post_target::Entity, post_target::Column::NextAttemptAt)).min(), "next")
            .inner_join(integration::Entity)
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.0)
            .await?
            .flatten())
    }

    /// Writes a target back — progress or outcome — only if `worker` still
    /// holds its lease. `false` means the lease was lost: someone else now
    /// owns the target and this worker must not touch it.
    pub async fn write_leased(&self, row: &TargetRow, worker: &str) -> StoreResult<bool> {
        let result = post_target::Entity::update_many()
            .col_expr(post_target::Column::Status, Expr::value(row.status))
            .col_expr(post_target::Column::NextAttemptAt, Expr::value(row.next_attempt_at))
            .col_expr(post_target::Column::LeaseOwner, Expr::value(row.lease_owner.clone()))
            .col_expr(post_target::Column::LeaseExpiresAt, Expr::value(row.lease_expires_at))
            .col_expr(post_target::Column::PlatformPostIds, Expr::value(row.platform_post_ids.clone()))
            .col_expr(post_target::Column::Url, Expr::value(row.url.clone()))
            .col_expr(post_target::Column::LastErrorClass, Expr::value(row.last_error_class.clone()))
            .col_expr(post_target::Column::LastErrorMessage, Expr::value(row.last_error_message.clone()))
            .col_expr(post_target::Column::PublishedAt, Expr::value(row.published_at))
            .col_expr(post_target::Column::Pending, Expr::value(row.pending.clone()))
            .col_expr(post_target::Column::Attempts, Expr::value(row.attempts))
            .col_expr(post_target::Column::UpdatedAt, Expr::value(row.updated_at))
            .filter(post_target::Column::Id.eq(row.id))
            .filter(post_target::Column::Status.eq(TargetStatus::Publishing))
            .filter(post_target::Column::LeaseOwner.eq(worker))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// `write_leased` for many targets in one statement. Returns the ids of
    /// the rows written: the others' leases were lost.
    pub async fn write_leased_many(&self, rows: &[&TargetRow], worker: &str) -> StoreResult<Vec<Uuid>> {
        if self.0.get_database_backend() == DbBackend::Postgres {
            return self.write_leased_many_pg(rows, worker).await;
        }
        // The rows travel as one JSON parameter (see `sqlite_json`).
        let batch: Vec<serde_json::Value> = rows
            .iter()
            .map(|t| {
                serde_json::json!([
                    sqlite_json::uuid(t.id),
                    t.status,
                    sqlite_json::opt_time(t.next_attempt_at),
                    t.lease_owner,
                    sqlite_json::opt_time(t.lease_expires_at),
                    sqlite_json::json(&t.platform_post_ids),
                    t.url,
                    t.last_error_class,
                    t.last_error_message,
                    sqlite_json::opt_time(t.published_at),
                    sqlite_json::time(t.updated_at),
                    t.pending.as_ref().map(sqlite_json::json),
                    t.attempts,
                ])
            })
            .collect();
        let current_status = status_filter(DbBackend::Sqlite, "post_targets.status");
        let sql = format!(
            "UPDATE post_targets SET status = u.status, next_attempt_at = u.next_attempt_at, \
             lease_owner = u.lease_owner, lease_expires_at = u.lease_expires_at, \
             platform_post_ids = u.platform_post_ids, url = u.url, last_error_class = u.last_error_class, \
             last_error_message = u.last_error_message, published_at = u.published_at, updated_at = u.updated_at, \
             pending = u.pending, attempts = u.attempts \
             FROM (SELECT unhex(value->>0) AS id, value->>1 AS status, value->>2 AS next_attempt_at, \
             value->>3 AS lease_owner, value->>4 AS lease_expires_at, value->>5 AS platform_post_ids, \
             value->>6 AS url, value->>7 AS last_error_class, value->>8 AS last_error_message, \
             value->>9 AS published_at, value->>10 AS updated_at, value->>11 AS pending, \
             value->>12 AS attempts FROM json_each(?)) AS u \
             WHERE post_targets.id = u.id AND {current_status} = '{publishing}' AND post_targets.lease_owner = ? \
             RETURNING post_targets.id",
            publishing = TargetStatus::Publishing.as_str(),
        );
        let statement = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [serde_json::Value::Array(batch).to_string().into(), worker.into()],
        );
        let mut written = Vec::with_capacity(rows.len());
        for row in self.0.query_all_raw(statement).await? {
            written.push(row.try_get_by_index::<Uuid>(0)?);
        }
        Ok(written)
    }

    /// `write_leased_many` on PostgreSQL: the rows travel as one JSON
    /// parameter, so the statement has a single shape whatever the batch
    /// size (parsed and planned once per connection) and no `CASE` arms.
    async fn write_leased_many_pg(&self, rows: &[&TargetRow], worker: &str) -> StoreResult<Vec<Uuid>> {
        let batch: Vec<serde_json::Value> = rows
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "status": t.status,
                    "next_attempt_at": t.next_attempt_at,
                    "lease_owner": t.lease_owner,
                    "lease_expires_at": t.lease_expires_at,
                    "platform_post_ids": t.platform_post_ids,
                    "url": t.url,
                    "last_error_class": t.last_error_class,
                    "last_error_message": t.last_error_message,
                    "published_at": t.published_at,
                    "updated_at": t.updated_at,
                    "pending": t.pending,
                    "attempts": t.attempts,
                })
            })
            .collect();
        // The status is checked after the id lookup (see `status_filter`).
        let current_status = status_filter(DbBackend::Postgres, "t.status");
        let sql = format!(
            "UPDATE post_targets AS t SET status = u.status, next_attempt_at = u.next_attempt_at, \
             lease_owner = u.lease_owner, lease_expires_at = u.lease_expires_at, \
             platform_post_ids = u.platform_post_ids, url = u.url, last_error_class = u.last_error_class, \
             last_error_message = u.last_error_message, published_at = u.published_at, updated_at = u.updated_at, \
             pending = u.pending, attempts = u.attempts \
             FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, status text, next_attempt_at timestamptz, \
             lease_owner text, lease_expires_at timestamptz, platform_post_ids jsonb, url text, \
             last_error_class text, last_error_message text, published_at timestamptz, updated_at timestamptz, \
             pending jsonb, attempts integer) \
             WHERE t.id = u.id AND {current_status} = '{publishing}' AND t.lease_owner = $2 RETURNING t.id",
            publishing = TargetStatus::Publishing.as_str(),
        );
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [serde_json::Value::Array(batch).into(), worker.into()],
        );
        let mut written = Vec::with_capacity(rows.len());
        for row in self.0.query_all_raw(statement).await? {
            written.push(row.try_get_by_index::<Uuid>(0)?);
        }
        Ok(written)
    }

    /// Targets whose worker stopped renewing its lease (it crashed, or lost
    /// the database): the request may or may not have reached the platform.
    pub async fn expired_leases(&self, now: DateTime<Utc>, limit: u64) -> StoreResult<Vec<TargetRow>> {
        Ok(post_target::Entity::find()
            .filter(post_target::Column::Status.eq(TargetStatus::Publishing))
            .filter(post_target::Column::LeaseExpiresAt.lt(now))
            .order_by_asc(post_target::Column::LeaseExpiresAt)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    /// Targets held by one worker (for its shutdown).
    pub async fn leased_by(&self, worker: &str) -> StoreResult<Vec<TargetRow>> {
        Ok(post_target::Entity::find()
            .filter(post_target::Column::Status.eq(TargetStatus::Publishing))
            .filter(post_target::Column::LeaseOwner.eq(worker))
            .all(self.0)
            .await?)
    }

    /// Queued targets due before `before`: windows missed while Herald was
    /// down. Not those a platform already holds (`pending`): their post has
    /// begun, and finishing it late is the platform's pace, not a missed window.
    pub async fn missed(&self, before: DateTime<Utc>, limit: u64) -> StoreResult<Vec<TargetRow>> {
        Ok(post_target::Entity::find()
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::Pending.is_null())
            .filter(post_target::Column::NextAttemptAt.lt(before))
            .order_by_asc(post_target::Column::NextAttemptAt)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    /// Resolves a target found by `expired_leases` or `missed` into `new`,
    /// unless it changed since it was `read` (every write moves
    /// `updated_at`, so it serves as a version).
    pub async fn resolve(&self, read: &TargetRow, new: &TargetRow) -> StoreResult<bool> {
        let result = post_target::Entity::update_many()
            .col_expr(post_target::Column::Status, Expr::value(new.status))
            .col_expr(post_target::Column::NextAttemptAt, Expr::value(new.next_attempt_at))
            .col_expr(post_target::Column::LeaseOwner, Expr::value(new.lease_owner.clone()))
            .col_expr(post_target::Column::LeaseExpiresAt, Expr::value(new.lease_expires_at))
            .col_expr(post_target::Column::LastErrorClass, Expr::value(new.last_error_class.clone()))
            .col_expr(post_target::Column::LastErrorMessage, Expr::value(new.last_error_message.clone()))
            .col_expr(post_target::Column::Pending, Expr::value(new.pending.clone()))
            .col_expr(post_target::Column::UpdatedAt, Expr::value(new.updated_at))
            .filter(post_target::Column::Id.eq(read.id))
            .filter(post_target::Column::Status.eq(read.status))
            .filter(post_target::Column::UpdatedAt.eq(read.updated_at))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Queued, due-dated targets of an integration.
    pub async fn queued_of_integration(&self, integration_id: Uuid) -> StoreResult<Vec<TargetRow>> {
        Ok(post_target::Entity::find()
            .filter(post_target::Column::IntegrationId.eq(integration_id))
            .filter(post_target::Column::Status.eq(TargetStatus::Queued))
            .filter(post_target::Column::NextAttemptAt.is_not_null())
            .all(self.0)
            .await?)
    }

    /// How many deliveries each integration started since `since`
    /// (published or in flight): what its rate budget has used.
    pub async fn budget_used(&self, integration_ids: &[Uuid], since: DateTime<Utc>) -> StoreResult<Vec<(Uuid, i64)>> {
        if integration_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(post_target::Entity::find()
            .select_only()
            .column(post_target::Column::IntegrationId)
            .column_as(Expr::col(post_target::Column::Id).count(), "used")
            .filter(post_target::Column::IntegrationId.is_in(integration_ids.iter().copied()))
            .filter(
                Condition::any()
                    .add(post_target::Column::Status.is_in([
                        TargetStatus::Publishing,
                        TargetStatus::Published,
                        TargetStatus::Unconfirmed,
                    ]))
                    // Started, and waiting for the platform.
                    .add(
                        Condition::all()
                            .add(post_target::Column::Status.eq(TargetStatus::Queued))
                            .add(post_target::Column::Pending.is_not_null()),
                    ),
            )
            .filter(post_target::Column::UpdatedAt.gte(since))
            .group_by(post_target::Column::IntegrationId)
            .into_tuple()
            .all(self.0)
            .await?)
    }
}
