use axum::Router;

use crate::UiState;

pub fn routes() -> Router<UiState> {
    Router::new()
}
