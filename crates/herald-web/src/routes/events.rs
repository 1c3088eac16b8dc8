//! `GET /events`: the caller's workspace events as Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::extract::Auth;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Live events of your workspace (post created, scheduled, published,
/// failed …) as `text/event-stream`; each `data` is an `EventView`. Scope
/// `posts:read`.
#[utoipa::path(get, path = "/events", tag = "events",
    responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = herald_app::views::EventView)))]
async fn events(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let subscription = state.app.subscribe_events(&caller)?;
    let shutdown = state.shutdown.clone();
    let stream = futures::stream::unfold((subscription, shutdown), |(mut subscription, mut shutdown)| async move {
        // The stream ends when the server shuts down, so shutdown never
        // waits on a client that keeps listening.
        if *shutdown.borrow() {
            return None;
        }
        let event = tokio::select! {
            event = subscription.next() => event?,
            _ = shutdown.changed() => return None,
        };
        let sse = Event::default()
            .id(event.id.to_string())
            .event(event.kind.clone())
            .json_data(&event)
            .unwrap_or_else(|_| Event::default().comment("unserializable event"));
        Some((Ok(sse), (subscription, shutdown)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
