//! For agencies: `/customers` (clients, the accounts each has, and the
//! links that let a client connect their own) and `/settings/library`
//! (coloured tags, signatures, and sets of accounts). Plain HTML forms.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::agency::connect::CreateConnectLinkInput;
use herald_app::agency::customers::{AssignCustomerInput, CustomerInput};
use herald_app::agency::sets::{CreateSetInput, UpdateSetInput};
use herald_app::agency::signatures::{CreateSignatureInput, UpdateSignatureInput};
use herald_app::agency::tags::{CreateTagInput, UpdateTagInput};

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiId, UiResult};
use crate::fmt;
use crate::pages::{Notice, see_other};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/customers", get(customers_page).post(create_customer))
        .route("/customers/{id}", post(rename_customer))
        .route("/customers/{id}/delete", post(delete_customer))
        .route("/customers/assign", post(assign))
        .route("/customers/{id}/connect-links", post(create_link))
        .route("/customers/{id}/connect-links/{link}/revoke", post(revoke_link))
        .route("/settings/library", get(library_page))
        .route("/settings/library/tags", post(create_tag))
        .route("/settings/library/tags/{id}", post(update_tag))
        .route("/settings/library/tags/{id}/delete", post(delete_tag))
        .route("/settings/library/signatures", post(create_signature))
        .route("/settings/library/signatures/{id}", post(update_signature))
        .route("/settings/library/signatures/{id}/delete", post(delete_signature))
        .route("/settings/library/sets", post(create_set))
        .route("/settings/library/sets/{id}", post(update_set))
        .route("/settings/library/sets/{id}/delete", post(delete_set))
}

type Pairs = Vec<(String, String)>;

fn field(pairs: &Pairs, name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
}

fn all(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

fn ticked(pairs: &Pairs, name: &str) -> bool {
    pairs.iter().any(|(k, v)| k == name && (v == "on" || v == "true"))
}

pub struct AccountRow {
    pub id: String,
    pub label: String,
    pub customer: String,
}

pub struct LinkRow {
    pub id: String,
    pub platforms: String,
    pub expires: String,
    pub active: bool,
    pub connections: i32,
}

pub struct CustomerBlock {
    pub id: String,
    pub name: String,
    pub accounts: Vec<String>,
    pub links: Vec<LinkRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/customers.html")]
struct CustomersPage {
    c: Chrome,
    customers: Vec<CustomerBlock>,
    accounts: Vec<AccountRow>,
    /// (id, name) of the platforms a link can offer.
    platforms: Vec<(String, &'static str)>,
    /// A link just made: (customer name, URL), shown once.
    new_link: Option<(String, String)>,
    can_manage: bool,
    errors: FieldErrors,
}

async fn render_customers(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    new_link: Option<(String, String)>,
    errors: FieldErrors,
) -> UiResult<CustomersPage> {
    let customers = state.app.list_customers(&viewer.caller).await?;
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    let can_manage = viewer.caller.role.can_publish();
    let mut blocks = Vec::with_capacity(customers.len());
    for customer in &customers {
        let links = if can_manage {
            state
                .app
                .list_connect_links(&viewer.caller, customer.id)
                .await?
                .into_iter()
                .rev()
                .map(|l| LinkRow {
                    id: l.id.to_string(),
                    platforms: l.platforms.map_or_else(|| "every platform".to_string(), |p| p.join(", ")),
                    expires: fmt::local(l.expires_at, viewer.tz),
                    active: l.active,
                    connections: l.connections,
                })
                .collect()
        } else {
            Vec::new()
        };
        blocks.push(CustomerBlock {
            id: customer.id.to_string(),
            name: customer.name.clone(),
            accounts: integrations
                .iter()
                .filter(|i| i.customer_id == Some(customer.id))
                .map(|i| format!("{} ({})", i.name, i.platform))
                .collect(),
            links,
        });
    }
    let accounts = integrations
        .iter()
        .map(|i| AccountRow {
            id: i.id.to_string(),
            label: format!("{} ({})", i.name, i.platform),
            customer: i.customer_id.map(|c| c.to_string()).unwrap_or_default(),
        })
        .collect();
    let platforms = state
        .app
        .platforms()
        .into_iter()
        .filter(|p| p.available && p.configured)
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    Ok(CustomersPage {
        c: Chrome::new(viewer, "integrations", "Customers").with_notice(notice),
        customers: blocks,
        accounts,
        platforms,
        new_link,
        can_manage,
        errors,
    })
}

async fn customers_page(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(q): Query<Notice>,
) -> UiResult<CustomersPage> {
    render_customers(&state, &viewer, q.notice.as_deref(), None, FieldErrors::default()).await
}

async fn customers_failed(state: &UiState, viewer: &Viewer, error: herald_app::AppError) -> UiResult<Response> {
    let errors = FieldErrors::from_app(error)?;
    let page = render_customers(state, viewer, None, None, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn create_customer(State(state): State<UiState>, viewer: Viewer, Form(pairs): Form<Pairs>) -> UiResult<Response> {
    match state.app.create_customer(&viewer.caller, CustomerInput { name: field(&pairs, "name") }).await {
        Ok(_) => Ok(see_other("/customers?notice=saved")),
        Err(error) => customers_failed(&state, &viewer, error).await,
    }
}

async fn rename_customer(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(pairs): Form<Pairs>,
) -> UiResult<Response> {
    match state.app.rename_customer(&viewer.caller, id, CustomerInput { name: field(&pairs, "name") }).await {
        Ok(_) => Ok(see_other("/customers?notice=saved")),
        Err(error) => customers_failed(&state, &viewer, error).await,
    }
}

async fn delete_customer(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.delete_customer(&viewer.caller, id).await {
        Ok(()) => Ok(see_other("/customers?notice=deleted")),
        Err(error) => customers_failed(&state, &viewer, error).await,
    }
}

/// Each account's customer, from one form (a select per account).
async fn assign(State(state): State<UiState>, viewer: Viewer, Form(pairs): Form<Pairs>) -> UiResult<Response> {
    let current = state.app.list_integrations(&viewer.caller).await?;
    for (key, value) in &pairs {
        let Some(raw) = key.strip_prefix("customer.") else { continue };
        let Ok(integration) = uuid::Uuid::parse_str(raw) else { continue };
        let customer_id = if value.is_empty() { None } else { uuid::Uuid::parse_str(value).ok() };
        // Only what changed is written.
        if current.iter().any(|i| i.id == integration && i.customer_id == customer_id) {
            continue;
        }
        if let Err(error) =
            state.app.assign_customer(&viewer.caller, integration, AssignCustomerInput { customer_id }).await
        {
            return customers_failed(&state, &viewer, error).await;
        }
    }
    Ok(see_other("/customers?notice=saved"))
}

async fn create_link(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(pairs): Form<Pairs>,
) -> UiResult<Response> {
    let platforms = all(&pairs, "platforms");
    let days = field(&pairs, "days").parse::<i64>().ok();
    let input = CreateConnectLinkInput {
        platforms: if platforms.is_empty() { None } else { Some(platforms) },
        expires_in_days: days,
    };
    match state.app.create_connect_link(&viewer.caller, id, input).await {
        // Rendered, not redirected: the URL is shown exactly once, here.
        Ok(created) => {
            let name = state
                .app
                .list_customers(&viewer.caller)
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .map(|c| c.name)
                .unwrap_or_default();
            Ok(render_customers(&state, &viewer, None, Some((name, created.url)), FieldErrors::default())
                .await?
                .into_response())
        }
        Err(error) => customers_failed(&state, &viewer, error).await,
    }
}

async fn revoke_link(
    State(state): State<UiState>,
    viewer: Viewer,
    Path((id, link)): Path<(String, String)>,
) -> UiResult<Response> {
    let (Ok(id), Ok(link)) = (uuid::Uuid::parse_str(&id), uuid::Uuid::parse_str(&link)) else {
        return Err(UiError::NotFound);
    };
    match state.app.revoke_connect_link(&viewer.caller, id, link).await {
        Ok(()) => Ok(see_other("/customers?notice=saved")),
        Err(error) => customers_failed(&state, &viewer, error).await,
    }
}

pub struct TagRow {
    pub id: String,
    pub name: String,
    pub color: String,
}

pub struct SignatureRow {
    pub id: String,
    pub name: String,
    pub content: String,
    pub auto_add: bool,
}

pub struct SetRow {
    pub id: String,
    pub name: String,
    /// Integration ids in the set.
    pub ids: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/library.html")]
struct LibraryPage {
    c: Chrome,
    tags: Vec<TagRow>,
    signatures: Vec<SignatureRow>,
    sets: Vec<SetRow>,
    /// (id, label) of the workspace's accounts.
    accounts: Vec<(String, String)>,
    can_write: bool,
    errors: FieldErrors,
}

async fn render_library(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    errors: FieldErrors,
) -> UiResult<LibraryPage> {
    let integrations = state.app.list_integrations(&viewer.caller).await?;
    Ok(LibraryPage {
        c: Chrome::new(viewer, "settings", "Tags, signatures and sets").with_notice(notice),
        tags: state
            .app
            .list_tags(&viewer.caller)
            .await?
            .into_iter()
            .map(|t| TagRow { id: t.id.to_string(), name: t.name, color: t.color })
            .collect(),
        signatures: state
            .app
            .list_signatures(&viewer.caller)
            .await?
            .into_iter()
            .map(|s| SignatureRow { id: s.id.to_string(), name: s.name, content: s.content, auto_add: s.auto_add })
            .collect(),
        sets: state
            .app
            .list_sets(&viewer.caller)
            .await?
            .into_iter()
            .map(|s| SetRow {
                id: s.id.to_string(),
                name: s.name,
                ids: s.integration_ids.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        accounts: integrations.iter().map(|i| (i.id.to_string(), format!("{} ({})", i.name, i.platform))).collect(),
        can_write: viewer.caller.role.can_write(),
        errors,
    })
}

async fn library_page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<Notice>) -> UiResult<LibraryPage> {
    render_library(&state, &viewer, q.notice.as_deref(), FieldErrors::default()).await
}

async fn library_done(
    state: &UiState,
    viewer: &Viewer,
    result: Result<(), herald_app::AppError>,
    notice: &str,
) -> UiResult<Response> {
    match result {
        Ok(()) => Ok(see_other(&format!("/settings/library?notice={notice}"))),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            let page = render_library(state, viewer, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

fn optional(value: String) -> Option<String> {
    Some(value).filter(|v| !v.is_empty())
}

async fn create_tag(State(state): State<UiState>, viewer: Viewer, Form(pairs): Form<Pairs>) -> UiResult<Response> {
    let input = CreateTagInput { name: field(&pairs, "name"), color: optional(field(&pairs, "color")) };
    let result = state.app.create_tag(&viewer.caller, input).await.map(|_| ());
    library_done(&state, &viewer, result, "saved").await
}

async fn update_tag(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(pairs): Form<Pairs>,
) -> UiResult<Response> {
    let input = UpdateTagInput { name: optional(field(&pairs, "name")), color: optional(field(&pairs, "color")) };
    let result = state.app.update_tag(&viewer.caller, id, input).await.map(|_| ());
    library_done(&state, &viewer, result, "saved").await
}

async fn delete_tag(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    let result = state.app.delete_tag(&viewer.caller, id).await;
    library_done(&state, &viewer, result, "deleted").await
}

async fn create_signature(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(pairs): Form<Pairs>,
) -> UiResult<Response> {
    let input = CreateSignatureInput {
        name: field(&pairs, "name"),
        content: pairs.iter().find(|(k, _)| k == "content").map(|(_, v)| v.clone()).unwrap_or_default(),
        auto_add: ticked(&pairs, "auto_add"),
    };
    let result = state.app.create_signature(&viewer.caller, input).await.map(|_| ());
    library_done(&state, &viewer, result, "saved").await
}

async fn update_signature(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(pairs): Form<Pairs>,
) -> UiResult<Response> {
    let input = UpdateSignatureInput {
        name: optional(field(&pairs, "name")),
        content: pairs.iter().find(|(k, _)| k == "content").map(|(_, v)| v.clone()),
        auto_add: Some(ticked(&pairs, "auto_add")),
    };
    let result = state.app.update_signature(&viewer.caller, id, input).await.map(|_| ());
    library_done(&state, &viewer, result, "saved").await
}

async fn delete_signature(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    let result = state.app.delete_signature(&viewer.caller, id).await;
    library_done(&state, &viewer, result, "deleted").await
}

fn account_ids(pairs: &Pairs) -> Vec<uuid::Uuid> {
    all(pairs, "accounts").iter().filter_map(|raw| uuid::Uuid::parse_str(raw).ok()).collect()
}

async fn create_set(State(state): State<UiState>, viewer: Viewer, Form(pairs): Form<Pairs>) -> UiResult<Response> {
    let input = CreateSetInput {
        name: field(&pairs, "name"),
        integration_ids: account_ids(&pairs),
        settings: Default::default(),
    };
    let result = state.app.create_set(&viewer.caller, input).await.map(|_| ());
    library_done(&state, &viewer, result, "saved").await
}

async fn update_set(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(pairs): Form<Pairs>,
) -> UiResult<Response> {
    let input = UpdateSetInput {
        name: optional(field(&pairs, "name")),
        integration_ids: Some(account_ids(&pairs)),
        settings: None,
    };
    let result = state.app.update_set(&viewer.caller, id, input).await.map(|_| ());
    library_done(&state, &viewer, result, "saved").await
}

async fn delete_set(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    let result = state.app.delete_set(&viewer.caller, id).await;
    library_done(&state, &viewer, result, "deleted").await
}
