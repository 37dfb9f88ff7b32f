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
use sopflow_core::counters::{self, CallAction, CallAt};
use sopflow_core::offices::{self, OfficeError, PointChange};
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{self, BoardView, CallView, CaseView, ServicePointView};
use crate::extract::{Caller, JsonBody, now, respond};
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
    let change = PointChange {
        id,
        name: request.name,
        timezone: request.timezone,
        calendar: request.calendar,
        counters: request
            .counters
            .into_iter()
            .map(dto::CounterInput::config)
            .collect(),
    };
    let (point, created) = offices::put_point(runtime, change, now()).await?;
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

/// Calls the next waiting number of a queue at a service point to a counter (the number
/// that entered the queue first; one nobody came for went back to its end) for the caller.
/// The call goes to the service point's call stream.
#[utoipa::path(post, path = "/service-points/{id}/queues/{queue}/call-next", security(("bearer" = [])),
    request_body = dto::CallFromCounter,
    responses((status = 200, body = CaseView), (status = 204, description = "Nobody is waiting"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn call_next(
    State(state): State<AppState>,
    user: Caller,
    Path((id, queue)): Path<(String, String)>,
    body: JsonBody<dto::CallFromCounter>,
) -> Result<Response, Problem> {
    let request = body.parse()?.value;
    let at = CallAt {
        service_point: Some(&id),
        queue: &queue,
        counter: Some(&request.counter),
    };
    match counters::call_next(&state.runtime, &user, at, now()).await? {
        Some(outcome) => Ok(respond(&outcome, &user)),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Calls the number being called again, at the counter it is called to.
#[utoipa::path(post, path = "/cases/{id}/call/recall", security(("bearer" = [])),
    responses((status = 200, body = CaseView), (status = 409, body = Problem), (status = 404, body = Problem)))]
pub async fn recall(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let outcome =
        counters::act_on_call(&state.runtime, &user, &id, CallAction::Recall, now()).await?;
    Ok(respond(&outcome, &user))
}

/// Nobody came for the number being called: it goes back to the end of its queue with the
/// same number, or the case is cancelled after the configured number of no-shows
/// (`[counters] no_shows_before_cancel`), with the reason in its history.
#[utoipa::path(post, path = "/cases/{id}/call/no-show", security(("bearer" = [])), request_body = dto::NoShow,
    responses((status = 200, body = CaseView), (status = 409, body = Problem), (status = 404, body = Problem)))]
pub async fn no_show(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
    body: JsonBody<dto::NoShow>,
) -> Result<Response, Problem> {
    let reason = body.parse()?.value.reason;
    let action = CallAction::NoShow { reason };
    let outcome = counters::act_on_call(&state.runtime, &user, &id, action, now()).await?;
    Ok(respond(&outcome, &user))
}

/// Sends the number being called to another counter of the case's service point.
#[utoipa::path(post, path = "/cases/{id}/call/transfer", security(("bearer" = [])), request_body = dto::Transfer,
    responses((status = 200, body = CaseView), (status = 409, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
    body: JsonBody<dto::Transfer>,
) -> Result<Response, Problem> {
    let to = body.parse()?.value.to;
    let action = CallAction::Transfer { to };
    let outcome = counters::act_on_call(&state.runtime, &user, &id, action, now()).await?;
    Ok(respond(&outcome, &user))
}
