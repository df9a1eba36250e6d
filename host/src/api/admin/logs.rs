//! Read-only logs: invocations of a webhook, published events, emissions.

use super::page_limit;
use super::scope::Caller;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery, ErrorResponses};
use crate::store::{CapturedResponse, EmissionRecord, InvocationRecord, Page, ids};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::ToSchema;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{id}/invocations", get(invocations))
        .route(
            "/webhooks/{id}/invocations/{invocation_id}/replay",
            post(replay),
        )
        .route("/emissions", get(emissions))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InvocationQuery {
    /// Cursor: the `next_cursor` of the previous page (an `inv_...` id).
    #[param(pattern = "^inv_[0-9a-f]{32}$")]
    before: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// A webhook's invocations, newest first; page back with `before=<next_cursor>`.
#[utoipa::path(get, path = "/v1/webhooks/{id}/invocations", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), InvocationQuery),
    responses((status = 200, description = "A page of invocations", body = Page<InvocationRecord>), ErrorResponses))]
pub(crate) async fn invocations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<InvocationQuery>,
) -> Result<Json<Page<InvocationRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    super::webhooks::own_webhook(&state, &caller, &id)?;
    let before = check_cursor("inv", q.before.as_deref())?;
    Ok(Json(
        state
            .registry
            .store()
            .list_invocations(&id, before, limit)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EmissionQuery {
    /// Cursor: the `next_cursor` of the previous page (an `em_...` id).
    #[param(pattern = "^em_[0-9a-f]{32}$")]
    after: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Only this entity type.
    entity_type: Option<String>,
    /// Only emissions of this webhook.
    webhook: Option<String>,
}

/// Emissions, oldest first; continue with `after=<next_cursor>`.
#[utoipa::path(get, path = "/v1/emissions", tag = "events", params(EmissionQuery),
    responses((status = 200, description = "A page of emissions", body = Page<EmissionRecord>), ErrorResponses))]
pub(crate) async fn emissions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EmissionQuery>,
) -> Result<Json<Page<EmissionRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = check_cursor("em", q.after.as_deref())?;
    let page = state
        .registry
        .store()
        .list_emissions(
            &caller.workspace_id,
            after,
            q.entity_type.as_deref(),
            q.webhook.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(page))
}

/// Body of `POST /v1/webhooks/{id}/invocations/{invocation_id}/replay`.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayIn {
    /// Run it through this module of the workspace instead of the
    /// webhook's (a new version being tried, say).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    module: Option<String>,
    /// Log the run as a new invocation and commit what it emits or
    /// publishes (default: nothing is stored).
    #[serde(default)]
    commit: bool,
}

/// An answer, as replay shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReplayAnswer {
    /// The invocation (the new one is stored only when committed).
    invocation_id: String,
    /// The module that ran (for the original: the webhook's module now,
    /// which ran it unless the webhook was moved to another since).
    module: String,
    /// Status answered.
    status: u16,
    /// `ok`, a handler error or a sandbox failure (as in the invocation log).
    outcome: String,
    /// Error message, for anything but `ok`.
    error: Option<String>,
    /// The response the handler returned (captured, for the original).
    response: Option<CapturedResponse>,
    /// Wall time, ms.
    duration_ms: f64,
}

/// What was emitted or published by the new run.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReplayRecord {
    /// `emit` or `publish`.
    kind: String,
    /// Entity or event type.
    #[serde(rename = "type")]
    record_type: String,
    /// The data.
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

/// Answer of a replay.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReplayOut {
    /// The first run, as it was logged.
    original: ReplayAnswer,
    /// The run just made.
    replay: ReplayAnswer,
    /// What the new run emitted or published (committed only if `committed`).
    records: Vec<ReplayRecord>,
    /// Whether the new run was logged and its records committed.
    committed: bool,
}

/// Runs a captured request again, through the webhook's current module or
/// another one, and answers the new result beside the old. Nothing is
/// stored unless `commit` is true.
#[utoipa::path(post, path = "/v1/webhooks/{id}/invocations/{invocation_id}/replay", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"),
           ("invocation_id" = String, Path, description = "Invocation id")),
    request_body(content = Option<ReplayIn>, description = "Optional"),
    responses((status = 200, description = "The old and the new answer", body = ReplayOut), ErrorResponses))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, invocation_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<ReplayOut>, ApiError> {
    // The body is optional: empty or `null` means the defaults.
    let options: ReplayIn = crate::api::error::optional_json_object(&body)?.unwrap_or_default();
    let hook = super::webhooks::own_webhook(&state, &caller, &id)?;
    let original = state
        .registry
        .store()
        .get_invocation(&id, &invocation_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no invocation {invocation_id:?} of {id}")))?;
    let Some(captured) = &original.request else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_captured",
            "this invocation's request was not kept: turn `capture` on for the webhook \
             to replay later requests",
        ));
    };
    let body = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&captured.body_base64)
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, "not_captured", e.to_string()))?
    };
    if body.len() < captured.body_bytes {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_captured",
            format!(
                "the request body ({} bytes) was kept only up to {} bytes: it cannot be replayed as it was",
                captured.body_bytes,
                body.len()
            ),
        ));
    }
    let ws = &caller.workspace_id;
    let module_name = options.module.unwrap_or_else(|| hook.record.module.clone());
    let module = state
        .registry
        .module(ws, &module_name)
        .ok_or_else(|| ApiError::not_found(format!("no module {module_name:?}")))?;
    if module.handler.kind() != crate::runtime::ComponentKind::Handler {
        return Err(ApiError::invalid(format!(
            "module {module_name:?} is an outbound transform, not a handler"
        )));
    }
    // A replay runs a handler: it counts against the invocation rate.
    state
        .tenancy
        .take(ws, crate::tenancy::RateKind::Invocations)
        .await
        .map_err(|wait| {
            ApiError::quota(
                format!("workspace {ws} is over its invocation rate"),
                Some(wait),
            )
        })?;
    let run = state
        .inbound
        .rerun(&hook, &module, captured, body, options.commit)
        .await;
    if let Some(e) = run.commit_error {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            format!("the replay ran but could not be committed: {e}"),
        ));
    }
    let replay = ReplayAnswer {
        invocation_id: run.log.id.clone(),
        module: module_name,
        status: run.log.status,
        outcome: run.log.outcome.clone(),
        error: run.log.error.clone(),
        response: run.response.map(|r| {
            let (body_base64, body_bytes) =
                crate::store::capture_body(&r.body, crate::config::CAPTURE_BODY_BYTES);
            CapturedResponse {
                status: r.status,
                headers: r.headers,
                body_base64,
                body_bytes,
            }
        }),
        duration_ms: run.log.duration_ms,
    };
    Ok(Json(ReplayOut {
        original: ReplayAnswer {
            invocation_id: original.id.clone(),
            module: hook.record.module.clone(),
            status: original.status,
            outcome: original.outcome.clone(),
            error: original.error.clone(),
            response: original.response.clone(),
            duration_ms: original.duration_ms,
        },
        replay,
        records: run
            .records
            .into_iter()
            .map(|(kind, t, data)| ReplayRecord {
                kind: kind.into(),
                record_type: t,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
        committed: run.committed,
    }))
}

/// Checks a cursor: an id as the server makes them, `<prefix>_` and 32
/// lowercase hex digits (the pattern the document gives for it).
pub(super) fn check_cursor<'a>(
    prefix: &str,
    cursor: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    match cursor {
        Some(c) if !is_id(prefix, c) => Err(ApiError::invalid(format!(
            "cursor {c:?} is not a `{prefix}_...` id"
        ))),
        other => Ok(other),
    }
}

/// Whether `id` has the form of the ids made with `prefix`: `<prefix>_` and
/// 32 lowercase hex digits, `^<prefix>_[0-9a-f]{32}$`.
pub(super) fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
        && ids::key(prefix, id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_ids_in_the_form_they_are_made() {
        let (id, _) = ids::new("evt");
        assert!(is_id("evt", &id), "{id}");
        assert!(check_cursor("evt", Some(&id)).is_ok());
        assert!(check_cursor("evt", None).is_ok());
        assert!(is_id("evt", "evt_0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "evt_",
            "evt",
            "evt_0123456789ABCDEF0123456789ABCDEF",
            &id.replace("evt_", "dlv_"),
            &format!("{id}0"),
            &id[..id.len() - 1],
            "evt_0123456789abcdef0123456789abcdeg",
            "evt_01234567-89ab-cdef-0123-456789abcdef",
        ] {
            assert!(!is_id("evt", bad), "{bad}");
            assert!(check_cursor("evt", Some(bad)).is_err(), "{bad}");
        }
    }
}
