//! For agencies (DESIGN §12): `/customers` (and which customer an account
//! belongs to), `/tags`, `/signatures`, `/sets`, and a post's
//! `/preview-links` and `/comments`. The public preview page itself,
//! `/p/{token}`, is the web UI's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::agency::connect::{ConnectLinkView, CreateConnectLinkInput, CreatedConnectLinkView};
use herald_app::agency::customers::{AssignCustomerInput, CustomerInput, CustomerView};
use herald_app::agency::previews::{
    CommentView, CreatePreviewLinkInput, CreatedPreviewLinkView, PreviewLinkView, TeamCommentInput,
};
use herald_app::agency::sets::{CreateSetInput, SetView, UpdateSetInput};
use herald_app::agency::signatures::{CreateSignatureInput, SignatureView, UpdateSignatureInput};
use herald_app::agency::tags::{CreateTagInput, TagView, UpdateTagInput};
use herald_app::views::IntegrationView;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiIds, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(rename_customer, delete_customer))
        .routes(routes!(assign_customer))
        .routes(routes!(list_connect_links, create_connect_link))
        .routes(routes!(revoke_connect_link))
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(update_tag, delete_tag))
        .routes(routes!(list_signatures, create_signature))
        .routes(routes!(update_signature, delete_signature))
        .routes(routes!(list_sets, create_set))
        .routes(routes!(update_set, delete_set))
        .routes(routes!(list_preview_links, create_preview_link))
        .routes(routes!(revoke_preview_link))
        .routes(routes!(list_comments, add_comment))
}

/// The workspace's customers (an agency's clients), by name, with how
/// many accounts each has. Scope `integrations:read`.
#[utoipa::path(get, path = "/customers", tag = "agency",
    responses((status = 200, description = "Customers", body = Vec<CustomerView>)))]
async fn list_customers(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<CustomerView>>> {
    Ok(Json(state.app.list_customers(&caller).await?))
}

/// Adds a customer. Signed-in OWNER or EDITOR.
#[utoipa::path(post, path = "/customers", tag = "agency", security(("session" = [])), request_body = CustomerInput,
    responses(
        (status = 201, description = "The customer", body = CustomerView),
        (status = 422, description = "Empty or taken name", body = ErrorBody),
    ))]
async fn create_customer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<(StatusCode, Json<CustomerView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_customer(&caller, input).await?)))
}

/// Renames a customer. Signed-in OWNER or EDITOR.
#[utoipa::path(patch, path = "/customers/{id}", tag = "agency", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Customer id")), request_body = CustomerInput,
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 404, description = "No such customer", body = ErrorBody),
    ))]
async fn rename_customer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<Json<CustomerView>> {
    Ok(Json(state.app.rename_customer(&caller, id, input).await?))
}

/// Deletes a customer: its accounts stay, belonging to no one. Signed-in
/// OWNER or EDITOR.
#[utoipa::path(delete, path = "/customers/{id}", tag = "agency", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such customer", body = ErrorBody),
    ))]
async fn delete_customer(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.delete_customer(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Says which customer an account belongs to (`null`: none). Signed-in
/// OWNER or EDITOR.
#[utoipa::path(put, path = "/integrations/{id}/customer", tag = "agency", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Integration id")), request_body = AssignCustomerInput,
    responses(
        (status = 200, description = "The integration", body = IntegrationView),
        (status = 404, description = "No such integration", body = ErrorBody),
        (status = 422, description = "Not a customer of this workspace", body = ErrorBody),
    ))]
async fn assign_customer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<AssignCustomerInput>,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(state.app.assign_customer(&caller, id, input).await?))
}

/// A customer's self-connect links (never their URLs: only a hash is
/// kept). Signed-in OWNER or EDITOR.
#[utoipa::path(get, path = "/customers/{id}/connect-links", tag = "agency", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Connect links", body = Vec<ConnectLinkView>),
        (status = 404, description = "No such customer", body = ErrorBody),
    ))]
async fn list_connect_links(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<ConnectLinkView>>> {
    Ok(Json(state.app.list_connect_links(&caller, id).await?))
}

/// Makes a link for the customer to connect their own accounts, without a
/// Herald account: `{url}` (shown once) opens a page with a form per
/// credential platform and a sign-in button per OAuth platform (limited to
/// `platforms` when given). Accounts land in this workspace under the
/// customer, and owners and editors are notified. Signed-in OWNER or EDITOR.
#[utoipa::path(post, path = "/customers/{id}/connect-links", tag = "agency", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Customer id")), request_body = CreateConnectLinkInput,
    responses(
        (status = 201, description = "The link and its URL, shown once", body = CreatedConnectLinkView),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Unknown platform or lifetime out of range", body = ErrorBody),
    ))]
async fn create_connect_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<CreateConnectLinkInput>,
) -> ApiResult<(StatusCode, Json<CreatedConnectLinkView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_connect_link(&caller, id, input).await?)))
}

/// Revokes a connect link: its page answers 404 from now on; accounts
/// connected through it stay. Signed-in OWNER or EDITOR.
#[utoipa::path(delete, path = "/customers/{id}/connect-links/{linkId}", tag = "agency", security(("session" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "Customer id"),
        ("linkId" = uuid::Uuid, Path, description = "Connect link id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such customer or link", body = ErrorBody),
    ))]
async fn revoke_connect_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiIds(id, link_id): ApiIds,
) -> ApiResult<StatusCode> {
    state.app.revoke_connect_link(&caller, id, link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Coloured tags, by name. Scope `posts:read`.
#[utoipa::path(get, path = "/tags", tag = "agency",
    responses((status = 200, description = "Tags", body = Vec<TagView>)))]
async fn list_tags(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<TagView>>> {
    Ok(Json(state.app.list_tags(&caller).await?))
}

/// Adds a tag with its colour. Scope `posts:write`.
#[utoipa::path(post, path = "/tags", tag = "agency", request_body = CreateTagInput,
    responses(
        (status = 201, description = "The tag", body = TagView),
        (status = 422, description = "Bad name or colour", body = ErrorBody),
    ))]
async fn create_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateTagInput>,
) -> ApiResult<(StatusCode, Json<TagView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_tag(&caller, input).await?)))
}

/// Renames a tag (on every post carrying it too) or recolours it. Scope
/// `posts:write`.
#[utoipa::path(patch, path = "/tags/{id}", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Tag id")), request_body = UpdateTagInput,
    responses(
        (status = 200, description = "The tag", body = TagView),
        (status = 404, description = "No such tag", body = ErrorBody),
    ))]
async fn update_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateTagInput>,
) -> ApiResult<Json<TagView>> {
    Ok(Json(state.app.update_tag(&caller, id, input).await?))
}

/// Deletes a tag; posts keep its name, uncoloured. Scope `posts:write`.
#[utoipa::path(delete, path = "/tags/{id}", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Tag id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such tag", body = ErrorBody),
    ))]
async fn delete_tag(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.delete_tag(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signatures the composer inserts. Scope `posts:read`.
#[utoipa::path(get, path = "/signatures", tag = "agency",
    responses((status = 200, description = "Signatures", body = Vec<SignatureView>)))]
async fn list_signatures(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<SignatureView>>> {
    Ok(Json(state.app.list_signatures(&caller).await?))
}

/// Adds a signature; `autoAdd` makes it the one new posts start with.
/// Scope `posts:write`.
#[utoipa::path(post, path = "/signatures", tag = "agency", request_body = CreateSignatureInput,
    responses(
        (status = 201, description = "The signature", body = SignatureView),
        (status = 422, description = "Empty or too long", body = ErrorBody),
    ))]
async fn create_signature(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateSignatureInput>,
) -> ApiResult<(StatusCode, Json<SignatureView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_signature(&caller, input).await?)))
}

/// Changes a signature. Scope `posts:write`.
#[utoipa::path(patch, path = "/signatures/{id}", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Signature id")), request_body = UpdateSignatureInput,
    responses(
        (status = 200, description = "The signature", body = SignatureView),
        (status = 404, description = "No such signature", body = ErrorBody),
    ))]
async fn update_signature(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateSignatureInput>,
) -> ApiResult<Json<SignatureView>> {
    Ok(Json(state.app.update_signature(&caller, id, input).await?))
}

/// Deletes a signature. Scope `posts:write`.
#[utoipa::path(delete, path = "/signatures/{id}", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Signature id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such signature", body = ErrorBody),
    ))]
async fn delete_signature(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<StatusCode> {
    state.app.delete_signature(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Saved sets of accounts with their settings. Scope `posts:read`.
#[utoipa::path(get, path = "/sets", tag = "agency",
    responses((status = 200, description = "Sets", body = Vec<SetView>)))]
async fn list_sets(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<SetView>>> {
    Ok(Json(state.app.list_sets(&caller).await?))
}

/// Saves a set; `POST /posts` with `setId` uses it. Scope `posts:write`.
#[utoipa::path(post, path = "/sets", tag = "agency", request_body = CreateSetInput,
    responses(
        (status = 201, description = "The set", body = SetView),
        (status = 422, description = "Unknown accounts or settings not objects", body = ErrorBody),
    ))]
async fn create_set(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateSetInput>,
) -> ApiResult<(StatusCode, Json<SetView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_set(&caller, input).await?)))
}

/// Changes a set. Scope `posts:write`.
#[utoipa::path(patch, path = "/sets/{id}", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Set id")), request_body = UpdateSetInput,
    responses(
        (status = 200, description = "The set", body = SetView),
        (status = 404, description = "No such set", body = ErrorBody),
    ))]
async fn update_set(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateSetInput>,
) -> ApiResult<Json<SetView>> {
    Ok(Json(state.app.update_set(&caller, id, input).await?))
}

/// Deletes a set. Scope `posts:write`.
#[utoipa::path(delete, path = "/sets/{id}", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Set id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such set", body = ErrorBody),
    ))]
async fn delete_set(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.delete_set(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A post's preview links (never their URLs: only a hash is kept).
/// Scope `posts:read`.
#[utoipa::path(get, path = "/posts/{id}/preview-links", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 200, description = "Preview links", body = Vec<PreviewLinkView>),
        (status = 404, description = "No such post", body = ErrorBody),
    ))]
async fn list_preview_links(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<PreviewLinkView>>> {
    Ok(Json(state.app.list_preview_links(&caller, id).await?))
}

/// Makes a public preview link to a post: `{url}` (shown once) opens a
/// page without sign-in that shows the post as each platform will, and
/// takes comments, approvals and change requests. Scope `posts:write`.
#[utoipa::path(post, path = "/posts/{id}/preview-links", tag = "agency", request_body = CreatePreviewLinkInput,
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 201, description = "The link and its URL, shown once", body = CreatedPreviewLinkView),
        (status = 404, description = "No such post", body = ErrorBody),
    ))]
async fn create_preview_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<CreatePreviewLinkInput>,
) -> ApiResult<(StatusCode, Json<CreatedPreviewLinkView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_preview_link(&caller, id, input).await?)))
}

/// Revokes a preview link: its page answers 404 from now on. Scope
/// `posts:write`.
#[utoipa::path(delete, path = "/posts/{id}/preview-links/{linkId}", tag = "agency",
    params(
        ("id" = uuid::Uuid, Path, description = "Post id"),
        ("linkId" = uuid::Uuid, Path, description = "Preview link id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such post or link", body = ErrorBody),
    ))]
async fn revoke_preview_link(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiIds(id, link_id): ApiIds,
) -> ApiResult<StatusCode> {
    state.app.revoke_preview_link(&caller, id, link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Comments on a post, oldest first: the team's and those left on its
/// preview pages (with their verdicts). Scope `posts:read`.
#[utoipa::path(get, path = "/posts/{id}/comments", tag = "agency",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 200, description = "Comments", body = Vec<CommentView>),
        (status = 404, description = "No such post", body = ErrorBody),
    ))]
async fn list_comments(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<CommentView>>> {
    Ok(Json(state.app.list_comments(&caller, id).await?))
}

/// A team member's comment (`{body}`). Scope `posts:read`: anyone who
/// can see a post may talk about it.
#[utoipa::path(post, path = "/posts/{id}/comments", tag = "agency", request_body = TeamCommentInput,
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 201, description = "The comment", body = CommentView),
        (status = 404, description = "No such post", body = ErrorBody),
        (status = 422, description = "Empty or too long", body = ErrorBody),
    ))]
async fn add_comment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<TeamCommentInput>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    Ok((StatusCode::CREATED, Json(state.app.add_comment(&caller, id, input).await?)))
}
