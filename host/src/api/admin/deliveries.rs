//! `/v1/deliveries`: delivery status and attempts; manual retry.

use super::logs::check_cursor;
use super::page_limit;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery};
use crate::store::{DeliveryFilter, DeliveryRecord, DeliveryStatus, Page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(show))
        .route("/deliveries/{id}/retry", post(retry))
}

#[derive(Deserialize)]
struct ListQuery {
    endpoint: Option<String>,
    event: Option<String>,
    status: Option<DeliveryStatus>,
    before: Option<String>,
    limit: Option<usize>,
}

/// Newest first; page back with `before=<next_cursor>`.
async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<DeliveryRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = check_cursor("dlv", q.before.as_deref())?;
    let filter = DeliveryFilter {
        endpoint_id: q.endpoint,
        event_id: q.event,
        status: q.status,
    };
    Ok(Json(
        state
            .outbound
            .store()
            .list_deliveries(&filter, before, limit)?,
    ))
}

/// The delivery with every attempt.
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.outbound.store();
    let delivery = store
        .get_delivery(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no delivery {id:?}")))?;
    let attempts = store.list_attempts(&id)?;
    let mut out = serde_json::to_value(delivery).map_err(|e| ApiError::invalid(e.to_string()))?;
    out["attempts"] = json!(attempts);
    Ok(Json(out))
}

/// Queues the delivery again now, whatever its state.
async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let delivery = state.outbound.retry(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
