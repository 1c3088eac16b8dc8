//! `/integrations/choose/{pendingId}`: after signing in at a platform whose
//! token can post as several accounts (LinkedIn pages …), the user ticks
//! the ones to connect.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use herald_app::connections::{ChooseAccountsInput, PendingAccountView};

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiId, UiResult};
use crate::pages::see_other;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new().route("/integrations/choose/{id}", get(page).post(choose))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/choose.html")]
struct ChoosePage {
    c: Chrome,
    id: String,
    platform_name: &'static str,
    accounts: Vec<PendingAccountView>,
    choose_one: bool,
    errors: FieldErrors,
}

async fn render(state: &UiState, viewer: &Viewer, id: uuid::Uuid, errors: FieldErrors) -> UiResult<ChoosePage> {
    let pending = state.app.pending_connection(&viewer.caller, id).await?;
    let platform_name = herald_core::platform::rules_for(&pending.platform).map_or("the platform", |r| r.name);
    Ok(ChoosePage {
        c: Chrome::new(viewer, "integrations", "Choose accounts"),
        id: id.to_string(),
        platform_name,
        accounts: pending.accounts,
        choose_one: pending.choose_one,
        errors,
    })
}

async fn page(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<ChoosePage> {
    render(&state, &viewer, id, FieldErrors::default()).await
}

async fn choose(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let account_ids = pairs.into_iter().filter(|(key, _)| key == "account").map(|(_, value)| value).collect();
    match state.app.choose_accounts(&viewer.caller, id, ChooseAccountsInput { account_ids }).await {
        Ok(_) => Ok(see_other("/integrations?notice=connected")),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            let page = render(&state, &viewer, id, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
