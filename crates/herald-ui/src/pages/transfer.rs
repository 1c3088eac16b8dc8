//! `/settings/import`: download every post as YAML or CSV, and check or
//! import a file (uploaded or pasted) with a result per row. Works without
//! JavaScript; the upload carries its CSRF token in the query, as every
//! multipart form of the UI does.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use herald_app::posts::{ImportReport, TransferFormat, parse_file};

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiResult};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new().route("/settings/import", get(page).post(import)).route("/settings/export", get(export))
}

pub struct ResultRow {
    pub row: usize,
    pub external_id: String,
    pub status: &'static str,
    pub post_id: String,
    pub details: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/transfer.html")]
struct TransferPage {
    c: Chrome,
    text: String,
    /// The summary of the last check or import, and its rows.
    summary: Option<String>,
    rows: Vec<ResultRow>,
    errors: FieldErrors,
}

fn render(viewer: &Viewer, text: String, report: Option<ImportReport>, errors: FieldErrors) -> TransferPage {
    let summary = report.as_ref().map(|r| {
        let verb = if r.dry_run { "would be" } else { "were" };
        let outcome = if !r.valid {
            "Nothing was saved: fix the rows with errors and try again."
        } else if r.dry_run {
            "Checked only: nothing was saved yet."
        } else {
            "Imported."
        };
        format!(
            "{} rows: {} {verb} created, {} {verb} updated, {} skipped, {} with errors. {outcome}",
            r.rows.len(),
            r.created,
            r.updated,
            r.skipped,
            r.errors
        )
    });
    let rows = report
        .map(|r| {
            r.rows
                .into_iter()
                .map(|row| ResultRow {
                    row: row.row,
                    external_id: row.external_id.unwrap_or_default(),
                    status: row.status,
                    post_id: row.post_id.map(|id| id.to_string()).unwrap_or_default(),
                    details: row.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).chain(row.note).collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    TransferPage { c: Chrome::new(viewer, "settings", "Import and export"), text, summary, rows, errors }
}

async fn page(viewer: Viewer) -> TransferPage {
    render(&viewer, String::new(), None, FieldErrors::default())
}

#[derive(Debug, serde::Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

async fn export(State(state): State<UiState>, viewer: Viewer, Query(q): Query<ExportQuery>) -> UiResult<Response> {
    let format = TransferFormat::parse(q.format.as_deref()).map_err(|_| UiError::NotFound)?;
    let body = state.app.export_posts(&viewer.caller, format).await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&format.attachment()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

async fn import(State(state): State<UiState>, viewer: Viewer, mut form: Multipart) -> UiResult<Response> {
    let (mut text, mut file, mut file_name, mut format, mut apply) = (String::new(), None, None, None, false);
    while let Some(field) = form.next_field().await.map_err(|_| UiError::TooLarge)? {
        match field.name().unwrap_or_default() {
            "file" => {
                file_name = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.map_err(|_| UiError::TooLarge)?;
                if !bytes.is_empty() {
                    file = Some(bytes);
                }
            }
            "text" => text = field.text().await.map_err(|_| UiError::TooLarge)?,
            "format" => format = Some(field.text().await.map_err(|_| UiError::TooLarge)?),
            "action" => apply = field.text().await.map_err(|_| UiError::TooLarge)? == "apply",
            _ => {}
        }
    }
    let content = match file {
        Some(bytes) => match String::from_utf8(bytes.to_vec()) {
            Ok(content) => content,
            Err(_) => return failed(&viewer, text, FieldErrors::general("The file is not UTF-8 text.")),
        },
        None => text.clone(),
    };
    let from_name = file_name.as_deref().and_then(|n| n.rsplit_once('.')).map(|(_, ext)| ext.to_string());
    let chosen = format.filter(|f| f != "auto").or(from_name);
    let parsed = TransferFormat::parse(chosen.as_deref()).and_then(|format| parse_file(format, &content));
    let rows = match parsed {
        Ok(rows) => rows,
        Err(error) => return failed(&viewer, text, FieldErrors::general(error.message)),
    };
    match state.app.import_posts(&viewer.caller, rows, !apply, &|_, _| {}).await {
        Ok(report) => Ok(render(&viewer, text, Some(report), FieldErrors::default()).into_response()),
        Err(error) => failed(&viewer, text, FieldErrors::from_app(error)?),
    }
}

fn failed(viewer: &Viewer, text: String, errors: FieldErrors) -> UiResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(viewer, text, None, errors)).into_response())
}
