//! Import and export of posts: `GET /posts/export?format=csv|yaml` and
//! `POST /posts/import?format=csv|yaml&dryRun=true|false` with the raw file
//! as the body. Importing is a dry run unless `dryRun=false`, and saves all
//! rows or none.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use herald_app::posts::{ExportQuery, ImportQuery, ImportReport, TransferFormat, parse_file};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Auth};
use crate::state::AppState;

/// The YAML export: `posts`, each as the README's import format describes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documents the answer; the file is written by the use case.
struct ExportedYaml {
    #[schema(value_type = Vec<Object>)]
    posts: Vec<()>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_posts)).routes(routes!(import_posts))
}

fn format_of(raw: Option<&str>, headers: Option<&HeaderMap>) -> Result<TransferFormat, ApiError> {
    let from_type = headers
        .and_then(|h| h.get(header::CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .filter(|t| t.starts_with("text/csv"))
        .map(|_| "csv");
    TransferFormat::parse(raw.or(from_type)).map_err(|error| herald_app::AppError::from(error).into())
}

/// Every post of the workspace as a CSV or YAML file (oldest first), ready
/// to edit and import again; accounts are named by id and by
/// `platform:name`, so the file also moves to another Herald.
#[utoipa::path(get, path = "/posts/export", tag = "posts", params(ExportQuery),
    responses(
        (status = 200, description = "The file", content(
            (ExportedYaml = "application/yaml"),
            (String = "text/csv"),
        )),
        (status = 422, description = "Unknown format", body = ErrorBody),
    ))]
async fn export_posts(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = format_of(query.format.as_deref(), None)?;
    let body = state.app.export_posts(&caller, format).await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&format.attachment()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Checks (and with `dryRun=false` saves) a file of posts: one result per
/// row, `{row, status: created|updated|skipped|error, postId?, errors[]}`.
/// Rows are matched by `externalId`, so importing a file again changes
/// nothing; nothing is saved unless every row is valid.
#[utoipa::path(post, path = "/posts/import", tag = "posts", params(ImportQuery),
    request_body(description = "The file: YAML, a list of posts or `posts:` holding one; or CSV with a header line", content(
        (serde_json::Value = "application/yaml"),
        (String = "text/csv"),
    )),
    responses(
        (status = 200, description = "Per-row results; `valid` says whether all rows pass", body = ImportReport),
        (status = 403, description = "Lacks posts:write", body = ErrorBody),
        (status = 422, description = "Unknown format, or a file that cannot be read at all", body = ErrorBody),
    ))]
async fn import_posts(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportReport>> {
    // Rights first: a caller who may not import learns nothing about the file.
    caller.require(herald_core::api_key::Scope::PostsWrite)?;
    let format = format_of(query.format.as_deref(), Some(&headers))?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        herald_app::AppError::from(herald_core::ValidationError::new("body", "the file is not UTF-8 text"))
    })?;
    let rows = parse_file(format, text).map_err(herald_app::AppError::from)?;
    let report = state.app.import_posts(&caller, rows, query.dry_run.unwrap_or(true), &|_, _| {}).await?;
    Ok(Json(report))
}
