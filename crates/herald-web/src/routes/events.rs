//! `GET /events`: the caller's workspace events as Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, Auth};
use crate::state::AppState;

/// The longest `timeout` a client may ask for (an hour).
const MAX_TIMEOUT_SECONDS: u64 = 3600;

/// `GET /events?timeout=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// End the stream after this many seconds (1–3600), for clients and
    /// proxies that cannot hold a response open; reconnect to go on.
    /// Without it the stream stays open until you leave.
    #[param(minimum = 1, maximum = 3600)]
    timeout: Option<u64>,
}

/// How often an open stream checks that its credential still holds.
const RECHECK: Duration = Duration::from_secs(2);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Live events of your workspace (post created, scheduled, published,
/// failed …) as `text/event-stream`; each `data` is an `EventView`. Scope
/// `posts:read`.
#[utoipa::path(get, path = "/events", tag = "events", params(EventsQuery),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = herald_app::views::EventView),
        (status = 422, description = "Invalid `timeout`", body = crate::error::ErrorBody),
    ))]
async fn events(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let deadline = match query.timeout {
        Some(seconds) if !(1..=MAX_TIMEOUT_SECONDS).contains(&seconds) => {
            let message = format!("must be between 1 and {MAX_TIMEOUT_SECONDS} seconds");
            return Err(herald_app::AppError::from(herald_core::ValidationError::new("timeout", message)).into());
        }
        Some(seconds) => tokio::time::Instant::now() + Duration::from_secs(seconds),
        // Far enough to be never, near enough not to overflow.
        None => tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600),
    };
    let subscription = state.app.subscribe_events(&caller)?;
    let shutdown = state.shutdown.clone();
    let recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    let app = state.app.clone();
    let stream = futures::stream::unfold(
        (subscription, shutdown, recheck),
        move |(mut subscription, mut shutdown, mut recheck)| {
            let (app, caller) = (app.clone(), caller.clone());
            async move {
                loop {
                    // The stream ends when the server shuts down, so shutdown
                    // never waits on a client that keeps listening.
                    if *shutdown.borrow() {
                        return None;
                    }
                    let event = tokio::select! {
                        event = subscription.next() => event?,
                        _ = shutdown.changed() => return None,
                        () = tokio::time::sleep_until(deadline) => return None,
                        _ = recheck.tick() => {
                            // A key revoked, a session ended or an account
                            // disabled since the stream opened ends it.
                            if let Err(error) = app.still_authorized(&caller).await {
                                tracing::info!(%error, "event stream ended: its credential no longer holds");
                                return None;
                            }
                            continue;
                        }
                    };
                    let sse = Event::default()
                        .id(event.id.to_string())
                        .event(event.kind.as_str())
                        .json_data(&event)
                        .unwrap_or_else(|_| Event::default().comment("unserializable event"));
                    return Some((Ok(sse), (subscription, shutdown, recheck)));
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
