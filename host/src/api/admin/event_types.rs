//! `/v1/event-types`: a workspace's catalogue of event types, with an
//! optional JSON Schema that `POST /v1/events` checks.

use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ErrorResponses};
use crate::store::Page;
use crate::tenancy::EventTypeRecord;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/event-types", get(list).post(put))
        .route("/event-types/{name}", get(show).delete(remove))
}

/// Body of `POST /v1/event-types`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventTypeIn {
    #[schema(schema_with = super::events::user_event_type)]
    name: String,
    /// Free text, shown to customers in the portal.
    #[serde(default)]
    description: String,
    #[serde(default)]
    #[schema(schema_with = json_schema)]
    schema: Option<serde_json::Value>,
}

/// The document's schema of a JSON Schema: an object or a boolean (which
/// objects are JSON Schemas, only the validator can say: 400 otherwise).
fn json_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::Object,
            Type::Boolean,
            Type::Null,
        ]))
        .description(Some(
            "A JSON Schema the `data` of events of this type must match (422 otherwise); \
             checked when saved (400 if it is not one). Remote and file `$ref`s are not resolved.",
        ))
        .build()
}

/// Adds an event type to the workspace's catalogue, or replaces the one of
/// that name.
#[utoipa::path(post, path = "/v1/event-types", tag = "event-types", request_body = EventTypeIn,
    responses((status = 201, description = "Added", body = EventTypeRecord),
        (status = 200, description = "Replaced", body = EventTypeRecord), ErrorResponses))]
pub(crate) async fn put(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EventTypeIn>,
) -> Result<impl IntoResponse, ApiError> {
    if body.description.chars().count() > 1000 {
        return Err(ApiError::invalid("description: at most 1000 characters"));
    }
    let (record, created) = state
        .tenancy
        .put_event_type(
            &caller.workspace_id,
            body.name,
            body.description,
            body.schema,
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(record)))
}

/// The workspace's catalogue, by name (one page).
#[utoipa::path(get, path = "/v1/event-types", tag = "event-types",
    responses((status = 200, description = "The catalogue", body = Page<EventTypeRecord>), ErrorResponses))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Json<Page<EventTypeRecord>> {
    Json(Page {
        data: state.tenancy.event_types(&caller.workspace_id),
        next_cursor: None,
    })
}

/// One event type.
#[utoipa::path(get, path = "/v1/event-types/{name}", tag = "event-types", params(("name" = String, Path, description = "Event type")),
    responses((status = 200, description = "The event type", body = EventTypeRecord), ErrorResponses))]
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<EventTypeRecord>, ApiError> {
    state
        .tenancy
        .event_type(&caller.workspace_id, &name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no event type {name:?}")))
}

/// Removes an event type from the catalogue (events of that type are no
/// longer checked).
#[utoipa::path(delete, path = "/v1/event-types/{name}", tag = "event-types", params(("name" = String, Path, description = "Event type")),
    responses((status = 204, description = "Removed"), ErrorResponses))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .tenancy
        .delete_event_type(&caller.workspace_id, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
