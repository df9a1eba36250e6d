//! `/v1/events`: send events to subscribed endpoints, list events.

use super::logs::check_cursor;
use super::page_limit;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ApiQuery};
use crate::store::{EventRecord, Page};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/events", get(list).post(send))
}

/// Body of `POST /v1/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn {
    #[serde(rename = "type")]
    event_type: String,
    data: Box<RawValue>,
    idempotency_key: Option<String>,
}

/// `202 {"id", "deliveries"}` once the event and its deliveries are on disk.
async fn send(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EventIn>,
) -> Result<impl IntoResponse, ApiError> {
    if body
        .idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 256)
    {
        return Err(ApiError::invalid(
            "idempotency_key must be 1-256 characters",
        ));
    }
    let accepted = state
        .outbound
        .send_event(body.event_type, body.data, body.idempotency_key)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "id": accepted.event_id, "deliveries": accepted.deliveries, "duplicate": accepted.duplicate }),
        ),
    ))
}

#[derive(Deserialize)]
struct EventQuery {
    after: Option<String>,
    limit: Option<usize>,
    #[serde(rename = "type")]
    event_type: Option<String>,
}

/// Oldest first; continue with `after=<next_cursor>`.
async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Json<Page<EventRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = check_cursor("evt", q.after.as_deref())?;
    Ok(Json(state.registry.store().list_events(
        after,
        q.event_type.as_deref(),
        limit,
    )?))
}
