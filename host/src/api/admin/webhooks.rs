//! `/v1/webhooks`: register webhooks for modules and manage them.

use super::inbound_checks::{self, VerifyOut, read_dedup, read_verify, verify_out};
use super::logs::is_id;
use super::modules::valid_module_name;
use super::page_limit;
use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiJson, ApiQuery, ErrorResponses};
use crate::dedup::DedupConfig;
use crate::registry::{LiveWebhook, NewWebhook, WebhookPatch};
use crate::store::Page;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /v1/webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookIn {
    /// Name of an uploaded module (404 when there is none of that name).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    module: String,
    /// JSON handed to the handler as context on every request (up to 64 KiB).
    #[serde(default)]
    payload: Option<serde_json::Value>,
    /// Free text.
    #[serde(default)]
    description: String,
    /// A disabled webhook answers 404.
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    #[schema(schema_with = inbound_checks::verify_schema)]
    verify: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(schema_with = inbound_checks::dedup_schema)]
    dedup: Option<serde_json::Value>,
    /// Keep each request (method, path, headers, body up to 256 KiB) and
    /// response with its invocation record, for replay.
    #[serde(default)]
    capture: bool,
    /// Hosts its handler may call with `host.fetch` or
    /// `wasi:http/outgoing-handler`: `host`, `host:port`, `[v6]:port` or
    /// `*.domain` (at most 32). Empty (the default): none. Calls still go
    /// through the outbound address guard.
    #[serde(default)]
    #[schema(max_items = 32)]
    outbound_hosts: Vec<String>,
    /// Run requests in instances kept from this webhook's earlier calls
    /// instead of a fresh one each: much faster for interpreted handlers
    /// (Python, JavaScript), but what the handler leaves in its memory and
    /// globals is seen by its later calls (never by another webhook's).
    /// Only for `hookhost:handler` components. Default: off.
    #[serde(default)]
    reuse_instances: bool,
}

fn yes() -> bool {
    true
}

/// Body of `PATCH /v1/webhooks/{id}`: absent fields stay unchanged,
/// `"payload": null` removes the payload.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatchIn {
    /// Another uploaded module (404 when there is none of that name).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    module: Option<String>,
    /// New payload; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<serde_json::Value>)]
    payload: Option<Option<serde_json::Value>>,
    /// Free text.
    description: Option<String>,
    /// Enable or disable.
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = inbound_checks::verify_patch_schema)]
    verify: Option<Option<serde_json::Value>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = inbound_checks::dedup_patch_schema)]
    dedup: Option<Option<serde_json::Value>>,
    /// Turn capture on or off.
    capture: Option<bool>,
    /// New list of hosts its handler may call (`[]`: none).
    #[schema(max_items = 32)]
    outbound_hosts: Option<Vec<String>>,
    /// Turn instance reuse on or off.
    reuse_instances: Option<bool>,
}

/// Distinguishes `"field": null` (Some(None)) from an absent field (None).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Option::<serde_json::Value>::deserialize(d).map(Some)
}

/// A webhook as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookOut {
    /// `wh_` + 32 hex digits (122 random bits).
    id: String,
    /// The unguessable URL to give to senders.
    url: String,
    /// The module handling its requests.
    module: String,
    /// The stored payload, if any.
    payload: Option<serde_json::Value>,
    /// Free text.
    description: String,
    /// A disabled webhook answers 404.
    enabled: bool,
    /// The signature check (secrets as hints only), `null` when there is none.
    verify: Option<VerifyOut>,
    #[schema(schema_with = inbound_checks::dedup_out_schema)]
    dedup: Option<DedupConfig>,
    /// Whether requests and responses are kept for replay.
    capture: bool,
    /// Hosts its handler may call.
    outbound_hosts: Vec<String>,
    /// Whether requests run in instances kept from its earlier calls.
    reuse_instances: bool,
    /// Creation time.
    created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
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
        verify: r.verify.as_ref().map(verify_out),
        dedup: r.dedup.clone(),
        capture: r.capture,
        outbound_hosts: r.outbound_hosts.clone(),
        reuse_instances: r.reuse_instances,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Cursor: the `next_cursor` of the previous page, a webhook id (404
    /// when that webhook no longer exists).
    #[param(pattern = "^wh_[0-9a-f]{32}$")]
    after: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only webhooks of this module.
    module: Option<String>,
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(show).patch(update).delete(remove))
}

/// Registers a webhook for a module.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, description = "Created", body = WebhookOut), ErrorResponses))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<impl IntoResponse, ApiError> {
    let verify = read_verify(body.verify).map_err(ApiError::invalid)?;
    let dedup = read_dedup(body.dedup).map_err(ApiError::invalid)?;
    let ws = caller.workspace_id;
    require_module(&state, &ws, &body.module)?;
    let new = NewWebhook {
        capture: body.capture,
        max_webhooks: state.quotas(&ws).max_webhooks.map(|m| m as usize),
        workspace_id: ws,
        module: body.module,
        payload: body.payload,
        description: body.description,
        enabled: body.enabled,
        verify,
        dedup,
        outbound_hosts: body.outbound_hosts,
        reuse_instances: body.reuse_instances,
    };
    let live = state.registry.create_webhook(new).await?;
    Ok((StatusCode::CREATED, Json(webhook_out(&state, &live))))
}

/// Webhooks in creation order.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(ListQuery),
    responses((status = 200, description = "A page of webhooks", body = Page<WebhookOut>), ErrorResponses))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<WebhookOut>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let all: Vec<_> = state
        .registry
        .webhooks_of(&caller.workspace_id)
        .into_iter()
        .filter(|w| q.module.as_ref().is_none_or(|m| &w.record.module == m))
        .collect();
    let start = match &q.after {
        None => 0,
        Some(after) if !is_id("wh", after) => {
            return Err(ApiError::invalid(format!(
                "cursor {after:?} is not a `wh_...` id"
            )));
        }
        // A cursor of the right form names a webhook: gone (or never there)
        // is 404, like any unknown id.
        Some(after) => {
            all.iter()
                .position(|w| &w.record.id == after)
                .ok_or_else(|| {
                    ApiError::not_found(format!("unknown cursor `after`: no webhook {after:?}"))
                })?
                + 1
        }
    };
    let page: Vec<_> = all.iter().skip(start).take(limit).collect();
    let next_cursor = (start + page.len() < all.len())
        .then(|| page.last().map(|w| w.record.id.clone()))
        .flatten();
    let data: Vec<_> = page.iter().map(|w| webhook_out(&state, w)).collect();
    Ok(Json(Page { data, next_cursor }))
}

/// The module a webhook is to use must exist: a well-formed name that is
/// not uploaded is a reference to nothing (404, like an unknown id), not a
/// malformed request. (The registry checks again under its lock.)
fn require_module(state: &AppState, ws: &str, name: &str) -> Result<(), ApiError> {
    if state.registry.module(ws, name).is_some() {
        return Ok(());
    }
    if !valid_module_name(name) {
        return Err(ApiError::invalid(
            "module names are 1-64 characters of letters, digits, '-', '_' or '.'",
        ));
    }
    Err(ApiError::not_found(format!(
        "unknown module {name:?}: upload it first (POST /v1/modules?name={name})"
    )))
}

/// One webhook.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The webhook", body = WebhookOut), ErrorResponses))]
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    let live = own_webhook(&state, &caller, &id)?;
    Ok(Json(webhook_out(&state, &live)))
}

/// Webhook `id` if it is in the caller's workspace; 404 otherwise, as for
/// an id that does not exist.
pub(super) fn own_webhook(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<std::sync::Arc<LiveWebhook>, ApiError> {
    state
        .registry
        .webhook(id)
        .filter(|w| w.record.workspace_id == caller.workspace_id)
        .ok_or_else(|| ApiError::not_found(format!("no webhook {id:?}")))
}

/// Changes a webhook; absent fields stay as they are.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    request_body = WebhookPatchIn,
    responses((status = 200, description = "The changed webhook", body = WebhookOut), ErrorResponses))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookPatchIn>,
) -> Result<Json<WebhookOut>, ApiError> {
    own_webhook(&state, &caller, &id)?;
    let verify = body
        .verify
        .map(read_verify)
        .transpose()
        .map_err(ApiError::invalid)?;
    let dedup = body
        .dedup
        .map(read_dedup)
        .transpose()
        .map_err(ApiError::invalid)?;
    if let Some(module) = &body.module {
        require_module(&state, &caller.workspace_id, module)?;
    }
    let patch = WebhookPatch {
        capture: body.capture,
        module: body.module,
        payload: body.payload,
        description: body.description,
        enabled: body.enabled,
        verify,
        dedup,
        outbound_hosts: body.outbound_hosts,
        reuse_instances: body.reuse_instances,
    };
    let live = state.registry.update_webhook(&id, patch).await?;
    Ok(Json(webhook_out(&state, &live)))
}

/// Deletes a webhook and its invocation log; its URL answers 404 from then on.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"), ErrorResponses))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    own_webhook(&state, &caller, &id)?;
    state.registry.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
