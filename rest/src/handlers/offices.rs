//! Service points: the list, an admin's changes, the state of a service point's queues and
//! counters, and the stream of its calls for display boards (server-sent events).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use sopflow_core::auth::ADMIN;
use sopflow_core::calls::Published;
use sopflow_core::counters;
use sopflow_core::offices::{NewServicePoint, OfficeError};
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{self, BoardView, CallView, ServicePointView};
use crate::extract::{Caller, JsonBody, now};
use crate::problem::Problem;
use crate::state::AppState;

impl From<OfficeError> for Problem {
    fn from(e: OfficeError) -> Self {
        match e {
            OfficeError::Invalid { .. } => Problem::unprocessable(
                "invalid-service-point",
                "The service point is refused",
                e.to_string(),
            ),
            OfficeError::KeptByConfig(_) => Problem::new(
                StatusCode::CONFLICT,
                "kept-by-config",
                "The configuration file keeps this service point",
            )
            .detail(e.to_string()),
            OfficeError::Store(e) => crate::handlers::store_error(e),
        }
    }
}

/// Every service point, with its counters.
#[utoipa::path(get, path = "/service-points", security(("bearer" = [])),
    responses((status = 200, body = [ServicePointView])))]
pub async fn list_service_points(
    State(state): State<AppState>,
    _user: Caller,
) -> Result<Json<Vec<ServicePointView>>, Problem> {
    let runtime = &state.runtime;
    let points = runtime.offices.all(&runtime.store).await?;
    let default = runtime.offices.default_id();
    Ok(Json(
        points
            .iter()
            .map(|p| ServicePointView::new(p, default))
            .collect(),
    ))
}

/// One service point, with its counters.
#[utoipa::path(get, path = "/service-points/{id}", security(("bearer" = [])),
    responses((status = 200, body = ServicePointView), (status = 404, body = Problem)))]
pub async fn get_service_point(
    State(state): State<AppState>,
    _user: Caller,
    Path(id): Path<String>,
) -> Result<Json<ServicePointView>, Problem> {
    let point = counters::point(&state.runtime, &id).await?;
    Ok(Json(ServicePointView::new(
        &point,
        state.runtime.offices.default_id(),
    )))
}

/// Creates or changes a service point (admin). One the configuration file keeps is changed
/// there, not here (409).
#[utoipa::path(put, path = "/service-points/{id}", security(("bearer" = [])), request_body = dto::PutServicePoint,
    responses((status = 201, body = ServicePointView), (status = 200, body = ServicePointView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_service_point(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
    body: JsonBody<dto::PutServicePoint>,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let runtime = &state.runtime;
    let request = body.parse()?.value;
    let point = NewServicePoint {
        id,
        name: request.name,
        timezone: request
            .timezone
            .unwrap_or_else(|| runtime.offices.default_timezone().to_owned()),
        calendar: request.calendar,
        counters: request.counters.into_iter().map(|c| c.counter()).collect(),
    };
    let (point, created) = runtime.offices.put(&runtime.store, point, now()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = ServicePointView::new(&point, runtime.offices.default_id());
    Ok((status, Json(view)).into_response())
}

/// The queues of a service point (the numbers waiting, in the order they will be called)
/// and the last number called today at each counter: numbers and counters only. For anyone
/// who works there (a `display` user included).
#[utoipa::path(get, path = "/service-points/{id}/queues", security(("bearer" = [])),
    responses((status = 200, body = BoardView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn queues(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Json<BoardView>, Problem> {
    let at = now();
    let board = counters::board(&state.runtime, &user, &id, at).await?;
    Ok(Json(BoardView::new(&board, at)))
}

/// The calls of a service point as they are made, for display boards: server-sent events,
/// `event: call` with a call (number, counter, kind; never a name) as JSON, and
/// `event: resync` when calls may have been missed (read `/service-points/{id}/queues`
/// again). Comments keep the connection alive.
#[utoipa::path(get, path = "/service-points/{id}/calls/stream", security(("bearer" = [])),
    responses((status = 200, description = "A stream of server-sent events", content_type = "text/event-stream", body = CallView),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn call_stream(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let (point, receiver) = counters::watch(&state.runtime, &user, &id).await?;
    let stream = futures::stream::unfold(receiver, move |mut receiver| {
        let point = point.clone();
        async move {
            loop {
                let event = match receiver.recv().await {
                    Ok(Published::Call(call)) if call.service_point == point.id => {
                        let view = CallView::from(call);
                        Event::default().event("call").json_data(view).ok()?
                    }
                    Ok(Published::Call(_)) => continue,
                    Ok(Published::Resync) | Err(RecvError::Lagged(_)) => {
                        Event::default().event("resync").data("{}")
                    }
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), receiver));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
