//! Read-only logs: invocations of a webhook, published events, emissions.

use super::page_limit;
use crate::api::AppState;
use crate::api::error::{ApiError, ApiQuery, ErrorResponses};
use crate::store::{EmissionRecord, InvocationRecord, Page, ids};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{id}/invocations", get(invocations))
        .route("/emissions", get(emissions))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InvocationQuery {
    /// Cursor: the `next_cursor` of the previous page (an `inv_...` id).
    before: Option<String>,
    /// Page size, 1–1000 (default 50).
    limit: Option<usize>,
}

/// A webhook's invocations, newest first; page back with `before=<next_cursor>`.
#[utoipa::path(get, path = "/v1/webhooks/{id}/invocations", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), InvocationQuery),
    responses((status = 200, description = "A page of invocations", body = Page<InvocationRecord>), ErrorResponses))]
pub(crate) async fn invocations(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<InvocationQuery>,
) -> Result<Json<Page<InvocationRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    if state.registry.webhook(&id).is_none() {
        return Err(ApiError::not_found(format!("no webhook {id:?}")));
    }
    let before = check_cursor("inv", q.before.as_deref())?;
    Ok(Json(
        state
            .registry
            .store()
            .list_invocations(&id, before, limit)?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EmissionQuery {
    /// Cursor: the `next_cursor` of the previous page (an `em_...` id).
    after: Option<String>,
    /// Page size, 1–1000 (default 50).
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
    ApiQuery(q): ApiQuery<EmissionQuery>,
) -> Result<Json<Page<EmissionRecord>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = check_cursor("em", q.after.as_deref())?;
    let page = state.registry.store().list_emissions(
        after,
        q.entity_type.as_deref(),
        q.webhook.as_deref(),
        limit,
    )?;
    Ok(Json(page))
}

pub(super) fn check_cursor<'a>(
    prefix: &str,
    cursor: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    match cursor {
        Some(c) if ids::key(prefix, c).is_none() => Err(ApiError::invalid(format!(
            "cursor {c:?} is not a `{prefix}_...` id"
        ))),
        other => Ok(other),
    }
}
