//! What reaches people who are not looking: the bell's notifications, the
//! e-mail outbox, and the cursor of the job that fills both from the event
//! log. Both tables are unique per (event, recipient), so two processes
//! reading the same events write each notification once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::entity::{email_outbox, job_cursor, notification};
use crate::{EmailRow, NotificationRow, StoreResult};

pub struct NewNotification {
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub event_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
}

pub struct Notifications<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Notifications<'_, C> {
    /// Adds notifications, skipping any already made for that event and person.
    pub async fn add(&self, new: Vec<NewNotification>) -> StoreResult<u64> {
        if new.is_empty() {
            return Ok(0);
        }
        let models = new.into_iter().map(|n| notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(n.user_id),
            workspace_id: Set(n.workspace_id),
            event_id: Set(n.event_id),
            kind: Set(n.kind),
            title: Set(n.title),
            body: Set(n.body),
            link: Set(n.link),
            created_at: Set(n.created_at),
            read_at: Set(None),
        });
        let inserted = notification::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([notification::Column::EventId, notification::Column::UserId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.0)
            .await?;
        Ok(inserted)
    }

    /// A person's notifications in a workspace, newest first, before a cursor.
    pub async fn list(
        &self,
        user_id: Uuid,
        workspace_id: Uuid,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<NotificationRow>> {
        let mut query = notification::Entity::find()
            .filter(notification::Column::UserId.eq(user_id))
            .filter(notification::Column::WorkspaceId.eq(workspace_id));
        if let Some((at, id)) = before {
            query = query.filter(Condition::any().add(notification::Column::CreatedAt.lt(at)).add(
                Condition::all().add(notification::Column::CreatedAt.eq(at)).add(notification::Column::Id.lt(id)),
            ));
        }
        Ok(query
            .order_by_desc(notification::Column::CreatedAt)
            .order_by_desc(notification::Column::Id)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    pub async fn unread(&self, user_id: Uuid, workspace_id: Uuid) -> StoreResult<u64> {
        Ok(notification::Entity::find()
            .filter(notification::Column::UserId.eq(user_id))
            .filter(notification::Column::WorkspaceId.eq(workspace_id))
            .filter(notification::Column::ReadAt.is_null())
            .count(self.0)
            .await?)
    }

    /// Marks some (or, with `None`, all) of a person's notifications in a
    /// workspace read; how many changed.
    pub async fn mark_read(
        &self,
        user_id: Uuid,
        workspace_id: Uuid,
        ids: Option<&[Uuid]>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut update = notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(now))
            .filter(notification::Column::UserId.eq(user_id))
            .filter(notification::Column::WorkspaceId.eq(workspace_id))
            .filter(notification::Column::ReadAt.is_null());
        if let Some(ids) = ids {
            update = update.filter(notification::Column::Id.is_in(ids.iter().copied()));
        }
        Ok(update.exec(self.0).await?.rows_affected)
    }
}

pub struct NewEmail {
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub kind: String,
    pub event_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub struct Outbox<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Outbox<'_, C> {
    /// Queues e-mails, skipping any already queued for that event and address.
    pub async fn enqueue(&self, new: Vec<NewEmail>) -> StoreResult<u64> {
        if new.is_empty() {
            return Ok(0);
        }
        let models = new.into_iter().map(|n| email_outbox::ActiveModel {
            id: Set(Uuid::now_v7()),
            recipient: Set(n.recipient),
            subject: Set(n.subject),
            text_body: Set(n.text_body),
            html_body: Set(n.html_body),
            kind: Set(n.kind),
            event_id: Set(n.event_id),
            attempts: Set(0),
            next_attempt_at: Set(n.created_at),
            lease_until: Set(None),
            sent_at: Set(None),
            failed_at: Set(None),
            last_error: Set(None),
            created_at: Set(n.created_at),
        });
        Ok(email_outbox::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([email_outbox::Column::EventId, email_outbox::Column::Recipient])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.0)
            .await?)
    }

    /// Claims up to `limit` e-mails due at `now` until `lease_until`: call
    /// it in a write transaction, so two mailers never claim the same row.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<EmailRow>> {
        let due = email_outbox::Entity::find()
            .filter(email_outbox::Column::SentAt.is_null())
            .filter(email_outbox::Column::FailedAt.is_null())
            .filter(email_outbox::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(email_outbox::Column::LeaseUntil.is_null())
                    .add(email_outbox::Column::LeaseUntil.lt(now)),
            )
            .order_by_asc(email_outbox::Column::NextAttemptAt)
            .limit(limit)
            .lock_exclusive()
            .all(self.0)
            .await?;
        if due.is_empty() {
            return Ok(due);
        }
        email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(lease_until))
            .filter(email_outbox::Column::Id.is_in(due.iter().map(|e| e.id)))
            .exec(self.0)
            .await?;
        Ok(due)
    }

    pub async fn sent(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::SentAt, Expr::value(now))
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(email_outbox::Column::Attempts, Expr::col(email_outbox::Column::Attempts).add(1))
            .filter(email_outbox::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up on.
    pub async fn failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut update = email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::LastError, Expr::value(error))
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(email_outbox::Column::Attempts, Expr::col(email_outbox::Column::Attempts).add(1));
        update = match retry_at {
            Some(at) => update.col_expr(email_outbox::Column::NextAttemptAt, Expr::value(at)),
            None => update.col_expr(email_outbox::Column::FailedAt, Expr::value(now)),
        };
        update.filter(email_outbox::Column::Id.eq(id)).exec(self.0).await?;
        Ok(())
    }

    /// Every e-mail, oldest first (for `herald doctor` and tests).
    pub async fn all(&self) -> StoreResult<Vec<EmailRow>> {
        Ok(email_outbox::Entity::find().order_by_asc(email_outbox::Column::CreatedAt).all(self.0).await?)
    }
}

/// How far a job has read the event log: the last event it handled.
pub struct JobCursors<'a, C>(pub &'a C);

impl<C: ConnectionTrait> JobCursors<'_, C> {
    pub async fn get(&self, name: &str) -> StoreResult<Option<(DateTime<Utc>, Uuid)>> {
        Ok(job_cursor::Entity::find_by_id(name.to_string()).one(self.0).await?.map(|c| (c.created_at, c.event_id)))
    }

    pub async fn set(&self, name: &str, at: DateTime<Utc>, event_id: Uuid) -> StoreResult<()> {
        let model =
            job_cursor::ActiveModel { name: Set(name.to_string()), created_at: Set(at), event_id: Set(event_id) };
        job_cursor::Entity::insert(model)
            .on_conflict(
                OnConflict::column(job_cursor::Column::Name)
                    .update_columns([job_cursor::Column::CreatedAt, job_cursor::Column::EventId])
                    .to_owned(),
            )
            .exec_without_returning(self.0)
            .await?;
        Ok(())
    }
}
