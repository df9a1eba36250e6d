//! `/v1/endpoints`: subscribe URLs to events; secrets, recovery, test sends.

use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson};
use crate::delivery::{EndpointPatch, NewEndpoint};
use crate::signing::SignatureScheme;
use crate::store::EndpointRecord;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/endpoints", get(list).post(create))
        .route("/endpoints/{id}", get(show).patch(update).delete(remove))
        .route("/endpoints/{id}/secret", get(secret))
        .route("/endpoints/{id}/rotate-secret", post(rotate))
        .route("/endpoints/{id}/recover", post(recover))
        .route("/endpoints/{id}/test", post(test))
}

/// Body of `POST /v1/endpoints`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointIn {
    url: String,
    events: Vec<String>,
    #[serde(default)]
    filters: Map<String, Value>,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    active: bool,
    secret: Option<String>,
    #[serde(default)]
    signature: SignatureScheme,
}

fn yes() -> bool {
    true
}

/// Body of `PATCH /v1/endpoints/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointPatchIn {
    url: Option<String>,
    events: Option<Vec<String>>,
    filters: Option<Map<String, Value>>,
    description: Option<String>,
    active: Option<bool>,
    signature: Option<SignatureScheme>,
}

/// An endpoint as listed: the secret only as a hint.
#[derive(Serialize)]
struct EndpointOut {
    id: String,
    url: String,
    events: Vec<String>,
    filters: Map<String, Value>,
    description: String,
    active: bool,
    signature: SignatureScheme,
    secret_hint: String,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn endpoint_out(ep: EndpointRecord) -> EndpointOut {
    let hint: String = ep.secret.chars().take(9).collect();
    EndpointOut {
        id: ep.id,
        url: ep.url,
        events: ep.events,
        filters: ep.filters,
        description: ep.description,
        active: ep.active,
        signature: ep.signature,
        secret_hint: format!("{hint}…"),
        disabled_reason: ep.disabled_reason,
        failing_since: ep.failing_since,
        created_at: ep.created_at,
        updated_at: ep.updated_at,
    }
}

/// The endpoint with its full secret (creation and rotation only).
fn with_secret(ep: EndpointRecord) -> Value {
    let secret = ep.secret.clone();
    let mut v = serde_json::to_value(endpoint_out(ep)).expect("endpoints serialize");
    v["secret"] = json!(secret);
    v
}

async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EndpointIn>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewEndpoint {
        url: body.url,
        events: body.events,
        filters: body.filters,
        description: body.description,
        active: body.active,
        secret: body.secret,
        signature: body.signature,
    };
    let ep = state.outbound.create_endpoint(new).await?;
    Ok((StatusCode::CREATED, Json(with_secret(ep))))
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let data: Vec<_> = state
        .outbound
        .endpoints()?
        .into_iter()
        .map(endpoint_out)
        .collect();
    Ok(Json(json!({ "data": data, "next_cursor": null })))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EndpointOut>, ApiError> {
    Ok(Json(endpoint_out(state.outbound.endpoint(&id)?)))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndpointPatchIn>,
) -> Result<Json<EndpointOut>, ApiError> {
    let patch = EndpointPatch {
        url: body.url,
        events: body.events,
        filters: body.filters,
        description: body.description,
        active: body.active,
        signature: body.signature,
    };
    Ok(Json(endpoint_out(
        state.outbound.update_endpoint(&id, patch).await?,
    )))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.outbound.delete_endpoint(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The full current secret, plus when rotated-out ones stop signing.
async fn secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ep = state.outbound.endpoint(&id)?;
    let retired: Vec<_> = ep
        .retired_secrets
        .iter()
        .filter(|r| r.expires_at > Utc::now())
        .map(|r| json!({ "expires_at": r.expires_at }))
        .collect();
    Ok(Json(json!({ "secret": ep.secret, "retired": retired })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateIn {
    secret: Option<String>,
}

async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    // The body is optional: empty means "generate a new secret".
    let secret = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RotateIn>(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?
            .secret
    };
    Ok(Json(with_secret(
        state.outbound.rotate_secret(&id, secret).await?,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverIn {
    since: DateTime<Utc>,
}

/// Re-sends the endpoint's failed deliveries created since a time.
async fn recover(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecoverIn>,
) -> Result<impl IntoResponse, ApiError> {
    let n = state.outbound.recover(&id, body.since).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "requeued": n }))))
}

/// Sends a `webhook.test` event now and answers with the attempt.
async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (delivery, attempt) = state.worker.test_send(&id).await?;
    let success = attempt
        .as_ref()
        .and_then(|a| a.status_code)
        .is_some_and(|c| (200..300).contains(&c));
    Ok(Json(json!({
        "success": success,
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "status_code": attempt.as_ref().and_then(|a| a.status_code),
        "latency_ms": attempt.as_ref().map(|a| a.latency_ms),
        "response_body": attempt.as_ref().map(|a| a.response_body.clone()),
        "error": attempt.as_ref().and_then(|a| a.error.clone()).or(delivery.last_error),
    })))
}
