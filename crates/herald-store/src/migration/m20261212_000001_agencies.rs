//! Agencies (issue #26): customers that group a workspace's accounts,
//! client self-connect links, public preview links and the comments they
//! collect, signatures, saved sets of accounts, and coloured tags.
//!
//! `integrations.customer_id` has no foreign key: SQLite cannot add one to
//! an existing table. Deleting a customer clears it in the same
//! transaction (`App::delete_customer`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261212_000001_agencies"
    }
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    WorkspaceId,
    CustomerId,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    WorkspaceId,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    WorkspaceId,
    Name,
    Color,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Signatures {
    Table,
    Id,
    WorkspaceId,
    Name,
    Content,
    AutoAdd,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PostSets {
    Table,
    Id,
    WorkspaceId,
    Name,
    IntegrationIds,
    Settings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PreviewLinks {
    Table,
    Id,
    WorkspaceId,
    PostId,
    TokenHash,
    CreatedBy,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostComments {
    Table,
    Id,
    WorkspaceId,
    PostId,
    PreviewLinkId,
    UserId,
    AuthorName,
    Body,
    Verdict,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConnectLinks {
    Table,
    Id,
    WorkspaceId,
    CustomerId,
    TokenHash,
    Platforms,
    CreatedBy,
    ExpiresAt,
    RevokedAt,
    Connections,
    CreatedAt,
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(pk_uuid(Customers::Id))
                    .col(uuid(Customers::WorkspaceId))
                    .col(string(Customers::Name))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_customers_workspace",
                        (Customers::Table, Customers::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_customers_workspace_name")
                    .table(Customers::Table)
                    .col(Customers::WorkspaceId)
                    .col(Customers::Name)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Integrations::Table).add_column(uuid_null(Integrations::CustomerId)).take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_integrations_workspace_customer")
                    .table(Integrations::Table)
                    .col(Integrations::WorkspaceId)
                    .col(Integrations::CustomerId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(pk_uuid(Tags::Id))
                    .col(uuid(Tags::WorkspaceId))
                    .col(string(Tags::Name))
                    // `#rrggbb`.
                    .col(string(Tags::Color))
                    .col(timestamp_with_time_zone(Tags::CreatedAt))
                    .col(timestamp_with_time_zone(Tags::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_tags_workspace",
                        (Tags::Table, Tags::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tags_workspace_name")
                    .table(Tags::Table)
                    .col(Tags::WorkspaceId)
                    .col(Tags::Name)
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Signatures::Table)
                    .col(pk_uuid(Signatures::Id))
                    .col(uuid(Signatures::WorkspaceId))
                    .col(string(Signatures::Name))
                    .col(text(Signatures::Content))
                    .col(boolean(Signatures::AutoAdd))
                    .col(timestamp_with_time_zone(Signatures::CreatedAt))
                    .col(timestamp_with_time_zone(Signatures::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_signatures_workspace",
                        (Signatures::Table, Signatures::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_signatures_workspace")
                    .table(Signatures::Table)
                    .col(Signatures::WorkspaceId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostSets::Table)
                    .col(pk_uuid(PostSets::Id))
                    .col(uuid(PostSets::WorkspaceId))
                    .col(string(PostSets::Name))
                    .col(json_binary(PostSets::IntegrationIds))
                    .col(json_binary(PostSets::Settings))
                    .col(timestamp_with_time_zone(PostSets::CreatedAt))
                    .col(timestamp_with_time_zone(PostSets::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_post_sets_workspace",
                        (PostSets::Table, PostSets::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_post_sets_workspace")
                    .table(PostSets::Table)
                    .col(PostSets::WorkspaceId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PreviewLinks::Table)
                    .col(pk_uuid(PreviewLinks::Id))
                    .col(uuid(PreviewLinks::WorkspaceId))
                    .col(uuid(PreviewLinks::PostId))
                    // SHA-256 (hex) of the token in the URL; the token itself is never stored.
                    .col(string(PreviewLinks::TokenHash))
                    .col(uuid_null(PreviewLinks::CreatedBy))
                    .col(timestamp_with_time_zone(PreviewLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(PreviewLinks::RevokedAt))
                    .col(timestamp_with_time_zone(PreviewLinks::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_preview_links_post",
                        (PreviewLinks::Table, PreviewLinks::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_preview_links_token")
                    .table(PreviewLinks::Table)
                    .col(PreviewLinks::TokenHash)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_preview_links_post")
                    .table(PreviewLinks::Table)
                    .col(PreviewLinks::PostId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostComments::Table)
                    .col(pk_uuid(PostComments::Id))
                    .col(uuid(PostComments::WorkspaceId))
                    .col(uuid(PostComments::PostId))
                    .col(uuid_null(PostComments::PreviewLinkId))
                    .col(uuid_null(PostComments::UserId))
                    .col(string(PostComments::AuthorName))
                    .col(text(PostComments::Body))
                    // `COMMENT`, `APPROVE` or `REQUEST_CHANGES`.
                    .col(string(PostComments::Verdict))
                    .col(timestamp_with_time_zone(PostComments::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_post_comments_post",
                        (PostComments::Table, PostComments::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_post_comments_post")
                    .table(PostComments::Table)
                    .col(PostComments::PostId)
                    .col(PostComments::CreatedAt)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConnectLinks::Table)
                    .col(pk_uuid(ConnectLinks::Id))
                    .col(uuid(ConnectLinks::WorkspaceId))
                    .col(uuid(ConnectLinks::CustomerId))
                    // SHA-256 (hex) of the URL's token; the token itself is never stored.
                    .col(string(ConnectLinks::TokenHash))
                    // Platform ids the client may connect; `null` for any.
                    .col(json_binary_null(ConnectLinks::Platforms))
                    .col(uuid(ConnectLinks::CreatedBy))
                    .col(timestamp_with_time_zone(ConnectLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ConnectLinks::RevokedAt))
                    .col(integer(ConnectLinks::Connections).default(0))
                    .col(timestamp_with_time_zone(ConnectLinks::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_connect_links_customer",
                        (ConnectLinks::Table, ConnectLinks::CustomerId),
                        (Customers::Table, Customers::Id),
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_connect_links_token")
                    .table(ConnectLinks::Table)
                    .col(ConnectLinks::TokenHash)
                    .unique()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ConnectLinks::Table.into_iden(),
            PostComments::Table.into_iden(),
            PreviewLinks::Table.into_iden(),
            PostSets::Table.into_iden(),
            Signatures::Table.into_iden(),
            Tags::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .drop_index(Index::drop().name("idx_integrations_workspace_customer").table(Integrations::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Integrations::Table).drop_column(Integrations::CustomerId).take())
            .await?;
        manager.drop_table(Table::drop().table(Customers::Table).to_owned()).await
    }
}
