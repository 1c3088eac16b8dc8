//! Teams and approvals: invites, the workspace a session acts in, the
//! approval state of a post, in-app notifications, the e-mail outbox and
//! the cursor of the job that turns events into both.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_teams"
    }
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
    RequireApproval,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    WorkspaceId,
    ApprovalState,
    Approval,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    WorkspaceId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    NotificationPrefs,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    Id,
    WorkspaceId,
    Email,
    Role,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    WorkspaceId,
    EventId,
    Kind,
    Title,
    Body,
    Link,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    Kind,
    EventId,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    SentAt,
    FailedAt,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    CreatedAt,
    Id,
}

#[derive(DeriveIden)]
enum JobCursors {
    Table,
    Name,
    CreatedAt,
    EventId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Workspaces::Table)
                    .add_column(boolean(Workspaces::RequireApproval).default(false))
                    .take(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(Table::alter().table(Posts::Table).add_column(string_null(Posts::ApprovalState)).take())
            .await?;
        manager
            .alter_table(Table::alter().table(Posts::Table).add_column(json_binary_null(Posts::Approval)).take())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_workspace_approval")
                    .table(Posts::Table)
                    .col(Posts::WorkspaceId)
                    .col(Posts::ApprovalState)
                    .take(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Sessions::Table).add_column(uuid_null(Sessions::WorkspaceId)).take())
            .await?;
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(json_binary_null(Users::NotificationPrefs)).take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invites::Table)
                    .col(pk_uuid(Invites::Id))
                    .col(uuid(Invites::WorkspaceId))
                    .col(string(Invites::Email))
                    .col(string(Invites::Role))
                    .col(string(Invites::TokenHash).unique_key())
                    .col(uuid(Invites::CreatedBy))
                    .col(timestamp_with_time_zone(Invites::CreatedAt))
                    .col(timestamp_with_time_zone(Invites::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invites::AcceptedAt))
                    .col(uuid_null(Invites::AcceptedBy))
                    .col(timestamp_with_time_zone_null(Invites::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invites_workspace")
                            .from(Invites::Table, Invites::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_invites_workspace").table(Invites::Table).col(Invites::WorkspaceId).take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::UserId))
                    .col(uuid(Notifications::WorkspaceId))
                    .col(uuid(Notifications::EventId))
                    .col(string(Notifications::Kind))
                    .col(string(Notifications::Title))
                    .col(text(Notifications::Body))
                    .col(string(Notifications::Link))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_user")
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_workspace")
                            .from(Notifications::Table, Notifications::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        // One notification per event and person, whichever process got there first.
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_event_user")
                    .table(Notifications::Table)
                    .col(Notifications::EventId)
                    .col(Notifications::UserId)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user_created")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::CreatedAt)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_uuid(EmailOutbox::Id))
                    .col(string(EmailOutbox::Recipient))
                    .col(string(EmailOutbox::Subject))
                    .col(text(EmailOutbox::TextBody))
                    .col(text(EmailOutbox::HtmlBody))
                    .col(string(EmailOutbox::Kind))
                    .col(uuid_null(EmailOutbox::EventId))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::LeaseUntil))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::FailedAt))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_outbox_event_recipient")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::EventId)
                    .col(EmailOutbox::Recipient)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_outbox_due")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::SentAt)
                    .col(EmailOutbox::NextAttemptAt)
                    .take(),
            )
            .await?;

        // The notification job reads every workspace's events in order.
        manager
            .create_index(
                Index::create()
                    .name("idx_events_created")
                    .table(Events::Table)
                    .col(Events::CreatedAt)
                    .col(Events::Id)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobCursors::Table)
                    .col(string(JobCursors::Name).primary_key())
                    .col(timestamp_with_time_zone(JobCursors::CreatedAt))
                    .col(uuid(JobCursors::EventId))
                    .take(),
            )
            .await
    }
}
