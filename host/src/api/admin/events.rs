//! `/v1/events`: send events to subscribed endpoints, list events.

use super::logs::check_cursor;
use super::page_limit;
use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ApiQuery, ErrorResponses};
use crate::store::{EventRecord, Page};
use crate::tenancy::RateKind;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/events", get(list).post(send))
}

/// Body of `POST /v1/events`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventIn {
    /// Event type, e.g. `user.updated`: 1–256 letters, digits and
    /// `. _ - : /`, not under `hookhost.` (reserved for hookhost's own
    /// operational events); endpoints subscribe to types.
    #[serde(rename = "type")]
    #[schema(schema_with = user_event_type)]
    event_type: String,
    /// Any JSON; sent as the envelope's `data`.
    #[schema(value_type = serde_json::Value)]
    data: Box<RawValue>,
    /// 1–256 characters: the same key within 24 h returns the first event.
    #[schema(min_length = 1, max_length = 256)]
    idempotency_key: Option<String>,
}

/// The schema of an event type a caller may send: [`crate::names`]'
/// pattern, and `not` the reserved prefix (utoipa has no `not`: it goes in
/// as an extension, written into the schema object as it is).
pub(super) fn user_event_type() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::extensions::Extensions;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::names::MAX_TYPE_LEN))
        .pattern(Some(crate::names::TYPE_PATTERN))
        .description(Some(
            "Event type, e.g. `user.updated`: 1–256 letters, digits and `. _ - : /`, \
             not under `hookhost.` (reserved for hookhost's operational events).",
        ))
        .extensions(Some(Extensions::from_iter([(
            "not",
            serde_json::json!({"pattern": "^hookhost\\."}),
        )])))
        .build()
}

/// Answer of `POST /v1/events`.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventAccepted {
    /// `evt_...`: the new event, or the first one with this idempotency key.
    id: String,
    /// Deliveries created (one per matching active endpoint).
    deliveries: usize,
    /// Whether the idempotency key matched an earlier event.
    duplicate: bool,
}

/// Sends an event: `202` once the event and its deliveries are on disk.
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventIn,
    responses((status = 202, description = "Accepted", body = EventAccepted), ErrorResponses))]
pub(crate) async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EventIn>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = &caller.workspace_id;
    // Characters, as the document's `minLength`/`maxLength` count them.
    if body
        .idempotency_key
        .as_ref()
        .is_some_and(|k| !(1..=256).contains(&k.chars().count()))
    {
        return Err(ApiError::invalid(
            "idempotency_key must be 1-256 characters",
        ));
    }
    crate::names::check_user_event_type(&body.event_type).map_err(ApiError::invalid)?;
    // The catalogue's schema, when the type has one.
    if state.tenancy.has_schema(ws, &body.event_type) {
        let data: serde_json::Value = serde_json::from_str(body.data.get())
            .map_err(|e| ApiError::invalid(format!("data: {e}")))?;
        if let Some(errors) = state.tenancy.validate_event(ws, &body.event_type, &data) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "schema_mismatch",
                format!(
                    "data does not match the schema of event type {:?}: {errors}",
                    body.event_type
                ),
            ));
        }
    }
    // Last, so that a refused request does not spend the rate.
    state
        .tenancy
        .take(ws, RateKind::Events)
        .await
        .map_err(|wait| {
            ApiError::quota(
                format!("workspace {ws} is sending events faster than its quota allows"),
                Some(wait),
            )
        })?;
    let accepted = state
        .outbound
        .send_event(ws, body.event_type, body.data, body.idempotency_key)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(EventAccepted {
            id: accepted.event_id,
            deliveries: accepted.deliveries,
            duplicate: accepted.duplicate,
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventQuery {
    /// Cursor: the `next_cursor` of the previous page (an `evt_...` id).
    #[param(pattern = "^evt_[0-9a-f]{32}$")]
    after: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
}

/// Events, posted or published by handlers, oldest first; continue with `after=<next_cursor>`.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, description = "A page of events", body = Page<EventRecord>), ErrorResponses))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Json<Page<EventRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = check_cursor("evt", q.after.as_deref())?;
    Ok(Json(
        state
            .registry
            .store()
            .list_events(&caller.workspace_id, after, q.event_type.as_deref(), limit)
            .await?,
    ))
}
