//! `/v1/webhooks`: register webhooks for modules and manage them.

use super::page_limit;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ApiQuery};
use crate::registry::{LiveWebhook, NewWebhook, WebhookPatch};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Deserializer, Serialize};

/// Body of `POST /v1/webhooks`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookIn {
    module: String,
    #[serde(default)]
    payload: Option<serde_json::Value>,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// Body of `PATCH /v1/webhooks/{id}`: absent fields stay unchanged,
/// `"payload": null` removes the payload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookPatchIn {
    module: Option<String>,
    #[serde(default, deserialize_with = "present")]
    payload: Option<Option<serde_json::Value>>,
    description: Option<String>,
    enabled: Option<bool>,
}

/// Distinguishes `"field": null` (Some(None)) from an absent field (None).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Option::<serde_json::Value>::deserialize(d).map(Some)
}

/// A webhook as the API shows it.
#[derive(Serialize)]
pub(crate) struct WebhookOut {
    id: String,
    url: String,
    module: String,
    payload: Option<serde_json::Value>,
    description: String,
    enabled: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn webhook_out(state: &AppState, w: &LiveWebhook) -> WebhookOut {
    let r = &w.record;
    WebhookOut {
        id: r.id.clone(),
        url: state.webhook_url(&r.id),
        module: r.module.clone(),
        payload: r.payload.clone(),
        description: r.description.clone(),
        enabled: r.enabled,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<String>,
    limit: Option<usize>,
    module: Option<String>,
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).patch(update).delete(remove))
}

async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<impl IntoResponse, ApiError> {
    let new = NewWebhook {
        module: body.module,
        payload: body.payload,
        description: body.description,
        enabled: body.enabled,
    };
    let live = state.registry.create_webhook(new).await?;
    Ok((StatusCode::CREATED, Json(webhook_out(&state, &live))))
}

async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = page_limit(q.limit)?;
    let all: Vec<_> = state
        .registry
        .webhooks()
        .into_iter()
        .filter(|w| q.module.as_ref().is_none_or(|m| &w.record.module == m))
        .collect();
    let start = match &q.after {
        None => 0,
        Some(after) => {
            all.iter()
                .position(|w| &w.record.id == after)
                .ok_or_else(|| ApiError::invalid("unknown cursor `after`"))?
                + 1
        }
    };
    let page: Vec<_> = all.iter().skip(start).take(limit).collect();
    let next_cursor = (start + page.len() < all.len())
        .then(|| page.last().map(|w| w.record.id.clone()))
        .flatten();
    let data: Vec<_> = page.iter().map(|w| webhook_out(&state, w)).collect();
    Ok(Json(
        serde_json::json!({ "data": data, "next_cursor": next_cursor }),
    ))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    let live = state
        .registry
        .webhook(&id)
        .ok_or_else(|| ApiError::not_found(format!("no webhook {id:?}")))?;
    Ok(Json(webhook_out(&state, &live)))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookPatchIn>,
) -> Result<Json<WebhookOut>, ApiError> {
    let patch = WebhookPatch {
        module: body.module,
        payload: body.payload,
        description: body.description,
        enabled: body.enabled,
    };
    let live = state.registry.update_webhook(&id, patch).await?;
    Ok(Json(webhook_out(&state, &live)))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
