//! `/v1/deliveries`: delivery status and attempts; manual retry.

use super::logs::check_cursor;
use super::page_limit;
use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery, ErrorResponses};
use crate::store::{
    AttemptRecord, DeliveryFilter, DeliveryRecord, DeliveryStatus, Page, TransformedMessage,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(show))
        .route("/deliveries/{id}/retry", post(retry))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only deliveries to this endpoint.
    endpoint: Option<String>,
    /// Only deliveries of this event.
    event: Option<String>,
    /// Only deliveries in this state.
    status: Option<DeliveryStatus>,
    /// Cursor: the `next_cursor` of the previous page (a `dlv_...` id).
    #[param(pattern = "^dlv_[0-9a-f]{32}$")]
    before: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// A delivery with every attempt, oldest first: the fields of a
/// [`DeliveryRecord`], with `attempts` the list rather than the count.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryDetail {
    /// `dlv_…`.
    id: String,
    /// The event delivered.
    event_id: String,
    /// Its type.
    event_type: String,
    /// The endpoint.
    endpoint_id: String,
    /// Where it stands.
    status: DeliveryStatus,
    /// When the next attempt is due (pending only).
    next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Status code of the last attempt, if it got a response.
    last_status_code: Option<u16>,
    /// Error of the last attempt, if any.
    last_error: Option<String>,
    /// Creation time.
    created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    updated_at: chrono::DateTime<chrono::Utc>,
    /// Every attempt made, oldest first.
    attempts: Vec<AttemptRecord>,
    /// What the endpoint's transform made of the event (sent by every
    /// attempt), if it has one and it ran.
    transformed: Option<TransformedMessage>,
}

impl DeliveryDetail {
    fn new(d: DeliveryRecord, attempts: Vec<AttemptRecord>) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            endpoint_id: d.endpoint_id,
            status: d.status,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            attempts,
            transformed: d.transformed,
        }
    }
}

/// Deliveries, newest first; page back with `before=<next_cursor>`.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", params(ListQuery),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryRecord>), ErrorResponses))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<DeliveryRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = check_cursor("dlv", q.before.as_deref())?;
    let read_only = caller.read_only();
    let filter = DeliveryFilter {
        workspace_id: Some(caller.workspace_id),
        endpoint_id: q.endpoint,
        event_id: q.event,
        status: q.status,
    };
    let mut page = state
        .outbound
        .store()
        .list_deliveries(&filter, before, limit)
        .await?;
    if read_only {
        for t in page.data.iter_mut().filter_map(|d| d.transformed.as_mut()) {
            for v in t.headers.values_mut() {
                *v = super::endpoints::hint(v);
            }
        }
    }
    Ok(Json(page))
}

/// The delivery with every attempt.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", params(("id" = String, Path, description = "Delivery id")),
    responses((status = 200, description = "The delivery and its attempts", body = DeliveryDetail), ErrorResponses))]
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let store = state.outbound.store();
    let delivery = own_delivery(&state, &caller, &id).await?;
    let attempts = store.list_attempts(&id).await?;
    let mut detail = DeliveryDetail::new(delivery, attempts);
    if caller.read_only()
        && let Some(t) = &mut detail.transformed
    {
        for v in t.headers.values_mut() {
            *v = super::endpoints::hint(v);
        }
    }
    Ok(Json(detail))
}

/// Queues the delivery again now, whatever its state.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries", params(("id" = String, Path, description = "Delivery id")),
    responses((status = 202, description = "Queued", body = DeliveryRecord), ErrorResponses))]
pub(crate) async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    own_delivery(&state, &caller, &id).await?;
    let delivery = state.outbound.retry(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

/// Delivery `id` if it is in the caller's workspace; 404 otherwise, as for
/// an id that does not exist.
async fn own_delivery(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<DeliveryRecord, ApiError> {
    state
        .outbound
        .store()
        .get_delivery(id)
        .await?
        .filter(|d| d.workspace_id == caller.workspace_id)
        .ok_or_else(|| ApiError::not_found(format!("no delivery {id:?}")))
}
